// The daemon's Prometheus metrics as a prom-client Registry of custom collectors: each family reads
// the shared counters (written by workers with Atomics) or daemon state when scraped, so no worker is
// asked and nothing is kept per request on the main thread. Names: edgeplane_<area>_<what>_<unit>.
//
// `registry.metrics()` (async, prom-client's own exposition) and renderMetrics (sync, for the admin
// handler, which answers synchronously) give the same text; a unit test holds them to that.
import { readdirSync } from 'node:fs';
import { Registry, type Metric } from 'prom-client';
import {
  DISPATCH_BUCKETS_US, EdgeField, MAX_ROUTES, REQUEST_BUCKETS_MS, UPSTREAM_FAILURE_PHASES, WorkerGauge, metricSlotsOf,
  type Counters, type HistogramReading, type SlotMap,
} from '../tables/counters.js';
import type { WorkerStats } from '../dispatch/worker-pool.js';
import type { Breakers, BreakerStateName } from '../tables/breakers.js';
import type { TunnelSessionView } from '../tunnel/sessions.js';
import { groupMembers, type TunnelGroup } from './inspect/tunnels.js';

/** Agent sessions the main thread knows and the config's tunnel_group backends. */
export interface TunnelMetricsInput {
  sessions: TunnelSessionView[];
  groups: TunnelGroup[];
  started: number;
  stopped: number;
}

export interface MetricsSnapshot {
  counters: Counters;
  edgeSlots: SlotMap;
  breakers: Breakers;
  /** Keys are "<edge id>/<route id>". */
  breakerSlots: SlotMap;
  /** Keys are "<edge id>/<route id>"; default: the route slots the generation builder keeps beside edgeSlots. */
  routeSlots?: SlotMap;
  /** Keys are backend ids; default: the backend slots the generation builder registered beside edgeSlots. */
  backendSlots?: SlotMap | null;
  workers: WorkerStats[];
  accepted: number;
  refusals: ReadonlyMap<string, number>;
  /** Connections open on the edge listeners (peeking plus held by workers) and the process-wide limit; absent in unit snapshots. */
  connections?: { open: number; max: number };
  generation: number;
  reloads: { ok: number; failed: number };
  events: { written: number; dropped: number };
  /** Subscription destinations (the event router's per-destination counters, in records). */
  destinations?: ReadonlyArray<{ id: string; target: string; delivered: number; dropped: number; retried: number; failed: number; buffered_bytes: number }>;
  nativeLoaded: boolean;
  /** Read once per scrape (processReading()); absent in unit snapshots. */
  process?: ProcessReading;
  /** Absent: no tunnel registry (the families still appear, at 0 and without rows). */
  tunnels?: TunnelMetricsInput;
}

type Labels = Record<string, string>;
interface Sample { value: number; labels: Labels; metricName?: string }
type Family = 'counter' | 'gauge' | 'histogram';
interface Reading { name: string; help: string; type: Family; aggregator: 'sum'; values: Sample[] }

/** A prom-client custom collector: `get()` is what the Registry calls at scrape time. */
class Collector {
  readonly aggregator = 'sum' as const;
  constructor(readonly name: string, readonly type: Family, readonly help: string, private readonly collect: () => Sample[]) {}
  read(): Reading { return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.collect() } }
  get(): Promise<Reading> { return Promise.resolve(this.read()); }
  reset(): void { /* nothing kept here: values live in shared memory */ }
}

const PEEK_FAILURES = ['no_sni', 'not_tls', 'malformed', 'timeout', 'closed', 'error'];
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];
const BREAKER_STATES: BreakerStateName[] = ['closed', 'open', 'half_open'];

/** "<edge id>/<route id>" (the generation's route and breaker slot keys) → its two ids. */
export function splitRouteKey(key: string): { edge: string; route: string } {
  const cut = key.indexOf('/');
  return { edge: key.slice(0, cut), route: key.slice(cut + 1) };
}

