// Hostile HTTP/1.1 clients against one real daemon: slowloris heads, clients that stop reading a
// large response, and header floods. Each attack runs beside an ordinary client whose requests must
// all succeed with normal latency, and afterwards the daemon is alive, /metrics answers and the
// workers' open connections are back to the baseline.
import t, { type Test } from 'tap';
import type tls from 'node:tls';
import { readAll } from '../helpers/net.js';
import { reportHandler, tlsConnect, type OriginHandler } from '../helpers/http.js';
import { startHostileEdge } from '../helpers/hostile/edge.js';
import { bigBodyOrigin } from '../helpers/hostile/big-origin.js';
import { ordinaryClient, openTlsConnections, whenClosed, type OrdinaryReport } from '../helpers/hostile/clients.js';
import { activeConnections, connectionsBackTo } from '../helpers/hostile/daemon-health.js';
import { rssMiB, sampleRss } from '../helpers/hostile/rss.js';

const HEADER_TIMEOUT_S = 2;
const CLIENT_WRITE_TIMEOUT_MS = 3000;
const MAX_HEADER_BYTES = 8192;
const BIG_BODY = 128 * 1024 * 1024;
// Well above the few ms of a quiet box and the few hundred ms measured on a loaded 2-core one, far
// below what a starved client sees (seconds: the attacks' own timeouts).
const ORDINARY_P99_MS = 1500;

const big = bigBodyOrigin(BIG_BODY);
const handler: OriginHandler = (req, res, seen) => ((req.url ?? '').startsWith('/big/') ? big.handler(req, res, seen) : reportHandler(req, res, seen));
const edge = await startHostileEdge(t, {
  handler,
  http: { header_timeout: HEADER_TIMEOUT_S, keep_alive_timeout: 5, max_header_bytes: MAX_HEADER_BYTES, client_write_timeout: CLIENT_WRITE_TIMEOUT_MS / 1000 },
});
const { daemon, origin, port, host, authority, ca } = edge;
const pid = daemon.proc.pid!;
const baseline = await activeConnections(daemon);

function ordinary(path: string): Promise<{ stop(): Promise<OrdinaryReport> }> {
  return ordinaryClient({ port, host, ca, path });
}

function checkOrdinary(tt: Pick<Test, 'equal' | 'ok' | 'comment'>, report: OrdinaryReport, what: string, minRequests = 5): void {
  tt.comment(`ordinary client during ${what}: ${report.ok} requests, p50 ${report.p50.toFixed(1)} ms, p99 ${report.p99.toFixed(1)} ms, max ${report.max.toFixed(1)} ms`);
  tt.ok(report.ok >= minRequests, `the ordinary client was served during ${what} (${report.ok} requests)`);
  tt.equal(report.failed.length, 0, `no ordinary request failed during ${what}: ${report.failed.slice(0, 3).join('; ')}`);
  tt.ok(report.p99 < ORDINARY_P99_MS, `ordinary p99 ${report.p99.toFixed(1)} ms < ${ORDINARY_P99_MS} ms during ${what}`);
}

async function healthyAfter(tt: Pick<Test, 'equal' | 'ok' | 'match'>, what: string): Promise<void> {
  tt.equal(daemon.proc.exitCode, null, `the daemon is alive after ${what}`);
  tt.match(await daemon.metrics(), /edgeplane_worker_connections_active/, '/metrics answers');
  const left = await connectionsBackTo(daemon, baseline);
  tt.ok(left <= baseline, `open worker connections back to the baseline ${baseline} after ${what} (now ${left})`);
}

