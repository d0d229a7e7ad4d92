// The daemon's status (core/daemon.ts DaemonStatus) as the control API's Status message object.
import type { DaemonStatus } from '../daemon.js';

export function statusToProto(status: DaemonStatus): Record<string, unknown> {
  const tunnels = status.tunnels;
  return {
    generation: status.generation,
    source: status.source,
    degraded: status.degraded,
    workers: status.workers.map((w) => ({ worker: w.worker, active: w.active, handled: w.handled })),
    breakers: status.breakers.map((b) => ({ edge: b.edge, route: b.route, state: b.state, trips: b.trips })),
    routes: status.routes.map((r) => ({ edge: r.edge, route: r.route, requests: r.requests, statuses: { ...r.statuses } })),
    ...(tunnels === undefined ? {} : {
      tunnels: {
        workers: tunnels.workers,
        sessions: tunnels.sessions.map((s) => ({
          id: s.id, credential_id: s.credential_id, labels: { ...s.labels }, legs: [...s.legs], agent_version: s.agent_version,
          ip: s.ip, started_at: s.started_at, forwards_to: s.forwards_to, groups: [...s.groups],
        })),
        groups: tunnels.groups.map((g) => ({ backend: g.backend, labels: { ...g.labels }, sessions: g.sessions })),
      },
    }),
  };
}
