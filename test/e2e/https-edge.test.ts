// HTTPS edges end to end, with real clients (curl over HTTP/1.1 and HTTP/2, node https and http2,
// ws, raw TLS sockets): an https edge and a TLS passthrough edge on one port, routing and path
// normalisation, headers to and from the upstream, big streamed bodies, keep-alive reuse, bodyless
// responses, WebSockets, upstream failures and the events a request leaves behind.
import t from 'tap';
import https from 'node:https';
import { X509Certificate, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { makePki } from '../helpers/pki.js';
import { startDaemon } from '../helpers/daemon.js';
import { freePort, readAll, readUntil, run, tlsEchoServer } from '../helpers/net.js';
import {
  closeMidBodyHandler, echoHandler, h2Connect, h2Request, httpsRequest, lookupLoopback, rawNames, rawOrigin,
  readUntilMatch, reportHandler, sha256, startOrigin, tlsConnect, waitForEvent, webSocketEcho, type OriginHandler, exampleTestCertificates } from '../helpers/http.js';

const pki = makePki();
t.teardown(() => pki.cleanup());
const CA = pki.read('ca.crt');
const APP = 'app.example.test';
const PASS = 'pass.example.test';
const MB20 = 20 * 1024 * 1024;
const BIG = 16 * 1024 * 1024;

const cn = (pem: string): string => /CN=([^\n]+)/.exec(new X509Certificate(pem).subject)![1]!;

// The origin answers by path; the edge forwards normalised paths, so these are also what routes matched.
const originHandler: OriginHandler = (req, res, seen) => {
  const path = (req.url ?? '').split('?')[0]!;
  if (path.startsWith('/echo')) return echoHandler(req, res, seen);
  if (path === '/midbody/length') return closeMidBodyHandler(100_000, 10_000)(req, res, seen);
  if (path === '/midbody/chunked') return closeMidBodyHandler(null, 10_000)(req, res, seen);
  if (path === '/status/big') { res.writeHead(200, { 'content-length': BIG, 'content-type': 'application/octet-stream' }); res.end(Buffer.alloc(BIG, 0x61)); return; }
  if (path === '/status/204') { res.writeHead(204, { 'x-origin': 'yes' }); res.end(); return; }
  if (path === '/status/304') { res.writeHead(304, { etag: '"v1"' }); res.end(); return; }
  if (path === '/status/head') { res.writeHead(200, { 'content-length': 1234, 'content-type': 'text/plain' }); res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(1234)); return; }
  return reportHandler(req, res, seen);
};

