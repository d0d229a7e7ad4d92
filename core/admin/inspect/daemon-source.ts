// The daemon's InspectionSource: worker load from the shared counters, breaker states from the shared
// breaker table, route status counts tallied from the event stream (only while a page listens), agent
// sessions and their tunnel_group membership from the main thread's session registry.
import type { Breakers } from '../../tables/breakers.js';
import type { EventHub } from '../../events/hub.js';
import type { InspectionSnapshot, InspectionSource, WorkerLoad } from './source.js';
import { RouteStatusTally } from './tally.js';
import { splitRouteKey } from '../metrics.js';
import { tunnelsStatus, type TunnelGroup } from './tunnels.js';
import type { TunnelSessionView } from '../../tunnel/sessions.js';

export interface DaemonInspectionInputs {
  events: EventHub;
  breakers: Breakers;
  /** Breaker slots by "<edge>/<route>", as the generation assigned them. */
  breakerSlots(): Iterable<[string, number]>;
  workers(): WorkerLoad[];
  /** Online agent sessions and the config's tunnel_group backends. */
  tunnels(): { sessions: TunnelSessionView[]; groups: TunnelGroup[] };
}

export function daemonInspectionSource(inputs: DaemonInspectionInputs): InspectionSource {
  const tally = new RouteStatusTally();
  let listeners = 0;
  let stopTally: (() => void) | null = null;
  return {
    snapshot(): InspectionSnapshot {
      const breakers = [...inputs.breakerSlots()].map(([key, slot]) => {
        const state = inputs.breakers.state(slot);
        return { ...splitRouteKey(key), state: state.state, trips: state.trips };
      });
      const workers = inputs.workers();
      const { sessions, groups } = inputs.tunnels();
      return { routes: tally.snapshot(), breakers, workers, tunnels: tunnelsStatus(sessions, groups, workers.length) };
    },
    onEvents(listener) {
      // the tally runs while some page is open, like the feed itself
      if (listeners++ === 0) stopTally = inputs.events.listen((events) => tally.add(events));
      const stop = inputs.events.listen((events) => listener(events as unknown as object[]));
      return () => {
        stop();
        if (--listeners === 0) { stopTally?.(); stopTally = null; }
      };
    },
  };
}
