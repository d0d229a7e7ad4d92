// The metrics registry over real shared counters: prom-client's own exposition and the synchronous one
// the admin handler serves are the same text; per-route, per-backend and per-worker figures follow
// what was recorded; histogram buckets are cumulative; route slots stop at their cap without failing.
import t from 'tap';
import { metricsRegistry, renderMetrics, type MetricsSnapshot } from '../../../core/admin/metrics.js';
import { Counters, createCounterBuffer, MAX_ROUTES, SlotMap, WorkerGauge, metricSlotsOf } from '../../../core/tables/counters.js';
import { Breakers, createBreakerBuffer } from '../../../core/tables/breakers.js';

function snapshot(): MetricsSnapshot {
  const counters = new Counters(createCounterBuffer());
  const edgeSlots = new SlotMap(16, 'edge');
  edgeSlots.slotFor('edghts_a');
  const slots = metricSlotsOf(edgeSlots);
  slots.backends = new SlotMap(16, 'backend');
  return {
    counters, edgeSlots,
    breakers: new Breakers(createBreakerBuffer()), breakerSlots: new SlotMap(16, 'breaker'),
    workers: [0, 1].map((index) => ({ index, threadId: index + 1, ready: true, active: 0, handled: 0n, restarts: 0 })),
    accepted: 7, refusals: new Map([['no_sni', 2], ['unknown_host', 1]]), generation: 3,
    reloads: { ok: 1, failed: 0 }, events: { written: 5, dropped: 0 }, nativeLoaded: true,
  };
}

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

t.test('same text as prom-client writes, HELP and TYPE for each family', async (t) => {
  const m = snapshot();
  const route = metricSlotsOf(m.edgeSlots).routes.slotFor('edghts_a/rt_1');
  m.counters.recordRequest({ worker: 1, routeSlot: route, backendSlot: -1, status: 200, bytesIn: 0, bytesOut: 10, durationMs: 3 });
  const sync = renderMetrics(m);
  t.equal(sync, await metricsRegistry(() => m).metrics(), 'identical exposition');
  for (const [name, type] of [['edgeplane_route_http_requests_total', 'counter'], ['edgeplane_route_http_request_duration_seconds', 'histogram'],
    ['edgeplane_worker_event_loop_utilization', 'gauge'], ['edgeplane_backend_http_errors_total', 'counter'], ['edgeplane_circuit_breaker_state', 'gauge']]) {
    t.match(sync, new RegExp(`^# HELP ${name} \\S.*\\n# TYPE ${name} ${type}$`, 'm'), `${name} is a ${type} with help`);
  }
  t.equal(sample(sync, 'edgeplane_acceptor_peek_failures_total', ''), 2, 'peek failures summed from the refusal reasons');
});