async function setup(tt: { teardown(fn: () => unknown): void }) {
  const port = await freePort();
  const origin = await startOrigin(tt, originHandler);
  const ws = webSocketEcho(tt, origin, '/ws');
  const keepAliveOrigin = await startOrigin(tt); // its own server: its connection count is this test's alone
  const passUpstream = await tlsEchoServer(tt, 'PASSTHROUGH', pki.read('upstream.crt'), pki.read('upstream.key'));
  const silent = await rawOrigin(tt, (s) => s.resume());
  const garbage = await rawOrigin(tt, (s) => s.once('data', () => s.write('THIS IS NOT HTTP AT ALL\r\n\r\n')));
  const hangup = await rawOrigin(tt, (s) => s.once('data', () => s.destroy()));
  // Answers with hop-by-hop headers and a forged ngrok-error-code, byte for byte.
  const hopOrigin = await rawOrigin(tt, (s) => {
    let head = '';
    s.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      head = '';
      s.write('HTTP/1.1 200 OK\r\nConnection: X-Resp-Hop\r\nX-Resp-Hop: secret\r\nKeep-Alive: timeout=9\r\n' +
        'ngrok-error-code: ERR_NGROK_9999\r\nX-Resp-Kept: yes\r\nContent-Length: 6\r\n\r\nhopped');
    });
  });
  const deadPort = await freePort();

  const route = (id: string, matchType: 'exact_path' | 'path_prefix', match: string, backendId: string | null, extra: object = {}) => ({
    id, match_type: matchType, match,
    ...(backendId === null ? {} : { backend: { backend_id: backendId } }),
    request_headers: { add: { 'x-edge-route': id } },
    ...extra,
  });
  const daemon = await startDaemon(tt, {
    workers: 2,
    listen_address: '127.0.0.1',
    ...exampleTestCertificates(pki),
    backends: [
      { id: 'bkd_origin', type: 'static_address', address: origin.address },
      { id: 'bkd_ka', type: 'static_address', address: keepAliveOrigin.address },
      { id: 'bkd_pass', type: 'static_address', address: `127.0.0.1:${passUpstream.port}` },
      { id: 'bkd_dead', type: 'static_address', address: `127.0.0.1:${deadPort}` },
      { id: 'bkd_silent', type: 'static_address', address: silent.address },
      { id: 'bkd_garbage', type: 'static_address', address: garbage.address },
      { id: 'bkd_hangup', type: 'static_address', address: hangup.address },
      { id: 'bkd_hop', type: 'static_address', address: hopOrigin.address },
      { id: 'bkd_fixed', type: 'http_response', status_code: 200, headers: { 'content-type': 'text/plain' }, body: 'fallback answer' },
      { id: 'bkd_failover', type: 'failover', backends: ['bkd_dead', 'bkd_fixed'] },
    ],
    edges: [
      { id: 'edgtls_pass', type: 'tls', hostports: [`${PASS}:${port}`], backend: { backend_id: 'bkd_pass' }, tls_termination: { terminate_at: 'upstream' } },
      {
        id: 'edghts_app',
        type: 'https',
        hostports: [`${APP}:${port}`],
        routes: [
          route('rt_app', 'path_prefix', '/app', 'bkd_origin'),
          route('rt_api', 'path_prefix', '/api', 'bkd_origin'),
          route('rt_api_v2', 'path_prefix', '/api/v2', 'bkd_origin'),
          route('rt_api_v2_exact', 'exact_path', '/api/v2/exact', 'bkd_origin'),
          route('rt_admin', 'path_prefix', '/admin', 'bkd_origin'),
          route('rt_echo', 'path_prefix', '/echo', 'bkd_origin'),
          route('rt_status', 'path_prefix', '/status', 'bkd_origin'),
          route('rt_midbody', 'path_prefix', '/midbody', 'bkd_origin'),
          route('rt_ws', 'exact_path', '/ws', 'bkd_origin'),
          route('rt_keepalive', 'path_prefix', '/keepalive', 'bkd_ka'),
          route('rt_hop', 'exact_path', '/hop', 'bkd_hop'),
          route('rt_dead', 'exact_path', '/fail/dead', 'bkd_dead'),
          route('rt_silent', 'exact_path', '/fail/silent', 'bkd_silent'),
          route('rt_garbage', 'exact_path', '/fail/garbage', 'bkd_garbage'),
          route('rt_hangup', 'exact_path', '/fail/hangup', 'bkd_hangup'),
          route('rt_failover', 'exact_path', '/fail/failover', 'bkd_failover'),
          route('rt_none', 'exact_path', '/fail/none', null),
        ],
      },
    ],
    http: { upstream_response_header_timeout: 2 },
  });
  return { port, daemon, origin, ws, keepAliveOrigin };
}

const { port, daemon, origin, ws: wsOrigin, keepAliveOrigin } = await setup(t);
const report = (body: Buffer): { method: string; url: string; headers: Record<string, string>; rawHeaders: string[]; bodyLength: number; bodySha256: string } => JSON.parse(body.toString());
// Not anchored to line starts: a response may follow the previous body on the same line.
const statusLines = (text: string): string[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]!);
const get = (path: string, extra: Partial<Parameters<typeof httpsRequest>[0]> = {}) => httpsRequest({ port, host: APP, ca: CA, path, ...extra });