/** Cumulative buckets, _sum and _count of a shared histogram whose bounds are `bounds / scale` seconds. */
function histogramSamples(name: string, labels: Labels, h: HistogramReading, bounds: readonly number[], scale: number): Sample[] {
  const out: Sample[] = [];
  let cumulative = 0n;
  bounds.forEach((bound, i) => {
    cumulative += h.buckets[i]!;
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: String(bound / scale) }, value: Number(cumulative) });
  });
  cumulative += h.buckets[bounds.length]!;
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: Number(cumulative) });
  out.push({ metricName: `${name}_sum`, labels, value: Number(h.sum) / scale });
  out.push({ metricName: `${name}_count`, labels, value: Number(cumulative) });
  return out;
}

function collectors(read: () => MetricsSnapshot): Collector[] {
  const c: Collector[] = [];
  const add = (name: string, type: Family, help: string, collect: (m: MetricsSnapshot) => Sample[]): void => {
    c.push(new Collector(name, type, help, () => collect(read())));
  };
  const perWorker = (pick: (m: MetricsSnapshot, w: WorkerStats) => number | bigint) =>
    (m: MetricsSnapshot): Sample[] => m.workers.map((w) => ({ labels: { worker: String(w.index) }, value: Number(pick(m, w)) }));
  const routeSlots = (m: MetricsSnapshot): SlotMap => m.routeSlots ?? metricSlotsOf(m.edgeSlots).routes;
  const perRoute = (sample: (m: MetricsSnapshot, labels: Labels, slot: number) => Sample[]) => (m: MetricsSnapshot): Sample[] => {
    const out: Sample[] = [];
    for (const [key, slot] of routeSlots(m).entries()) out.push(...sample(m, splitRouteKey(key), slot));
    return out;
  };
  const perBackend = (pick: (m: MetricsSnapshot, slot: number) => bigint) => (m: MetricsSnapshot): Sample[] => {
    const slots = m.backendSlots !== undefined ? m.backendSlots : metricSlotsOf(m.edgeSlots).backends;
    return slots === null ? [] : [...slots.entries()].map(([id, slot]) => ({ labels: { backend: id }, value: Number(pick(m, slot)) }));
  };

  // ---- workers ----
  add('edgeplane_worker_connections_active', 'gauge', 'Connections open on each worker thread.', perWorker((_, w) => w.active));
  add('edgeplane_worker_connections_total', 'counter', 'Connections each worker thread has served.', perWorker((_, w) => w.handled));
  add('edgeplane_worker_restarts_total', 'counter', 'Times a worker thread died and was replaced.', perWorker((_, w) => w.restarts));
  add('edgeplane_worker_http_requests_total', 'counter', 'HTTP requests each worker thread finished.',
    perWorker((m, w) => m.counters.workerRequests(w.index)));
  add('edgeplane_worker_event_loop_utilization', 'gauge', 'Event-loop utilisation (0..1) of each worker thread over its last one-second sample.',
    perWorker((m, w) => m.counters.workerGauge(w.index, WorkerGauge.EventLoopUtilisationPpm) / 1e6));
  add('edgeplane_worker_upstream_connections', 'gauge', 'Pooled upstream connections of each worker thread, by state (in_use, idle), sampled every second.',
    (m) => m.workers.flatMap((w) => {
      const open = m.counters.workerGauge(w.index, WorkerGauge.UpstreamOpen);
      const idle = m.counters.workerGauge(w.index, WorkerGauge.UpstreamIdle);
      return [
        { labels: { worker: String(w.index), state: 'in_use' }, value: Math.max(0, open - idle) },
        { labels: { worker: String(w.index), state: 'idle' }, value: idle },
      ];
    }));
  add('edgeplane_worker_events_dropped_total', 'counter', 'Events a worker thread dropped because its batch queue was full.',
    perWorker((m, w) => m.counters.workerEventDrops(w.index)));

  // ---- edges ----
  const edgeFamilies: Array<[string, Family, EdgeField, string]> = [
    ['edgeplane_edge_connections_active', 'gauge', EdgeField.Active, 'Connections open per edge.'],
    ['edgeplane_edge_connections_total', 'counter', EdgeField.Total, 'Connections served per edge.'],
    ['edgeplane_edge_connections_refused_total', 'counter', EdgeField.Refused, 'Connections refused at the acceptor per edge (IP restriction, no worker).'],
    ['edgeplane_edge_connections_over_limit_total', 'counter', EdgeField.OverLimit, 'Connections closed at once because the edge had its max_connections open.'],
    ['edgeplane_edge_received_bytes_total', 'counter', EdgeField.BytesIn, 'Bytes received from clients per edge (counted at close).'],
    ['edgeplane_edge_sent_bytes_total', 'counter', EdgeField.BytesOut, 'Bytes sent to clients per edge (counted at close).'],
    ['edgeplane_edge_tls_handshake_failures_total', 'counter', EdgeField.HandshakeFailures, 'Failed TLS handshakes on edges that terminate TLS.'],
    ['edgeplane_edge_http_requests_total', 'counter', EdgeField.Requests, 'HTTP requests finished per https edge.'],
    ['edgeplane_edge_http_edge_answered_total', 'counter', EdgeField.EdgeAnswered, 'HTTP requests the edge answered itself with an ngrok-error-code (refusals, gateway errors).'],
    ['edgeplane_edge_http_responses_5xx_total', 'counter', EdgeField.Responses5xx, 'HTTP responses with status 500 or more per https edge.'],
  ];
  for (const [name, type, field, help] of edgeFamilies) {
    add(name, type, help, (m) => [...m.edgeSlots.entries()].map(([id, slot]) => ({ labels: { edge: id }, value: Number(m.counters.edge(slot, field)) })));
  }

  // ---- routes ----
  add('edgeplane_route_http_requests_total', 'counter', `HTTP requests finished per route (the first ${MAX_ROUTES} edge/route pairs since start-up).`,
    perRoute((m, labels, slot) => [{ labels, value: Number(m.counters.route(slot).requests) }]));
  add('edgeplane_route_http_responses_total', 'counter', 'HTTP responses per route by status class (1xx..5xx).',
    perRoute((m, labels, slot) => m.counters.route(slot).statusClasses.map((n, i) => ({ labels: { ...labels, status_class: STATUS_CLASSES[i]! }, value: Number(n) }))));
  add('edgeplane_route_http_received_bytes_total', 'counter', 'Request body bytes received from clients per route.',
    perRoute((m, labels, slot) => [{ labels, value: Number(m.counters.route(slot).bytesIn) }]));
  add('edgeplane_route_http_sent_bytes_total', 'counter', 'Response body bytes sent to clients per route.',
    perRoute((m, labels, slot) => [{ labels, value: Number(m.counters.route(slot).bytesOut) }]));
  add('edgeplane_route_http_request_duration_seconds', 'histogram', 'Time from the request head to the end of the response per route (millisecond resolution).',
    perRoute((m, labels, slot) => histogramSamples('edgeplane_route_http_request_duration_seconds', labels, m.counters.route(slot).duration, REQUEST_BUCKETS_MS, 1e3)));

  // ---- backends ----
  add('edgeplane_backend_http_requests_total', 'counter', 'HTTP requests routes sent to each (route-level) backend.',
    perBackend((m, slot) => m.counters.backend(slot).requests));
  add('edgeplane_backend_http_errors_total', 'counter', 'Of those, requests that ended with status 500 or more (upstream errors, unreachable upstreams).',
    perBackend((m, slot) => m.counters.backend(slot).errors));
  add('edgeplane_backend_http_upstream_failures_total', 'counter', 'Upstream failures per (route-level) backend by phase: connect (a dial failed: refused, DNS, timeout; failover may still have served the request), before_head (the edge answered 502/504), mid_body (the response was cut after its head: the client saw a truncated body or a reset stream).',
    (m) => [...((m.backendSlots !== undefined ? m.backendSlots : metricSlotsOf(m.edgeSlots).backends)?.entries() ?? [])].flatMap(([id, slot]) => {
      const { failures } = m.counters.backend(slot);
      return UPSTREAM_FAILURE_PHASES.map((phase, i) => ({ labels: { backend: id, phase }, value: Number(failures[i]) }));
    }));

  // ---- circuit breakers ----
  const breakerStates = (m: MetricsSnapshot) => [...m.breakerSlots.entries()].map(([key, slot]) => ({ labels: splitRouteKey(key), state: m.breakers.state(slot) }));
  add('edgeplane_circuit_breaker_open', 'gauge', 'Whether a route\'s circuit breaker is open (1) or closed (0), for the whole process.',
    (m) => breakerStates(m).map(({ labels, state }) => ({ labels, value: state.state === 'closed' ? 0 : 1 })));
  add('edgeplane_circuit_breaker_state', 'gauge', 'A route\'s circuit breaker state: 1 for the current one of closed, open, half_open.',
    (m) => breakerStates(m).flatMap(({ labels, state }) => BREAKER_STATES.map((s) => ({ labels: { ...labels, state: s }, value: state.state === s ? 1 : 0 }))));
  add('edgeplane_circuit_breaker_trips_total', 'counter', 'Times a route\'s circuit breaker opened.',
    (m) => breakerStates(m).map(({ labels, state }) => ({ labels, value: state.trips })));

  // ---- acceptor, dispatch, config, events, addon ----
  add('edgeplane_acceptor_connections_total', 'counter', 'Connections accepted on the public listeners.', (m) => [{ labels: {}, value: m.accepted }]);
  add('edgeplane_connections_open', 'gauge', 'Connections open on the edge listeners: being peeked, or held by a worker (tunnel legs included).',
    (m) => (m.connections === undefined ? [] : [{ labels: {}, value: m.connections.open }]));
  add('edgeplane_connections_max', 'gauge', 'The process-wide max_connections in force.',
    (m) => (m.connections === undefined ? [] : [{ labels: {}, value: m.connections.max }]));
  add('edgeplane_acceptor_refusals_total', 'counter', 'Connections the acceptor closed, by reason (max_connections; peek failures: no_sni, not_tls, malformed, timeout, closed, error; routing: unknown_host, ip_blocked, no_worker).',
    (m) => [...m.refusals].map(([reason, n]) => ({ labels: { reason }, value: n })));
  add('edgeplane_acceptor_peek_failures_total', 'counter', 'ClientHello peeks that did not yield a routable hello.',
    (m) => [{ labels: {}, value: [...m.refusals].reduce((sum, [reason, n]) => sum + (PEEK_FAILURES.includes(reason) ? n : 0), 0) }]);
  add('edgeplane_dispatch_latency_seconds', 'histogram', 'Time from the acceptor posting a connection to a worker adopting its socket.', (m) => {
    const { buckets, sumUs } = m.counters.dispatchHistogram();
    return histogramSamples('edgeplane_dispatch_latency_seconds', {}, { buckets, sum: sumUs }, DISPATCH_BUCKETS_US, 1e6);
  });
  add('edgeplane_config_generation', 'gauge', 'The config generation being served.', (m) => [{ labels: {}, value: m.generation }]);
  add('edgeplane_config_reloads_total', 'counter', 'Config reloads by result.',
    (m) => [{ labels: { result: 'ok' }, value: m.reloads.ok }, { labels: { result: 'failed' }, value: m.reloads.failed }]);
  add('edgeplane_events_written_total', 'counter', 'Events written to the event sink.', (m) => [{ labels: {}, value: m.events.written }]);
  add('edgeplane_events_dropped_total', 'counter', 'Events dropped because the sink could not keep up.', (m) => [{ labels: {}, value: m.events.dropped }]);
  add('edgeplane_event_destination_records_total', 'counter', 'Event records per subscription destination by outcome: delivered, dropped (buffer or retention), retried, failed (gave up).',
    (m) => (m.destinations ?? []).flatMap((d) => (['delivered', 'dropped', 'retried', 'failed'] as const)
      .map((outcome) => ({ labels: { destination: d.id, target: d.target, outcome }, value: d[outcome] }))));
  add('edgeplane_event_destination_buffered_bytes', 'gauge', 'Bytes of event records waiting in each subscription destination\'s bounded buffer.',
    (m) => (m.destinations ?? []).map((d) => ({ labels: { destination: d.id, target: d.target }, value: d.buffered_bytes })));
  // ---- tunnel agents ----
  const tunnels = (m: MetricsSnapshot): TunnelMetricsInput => m.tunnels ?? { sessions: [], groups: [], started: 0, stopped: 0 };
  add('edgeplane_tunnel_sessions', 'gauge', 'Agent sessions online (at least one live leg).', (m) => [{ labels: {}, value: tunnels(m).sessions.length }]);
  add('edgeplane_tunnel_sessions_started_total', 'counter', 'Agent sessions that started (first leg up).', (m) => [{ labels: {}, value: tunnels(m).started }]);
  add('edgeplane_tunnel_sessions_stopped_total', 'counter', 'Agent sessions that stopped (last leg down).', (m) => [{ labels: {}, value: tunnels(m).stopped }]);
  add('edgeplane_tunnel_session_legs', 'gauge', 'Live legs of each agent session; a whole session has one per worker thread.',
    (m) => tunnels(m).sessions.map((s) => ({ labels: { session_id: s.id, credential_id: s.credential.id }, value: s.legs.length })));
  // Every group gets a row, 0 included, so an alert can fire on a group left without agents.
  add('edgeplane_tunnel_group_sessions', 'gauge', 'Online agent sessions each tunnel_group backend selects.',
    (m) => groupMembers(tunnels(m).sessions, tunnels(m).groups).map(({ group, members }) => ({ labels: { backend: group.backend }, value: members.length })));
  add('edgeplane_tunnel_group_member', 'gauge', '1 for each agent session a tunnel_group backend selects.',
    (m) => groupMembers(tunnels(m).sessions, tunnels(m).groups).flatMap(({ group, members }) =>
      members.map((s) => ({ labels: { backend: group.backend, session_id: s.id }, value: 1 }))));
  // The process as a whole (all threads): what a leak or an fd exhaustion would show first.
  // The process as a whole (all threads): what a leak or an fd exhaustion would show first.
  add('process_resident_memory_bytes', 'gauge', 'Resident memory of the whole process (every thread), in bytes.',
    (m) => (m.process === undefined ? [] : [{ labels: {}, value: m.process.residentBytes }]));
  add('process_open_fds', 'gauge', 'Open file descriptors of the process (Linux /proc/self/fd).',
    (m) => (m.process?.openFds == null ? [] : [{ labels: {}, value: m.process.openFds }]));
  add('edgeplane_native_addon_loaded', 'gauge', '1 when the native addon is loaded; 0 = degraded single-thread mode.', (m) => [{ labels: {}, value: m.nativeLoaded ? 1 : 0 }]);
  return c;
}

