// This thread's agent session legs, and the label matching tunnel groups route with. Each agent
// session keeps one leg (one WebSocket) on every worker, so every worker reaches every agent without
// a hop between threads. Matching lists are cached per label set and rebuilt only when a leg comes or
// goes, so a request pays one Map lookup.
import type { EndpointSpec } from '../../core/generation/spec.js';
import type { StreamOpen } from '../../core/tunnel/protocol.js';
import type { MuxStream } from '../../core/tunnel/mux.js';

/** What the rest of the worker needs from a leg (workers/tunnel/leg.ts implements it). */
export interface AgentLegHandle {
  /** Unique in this thread for the leg's lifetime: a reconnected leg is a new one (new upstream pools). */
  readonly key: string;
  readonly sessionId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly terminatesTls: boolean;
  /** Opens a stream; rejects like a failed dial (ECONNREFUSED / ETIMEDOUT / EAGENT). */
  openStream(open: Partial<StreamOpen>, timeoutMs: number): Promise<MuxStream>;
}

/** A plan endpoint served by an agent leg (host is a pool key, never dialled). */
export interface AgentEndpoint extends EndpointSpec { agent: AgentLegHandle }

export function isAgentEndpoint(endpoint: EndpointSpec): endpoint is AgentEndpoint {
  return (endpoint as Partial<AgentEndpoint>).agent !== undefined;
}

const NONE: readonly AgentEndpoint[] = Object.freeze([]);
/** A generation's label selectors are fixed arrays: their cache keys are made once, not per request. */
const selectorKeys = new WeakMap<ReadonlyArray<readonly [string, string]>, string>();

export class AgentLegs {
  private readonly legs = new Map<string, AgentEndpoint>();
  private readonly cache = new Map<string, readonly AgentEndpoint[]>();
  private readonly removedListeners: Array<(endpoint: AgentEndpoint) => void> = [];

  get size(): number { return this.legs.size; }

  add(leg: AgentLegHandle): void {
    this.legs.set(leg.key, { host: `agent:${leg.key}`, port: 0, tls: false, agent: leg });
    this.cache.clear();
  }

  /** Removes a leg from routing at once; pools and streams on it are closed by the listeners. */
  remove(leg: AgentLegHandle): void {
    const endpoint = this.legs.get(leg.key);
    if (endpoint === undefined) return;
    this.legs.delete(leg.key);
    this.cache.clear();
    for (const listener of this.removedListeners) listener(endpoint);
  }

  onRemoved(listener: (endpoint: AgentEndpoint) => void): void { this.removedListeners.push(listener); }

  /**
   * Every leg whose labels include all of `want`, ordered by session id so that every worker lists a
   * group's sessions in the same order and the process-wide round-robin cursor spreads across sessions.
   */
  matching(want: ReadonlyArray<readonly [string, string]>): readonly AgentEndpoint[] {
    if (this.legs.size === 0) return NONE;
    let key = selectorKeys.get(want);
    if (key === undefined) {
      key = want.map(([k, v]) => `${k}=${v}`).join('\0');
      selectorKeys.set(want, key);
    }
    let found = this.cache.get(key);
    if (found === undefined) {
      const list: AgentEndpoint[] = [];
      for (const endpoint of this.legs.values()) {
        const labels = endpoint.agent.labels;
        if (want.every(([k, v]) => labels[k] === v)) list.push(endpoint);
      }
      list.sort((a, b) => (a.agent.sessionId < b.agent.sessionId ? -1 : a.agent.sessionId > b.agent.sessionId ? 1 : 0));
      found = list;
      this.cache.set(key, found);
    }
    return found;
  }

  all(): AgentLegHandle[] { return [...this.legs.values()].map((e) => e.agent); }
}

/** The thread's registry (worker threads each load their own copy of this module). */
export const agentLegs = new AgentLegs();
