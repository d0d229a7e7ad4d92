// Event subscriptions end to end: a real daemon, resources created through the API, real HTTPS traffic,
// a signed HTTP destination and a file destination receiving exactly the filtered, projected and
// protected events; the test event; deletion by client IP across the events file and the file
// destination; the third-party list; and a stalled HTTP destination that must not slow requests.
import t from 'tap';
import https from 'node:https';
import http from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makePki } from '../helpers/pki.js';
import { metricValue, startDaemon, tempDir } from '../helpers/daemon.js';
import { apiClient } from '../helpers/api-client.js';
import { freePort } from '../helpers/net.js';
import { startOrigin, exampleTestCertificates } from '../helpers/http.js';
import { verifyEdgeplaneSignature } from '../../core/events/destinations/signature.js';

const KEY = 'subs-test-key-0123456789';
const SECRET = 'receiver-shared-secret';
const pki = makePki();
t.teardown(() => pki.cleanup());
const CA = pki.read('ca.crt');
const A = 'a.example.test';
const B = 'b.example.test';

interface Body { at: number; body: Buffer; signed: boolean }

/** The HTTP destination's receiver: verifies X-Edgeplane-Signature on every POST; 'stall' never answers. */
async function startReceiver(mode: 'ok' | 'stall') {
  const bodies: Body[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bodies.push({ at: Date.now(), body, signed: verifyEdgeplaneSignature(req.headers['x-edgeplane-signature'] as string | undefined, body, SECRET) });
      if (mode === 'stall') { hanging.push(res); return; }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { for (const r of hanging) r.destroy(); server.closeAllConnections(); server.close(() => resolve()); }));
  const lines = () => bodies.flatMap((b) => b.body.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, bodies, lines };
}

