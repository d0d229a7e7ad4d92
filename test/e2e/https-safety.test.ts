// Request-safety limits of the HTTPS edge, over raw TLS sockets so every byte is ours: smuggling
// shapes get 400 and a closed connection, oversize heads 431, long URLs 414, big bodies 413, slow
// heads 408 or a close, and HTTP/2 stream limits hold even against a client that ignores them.
// None of it may reach the origin or take the daemon down.
import t, { type Test } from 'tap';
import type http from 'node:http';
import { makePki } from '../helpers/pki.js';
import { FLAG, FRAME, frame, rawH2, requestBlock } from '../helpers/hostile/h2-frames.js';
import { startDaemon } from '../helpers/daemon.js';
import { freePort, readAll } from '../helpers/net.js';
import { h2Connect, h2RemoteSettings, h2Request, httpsRequest, reportHandler, startOrigin, tlsConnect, type OriginHandler, exampleTestCertificates } from '../helpers/http.js';

type Tap = Pick<Test, 'equal'>;

const pki = makePki();
t.teardown(() => pki.cleanup());
const CA = pki.read('ca.crt');
const APP = 'app.example.test';
const MAX_CONCURRENT_STREAMS = 3;

// /hold/* requests wait until release(); the origin tracks how many it holds at once.
const held: http.ServerResponse[] = [];
let holding = 0;
let maxHolding = 0;
const holdWaiters: Array<() => void> = [];
const originHandler: OriginHandler = (req, res, seen) => {
  if (!(req.url ?? '').startsWith('/hold/')) return reportHandler(req, res, seen);
  holding++;
  maxHolding = Math.max(maxHolding, holding);
  res.on('close', () => { holding--; });
  held.push(res);
  for (const w of holdWaiters.splice(0)) w();
};
function release(): void {
  for (const res of held.splice(0)) { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('released'); }
}
async function waitHolding(n: number, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (holding < n) {
    if (Date.now() > until) throw new Error(`origin holds ${holding} requests, expected ${n}`);
    await new Promise<void>((r) => { const timer = setTimeout(r, 100); holdWaiters.push(() => { clearTimeout(timer); r(); }); });
  }
}

const port = await freePort();
const origin = await startOrigin(t, originHandler);
const daemon = await startDaemon(t, {
  workers: 2,
  listen_address: '127.0.0.1',
  ...exampleTestCertificates(pki),
  backends: [{ id: 'bkd_origin', type: 'static_address', address: origin.address }],
  edges: [{
    id: 'edghts_app',
    type: 'https',
    hostports: [`${APP}:${port}`],
    routes: [
      { id: 'rt_app', match_type: 'path_prefix', match: '/app', backend: { backend_id: 'bkd_origin' } },
      { id: 'rt_small', match_type: 'path_prefix', match: '/small', backend: { backend_id: 'bkd_origin' }, max_request_body_bytes: 1000 },
      { id: 'rt_hold', match_type: 'path_prefix', match: '/hold', backend: { backend_id: 'bkd_origin' } },
    ],
  }],
  http: { max_header_bytes: 1024, max_url_bytes: 256, header_timeout: 1, max_concurrent_streams: MAX_CONCURRENT_STREAMS },
});
const HOST = `Host: ${APP}:${port}\r\n`;

/** Sends `raw` on a fresh TLS connection and reads until the edge closes it. */
async function exchange(raw: string, timeoutMs = 5000): Promise<string> {
  const socket = await tlsConnect(port, APP);
  socket.write(raw);
  return readAll(socket, timeoutMs);
}

async function stillServing(tt: Tap, what: string): Promise<void> {
  const res = await httpsRequest({ port, host: APP, ca: CA, path: '/app/after' });
  tt.equal(res.status, 200, `a normal request still works after ${what}`);
  tt.equal(daemon.proc.exitCode, null, 'the daemon is running');
}