t.test('an https edge and a TLS passthrough edge share one port', async (t) => {
  const curlArgs = ['-sS', '--cacert', pki.path('ca.crt'), '--resolve', `${APP}:${port}:127.0.0.1`, '-w', '\n%{http_version}'];
  for (const [flag, version] of [['--http1.1', '1.1'], ['--http2', '2']] as const) {
    const res = await run('curl', [...curlArgs, flag, `https://${APP}:${port}/app/curl?v=${version}`]);
    t.equal(res.code, 0, res.stderr);
    const nl = res.stdout.lastIndexOf('\n');
    t.equal(res.stdout.slice(nl + 1), version, `curl ${flag} spoke HTTP/${version}`);
    const seen = JSON.parse(res.stdout.slice(0, nl));
    t.equal(seen.url, `/app/curl?v=${version}`, `curl ${flag} got the origin's body`);
    t.equal(seen.headers['x-forwarded-proto'], 'https');
  }

  const session = await h2Connect(t, port, APP, CA);
  t.equal(session.alpnProtocol, 'h2', 'node http2 negotiated h2 by ALPN');
  const res = await h2Request(session, { ':path': '/app/node-h2', ':method': 'GET' });
  t.equal(res.status, 200);
  t.equal(report(res.body).url, '/app/node-h2', 'the origin answered an HTTP/2 request over HTTP/1.1');
  t.equal(report(res.body).headers.host, `${APP}:${port}`, ':authority became the upstream Host');
  session.close();

  const socket = await tlsConnect(port, PASS, []);
  t.equal(cn(socket.getPeerX509Certificate()!.toString()), cn(pki.read('upstream.crt')), 'the passthrough edge still shows the upstream certificate');
  t.equal(await readUntil(socket, '\n'), 'PASSTHROUGH\n');
  socket.write('through\n');
  await readUntil(socket, 'through\n');
  socket.destroy();
  const terminated = await tlsConnect(port, APP);
  t.equal(cn(terminated.getPeerX509Certificate()!.toString()), 'edgeplane test leaf', 'the https edge shows the edge certificate');
  terminated.destroy();
});

t.test('routing: exact beats prefix, longest prefix wins, normalised paths cannot dodge a route', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['/api/v2/exact', 'rt_api_v2_exact', '/api/v2/exact'],
    ['/api/v2/exact/more', 'rt_api_v2', '/api/v2/exact/more'],
    ['/api/v2', 'rt_api_v2', '/api/v2'],
    ['/api/v2/users', 'rt_api_v2', '/api/v2/users'],
    ['/api/v20', 'rt_api', '/api/v20'],
    ['/api', 'rt_api', '/api'],
    ['//admin', 'rt_admin', '/admin'],
    ['/x/../admin', 'rt_admin', '/admin'],
    ['/%61dmin', 'rt_admin', '/admin'],
    ['/%2Fadmin/panel', 'rt_admin', '/admin/panel'],
    ['/api/%2e%2e/admin', 'rt_admin', '/admin'],
    ['/app/./x/?q=1&r=%2F', 'rt_app', '/app/x/?q=1&r=%2F'],
  ];
  for (const [path, routeId, seenPath] of cases) {
    const res = await get(path);
    t.equal(res.status, 200, `${path} is served`);
    const seen = report(res.body);
    t.equal(seen.headers['x-edge-route'], routeId, `${path} → ${routeId}`);
    t.equal(seen.url, seenPath, `${path}: the origin sees ${seenPath}`);
  }
  for (const path of ['/nothing', '/apix', '/', '/adm']) {
    const before = origin.requests.length;
    const res = await get(path);
    t.equal(res.status, 404, `${path}: no route → 404`);
    t.equal(res.headers['ngrok-error-code'], 'ERR_NGROK_3200', `${path}: with the error code header`);
    t.equal(origin.requests.length, before, `${path}: nothing reached the origin`);
  }
});

