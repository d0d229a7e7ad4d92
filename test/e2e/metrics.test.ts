// /metrics end to end: a real daemon with two workers serves 2xx (origin), 4xx (user_agent_filter) and
// 5xx (origin); the scrape is parsed as Prometheus text and checked per route, backend and worker, with
// HELP/TYPE for every family and cumulative histogram buckets whose +Inf equals the count.
import t from 'tap';
import { makePki } from '../helpers/pki.js';
import { startDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { httpsRequest, startOrigin, exampleTestCertificates } from '../helpers/http.js';

const pki = makePki();
t.teardown(() => pki.cleanup());
const CA = pki.read('ca.crt');
const APP = 'metrics.example.test';
const OK_BODY = 'hello metrics\n';

const okOrigin = await startOrigin(t, (req, res) => { req.resume(); res.writeHead(200, { 'content-length': OK_BODY.length }); res.end(OK_BODY); });
const failOrigin = await startOrigin(t, (req, res) => { req.resume(); res.writeHead(500, { 'content-length': 5 }); res.end('oops\n'); });

const port = await freePort();
const daemon = await startDaemon(t, {
  workers: 2,
  listen_address: '127.0.0.1',
  ...exampleTestCertificates(pki),
  backends: [
    { id: 'bkd_ok', type: 'static_address', address: okOrigin.address },
    { id: 'bkd_fail', type: 'static_address', address: failOrigin.address },
  ],
  edges: [{
    id: 'edghts_m', type: 'https', hostports: [`${APP}:${port}`],
    routes: [
      { id: 'rt_ok', match_type: 'path_prefix', match: '/ok', backend: { backend_id: 'bkd_ok' } },
      { id: 'rt_deny', match_type: 'path_prefix', match: '/deny', backend: { backend_id: 'bkd_ok' }, user_agent_filter: { deny: ['^blocked/'] } },
      { id: 'rt_fail', match_type: 'path_prefix', match: '/fail', backend: { backend_id: 'bkd_fail' } },
    ],
  }],
});

interface Line { name: string; labels: Record<string, string>; value: number }
interface Exposition { help: Map<string, string>; type: Map<string, string>; lines: Line[] }

function parse(text: string): Exposition {
  const out: Exposition = { help: new Map(), type: new Map(), lines: [] };
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(raw);
    if (meta !== null) { (meta[1] === 'HELP' ? out.help : out.type).set(meta[2]!, meta[3]!); continue; }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(raw);
    if (m === null) throw new Error(`not a sample line: ${raw}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.lines.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return out;
}

const matches = (l: Line, name: string, labels: Record<string, string>): boolean =>
  l.name === name && Object.entries(labels).every(([k, v]) => l.labels[k] === v);
const one = (e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined => {
  const found = e.lines.filter((l) => matches(l, name, labels));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matched ${found.length} lines`);
  return found[0]?.value;
};
const total = (e: Exposition, name: string, labels: Record<string, string> = {}): number =>
  e.lines.filter((l) => matches(l, name, labels)).reduce((a, l) => a + l.value, 0);

const get = (path: string, ua = 'metrics-test/1') => httpsRequest({ port, host: APP, ca: CA, path, headers: { 'user-agent': ua, connection: 'close' } });
const OK = 3, DENIED = 2, FAILED = 4;
// No assertion at the top level: tap's root test would count as finished and run its teardowns
// (stopping the daemon) while the traffic and the scrape below are still under way.
const statuses: Record<string, number[]> = { ok: [], deny: [], fail: [] };
for (let i = 0; i < OK; i++) statuses.ok!.push((await get(`/ok/${i}`)).status);
for (let i = 0; i < DENIED; i++) statuses.deny!.push((await get(`/deny/${i}`, 'blocked/1.0')).status);
for (let i = 0; i < FAILED; i++) statuses.fail!.push((await get(`/fail/${i}`)).status);
// worker load gauges are sampled every second
await new Promise((r) => setTimeout(r, 1300));
const text = await daemon.metrics();
const e = parse(text);

t.test('the traffic got the statuses it should', async (t) => {
  t.same(statuses, { ok: Array(OK).fill(200), deny: Array(DENIED).fill(403), fail: Array(FAILED).fill(500) });
});

t.test('every family has HELP and TYPE, sample names belong to a family', async (t) => {
  for (const name of e.type.keys()) t.ok(e.help.has(name), `HELP for ${name}`);
  const unknown = e.lines.filter((l) => !e.type.has(l.name) && !e.type.has(l.name.replace(/_(bucket|sum|count)$/, '')));
  t.same(unknown.map((l) => l.name), [], 'no sample outside a declared family');
  const want: Record<string, string> = {
    edgeplane_route_http_requests_total: 'counter', edgeplane_route_http_responses_total: 'counter',
    edgeplane_route_http_request_duration_seconds: 'histogram', edgeplane_route_http_sent_bytes_total: 'counter',
    edgeplane_backend_http_requests_total: 'counter', edgeplane_backend_http_errors_total: 'counter',
    edgeplane_worker_http_requests_total: 'counter', edgeplane_worker_event_loop_utilization: 'gauge',
    edgeplane_worker_upstream_connections: 'gauge', edgeplane_worker_events_dropped_total: 'counter',
    edgeplane_worker_connections_total: 'counter', edgeplane_edge_http_requests_total: 'counter', edgeplane_dispatch_latency_seconds: 'histogram',
  };
  for (const [name, type] of Object.entries(want)) t.equal(e.type.get(name), type, name);
  // The whole process, for leak and fd-exhaustion alerts (the soak run watches the same numbers).
  const value = (name: string) => Number(e.lines.find((l) => l.name === name)?.value);
  t.ok(value('process_resident_memory_bytes') > 10 * 1024 * 1024, `process_resident_memory_bytes ${value('process_resident_memory_bytes')}`);
  t.ok(value('process_open_fds') > 3, `process_open_fds ${value('process_open_fds')}`);
  t.ok(value('edgeplane_connections_max') >= 64, 'the max_connections in force is shown');
});

t.test('per route: requests, status classes, bytes', async (t) => {
  const route = (id: string) => ({ edge: 'edghts_m', route: id });
  t.equal(one(e, 'edgeplane_route_http_requests_total', route('rt_ok')), OK);
  t.equal(one(e, 'edgeplane_route_http_requests_total', route('rt_deny')), DENIED);
  t.equal(one(e, 'edgeplane_route_http_requests_total', route('rt_fail')), FAILED);
  t.equal(one(e, 'edgeplane_route_http_responses_total', { ...route('rt_ok'), status_class: '2xx' }), OK);
  t.equal(one(e, 'edgeplane_route_http_responses_total', { ...route('rt_deny'), status_class: '4xx' }), DENIED);
  t.equal(one(e, 'edgeplane_route_http_responses_total', { ...route('rt_fail'), status_class: '5xx' }), FAILED);
  t.equal(total(e, 'edgeplane_route_http_responses_total', route('rt_ok')), OK, 'no other class for rt_ok');
  t.equal(one(e, 'edgeplane_route_http_sent_bytes_total', route('rt_ok')), OK * OK_BODY.length, 'response body bytes');
  t.equal(one(e, 'edgeplane_edge_http_requests_total', { edge: 'edghts_m' }), OK + DENIED + FAILED, 'the edge total still adds up');
});

t.test('per route: latency histogram is cumulative and +Inf equals the count', async (t) => {
  const h = 'edgeplane_route_http_request_duration_seconds';
  for (const [id, n] of [['rt_ok', OK], ['rt_deny', DENIED], ['rt_fail', FAILED]] as const) {
    const labels = { edge: 'edghts_m', route: id };
    const buckets = e.lines.filter((l) => matches(l, `${h}_bucket`, labels));
    t.ok(buckets.length >= 2, `${id}: buckets`);
    const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
    t.same(les, [...les].sort((a, b) => a - b), `${id}: bounds ascending`);
    t.ok(buckets.every((b, i) => i === 0 || b.value >= buckets[i - 1]!.value), `${id}: counts monotonic`);
    t.equal(buckets.at(-1)!.labels.le, '+Inf');
    t.equal(buckets.at(-1)!.value, one(e, `${h}_count`, labels), `${id}: +Inf == count`);
    t.equal(one(e, `${h}_count`, labels), n, `${id}: count == requests`);
    const sum = one(e, `${h}_sum`, labels)!;
    t.ok(sum >= 0 && sum < 15 * n, `${id}: plausible sum ${sum}`);
  }
});

t.test('per backend: requests that went its way, and errors', async (t) => {
  t.equal(one(e, 'edgeplane_backend_http_requests_total', { backend: 'bkd_ok' }), OK, 'denied requests never reached the backend');
  t.equal(one(e, 'edgeplane_backend_http_errors_total', { backend: 'bkd_ok' }), 0);
  t.equal(one(e, 'edgeplane_backend_http_requests_total', { backend: 'bkd_fail' }), FAILED);
  t.equal(one(e, 'edgeplane_backend_http_errors_total', { backend: 'bkd_fail' }), FAILED);
});

t.test('per worker: requests, load, pools, drops', async (t) => {
  t.equal(total(e, 'edgeplane_worker_http_requests_total'), OK + DENIED + FAILED, 'requests over both workers');
  for (const w of ['0', '1']) {
    const elu = one(e, 'edgeplane_worker_event_loop_utilization', { worker: w });
    t.ok(elu !== undefined && elu >= 0 && elu <= 1, `worker ${w} utilisation in [0, 1]: ${elu}`);
    t.equal(one(e, 'edgeplane_worker_events_dropped_total', { worker: w }), 0);
  }
  t.ok(total(e, 'edgeplane_worker_upstream_connections', { state: 'idle' }) >= 1, 'kept-alive upstream connections show as idle');
  t.equal(total(e, 'edgeplane_worker_upstream_connections', { state: 'in_use' }), 0, 'none in use between requests');
});