t.test('slowloris: 200 connections trickling a head line a second are closed at header_timeout', async (t) => {
  const client = await ordinary('/app/ordinary-slowloris');
  const opening = Date.now();
  const opened = await openTlsConnections(200, port, host);
  const openedMs = Date.now() - opening;
  const sockets = opened.map((o) => o.socket);
  // header_timeout runs from the connection's start (the worker adopting it, right after the handshake).
  const closes = opened.map((o) => whenClosed(o.socket, o.openedAt));
  for (const [i, s] of sockets.entries()) s.write(`GET /app/slowloris-${i} HTTP/1.1\r\nHost: ${authority}\r\n`);
  // A new header line every second: each one is progress, none may extend the deadline.
  const trickle = setInterval(() => { for (const s of sockets) if (!s.destroyed) s.write('X-Trickle: 1\r\n'); }, 1000);
  const results = await Promise.all(closes).finally(() => clearInterval(trickle));
  const report = await client.stop();
  const times = results.map((r) => r.closedAfterMs).sort((a, b) => a - b);
  t.comment(`200 slowloris connections opened in ${openedMs} ms; closed ${times[0]}..${times[times.length - 1]} ms after their handshake (header_timeout ${HEADER_TIMEOUT_S} s)`);
  t.ok(times[0]! >= HEADER_TIMEOUT_S * 1000 - 300, `none closed before header_timeout (first at ${times[0]} ms)`);
  t.ok(times[times.length - 1]! < HEADER_TIMEOUT_S * 1000 + 3000, `all closed within header_timeout + 3 s (last at ${times[times.length - 1]} ms)`);
  t.ok(results.every((r) => r.received === '' || /^HTTP\/1\.1 408 /.test(r.received)), 'each got a 408 or a silent close');
  t.equal(origin.requestsTo('/app/slowloris-').length, 0, 'no slowloris head reached the origin');
  checkOrdinary(t, report, 'slowloris');
  await healthyAfter(t, 'slowloris');
});