t.test('headers to the upstream: X-Forwarded-*, Host kept, hop-by-hop headers dropped', async (t) => {
  const socket = await tlsConnect(port, APP);
  socket.write(
    `POST /app/headers HTTP/1.1\r\nHost: ${APP}:${port}\r\nX-Forwarded-For: 203.0.113.7\r\n` +
    'Connection: close, X-Hop-Secret\r\nX-Hop-Secret: do-not-forward\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n' +
    'Proxy-Connection: keep-alive\r\nX-End-To-End: kept\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
  const text = await readAll(socket);
  t.match(text, /^HTTP\/1\.1 200 /, 'answered');
  const seen = origin.requestsTo('/app/headers').at(-1)!;
  t.ok(seen, 'the origin got the request');
  t.equal(seen.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1', 'the client IP is appended to X-Forwarded-For');
  t.equal(seen.headers['x-forwarded-proto'], 'https');
  t.equal(seen.headers['x-forwarded-host'], `${APP}:${port}`, 'X-Forwarded-Host is the request Host');
  t.equal(seen.headers.host, `${APP}:${port}`, 'Host is kept');
  t.equal(seen.headers['x-end-to-end'], 'kept');
  const names = rawNames(seen.rawHeaders);
  for (const hop of ['x-hop-secret', 'keep-alive', 'te', 'proxy-connection', 'connection']) t.notOk(names.includes(hop), `${hop} is not forwarded`);
  t.equal(names.filter((n) => n === 'transfer-encoding').length, 1, "only the edge's own framing header reaches the origin");
  t.equal(seen.body.toString(), 'hello', 'the chunked body arrives whole');

  const h = await get('/app/xfh', { headers: { 'x-forwarded-host': 'original.example', 'x-forwarded-proto': 'http' } });
  const seenXfh = report(h.body);
  t.equal(seenXfh.headers['x-forwarded-host'], 'original.example', "the client's own X-Forwarded-Host is kept");
  t.equal(seenXfh.headers['x-forwarded-proto'], 'http, https', 'X-Forwarded-Proto is appended');
});

t.test('headers from the upstream: hop-by-hop dropped, ngrok-error-code never passes', async (t) => {
  const res = await get('/hop');
  t.equal(res.status, 200);
  t.equal(res.body.toString(), 'hopped');
  t.equal(res.headers['x-resp-kept'], 'yes');
  t.equal(res.headers['ngrok-error-code'], undefined, "an upstream's ngrok-error-code never reaches the client");
  t.equal(res.headers['x-resp-hop'], undefined, 'a Connection-listed header is dropped');
  t.equal(res.headers['keep-alive'], undefined, "the upstream's Keep-Alive is not relayed");
  const session = await h2Connect(t, port, APP, CA);
  const h2 = await h2Request(session, { ':path': '/hop' });
  t.equal(h2.status, 200, 'HTTP/2 gets the response too (no connection-specific header breaks it)');
  t.equal(h2.headers['ngrok-error-code'], undefined);
  session.close();
});

t.test('a 20 MB body streams both ways (Content-Length, chunked, HTTP/2)', async (t) => {
  const data = randomBytes(MB20);
  const digest = sha256(data);
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += 256 * 1024) chunks.push(data.subarray(i, i + 256 * 1024));

  const withLength = await get('/echo/length', { method: 'POST', headers: { 'content-length': MB20 }, body: chunks, timeoutMs: 30_000 });
  t.equal(withLength.status, 200);
  t.equal(withLength.headers['content-length'], String(MB20), 'the length is passed on');
  t.equal(withLength.body.length, MB20);
  t.equal(sha256(withLength.body), digest, 'the client gets back exactly what it sent');
  const atOrigin = origin.requestsTo('/echo/length').at(-1)!;
  t.equal(atOrigin.bodyLength, MB20);
  t.equal(atOrigin.bodySha256, digest, 'the origin got exactly what was sent');

  const chunked = await get('/echo/chunked', { method: 'POST', body: chunks, timeoutMs: 30_000 });
  t.equal(chunked.status, 200);
  t.equal(chunked.headers['transfer-encoding'], 'chunked', 'no length known: chunked to the client');
  t.equal(sha256(chunked.body), digest);
  const atOrigin2 = origin.requestsTo('/echo/chunked').at(-1)!;
  t.equal(atOrigin2.headers['transfer-encoding'], 'chunked');
  t.equal(atOrigin2.bodySha256, digest);

  const session = await h2Connect(t, port, APP, CA);
  const h2 = await h2Request(session, { ':path': '/echo/h2', ':method': 'POST', 'content-length': MB20 }, data);
  t.equal(h2.status, 200);
  t.ok(h2.complete, 'the HTTP/2 stream ended cleanly');
  t.equal(sha256(h2.body), digest, 'HTTP/2 round trip is byte-exact');
  t.equal(origin.requestsTo('/echo/h2').at(-1)!.bodySha256, digest);
  session.close();
});

t.test('keep-alive: requests on one client connection share one upstream connection', async (t) => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const results = [];
  for (let i = 0; i < 6; i++) {
    const post = i % 2 === 1;
    const res = await get(`/keepalive/${i}`, post ? { agent, method: 'POST', headers: { 'content-length': 3000 }, body: Buffer.alloc(3000, i) } : { agent });
    results.push(res);
    t.equal(res.status, 200, `request ${i} answered`);
    t.equal(report(res.body).url, `/keepalive/${i}`);
  }
  t.same(results.map((r) => r.reusedSocket), [false, true, true, true, true, true], 'one client connection carried every request');
  t.equal(keepAliveOrigin.requests.length, 6);
  t.equal(keepAliveOrigin.connections(), 1, 'the origin saw one upstream connection for all six');
  t.same(keepAliveOrigin.requests.map((r) => r.connection), [1, 1, 1, 1, 1, 1]);
  t.same(keepAliveOrigin.requests.map((r) => r.bodyLength), [0, 3000, 0, 3000, 0, 3000]);
});

