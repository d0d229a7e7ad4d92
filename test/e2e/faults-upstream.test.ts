// Fault injection on the upstream side of a real daemon (issue 10): upstreams that reset mid-body,
// before the head or during an upload; that never answer, or stall after the head; that never accept;
// and names that do not resolve. Every request must settle within a bound, a cut response must never
// look complete to the client, and each failure must show in /metrics and the events file.
import t from 'tap';
import { makePki } from '../helpers/pki.js';
import { metricValue, startDaemon } from '../helpers/daemon.js';
import { connectTcp, freePort, readAll } from '../helpers/net.js';
import { exampleTestCertificates, h2Connect, startOrigin, tlsConnect, readUntilMatch } from '../helpers/http.js';
import {
  connectHangs, headThenStall, neverAnswer, nonAcceptingListener, rawOrigin, resetAfterBody, resetMidBody, resetOnHead,
} from '../helpers/faults/origins.js';
import { h1, h2 } from '../helpers/faults/clients.js';

const pki = makePki();
t.teardown(() => pki.cleanup());
const CA = pki.read('ca.crt');
const APP = 'faults.example.test';
const EDGE = 'edghts_faults';
const LENGTH = 1024 * 1024;
const HALF = LENGTH / 2;
const HEADER_TIMEOUT_S = 1;
/** upstream_connect_timeout, set below the 10 s default so the test is quick. */
const CONNECT_TIMEOUT_MS = 2_000;
const DNS_BACKEND = 'no-such-host.invalid:80';

const resetCl = resetMidBody(LENGTH, HALF);
const resetChunked = resetMidBody(null, HALF);
const origins = {
  ok: await startOrigin(t, (req, res) => { req.resume(); res.writeHead(200, { 'content-length': 3 }); res.end('ok\n'); }),
  resetCl: await rawOrigin(t, resetCl.onHead),
  resetChunked: await rawOrigin(t, resetChunked.onHead),
  resetHead: await rawOrigin(t, resetOnHead),
  resetUpload: await rawOrigin(t, resetAfterBody(256 * 1024)),
  silent: await rawOrigin(t, neverAnswer),
  stall: await rawOrigin(t, headThenStall(LENGTH, 1000)),
  blackhole: await nonAcceptingListener(t),
};
const ROUTES: Array<[string, string]> = [
  ['ok', origins.ok.address], ['reset_cl', origins.resetCl.address], ['reset_chunked', origins.resetChunked.address],
  ['reset_head', origins.resetHead.address], ['reset_upload', origins.resetUpload.address], ['silent', origins.silent.address],
  ['stall', origins.stall.address], ['blackhole', origins.blackhole.address], ['dns', DNS_BACKEND],
];

const port = await freePort();
const tcpPort = await freePort();
const daemon = await startDaemon(t, {
  workers: 2,
  listen_address: '127.0.0.1',
  upstream_connect_timeout: CONNECT_TIMEOUT_MS / 1000,
  http: { upstream_response_header_timeout: HEADER_TIMEOUT_S },
  ...exampleTestCertificates(pki),
  backends: [
    ...ROUTES.map(([name, address]) => ({ id: `bkd_${name}`, type: 'static_address', address })),
  ],
  edges: [
    {
      id: EDGE, type: 'https', hostports: [`${APP}:${port}`],
      routes: ROUTES.map(([name]) => ({ id: `rt_${name}`, match_type: 'path_prefix', match: `/${name}`, backend: { backend_id: `bkd_${name}` } })),
    },
    { id: 'edgtcp_dns', type: 'tcp', hostports: [`127.0.0.1:${tcpPort}`], backend: { backend_id: 'bkd_dns' } },
  ],
});