t.test('slow-read: 20 clients that stop reading a 128 MiB response leave memory bounded and are cut at the write timeout', async (t) => {
  const rssBefore = rssMiB(pid);
  const rss = sampleRss(pid);
  const client = await ordinary('/app/ordinary-slow-read');
  const readers: tls.TLSSocket[] = [];
  for (let i = 0; i < 20; i++) {
    const s = await tlsConnect(port, host);
    s.write(`GET /big/${i} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    s.pause(); // reads nothing more than what fills its own buffer
    readers.push(s);
  }
  const received = readers.map(() => 0);
  const closes = readers.map((s) => whenClosed(s, Date.now()));
  const responses = () => big.responses.filter((r) => r.url.startsWith('/big/'));
  // Backpressure reaches the origin: every response waits on 'drain' with its byte count frozen.
  const until = Date.now() + 20_000;
  let stalledAt = 0;
  while (Date.now() < until) {
    const before = responses().map((r) => r.written);
    await new Promise((r) => setTimeout(r, 500));
    const now = responses();
    if (now.length === 20 && now.every((r, i) => r.blocked && r.written === before[i])) { stalledAt = Date.now(); break; }
  }
  t.ok(stalledAt > 0, 'the origin\'s writes to all 20 stall');
  const written = responses().map((r) => r.written);
  const maxWritten = Math.max(...written);
  t.comment(`origin wrote per stalled response: ${(Math.min(...written) / 2 ** 20).toFixed(1)}..${(maxWritten / 2 ** 20).toFixed(1)} MiB of ${BIG_BODY / 2 ** 20} MiB`);
  t.ok(maxWritten < BIG_BODY / 2, 'no response got even half way (the kernel socket buffers hold the rest)');
  const rssStalled = rssMiB(pid);
  // The edge must not buffer bodies: growth stays far below 20 × 128 MiB.
  t.comment(`daemon RSS ${rssBefore.toFixed(0)} MiB before, ${rssStalled.toFixed(0)} MiB with 20 stalled readers`);
  t.ok(rssStalled - rssBefore < 150, `RSS growth ${(rssStalled - rssBefore).toFixed(0)} MiB < 150 MiB`);

  // The client write timeout ends them: the origin's connections are dropped, the edge's client
  // connections closed.
  const cutDeadline = stalledAt + CLIENT_WRITE_TIMEOUT_MS + 5000;
  while (Date.now() < cutDeadline && !responses().every((r) => r.cut)) await new Promise((r) => setTimeout(r, 100));
  t.ok(responses().every((r) => r.cut), 'every stalled upstream response was cut');
  const cutAfter = Math.max(...responses().map((r) => r.closedAt)) - stalledAt;
  t.comment(`the last stalled response was cut ${cutAfter} ms after the stall was seen (write timeout ${CLIENT_WRITE_TIMEOUT_MS} ms)`);
  const left = await connectionsBackTo(daemon, baseline + 1 /* the ordinary client */, 10_000);
  t.ok(left <= baseline + 1, `the edge closed the stalled client connections (open now ${left})`);
  const report = await client.stop();
  const peak = rss.stop();
  t.comment(`daemon RSS peak ${peak.toFixed(0)} MiB (growth ${(peak - rssBefore).toFixed(0)} MiB)`);
  t.ok(peak - rssBefore < 150, `RSS peak growth ${(peak - rssBefore).toFixed(0)} MiB < 150 MiB`);
  checkOrdinary(t, report, 'slow-read');

  // The stalled clients, reading again, find a short body and a closed connection, not the whole response.
  for (const [i, s] of readers.entries()) { s.on('data', (d: Buffer) => { received[i]! += d.length; }); s.resume(); }
  const closed = await Promise.all(closes);
  t.ok(closed.length === 20 && received.every((n) => n < BIG_BODY), 'no stalled client got the whole body');
  await healthyAfter(t, 'slow-read');
});

t.test('header floods: thousands of small headers or one huge header get 431 and a closed connection', async (t) => {
  const client = await ordinary('/app/ordinary-headers');
  const manySmall = `GET /app/flood-many HTTP/1.1\r\nHost: ${authority}\r\n${Array.from({ length: 5000 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`;
  const oneHuge = `GET /app/flood-huge HTTP/1.1\r\nHost: ${authority}\r\nX-Huge: ${'h'.repeat(1024 * 1024)}\r\n\r\n`;
  const oneBig = `GET /app/flood-big HTTP/1.1\r\nHost: ${authority}\r\nX-Big: ${'h'.repeat(12 * 1024)}\r\n\r\n`;
  for (const [name, raw] of [['5000 small headers', manySmall], ['one 12 KiB header', oneBig], ['one 1 MiB header', oneHuge]] as const) {
    const s = await tlsConnect(port, host);
    const started = Date.now();
    s.write(raw);
    const text = await readAll(s, 8000);
    t.match(text, /^HTTP\/1\.1 4(31|14) /, `${name}: refused`);
    // Known bug (reported): when llhttp's size limit trips in a later read than the one that held the
    // request line, h1.ts overflowAnswer takes the header for the URL and answers 414.
    // The 1 MiB header overflows llhttp's limit reads after the request line ended (it was once 414).
    t.match(text, /^HTTP\/1\.1 431 /, `${name}: 431`);
    t.ok(Date.now() - started < 6000, `${name}: the connection is closed (${Date.now() - started} ms)`);
  }
  // 100 connections at once: half with 5000 small headers, half with one 64 KiB header.
  const oneLarge = `GET /app/flood-large HTTP/1.1\r\nHost: ${authority}\r\nX-Large: ${'h'.repeat(64 * 1024)}\r\n\r\n`;
  const rssBefore = rssMiB(pid);
  const rss = sampleRss(pid);
  // Rounds of 100 for at least 2 s, so the ordinary client sees the attack for a while.
  const texts: string[] = [];
  const floodUntil = Date.now() + 2000;
  while (Date.now() < floodUntil) {
    texts.push(...await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const s = await tlsConnect(port, host);
      s.write(i % 2 === 0 ? manySmall : oneLarge);
      return readAll(s, 20_000);
    })));
  }
  const peak = rss.stop();
  t.comment(`${texts.length} concurrent floods in rounds of 100`);
  t.equal(texts.filter((x) => /^HTTP\/1\.1 4(31|14) /.test(x)).length, texts.length, 'every concurrent flood was refused (431; 414 for the 64 KiB header, see above)');
  t.equal(texts.filter((x, i) => i % 2 === 0 && /^HTTP\/1\.1 431 /.test(x)).length, texts.length / 2, 'every flood of small headers got 431');
  t.comment(`RSS ${rssBefore.toFixed(0)} MiB before 100 concurrent floods, peak ${peak.toFixed(0)} MiB`);
  t.ok(peak - rssBefore < 150, `RSS growth ${(peak - rssBefore).toFixed(0)} MiB < 150 MiB`);
  t.equal(origin.requestsTo('/app/flood-').length, 0, 'no flood reached the origin');
  checkOrdinary(t, await client.stop(), 'header floods');
  await healthyAfter(t, 'header floods');
});

t.test('the daemon survived every attack above', async (t) => {
  t.equal(daemon.proc.exitCode, null);
  t.notMatch(daemon.stderr(), /uncaught|unhandled|FATAL|worker exited/i, 'no crash or worker restart in the logs');
});