t.test('HEAD, 204 and 304 are framed right (the connection stays usable after each)', async (t) => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const head = await get('/status/head', { agent, method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers['content-length'], '1234', "HEAD keeps the upstream's Content-Length");
  t.equal(head.body.length, 0, 'and has no body');
  const noContent = await get('/status/204', { agent });
  t.equal(noContent.status, 204);
  t.equal(noContent.headers['x-origin'], 'yes');
  t.equal(noContent.headers['transfer-encoding'], undefined, '204 has no Transfer-Encoding');
  t.equal(noContent.body.length, 0);
  const notModified = await get('/status/304', { agent, headers: { 'if-none-match': '"v1"' } });
  t.equal(notModified.status, 304);
  t.equal(notModified.headers.etag, '"v1"');
  t.equal(notModified.headers['transfer-encoding'], undefined, '304 has no Transfer-Encoding');
  t.equal(notModified.body.length, 0);
  const after = await get('/status/head', { agent });
  t.ok(after.reusedSocket, 'the same connection serves the next request');
  t.equal(after.body.toString(), 'x'.repeat(1234), 'and its body is not mistaken for an earlier one');

  // The same over a raw socket, pipelined: the responses must parse back to back, then a GET with a body.
  const socket = await tlsConnect(port, APP);
  const host = `Host: ${APP}:${port}\r\n`;
  socket.write(`HEAD /status/head HTTP/1.1\r\n${host}\r\nGET /status/204 HTTP/1.1\r\n${host}\r\nGET /status/304 HTTP/1.1\r\n${host}\r\nGET /status/head HTTP/1.1\r\n${host}\r\n`);
  const text = await readUntilMatch(socket, (s) => statusLines(s).length === 4 && s.endsWith('x'.repeat(1234)), 5000);
  socket.destroy();
  t.same(statusLines(text), ['200', '204', '304', '200'], 'pipelined bodyless responses come back in order');
  t.equal(text.split('x'.repeat(1234)).length, 2, 'exactly one body: nothing after HEAD, 204 or 304');
});