t.test('request smuggling shapes get 400 and a closed connection, and never reach the origin', async (t) => {
  const shapes: Array<[string, string]> = [
    ['Content-Length and Transfer-Encoding', 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /app/smuggled HTTP/1.1\r\n'],
    ['Transfer-Encoding then Content-Length', 'Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n'],
    ['two different Content-Lengths', 'Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'],
    // llhttp refuses a repeated Content-Length even with equal values (RFC 9112 §6.3 would allow
    // folding them); refusing is the safe side, and that is what we assert.
    ['duplicate identical Content-Lengths', 'Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello'],
    ['Content-Length: +3', 'Content-Length: +3\r\n\r\nabc'],
    ['Content-Length: 3 3', 'Content-Length: 3 3\r\n\r\nabc'],
    ['Content-Length: -1', 'Content-Length: -1\r\n\r\n'],
    ['Transfer-Encoding: chunked, identity', 'Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n'],
    ['Transfer-Encoding: identity', 'Transfer-Encoding: identity\r\n\r\nabc'],
    ['obsolete line folding', 'X-Folded: first\r\n second line\r\nContent-Length: 0\r\n\r\n'],
    ['whitespace before the colon', 'Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n'],
    ['two Host headers', `Host: other.example.test\r\nContent-Length: 0\r\n\r\n`],
  ];
  for (const [i, [name, rest]] of shapes.entries()) {
    const path = `/app/smuggle-${i}`;
    const started = Date.now();
    const text = await exchange(`POST ${path} HTTP/1.1\r\n${HOST}${rest}`);
    t.match(text, /^HTTP\/1\.1 400 /, `${name}: 400`);
    t.ok(Date.now() - started < 4000, `${name}: the connection is closed right away (read to EOF)`);
    t.equal(origin.requestsTo(path).length + origin.requestsTo('/app/smuggled').length, 0, `${name}: nothing reached the origin`);
  }
  await stillServing(t, 'the smuggling attempts');
});

t.test('a head over max_header_bytes gets 431, a URL over max_url_bytes 414', async (t) => {
  const headers = (bytes: number): string => `X-Filler: ${'h'.repeat(bytes)}\r\n`;
  // Just over the limit (the edge's own check), and far over it (the parser's own limit).
  for (const size of [1100, 8000]) {
    const text = await exchange(`GET /app/big-head HTTP/1.1\r\n${HOST}${headers(size)}\r\n`);
    t.match(text, /^HTTP\/1\.1 431 /, `a ${size}-byte header: 431`);
    t.match(text, /ngrok-error-code: ERR_EDGEPLANE_431/i);
  }
  for (const size of [300, 2000]) {
    const text = await exchange(`GET /app/${'u'.repeat(size)} HTTP/1.1\r\n${HOST}\r\n`);
    t.match(text, /^HTTP\/1\.1 414 /, `a ${size}-byte URL: 414`);
  }
  const justFits = await exchange(`GET /app/${'u'.repeat(200)} HTTP/1.1\r\n${HOST}${headers(500)}Connection: close\r\n\r\n`);
  t.match(justFits, /^HTTP\/1\.1 200 /, 'a URL and head under the limits are served');
  t.equal(origin.requestsTo('/app/big-head').length, 0, 'no oversize head reached the origin');

  const session = await h2Connect(t, port, APP, CA);
  const longUrl = await h2Request(session, { ':path': `/app/${'u'.repeat(300)}` });
  t.equal(longUrl.status, 414, 'HTTP/2: a long :path gets 414 too');
  session.close();
  await stillServing(t, 'oversize heads');
});

t.test('a body over max_request_body_bytes gets 413 (Content-Length and chunked)', async (t) => {
  const declared = await exchange(`POST /small/declared HTTP/1.1\r\n${HOST}Content-Length: 5000\r\n\r\n${'b'.repeat(5000)}`);
  t.match(declared, /^HTTP\/1\.1 413 /, 'a declared length over the limit: 413 before any body');
  t.match(declared, /ngrok-error-code: ERR_EDGEPLANE_413/i);
  t.equal(origin.requestsTo('/small/declared').length, 0, 'the origin never saw it');

  const chunk = (s: string): string => `${s.length.toString(16)}\r\n${s}\r\n`;
  const chunked = await exchange(`POST /small/chunked HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n${chunk('c'.repeat(800))}${chunk('c'.repeat(800))}${chunk('c'.repeat(800))}0\r\n\r\n`);
  t.match(chunked, /^HTTP\/1\.1 413 /, 'a chunked body growing over the limit: 413');
  const partial = origin.requestsTo('/small/chunked');
  if (partial.length > 0) {
    await partial[0]!.bodyDone;
    t.ok(partial[0]!.bodyLength <= 1000, `the origin got at most the allowed bytes (${partial[0]!.bodyLength})`);
  }

  const fits = await httpsRequest({ port, host: APP, ca: CA, path: '/small/fits', method: 'POST', headers: { 'content-length': 1000 }, body: Buffer.alloc(1000, 1) });
  t.equal(fits.status, 200, 'a body of exactly the limit passes');

  const session = await h2Connect(t, port, APP, CA);
  const h2 = await h2Request(session, { ':path': '/small/h2', ':method': 'POST' }, Buffer.alloc(5000, 2));
  t.equal(h2.status, 413, 'HTTP/2: a body over the limit gets 413');
  session.close();
  await stillServing(t, 'oversize bodies');
});

t.test('a client that does not finish its head within header_timeout gets 408 or a close', async (t) => {
  const socket = await tlsConnect(port, APP);
  const started = Date.now();
  socket.write(`GET /app/slow HTTP/1.1\r\n${HOST}X-Partial: `);
  const text = await readAll(socket, 6000);
  const took = Date.now() - started;
  t.ok(text === '' || /^HTTP\/1\.1 408 /.test(text), `408 or a silent close (${JSON.stringify(text.slice(0, 40))})`);
  t.ok(took >= 900 && took < 4000, `after header_timeout (1 s): ${took} ms`);

  // Slowloris: a byte every 100 ms must not keep extending the deadline.
  const drip = await tlsConnect(port, APP);
  const dripStarted = Date.now();
  const head = `GET /app/drip HTTP/1.1\r\n${HOST}${'X-Drip: x\r\n'.repeat(200)}`;
  let i = 0;
  const timer = setInterval(() => { if (!drip.destroyed && i < head.length) drip.write(head[i++]!); }, 100);
  const dripText = await readAll(drip, 8000).finally(() => clearInterval(timer));
  const dripTook = Date.now() - dripStarted;
  t.ok(dripText === '' || /^HTTP\/1\.1 408 /.test(dripText), 'the dripping client is cut off');
  t.ok(dripTook < 4000, `within the header timeout, not per byte: ${dripTook} ms`);
  t.equal(origin.requestsTo('/app/drip').length + origin.requestsTo('/app/slow').length, 0, 'neither reached the origin');
  await stillServing(t, 'slow clients');
});

t.test('header_timeout covers only an unfinished head: not a slow upstream, not an idle keep-alive connection', async (t) => {
  const socket = await tlsConnect(port, APP);
  t.teardown(() => socket.destroy());
  let text = '';
  socket.setEncoding('utf8').on('data', (d: string) => { text += d; });
  const answered = (n: number): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer ${n}: ${JSON.stringify(text)}`)), 8000);
    const check = (): void => {
      if ((text.match(/^HTTP\/1\.1 200 /gm) ?? []).length >= n) { clearTimeout(timer); resolve(); } else setTimeout(check, 20);
    };
    check();
  });
  // The origin holds this one for 2.5 header timeouts; the connection must wait for it, not time out.
  socket.write(`GET /hold/late HTTP/1.1\r\n${HOST}\r\n`);
  await waitHolding(1);
  await new Promise((r) => setTimeout(r, 2500));
  release();
  await answered(1);
  // Idle between requests for longer than header_timeout (keep_alive_timeout is 60 s): still open.
  await new Promise((r) => setTimeout(r, 1600));
  t.equal(socket.destroyed, false, 'an idle keep-alive connection outlives header_timeout');
  socket.write(`GET /app/again HTTP/1.1\r\n${HOST}\r\n`);
  await answered(2);
  t.notMatch(text, / 408 /, 'no 408 on a connection whose heads all arrived in time');
});

t.test('HTTP/2: the edge advertises max_concurrent_streams and a well-behaved client waits', async (t) => {
  const session = await h2Connect(t, port, APP, CA);
  await h2RemoteSettings(session);
  t.equal(session.remoteSettings.maxConcurrentStreams, MAX_CONCURRENT_STREAMS, 'session.remoteSettings.maxConcurrentStreams is the configured value');
  maxHolding = 0;
  const requests = Array.from({ length: 6 }, (_, i) => h2Request(session, { ':path': `/hold/node-${i}` }));
  await waitHolding(MAX_CONCURRENT_STREAMS);
  // Give the client every chance to overshoot before letting the first ones finish.
  await new Promise((r) => setTimeout(r, 300));
  t.equal(holding, MAX_CONCURRENT_STREAMS, `the origin holds ${MAX_CONCURRENT_STREAMS} requests, no more`);
  let settled = false;
  const all = Promise.all(requests).finally(() => { settled = true; });
  const until = Date.now() + 5000;
  while (!settled && Date.now() < until) {
    release();
    await Promise.race([all, new Promise((r) => setTimeout(r, 50))]);
  }
  t.ok(settled, 'every queued stream was served');
  const results = await all;
  t.same(results.map((r) => r.status), [200, 200, 200, 200, 200, 200], 'all six finish once earlier streams close');
  t.ok(maxHolding <= MAX_CONCURRENT_STREAMS, `never more than ${MAX_CONCURRENT_STREAMS} at once (saw ${maxHolding})`);
  session.close();
});

// ---- a raw HTTP/2 client that ignores SETTINGS_MAX_CONCURRENT_STREAMS ----

t.test('HTTP/2: streams beyond max_concurrent_streams from a client that ignores it are refused', async (t) => {
  maxHolding = 0;
  const h2 = await rawH2(port, APP);
  t.equal(h2.settings.get(0x3), MAX_CONCURRENT_STREAMS, 'the raw client reads SETTINGS_MAX_CONCURRENT_STREAMS = 3');
  const streams = [1, 3, 5, 7, 9, 11];
  const authority = `${APP}:${port}`;
  h2.socket.write(Buffer.concat(streams.map((id) => frame(FRAME.HEADERS, FLAG.END_STREAM | FLAG.END_HEADERS, id, requestBlock(`/hold/raw-${id}`, authority)))));
  const excess = streams.slice(MAX_CONCURRENT_STREAMS);
  // RFC 9113 §5.1.2 asks for a stream error (REFUSED_STREAM or PROTOCOL_ERROR); nghttp2 makes it a
  // connection error. Either way the excess streams must get no service.
  const refused = (id: number): boolean => h2.resets.has(id) || (h2.goaway !== null && h2.goaway.lastStreamId < id) || h2.closed;
  await h2.until(() => excess.every(refused), 5000).catch(() => undefined); // judged one by one below
  for (const id of excess) {
    t.ok(refused(id), `stream ${id} is refused (RST_STREAM ${h2.resets.get(id) ?? '-'}, GOAWAY ${JSON.stringify(h2.goaway)}, closed ${h2.closed})`);
    t.notOk(h2.responses.has(id), `stream ${id} got no response`);
  }
  t.ok(maxHolding <= MAX_CONCURRENT_STREAMS, `the origin never held more than ${MAX_CONCURRENT_STREAMS} (saw ${maxHolding})`);
  for (const id of excess) t.equal(origin.requestsTo(`/hold/raw-${id}`).length, 0, `stream ${id} never reached the origin`);
  release();
  h2.socket.destroy();
  await stillServing(t, 'a stream flood');
});

t.test('the daemon survived every test above', async (t) => {
  t.equal(daemon.proc.exitCode, null);
  t.notMatch(daemon.stderr(), /uncaught|unhandled|FATAL|worker exited/i, 'no crash or worker restart in the logs');
});