const get = (path: string, extra: Partial<Parameters<typeof h1>[0]> = {}) => h1({ port, host: APP, ca: CA, path, timeoutMs: 20_000, ...extra });
const responses = (m: string, name: string, cls: string) => metricValue(m, 'edgeplane_route_http_responses_total', `{edge="${EDGE}",route="rt_${name}",status_class="${cls}"}`) ?? 0;
const backendErrors = (m: string, name: string) => metricValue(m, 'edgeplane_backend_http_errors_total', `{backend="bkd_${name}"}`) ?? 0;
const failures = (m: string, name: string, phase: string) => metricValue(m, 'edgeplane_backend_http_upstream_failures_total', `{backend="bkd_${name}",phase="${phase}"}`) ?? 0;
const requestEvents = (path: string) => daemon.events().filter((e) => e.event_type === 'http_request_complete.v0' && String(e.object?.http?.request?.url?.path ?? e.object?.http?.request?.url ?? '').includes(path));

/** The daemon still serves a plain request. */
async function alive(t: { equal(...args: any[]): unknown }): Promise<void> {
  const r = await get('/ok/alive');
  t.equal(r.status, 200, 'the daemon still serves');
  t.equal(daemon.proc.exitCode, null, 'the daemon process is running');
}

t.test('upstream reset mid-body (Content-Length): the client sees the connection cut, never a short body as complete', async (t) => {
  const r = await get('/reset_cl/1', { onHead: () => resetCl.reset() });
  t.equal(r.status, 200, 'the head had gone out');
  t.notOk(r.complete, `the response did not end as framed (${r.error})`);
  t.ok(r.body.length < LENGTH, `fewer bytes than promised (${r.body.length} < ${LENGTH})`);
  t.ok(r.ms < 5000, `settled in ${r.ms} ms`);
  await origins.resetCl.allClosed();
  // HTTP/2: the stream is reset, not ended.
  const session = await h2Connect(t, port, APP, CA);
  const s = await h2(session, { ':path': '/reset_cl/h2' }, { onHead: () => resetCl.reset() });
  t.equal(s.status, 200);
  t.notOk(s.complete, `h2: not complete (${s.error})`);
  t.match(s.error ?? '', /RST_STREAM|closed|aborted/, 'h2: the stream was reset');
  t.ok(s.body.length < LENGTH);
  session.close();
  const m = await daemon.metrics();
  t.equal(responses(m, 'reset_cl', '2xx'), 2, 'counted as a 2xx response: the status had been sent');
  t.equal(failures(m, 'reset_cl', 'mid_body'), 2, 'and as an upstream failure mid-body (edgeplane_backend_http_upstream_failures_total)');
  t.equal(failures(m, 'reset_cl', 'before_head'), 0, 'not before the head');
  await alive(t);
});

t.test('upstream reset mid-body (chunked): the edge never writes the terminating 0-chunk', async (t) => {
  const socket = await tlsConnect(port, APP);
  socket.write(`GET /reset_chunked/raw HTTP/1.1\r\nhost: ${APP}\r\n\r\n`);
  const seen = readAll(socket, 10_000);
  await readUntilMatch(socket, (text) => text.includes('\r\n\r\n'));
  resetChunked.reset();
  const text = await seen; // resolves when the edge closes the connection
  t.match(text, /^HTTP\/1\.1 200/, 'the head had gone out');
  t.notMatch(text, /\r\n0\r\n\r\n$/, 'no last-chunk: the client can tell the body was cut');
  const client = await get('/reset_chunked/node', { onHead: () => resetChunked.reset() });
  t.equal(client.status, 200);
  t.notOk(client.complete, `node's client sees it incomplete (${client.error})`);
  // HTTP/2 has no Content-Length here: only a reset tells the client the body was cut.
  const session = await h2Connect(t, port, APP, CA);
  const s = await h2(session, { ':path': '/reset_chunked/h2' }, { onHead: () => resetChunked.reset() });
  t.equal(s.status, 200);
  t.notOk(s.complete, `h2: the stream did not end cleanly (${s.error})`);
  t.match(s.error ?? '', /RST_STREAM|NGHTTP2_INTERNAL_ERROR/, 'h2: RST_STREAM');
  session.close();
  await origins.resetChunked.allClosed();
  await alive(t);
});