t.test('pipelined requests: a Connection: close on the last one applies after its own response', async (t) => {
  const socket = await tlsConnect(port, APP);
  const host = `Host: ${APP}:${port}\r\n`;
  socket.write(`GET /app/pipe-1 HTTP/1.1\r\n${host}\r\nGET /app/pipe-2 HTTP/1.1\r\n${host}Connection: close\r\n\r\n`);
  const text = await readAll(socket, 5000);
  t.same(statusLines(text), ['200', '200'], 'both pipelined requests are answered, in order');
  t.match(text, /"url":"\/app\/pipe-1"[\s\S]*"url":"\/app\/pipe-2"/);
  const firstHead = text.slice(0, text.indexOf('\r\n\r\n'));
  t.notMatch(firstHead, /connection: close/i, "the first response is not marked close by the second request's header");
});

t.test('upstream failures become gateway errors with codes, never hangs', async (t) => {
  const dead = await get('/fail/dead');
  t.equal(dead.status, 502, 'origin down → 502');
  t.match(String(dead.headers['ngrok-error-code']), /^ERR_NGROK_300[56]$/);

  const started = Date.now();
  const silent = await get('/fail/silent');
  const took = Date.now() - started;
  t.equal(silent.status, 504, 'origin that never answers → 504');
  t.equal(silent.headers['ngrok-error-code'], 'ERR_NGROK_3008');
  t.ok(took >= 1900 && took < 6000, `504 after upstream_response_header_timeout (2 s): took ${took} ms`);

  const garbage = await get('/fail/garbage');
  t.equal(garbage.status, 502, 'origin speaking garbage → 502');
  t.equal(garbage.headers['ngrok-error-code'], 'ERR_NGROK_3004');

  const hangup = await get('/fail/hangup');
  t.equal(hangup.status, 502, 'origin closing without an answer → 502');
  t.match(String(hangup.headers['ngrok-error-code']), /^ERR_NGROK_300\d$/);

  const failover = await get('/fail/failover');
  t.equal(failover.status, 200, 'failover: the dead static_address is skipped');
  t.equal(failover.body.toString(), 'fallback answer', 'the http_response backend answers');
  t.equal(failover.headers['ngrok-error-code'], undefined);

  const none = await get('/fail/none');
  t.equal(none.status, 503, 'no backend → 503');
  t.equal(none.headers['ngrok-error-code'], 'ERR_NGROK_6528');
});

t.test('a client reading slowly is not an upstream timeout: the response completes after pauses longer than it', async (t) => {
  const socket = await tlsConnect(port, APP);
  t.teardown(() => socket.destroy());
  socket.write(`GET /status/big HTTP/1.1\r\nHost: ${APP}:${port}\r\nConnection: close\r\n\r\n`);
  socket.pause(); // nothing read for twice upstream_response_header_timeout (2 s): the edge and the origin back off
  await new Promise((r) => setTimeout(r, 4000));
  const reading = readAll(socket, 20_000);
  socket.resume();
  const text = await reading;
  const split = text.indexOf('\r\n\r\n');
  t.match(text.slice(0, split), /^HTTP\/1\.1 200 /);
  t.equal(text.length - split - 4, BIG, 'every byte arrives');
});