t.test('route, backend and worker figures follow what was recorded', async (t) => {
  const m = snapshot();
  const routes = metricSlotsOf(m.edgeSlots).routes;
  const ok = routes.slotFor('edghts_a/rt_ok');
  const bad = routes.slotFor('edghts_a/rt_bad');
  const backend = metricSlotsOf(m.edgeSlots).backends!.slotFor('bkd_x');
  const durations = [1, 5, 6, 30, 120, 20_000];
  for (const d of durations) m.counters.recordRequest({ worker: 0, routeSlot: ok, backendSlot: backend, status: 200, bytesIn: 4, bytesOut: 100, durationMs: d });
  m.counters.recordRequest({ worker: 1, routeSlot: bad, backendSlot: backend, status: 502, bytesIn: 0, bytesOut: 5, durationMs: 2 });
  m.counters.recordRequest({ worker: 1, routeSlot: bad, backendSlot: -1, status: 403, bytesIn: 0, bytesOut: 5, durationMs: 2 });
  m.counters.setWorkerGauge(1, WorkerGauge.EventLoopUtilisationPpm, 250_000);
  m.counters.setWorkerGauge(1, WorkerGauge.UpstreamOpen, 3);
  m.counters.setWorkerGauge(1, WorkerGauge.UpstreamIdle, 1);
  m.counters.addWorkerEventDrops(0, 4);
  const text = renderMetrics(m);
  const okL = '{edge="edghts_a",route="rt_ok"}';
  t.equal(sample(text, 'edgeplane_route_http_requests_total', okL), durations.length);
  t.equal(sample(text, 'edgeplane_route_http_responses_total', '{edge="edghts_a",route="rt_ok",status_class="2xx"}'), durations.length);
  t.equal(sample(text, 'edgeplane_route_http_responses_total', '{edge="edghts_a",route="rt_bad",status_class="5xx"}'), 1);
  t.equal(sample(text, 'edgeplane_route_http_responses_total', '{edge="edghts_a",route="rt_bad",status_class="4xx"}'), 1);
  t.equal(sample(text, 'edgeplane_route_http_received_bytes_total', okL), 4 * durations.length);
  t.equal(sample(text, 'edgeplane_route_http_sent_bytes_total', okL), 100 * durations.length);
  const h = 'edgeplane_route_http_request_duration_seconds';
  t.equal(sample(text, `${h}_bucket`, '{edge="edghts_a",route="rt_ok",le="0.005"}'), 2, '1 ms and 5 ms are ≤ 5 ms');
  t.equal(sample(text, `${h}_bucket`, '{edge="edghts_a",route="rt_ok",le="0.01"}'), 3);
  t.equal(sample(text, `${h}_bucket`, '{edge="edghts_a",route="rt_ok",le="10"}'), 5, '20 s only in +Inf');
  t.equal(sample(text, `${h}_bucket`, '{edge="edghts_a",route="rt_ok",le="+Inf"}'), durations.length);
  t.equal(sample(text, `${h}_count`, okL), durations.length);
  t.equal(sample(text, `${h}_sum`, okL), durations.reduce((a, b) => a + b, 0) / 1000);
  t.equal(sample(text, 'edgeplane_backend_http_requests_total', '{backend="bkd_x"}'), durations.length + 1);
  t.equal(sample(text, 'edgeplane_backend_http_errors_total', '{backend="bkd_x"}'), 1);
  t.equal(sample(text, 'edgeplane_worker_http_requests_total', '{worker="0"}'), durations.length);
  t.equal(sample(text, 'edgeplane_worker_http_requests_total', '{worker="1"}'), 2);
  t.equal(sample(text, 'edgeplane_worker_event_loop_utilization', '{worker="1"}'), 0.25);
  t.equal(sample(text, 'edgeplane_worker_upstream_connections', '{worker="1",state="in_use"}'), 2);
  t.equal(sample(text, 'edgeplane_worker_upstream_connections', '{worker="1",state="idle"}'), 1);
  t.equal(sample(text, 'edgeplane_worker_events_dropped_total', '{worker="0"}'), 4);
});

t.test('route slots stop at MAX_ROUTES: the rest get -1 and are not counted', async (t) => {
  const routes = new SlotMap(MAX_ROUTES, 'route');
  const given = Array.from({ length: MAX_ROUTES }, (_, i) => routes.trySlotFor(`e/r${i}`));
  t.same(given, Array.from({ length: MAX_ROUTES }, (_, i) => i), 'slots 0..MAX_ROUTES-1 in order');
  t.equal(routes.trySlotFor('e/one-too-many'), -1);
  t.equal(routes.trySlotFor('e/r5'), 5, 'known ids keep their slot when full');
  t.throws(() => routes.slotFor('e/one-too-many'), /more than 4096 route ids/);
  const m = snapshot();
  m.counters.recordRequest({ worker: 0, routeSlot: -1, backendSlot: -1, status: 200, bytesIn: 0, bytesOut: 0, durationMs: 1 });
  t.equal(sample(renderMetrics(m), 'edgeplane_worker_http_requests_total', '{worker="0"}'), 1, 'the worker still counts it');
});