t.test('upstream reset before any byte: 502 with the edge\'s error page, counted as an upstream error', async (t) => {
  const before = await daemon.metrics();
  const r = await get('/reset_head/1');
  t.equal(r.status, 502);
  t.ok(typeof r.headers['ngrok-error-code'] === 'string', `error code ${r.headers['ngrok-error-code']}`);
  t.match(r.body.toString(), /could not be reached/, 'the body is the edge\'s error page');
  t.ok(r.complete, 'the 502 itself is complete');
  const session = await h2Connect(t, port, APP, CA);
  const s = await h2(session, { ':path': '/reset_head/h2' });
  t.equal(s.status, 502, 'h2: 502 too');
  session.close();
  const after = await daemon.metrics();
  t.equal(backendErrors(after, 'reset_head') - backendErrors(before, 'reset_head'), 2, 'edgeplane_backend_http_errors_total +2');
  t.equal(failures(after, 'reset_head', 'before_head') - failures(before, 'reset_head', 'before_head'), 2, 'upstream failures before the head +2');
  t.equal(responses(after, 'reset_head', '5xx'), 2, 'two 5xx on the route');
  const ev = await daemon.waitForEvents(1).then(() => waitFor(() => requestEvents('/reset_head/').length >= 2));
  t.ok(ev, 'both requests have an http_request_complete event');
  t.same(requestEvents('/reset_head/').map((e) => e.object.http.response.status_code), [502, 502], 'with status 502');
});