const origin = await startOrigin(t, (req, res) => { req.resume(); res.writeHead(200, { 'content-length': 3 }); res.end('ok\n'); });
const receiver = await startReceiver('ok');
const stalled = await startReceiver('stall');
const dir = tempDir(t);
const port = await freePort();
const daemon = await startDaemon(t, {
  workers: 1,
  listen_address: '127.0.0.1',
  admin: { listen: '127.0.0.1:0', api_keys: [KEY], state_dir: join(dir, 'state') },
  ...exampleTestCertificates(pki),
  backends: [{ id: 'bkd_ok', type: 'static_address', address: origin.address }],
  edges: [{
    id: 'edghts_subs', type: 'https', hostports: [`${A}:${port}`, `${B}:${port}`],
    routes: [{ id: 'rt_all', match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_ok' } }],
  }],
}, { dir });

const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
  const { status, body: json } = await apiClient(`http://${daemon.admin}`, KEY)(method, path, body);
  return { status, body: json };
};

const agents = new Map<string, https.Agent>();
t.teardown(() => { for (const a of agents.values()) a.destroy(); });
/** One HTTPS request through the edge from `from` (a loopback address), keep-alive per (from, host). */
/** `lane`: requests of one lane share one keep-alive connection; lanes run side by side (load). */
function request(host: string, from = '127.0.0.1', path = '/', headers: Record<string, string> = {}, lane = 0): Promise<number> {
  const key = `${from} ${host} ${lane}`;
  let agent = agents.get(key);
  if (agent === undefined) agents.set(key, (agent = new https.Agent({ keepAlive: true, maxSockets: 1 })));
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, servername: host, ca: CA, localAddress: from, agent, path, headers: { host, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitFor<T>(get: () => T, ok: (v: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (ok(value)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const readLines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
const traffic = (lines: any[]) => lines.filter((l) => l.event_type === 'http_request_complete.v0');
const filePath = join(dir, 'dest.ndjson');
const FIELDS = ['conn.client_ip', 'conn.server_name', 'http.request.method', 'http.request.url.path', 'http.request.headers'];
let httpDest = '';
let fileDest = '';

t.test('resources through the API; the test event', async (t) => {
  const created = await call('POST', '/event_destinations', {
    description: 'signed receiver',
    target: { http: { url: receiver.url, secret: SECRET } },
    data_protection: { client_ip: 'truncate', redact_headers: ['X-Secret'] },
  });
  t.equal(created.status, 201, JSON.stringify(created.body));
  httpDest = created.body.id;
  const file = await call('POST', '/event_destinations', { target: { file: { path: filePath } } });
  t.equal(file.status, 201);
  fileDest = file.body.id;
  const s1 = await call('POST', '/event_subscriptions', { sources: [{ type: 'http_request_complete.v0', fields: FIELDS, filter: `ev.conn.server_name == "${A}"` }], destination_ids: [httpDest] });
  t.equal(s1.status, 201, JSON.stringify(s1.body));
  const s2 = await call('POST', '/event_subscriptions', { sources: [{ type: 'http_request_complete.v0', fields: ['conn.client_ip', 'conn.server_name', 'http.request.url.path'], filter: '' }], destination_ids: [fileDest] });
  t.equal(s2.status, 201);

  const test = await call('POST', `/event_destinations/${httpDest}/test`);
  t.same(test, { status: 200, body: { ok: true } });
  const testEvent = receiver.lines().find((l) => l.event_type === 'test_event.v0');
  t.ok(testEvent, 'the receiver got the test event');
  t.ok(receiver.bodies.every((b) => b.signed), 'signed with the shared secret');
  const missing = await call('POST', '/event_destinations/ed_nope/test');
  t.equal(missing.status, 404);
  const anon = await fetch(`http://${daemon.admin}/event_records/delete`, { method: 'POST', headers: { 'ngrok-version': '2', 'content-type': 'application/json' }, body: '{"client_ip":"1.2.3.4"}' });
  t.equal(anon.status, 401, 'deletion needs an API key');
  const empty = await call('POST', '/event_records/delete', {});
  t.equal(empty.status, 400, 'an empty deletion query is refused');
});

t.test('the receiver gets exactly the filtered, projected, protected events', async (t) => {
  for (let i = 0; i < 3; i++) t.equal(await request(A, '127.0.0.2', `/a2-${i}`, { 'x-secret': 'hush', 'x-forwarded-for': '198.51.100.77' }), 200);
  for (let i = 0; i < 2; i++) t.equal(await request(B, '127.0.0.1', `/b1-${i}`), 200);
  t.equal(await request(A, '127.0.0.1', '/a1-0'), 200);
  const got = await waitFor(() => traffic(receiver.lines()), (l) => l.length >= 4, 'four events at the receiver');
  await new Promise((r) => setTimeout(r, 300)); // nothing more may come
  const events = traffic(receiver.lines());
  t.same(events.map((e) => e.object.http.request.url.path).sort(), ['/a1-0', '/a2-0', '/a2-1', '/a2-2'], 'only a.example.test');
  t.ok(got.every((e) => e.object.conn.server_name === A));
  for (const e of events) {
    t.same(Object.keys(e.object).sort(), ['conn', 'http']);
    t.same(Object.keys(e.object.conn).sort(), ['client_ip', 'server_name']);
    t.same(Object.keys(e.object.http.request).sort(), ['headers', 'method', 'url']);
    t.equal(e.object.conn.client_ip, '127.0.0.0', 'client IP truncated to /24');
  }
  const withSecret = events.find((e) => e.object.http.request.url.path === '/a2-0');
  t.same(withSecret.object.http.request.headers['X-Secret'], ['[redacted]'], 'configured header redacted');
  t.same(withSecret.object.http.request.headers['X-Forwarded-For'], ['198.51.100.0'], 'forwarded client IP truncated too');
  t.ok(receiver.bodies.every((b) => b.signed), 'every body carries a valid signature');
  const inFile = await waitFor(() => traffic(readLines(filePath)), (l) => l.length >= 6, 'six events in the file destination');
  t.equal(inFile.filter((e) => e.object.conn.client_ip === '127.0.0.2').length, 3);
});

t.test('third parties and deletion by client IP', async (t) => {
  const parties = await call('GET', '/event_destinations/third_parties');
  t.equal(parties.status, 200);
  t.same(parties.body.third_parties.map((p: any) => p.destination_id), [httpDest], 'the http destination, not the file one');
  t.match(parties.body.third_parties[0], { target: 'http', recipient: new URL(receiver.url).origin, data_protection: { client_ip: 'truncate' }, receives: [{ sources: [{ type: 'http_request_complete.v0', fields: FIELDS }] }] });
  t.notOk(JSON.stringify(parties.body).includes(SECRET), 'no secret in the list');

  const before = traffic(daemon.events()).filter((e) => e.object.conn.client_ip === '127.0.0.2').length;
  t.equal(before, 3, 'the events file holds the three requests from 127.0.0.2');
  const r = await call('POST', '/event_records/delete', { client_ip: '127.0.0.2' });
  t.equal(r.status, 200, JSON.stringify(r.body));
  t.same(r.body.stores.find((s: any) => s.store.startsWith('events.file')), { store: `events.file ${daemon.eventsPath}`, deleted: 3 });
  t.same(r.body.stores.find((s: any) => s.store.includes(fileDest)), { store: `event_destination ${fileDest} (file ${filePath})`, deleted: 3 });
  t.equal(r.body.deleted, 6);
  t.match(r.body.not_recallable, [{ destination_id: httpDest, target: 'http' }]);
  t.equal(traffic(daemon.events()).filter((e) => e.object.conn.client_ip === '127.0.0.2').length, 0, 'gone from the events file');
  t.equal(traffic(daemon.events()).length, 3, 'the other records stay');
  t.same(traffic(readLines(filePath)).map((e) => e.object.conn.client_ip), ['127.0.0.1', '127.0.0.1', '127.0.0.1'], 'gone from the file destination');
  const audit = await waitFor(() => daemon.events().filter((e) => e.event_type === 'event_records_deleted.v0'), (l) => l.length === 1, 'the deletion audit event');
  t.match(audit[0], { object: { query: { client_ip: '127.0.0.2' }, deleted: 6 }, principal: { source: 'API' } });
  t.equal(await request(A, '127.0.0.2', '/after'), 200);
  await waitFor(() => traffic(readLines(filePath)), (l) => l.length === 4, 'the file destination appends after the rewrite');
  await waitFor(() => traffic(daemon.events()), (l) => l.length === 4, 'the events file appends after the rewrite');
});

/** p99 of `count` sequential requests' latency, in ms. */
const LANES = 8;

/** p99 latency (ms) of `count` requests sent by LANES concurrent keep-alive clients: a small load test. */
async function p99(count: number): Promise<number> {
  const times: number[] = [];
  await Promise.all(Array.from({ length: LANES }, async (_, lane) => {
    for (let i = lane; i < count; i += LANES) {
      const start = process.hrtime.bigint();
      const status = await request(B, '127.0.0.1', `/load-${i}`, {}, lane);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (status !== 200) throw new Error(`request ${i}: status ${status}`);
    }
  }));
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length * 0.99)]!;
}

t.test('a stalled HTTP destination does not slow requests; its drops are counted', async (t) => {
  await p99(200); // warm-up
  const baseline = await p99(2000);
  const slow = await call('POST', '/event_destinations', {
    description: 'never answers',
    target: { http: { url: stalled.url, secret: SECRET } },
    data_protection: { retention_bytes: 4096 },
  });
  t.equal(slow.status, 201);
  const sub = await call('POST', '/event_subscriptions', { sources: [{ type: 'http_request_complete.v0', fields: ['conn.client_ip', 'http.request.url.path', 'http.request.headers'], filter: '' }], destination_ids: [slow.body.id] });
  t.equal(sub.status, 201);
  const withStalled = await p99(2000);
  t.comment(`p99 without the stalled destination ${baseline.toFixed(2)} ms, with it ${withStalled.toFixed(2)} ms`);
  t.ok(withStalled <= 2 * baseline + 5, `p99 ${withStalled.toFixed(2)} ms ≤ 2 × ${baseline.toFixed(2)} + 5 ms`);
  t.ok(stalled.bodies.length >= 1, 'the stalled receiver got requests it never answered');
  const got = (await call('GET', `/event_destinations/${slow.body.id}`)).body;
  t.ok(got.stats.dropped > 0, `drops counted: ${JSON.stringify(got.stats)}`);
  t.equal(got.stats.delivered, 0);
  t.ok(got.stats.buffered_bytes <= 4096, 'the buffer stays within retention_bytes');
  const metrics = await daemon.metrics();
  const dropped = metricValue(metrics, 'edgeplane_event_destination_records_total', `{destination="${slow.body.id}",target="http",outcome="dropped"}`);
  t.ok(dropped !== undefined && dropped > 0, `/metrics counts the drops too (${String(dropped)})`);
});
