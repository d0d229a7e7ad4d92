// The daemon's status (core/daemon.ts DaemonStatus) as the control API's Status message object.
import type { DaemonStatus } from '../daemon.js';

type Certificate = DaemonStatus['certificates'][number];

/** A certificate's status; null values (no certificate yet, no job, no failure) are left out (absent). */
function certificateToProto(c: Certificate): Record<string, unknown> {
  const out: Record<string, unknown> = { reserved_domain_id: c.reserved_domain_id, domain: c.domain };
  if (c.status !== null) {
    const status: Record<string, unknown> = {};
    if (c.status.renews_at !== null) status.renews_at = c.status.renews_at;
    const job = c.status.provisioning_job;
    if (job !== null) {
      status.provisioning_job = {
        ...(job.error_code === null ? {} : { error_code: job.error_code }),
        msg: job.msg,
        started_at: job.started_at,
        ...(job.retries_at === null ? {} : { retries_at: job.retries_at }),
      };
    }
    out.status = status;
  }
  return out;
}

export function statusToProto(status: DaemonStatus): Record<string, unknown> {
  const tunnels = status.tunnels;
  return {
    generation: status.generation,
    source: status.source,
    degraded: status.degraded,
    workers: status.workers.map((w) => ({ worker: w.worker, active: w.active, handled: w.handled })),
    breakers: status.breakers.map((b) => ({ edge: b.edge, route: b.route, state: b.state, trips: b.trips })),
    routes: status.routes.map((r) => ({ edge: r.edge, route: r.route, requests: r.requests, statuses: { ...r.statuses } })),
    certificates: (status.certificates ?? []).map(certificateToProto),
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