t.test('an origin closing mid-body: the client sees a broken response, not a clean short one', async (t) => {
  const withLength = await get('/midbody/length');
  t.equal(withLength.status, 200);
  t.equal(withLength.headers['content-length'], '100000');
  t.notOk(withLength.complete, `Content-Length response cut short is not complete (${withLength.body.length} bytes, error ${withLength.error})`);
  t.ok(withLength.body.length < 100_000);

  const chunked = await get('/midbody/chunked');
  t.equal(chunked.status, 200);
  t.notOk(chunked.complete, `chunked response cut short is not complete (${chunked.body.length} bytes, error ${chunked.error})`);

  const socket = await tlsConnect(port, APP);
  socket.write(`GET /midbody/chunked HTTP/1.1\r\nHost: ${APP}:${port}\r\n\r\n`);
  const raw = await readAll(socket);
  t.match(raw, /^HTTP\/1\.1 200 /);
  t.notMatch(raw, /\r\n0\r\n\r\n$/, 'no last-chunk marker: a raw reader can tell the body is incomplete');

  const session = await h2Connect(t, port, APP, CA);
  const h2 = await h2Request(session, { ':path': '/midbody/length' });
  t.equal(h2.status, 200);
  t.notOk(h2.complete, `HTTP/2: the stream is reset, not ended (rst ${h2.rstCode}, ${h2.body.length} bytes)`);
  session.destroy();
});

t.test('events: one http_request_complete.v0 per request (secrets redacted) and one tcp_connection_closed.v0', async (t) => {
  const token = 'Bearer s3cr3t-edge-token-77';
  const body = Buffer.alloc(1234, 0x62);
  const res = await get('/app/events-probe?x=1&y=2', {
    method: 'POST', body, headers: { authorization: token, cookie: 'sid=c00kie-s3cr3t', 'content-length': body.length, 'user-agent': 'edgeplane-e2e/1' },
  });
  t.equal(res.status, 200);
  const find = () => daemon.events().filter((e) => e.event_type === 'http_request_complete.v0' && e.object.http.request.url.path === '/app/events-probe');
  await waitForEvent(daemon.events, (e) => e.event_type === 'http_request_complete.v0' && e.object.http.request.url.path === '/app/events-probe');
  const list = find();
  t.equal(list.length, 1, 'exactly one event for the request');
  const ev = list[0]!;
  const o = ev.object;
  t.match(ev.event_id, /^ev_/);
  t.equal(ev.principal, null);
  t.equal(o.http.request.method, 'post');
  t.same(o.http.request.url, { host: APP, path: '/app/events-probe', query: 'x=1&y=2', scheme: 'https', raw: `https://${APP}/app/events-probe?x=1&y=2` });
  t.equal(o.http.request.body_length, 1234);
  t.equal(o.http.request.user_agent, 'edgeplane-e2e/1');
  t.equal(o.http.request.version, 'HTTP/1.1');
  t.same(o.http.request.headers.Authorization, ['[redacted]'], 'the Authorization value is redacted');
  t.same(o.http.request.headers.Cookie, ['[redacted]']);
  t.equal(o.http.response.status_code, 200);
  t.equal(o.http.response.body_length, res.body.length, 'response body length as sent');
  t.equal(o.conn.client_ip, '127.0.0.1');
  t.equal(o.conn.server_name, APP);
  t.equal(o.conn.server_port, port);
  t.match(o.tls.version, /^TLSv1\.[23]$/);
  t.ok(o.tls.cipher_suite.length > 0);
  t.equal(o.edge.id, 'edghts_app');
  t.equal(o.route.id, 'rt_app');
  const file = readFileSync(daemon.eventsPath, 'utf8');
  t.notMatch(file, 's3cr3t', 'no secret anywhere in the events');
  t.notMatch(daemon.stderr(), 's3cr3t', 'nor in the logs');

  const isClosed = (e: Record<string, any>): boolean => e.event_type === 'tcp_connection_closed.v0' && e.object.conn.start_ts === o.conn.start_ts && e.object.conn.server_name === APP;
  await waitForEvent(daemon.events, isClosed);
  const closed = () => daemon.events().filter(isClosed);
  const conns = closed();
  t.equal(conns.length, 1, 'one tcp_connection_closed.v0 for the connection');
  const c = conns[0]!.object;
  t.equal(c.edge.id, 'edghts_app');
  t.equal(c.conn.client_ip, '127.0.0.1');
  t.equal(c.conn.server_port, port);
  t.ok(c.conn.bytes_in > 1234 && c.conn.bytes_out > res.body.length, `byte counts include TLS and HTTP (${c.conn.bytes_in} in, ${c.conn.bytes_out} out)`);
  t.ok(Date.parse(c.conn.end_ts) >= Date.parse(c.conn.start_ts));

  const session = await h2Connect(t, port, APP, CA);
  await h2Request(session, { ':path': '/app/events-h2' });
  session.close();
  const h2ev = await waitForEvent(daemon.events, (e) => e.object?.http?.request?.url?.path === '/app/events-h2');
  t.equal(h2ev.object.http.request.version, 'HTTP/2.0');
  t.equal(h2ev.object.http.request.method, 'get');
});

