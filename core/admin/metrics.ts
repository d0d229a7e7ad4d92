// Prometheus text exposition of the daemon's metrics. Names: edgeplane_<area>_<what>_<unit>.
// Per-worker and per-edge figures come straight from the shared counters, so no worker is asked.
import { DISPATCH_BUCKETS_US, EdgeField, type Counters, type SlotMap } from '../tables/counters.js';
import type { WorkerStats } from '../dispatch/worker-pool.js';
import type { Breakers } from '../tables/breakers.js';

export interface MetricsSnapshot {
  counters: Counters;
  edgeSlots: SlotMap;
  breakers: Breakers;
  /** Keys are "<edge id>/<route id>". */
  breakerSlots: SlotMap;
  workers: WorkerStats[];
  accepted: number;
  refusals: ReadonlyMap<string, number>;
  generation: number;
  reloads: { ok: number; failed: number };
  events: { written: number; dropped: number };
  nativeLoaded: boolean;
}

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

class Text {
  private out: string[] = [];
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): this {
    this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }
  sample(name: string, value: number | bigint, labels?: Record<string, string>): this {
    const l = labels === undefined ? '' : `{${Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;
    this.out.push(`${name}${l} ${value}`);
    return this;
  }
  toString(): string { return this.out.join('\n') + '\n'; }
}

export function renderMetrics(m: MetricsSnapshot): string {
  const t = new Text();
  t.family('edgeplane_worker_connections_active', 'gauge', 'Connections open on each worker thread.');
  for (const w of m.workers) t.sample('edgeplane_worker_connections_active', w.active, { worker: String(w.index) });
  t.family('edgeplane_worker_connections_total', 'counter', 'Connections each worker thread has served.');
  for (const w of m.workers) t.sample('edgeplane_worker_connections_total', w.handled, { worker: String(w.index) });
  t.family('edgeplane_worker_restarts_total', 'counter', 'Times a worker thread died and was replaced.');
  for (const w of m.workers) t.sample('edgeplane_worker_restarts_total', w.restarts, { worker: String(w.index) });

  const edgeFamilies: Array<[string, 'counter' | 'gauge', EdgeField, string]> = [
    ['edgeplane_edge_connections_active', 'gauge', EdgeField.Active, 'Connections open per edge.'],
    ['edgeplane_edge_connections_total', 'counter', EdgeField.Total, 'Connections served per edge.'],
    ['edgeplane_edge_connections_refused_total', 'counter', EdgeField.Refused, 'Connections refused at the acceptor per edge (IP restriction, no worker).'],
    ['edgeplane_edge_received_bytes_total', 'counter', EdgeField.BytesIn, 'Bytes received from clients per edge (counted at close).'],
    ['edgeplane_edge_sent_bytes_total', 'counter', EdgeField.BytesOut, 'Bytes sent to clients per edge (counted at close).'],
    ['edgeplane_edge_tls_handshake_failures_total', 'counter', EdgeField.HandshakeFailures, 'Failed TLS handshakes on edges that terminate TLS.'],
    ['edgeplane_edge_http_requests_total', 'counter', EdgeField.Requests, 'HTTP requests finished per https edge.'],
    ['edgeplane_edge_http_edge_answered_total', 'counter', EdgeField.EdgeAnswered, 'HTTP requests the edge answered itself with an ngrok-error-code (refusals, gateway errors).'],
    ['edgeplane_edge_http_responses_5xx_total', 'counter', EdgeField.Responses5xx, 'HTTP responses with status 500 or more per https edge.'],
  ];
  for (const [name, type, field, help] of edgeFamilies) {
    t.family(name, type, help);
    for (const [id, slot] of m.edgeSlots.entries()) t.sample(name, m.counters.edge(slot, field), { edge: id });
  }

  t.family('edgeplane_circuit_breaker_open', 'gauge', 'Whether a route\'s circuit breaker is open (1) or closed (0), for the whole process.');
  const trips: Array<[Record<string, string>, number]> = [];
  for (const [key, slot] of m.breakerSlots.entries()) {
    const cut = key.indexOf('/');
    const labels = { edge: key.slice(0, cut), route: key.slice(cut + 1) };
    const state = m.breakers.state(slot);
    t.sample('edgeplane_circuit_breaker_open', state.state === 'closed' ? 0 : 1, labels);
    trips.push([labels, state.trips]);
  }
  t.family('edgeplane_circuit_breaker_trips_total', 'counter', 'Times a route\'s circuit breaker opened.');
  for (const [labels, n] of trips) t.sample('edgeplane_circuit_breaker_trips_total', n, labels);

  t.family('edgeplane_acceptor_connections_total', 'counter', 'Connections accepted on the public listeners.');
  t.sample('edgeplane_acceptor_connections_total', m.accepted);
  t.family('edgeplane_acceptor_refusals_total', 'counter', 'Connections the acceptor closed, by reason (peek failures: no_sni, not_tls, malformed, timeout, closed, error; routing: unknown_host, ip_blocked, no_worker).');
  for (const [reason, n] of m.refusals) t.sample('edgeplane_acceptor_refusals_total', n, { reason });
  t.family('edgeplane_acceptor_peek_failures_total', 'counter', 'ClientHello peeks that did not yield a routable hello.');
  let peekFailures = 0;
  for (const [reason, n] of m.refusals) if (['no_sni', 'not_tls', 'malformed', 'timeout', 'closed', 'error'].includes(reason)) peekFailures += n;
  t.sample('edgeplane_acceptor_peek_failures_total', peekFailures);

  const { buckets, sumUs } = m.counters.dispatchHistogram();
  t.family('edgeplane_dispatch_latency_seconds', 'histogram', 'Time from the acceptor posting a connection to a worker adopting its socket.');
  let cumulative = 0n;
  DISPATCH_BUCKETS_US.forEach((us, i) => {
    cumulative += buckets[i]!;
    t.sample('edgeplane_dispatch_latency_seconds_bucket', cumulative, { le: String(us / 1e6) });
  });
  cumulative += buckets[DISPATCH_BUCKETS_US.length]!;
  t.sample('edgeplane_dispatch_latency_seconds_bucket', cumulative, { le: '+Inf' });
  t.sample('edgeplane_dispatch_latency_seconds_sum', Number(sumUs) / 1e6);
  t.sample('edgeplane_dispatch_latency_seconds_count', cumulative);

  t.family('edgeplane_config_generation', 'gauge', 'The config generation being served.');
  t.sample('edgeplane_config_generation', m.generation);
  t.family('edgeplane_config_reloads_total', 'counter', 'Config reloads by result.');
  t.sample('edgeplane_config_reloads_total', m.reloads.ok, { result: 'ok' });
  t.sample('edgeplane_config_reloads_total', m.reloads.failed, { result: 'failed' });
  t.family('edgeplane_events_written_total', 'counter', 'Events written to the event sink.');
  t.sample('edgeplane_events_written_total', m.events.written);
  t.family('edgeplane_events_dropped_total', 'counter', 'Events dropped because the sink could not keep up.');
  t.sample('edgeplane_events_dropped_total', m.events.dropped);
  t.family('edgeplane_native_addon_loaded', 'gauge', '1 when the native addon is loaded; 0 = degraded single-thread mode.');
  t.sample('edgeplane_native_addon_loaded', m.nativeLoaded ? 1 : 0);
  return t.toString();
}