/** A prom-client Registry whose collectors call `read()` at every scrape. */
export function metricsRegistry(read: () => MetricsSnapshot): Registry {
  const registry = new Registry();
  // prom-client's Metric type is its own classes; a registry only calls get() (and reset()) on them.
  for (const collector of collectors(read)) registry.registerMetric(collector as unknown as Metric);
  return registry;
}

// ---- synchronous exposition, the same text prom-client writes (text format 0.0.4) ----

const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string): string => escapeHelp(s).replace(/"/g, '\\"');
function valueText(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return String(v);
}

function familyText(r: Reading): string {
  const lines = [`# HELP ${escapeHelp(r.name)} ${escapeHelp(r.help)}`, `# TYPE ${escapeHelp(r.name)} ${r.type}`];
  for (const s of r.values) {
    const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
    lines.push(`${s.metricName ?? escapeHelp(r.name)}${labels === '' ? '' : `{${labels}}`} ${valueText(s.value)}`);
  }
  return lines.join('\n');
}

/** The exposition text for one snapshot (what `metricsRegistry(() => m).metrics()` resolves to). */
export function renderMetrics(m: MetricsSnapshot): string {
  return collectors(() => m).map((c) => familyText(c.read())).join('\n\n') + '\n';
}

export interface ProcessReading { residentBytes: number; openFds: number | null }

export function processReading(): ProcessReading {
  return { residentBytes: process.memoryUsage.rss(), openFds: openFds() };
}

function openFds(): number | null {
  try { return readdirSync('/proc/self/fd').length - 1; } catch { return null; } // less the one readdir itself holds
}