// Last but one: a broken upgrade path has taken the whole daemon down (SIGSEGV); placed here, only
// the health check below reports the fallout instead of every test after it.
t.test('WebSocket upgrade through the https edge echoes text and binary both ways', async (t) => {
  const client = new WebSocket(`wss://${APP}:${port}/ws`, { ca: CA, lookup: lookupLoopback } as WebSocket.ClientOptions);
  t.teardown(() => client.terminate());
  await new Promise<void>((resolve, reject) => { client.once('open', () => resolve()); client.once('error', reject); });
  const received: Array<{ data: Buffer; binary: boolean }> = [];
  const waiters: Array<() => void> = [];
  client.on('message', (data, binary) => { received.push({ data: Buffer.from(data as Buffer), binary }); for (const w of waiters.splice(0)) w(); });
  const next = async (n: number): Promise<void> => {
    const until = Date.now() + 5000;
    while (received.length < n) {
      if (Date.now() > until || client.readyState !== WebSocket.OPEN) throw new Error(`${received.length} of ${n} echoes arrived (socket state ${client.readyState})`);
      await new Promise<void>((r) => { const timer = setTimeout(r, 250); waiters.push(() => { clearTimeout(timer); r(); }); });
    }
  };
  const big = randomBytes(200 * 1024);
  const sent: Array<{ data: Buffer; binary: boolean }> = [];
  for (let i = 0; i < 5; i++) sent.push({ data: Buffer.from(`text message ${i}`), binary: false });
  sent.push({ data: big, binary: true }, { data: Buffer.from([0, 1, 2, 255]), binary: true });
  for (const m of sent) client.send(m.data, { binary: m.binary });
  await next(sent.length);
  t.same(received.map((m) => m.binary), sent.map((m) => m.binary), 'text stays text, binary stays binary');
  t.ok(received.every((m, i) => m.data.equals(sent[i]!.data)), 'every message comes back byte for byte');
  const upgrade = wsOrigin.upgrades.at(-1)!;
  t.equal(upgrade.headers.upgrade, 'websocket', 'the origin saw the Upgrade');
  t.equal(upgrade.headers['x-forwarded-for'], '127.0.0.1');
  t.equal(upgrade.headers['x-edge-route'], 'rt_ws');
  const closed = new Promise<number>((r) => client.once('close', (code) => r(code)));
  client.close(1000, 'done');
  t.equal(await closed, 1000, 'a clean close handshake goes through');
});

t.test('the daemon is still healthy after all of it', async (t) => {
  const res = await get('/app/final').catch((err: Error) => ({ status: 0, error: err.message }));
  t.equal(res.status, 200, `a request still works (${res.error ?? 'ok'})`);
  t.same([daemon.proc.exitCode, daemon.proc.signalCode], [null, null], 'the daemon process is alive (exit code, signal)');
});