t.test('upstream reset while the client is still uploading: 502 (or a cut connection), settled fast', async (t) => {
  const body = Buffer.alloc(8 * 1024 * 1024, 0x62);
  const r = await get('/reset_upload/1', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
  t.ok(r.status === 502 || (r.status === 0 && r.error !== null), `502 or a connection error (status ${r.status}, ${r.error})`);
  t.ok(r.ms < 5000, `settled in ${r.ms} ms`);
  t.ok(origins.resetUpload.bodyBytes() < body.length, `the origin saw ${origins.resetUpload.bodyBytes()} of ${body.length} body bytes`);
  await origins.resetUpload.allClosed();
  await alive(t);
});

t.test('an upstream that never answers: 504 after upstream_response_header_timeout, h1 and h2, upstream socket closed', async (t) => {
  const before = await daemon.metrics();
  const session = await h2Connect(t, port, APP, CA);
  const [a, b] = await Promise.all([get('/silent/h1'), h2(session, { ':path': '/silent/h2' })]);
  session.close();
  for (const [name, r] of [['h1', a], ['h2', b]] as const) {
    t.equal(r.status, 504, `${name}: 504`);
    t.equal(r.headers['ngrok-error-code'], 'ERR_NGROK_3008', `${name}: ERR_NGROK_3008`);
    t.ok(r.ms >= HEADER_TIMEOUT_S * 1000 - 50 && r.ms < HEADER_TIMEOUT_S * 1000 + 3000, `${name}: after ${r.ms} ms (timeout ${HEADER_TIMEOUT_S} s, swept every 250 ms)`);
  }
  t.equal(origins.silent.connections(), 2, 'both reached the origin');
  await origins.silent.allClosed(3000);
  t.pass('the edge closed both upstream connections');
  const after = await daemon.metrics();
  t.equal(backendErrors(after, 'silent') - backendErrors(before, 'silent'), 2, 'counted as backend errors');
  t.equal(responses(after, 'silent', '5xx'), 2);
});

t.test('an upstream that sends the head and then stalls: cut after the same silence bound, not left hanging', async (t) => {
  const session = await h2Connect(t, port, APP, CA);
  const [a, b] = await Promise.all([get('/stall/h1'), h2(session, { ':path': '/stall/h2' })]);
  session.close();
  for (const [name, r] of [['h1', a], ['h2', b]] as const) {
    t.equal(r.status, 200, `${name}: the head went out`);
    t.notOk(r.complete, `${name}: the body was cut (${r.error})`);
    t.equal(r.body.length, 1000, `${name}: the bytes that came`);
    t.ok(r.ms >= HEADER_TIMEOUT_S * 1000 - 50 && r.ms < HEADER_TIMEOUT_S * 1000 + 3000, `${name}: cut after ${r.ms} ms of upstream silence`);
  }
  await origins.stall.allClosed(3000);
  await alive(t);
});

t.test('an upstream that never accepts: 504 within the connect timeout', async (t) => {
  t.ok(await connectHangs(origins.blackhole.port, 300), 'a plain connect to it hangs (the accept queue is full)');
  const before = await daemon.metrics();
  const session = await h2Connect(t, port, APP, CA);
  const [a, b] = await Promise.all([get('/blackhole/h1'), h2(session, { ':path': '/blackhole/h2' }, { timeoutMs: 20_000 })]);
  session.close();
  for (const [name, r] of [['h1', a], ['h2', b]] as const) {
    t.equal(r.status, 504, `${name}: 504`);
    t.equal(r.headers['ngrok-error-code'], 'ERR_NGROK_3008', `${name}: ERR_NGROK_3008`);
    t.ok(r.ms >= CONNECT_TIMEOUT_MS - 100 && r.ms < CONNECT_TIMEOUT_MS + 3000, `${name}: after ${r.ms} ms (connect timeout ${CONNECT_TIMEOUT_MS} ms)`);
  }
  const after = await daemon.metrics();
  t.equal(backendErrors(after, 'blackhole') - backendErrors(before, 'blackhole'), 2, 'counted as backend errors');
});

t.test('a backend name that does not resolve: 502 at once (https), closed at once (tcp), counted', async (t) => {
  const before = await daemon.metrics();
  const results = [];
  for (let i = 0; i < 5; i++) results.push(await get(`/dns/${i}`));
  for (const r of results) {
    t.equal(r.status, 502);
    t.equal(r.headers['ngrok-error-code'], 'ERR_NGROK_3005', 'the upstream could not be reached');
    t.ok(r.ms < 3000, `answered in ${r.ms} ms`);
  }
  const started = Date.now();
  const tcp = await connectTcp(tcpPort);
  const text = await readAll(tcp, 5000);
  t.equal(text, '', 'the tcp client got nothing');
  t.ok(Date.now() - started < 3000, `and was closed in ${Date.now() - started} ms`);
  const after = await daemon.metrics();
  t.equal(backendErrors(after, 'dns') - backendErrors(before, 'dns'), 5, 'edgeplane_backend_http_errors_total counts each');
  t.equal(failures(after, 'dns', 'connect') - failures(before, 'dns', 'connect'), 5, 'and as a failed dial (phase connect)');
  t.equal((metricValue(after, 'edgeplane_edge_connections_total', '{edge="edgtcp_dns"}') ?? 0), 1, 'the tcp connection is counted on its edge');
  const dnsLogs = () => daemon.logs.filter((l) => l.msg === 'upstream dial failed' && l.endpoint === DNS_BACKEND);
  t.ok(await waitFor(() => dnsLogs().length > 0), 'the DNS failure is logged as a warning');
  t.match(dnsLogs()[0], { level: 'warn', code: 'ENOTFOUND', error: /no-such-host\.invalid/ }, 'with its code and the name');
  // Once per endpoint, code and worker thread per 30 s: 6 failures over 2 workers make at most 2 lines.
  t.ok(dnsLogs().length <= 2, `not one line per request (${dnsLogs().length} lines for 6 failures)`);
  await alive(t);
});

async function waitFor(pred: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
