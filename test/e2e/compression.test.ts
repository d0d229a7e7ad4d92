// The compression module end to end: gzip and deflate bodies decoded by real clients (curl over HTTP/1.1
// and HTTP/2, node https and http2) must equal the origin's bytes exactly; q-values pick the coding;
// an already encoded response passes through untouched; and a 5 MB response is compressed as it
// streams, not after the origin has finished.
import t from 'tap';
import https from 'node:https';
import zlib from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePki } from '../helpers/pki.js';
import { startDaemon, tempDir } from '../helpers/daemon.js';
import { freePort, run } from '../helpers/net.js';
import {
  h2Connect, h2Request, httpsRequest, lookupLoopback, sha256, startOrigin, type OriginHandler, exampleTestCertificates } from '../helpers/http.js';

const pki = makePki();
t.teardown(() => pki.cleanup());
const CA = pki.read('ca.crt');
const APP = 'zip.example.test';

// Deterministic text with some binary noise: compressible, but not so regular that a bug in the
// segment dictionaries or the checksums could hide (several 64 KiB segments, Adler-32 runs > 5552 bytes).
function makeBody(bytes: number, seed: number): Buffer {
  const words = ['edge', 'proxy', 'route', 'upstream', 'gzip', 'deflate', '{"id":', '"name":"', '},\n', 'ngrok', 'worker', '0123456789', ' ', ' ', '\n'];
  const out = Buffer.allocUnsafe(bytes);
  let state = seed >>> 0 || 1;
  const next = (): number => { state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0; return state; };
  let at = 0;
  while (at < bytes) {
    const r = next();
    if (r % 17 === 0) { out[at++] = r >>> 24; continue; } // a random byte now and then
    const word = words[r % words.length]!;
    at += out.write(word, at, 'latin1');
  }
  return out;
}

const BODY = makeBody(300_000, 7);
const BODY_GZIPPED = zlib.gzipSync(BODY, { level: 9 });
const BIG = makeBody(5 * 1024 * 1024, 11);
const BIG_FIRST_PART = 1024 * 1024;

// The 5 MB origin writes its first megabyte, then waits for the test to say the client has seen body
// bytes: if the edge held the response back until the origin finished, that never happens.
let releaseBig: () => void = () => {};
let bigOriginFinished = false;

async function writeAll(res: Parameters<OriginHandler>[1], data: Buffer, piece: number): Promise<void> {
  for (let at = 0; at < data.length; at += piece) {
    if (!res.write(data.subarray(at, at + piece))) await new Promise((r) => res.once('drain', r));
  }
}

const originHandler: OriginHandler = (req, res) => {
  const path = (req.url ?? '').split('?')[0]!;
  req.resume();
  if (path.endsWith('/text')) {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length, etag: '"v1"' });
    res.end(BODY);
    return;
  }
  if (path.endsWith('/pieces')) {
    // Uneven writes with pauses longer than the encoder's idle flush, so the body is compressed as
    // several flushed segments chained by their dictionaries.
    res.writeHead(200, { 'content-type': 'text/plain' });
    void (async () => {
      const cuts = [1, 5000, 70_000, 70_001, 140_000, 299_999, BODY.length];
      let from = 0;
      for (const cut of cuts) {
        res.write(BODY.subarray(from, cut));
        from = cut;
        await new Promise((r) => setTimeout(r, 40));
      }
      res.end();
    })();
    return;
  }
  if (path.endsWith('/pregzipped')) {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': BODY_GZIPPED.length });
    res.end(BODY_GZIPPED);
    return;
  }
  if (path.endsWith('/empty-chunked')) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.flushHeaders(); // head out first: no Content-Length, so the (empty) body is chunked
    res.end();
    return;
  }
  if (path.endsWith('/not-modified')) {
    res.writeHead(304, { etag: '"v1"' });
    res.end();
    return;
  }
  if (path.endsWith('/big')) {
    bigOriginFinished = false;
    const gate = new Promise<void>((resolve) => { releaseBig = resolve; });
    res.writeHead(200, { 'content-type': 'text/plain' });
    void (async () => {
      await writeAll(res, BIG.subarray(0, BIG_FIRST_PART), 64 * 1024);
      await gate;
      await writeAll(res, BIG.subarray(BIG_FIRST_PART), 64 * 1024);
      res.end(() => { bigOriginFinished = true; });
    })();
    return;
  }
  res.writeHead(404);
  res.end();
};

const port = await freePort();
const origin = await startOrigin(t, originHandler);
const daemon = await startDaemon(t, {
  workers: 2,
  listen_address: '127.0.0.1',
  ...exampleTestCertificates(pki),
  backends: [{ id: 'bkd_origin', type: 'static_address', address: origin.address }],
  edges: [{
    id: 'edghts_zip', type: 'https', hostports: [`${APP}:${port}`],
    routes: [
      { id: 'rt_zip', match_type: 'path_prefix', match: '/zip', backend: { backend_id: 'bkd_origin' }, compression: {} },
      { id: 'rt_plain', match_type: 'path_prefix', match: '/plain', backend: { backend_id: 'bkd_origin' } },
    ],
  }],
});

const dir = tempDir(t);
const curlBase = ['-sS', '--cacert', pki.path('ca.crt'), '--resolve', `${APP}:${port}:127.0.0.1`];
const url = (path: string): string => `https://${APP}:${port}${path}`;

/** curl into files; returns the response head's headers (last response, lower-case names) and the raw body. */
async function curl(name: string, args: string[], path: string): Promise<{ headers: Map<string, string[]>; body: Buffer; status: number }> {
  const headerFile = join(dir, `${name}.headers`);
  const bodyFile = join(dir, `${name}.body`);
  const res = await run('curl', [...curlBase, ...args, '-D', headerFile, '-o', bodyFile, url(path)], { timeoutMs: 20_000 });
  if (res.code !== 0) throw new Error(`curl ${args.join(' ')} failed (${res.code}): ${res.stderr}`);
  const lines = readFileSync(headerFile, 'latin1').split('\r\n');
  const headers = new Map<string, string[]>();
  const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(lines[0]!)![1]);
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    headers.set(key, [...(headers.get(key) ?? []), line.slice(colon + 1).trim()]);
  }
  return { headers, body: readFileSync(bodyFile), status };
}

const decode = (coding: string, raw: Buffer): Buffer => (coding === 'gzip' ? zlib.gunzipSync(raw) : coding === 'deflate' ? zlib.inflateSync(raw) : raw);

t.test('curl --compressed over HTTP/1.1 and HTTP/2 gets the exact bytes back', async (t) => {
  for (const flag of ['--http1.1', '--http2']) {
    for (const path of ['/zip/text', '/zip/pieces']) {
      const before = origin.requests.length;
      const res = await curl(`compressed${flag}${path.replace(/\//g, '_')}`, [flag, '--compressed'], path);
      t.equal(res.status, 200, `${flag} ${path}`);
      const sent = origin.requests[before]!.headers['accept-encoding'] ?? '';
      t.match(sent, /^deflate, gzip/, `curl offers deflate first (${sent}); the origin sees the client's Accept-Encoding`);
      t.same(res.headers.get('content-encoding'), ['deflate'], `${flag} ${path}: equal q-values, the client's first choice (deflate) wins`);
      t.notOk(res.headers.has('content-length'), `${flag} ${path}: no Content-Length on a compressed body`);
      t.match(res.headers.get('vary')?.join(',') ?? '', /accept-encoding/i, `${flag} ${path}: Vary: Accept-Encoding`);
      t.equal(res.body.length, BODY.length, `${flag} ${path}: decoded length`);
      t.equal(sha256(res.body), sha256(BODY), `${flag} ${path}: byte-exact after curl decoded it`);
    }
  }
});

t.test('explicit Accept-Encoding: the raw gzip and deflate bodies decode with node zlib to the exact bytes', async (t) => {
  for (const flag of ['--http1.1', '--http2']) {
    for (const coding of ['gzip', 'deflate']) {
      for (const path of ['/zip/text', '/zip/pieces']) {
        const res = await curl(`raw-${coding}${flag}${path.replace(/\//g, '_')}`, [flag, '-H', `Accept-Encoding: ${coding}`], path);
        const what = `${flag} ${coding} ${path}`;
        t.same(res.headers.get('content-encoding'), [coding], `${what}: Content-Encoding`);
        t.notOk(res.headers.has('content-length'), `${what}: Content-Length dropped`);
        t.match(res.headers.get('vary')?.join(',') ?? '', /accept-encoding/i, `${what}: Vary`);
        t.ok(res.body.length < BODY.length / 2, `${what}: ${res.body.length} bytes on the wire for ${BODY.length}`);
        if (coding === 'gzip') t.same([...res.body.subarray(0, 3)], [0x1f, 0x8b, 8], `${what}: a gzip member`);
        else t.equal(res.body.readUInt16BE(0) % 31, 0, `${what}: a zlib (RFC 1950) header, as HTTP's deflate requires`);
        const decoded = decode(coding, res.body); // throws on a bad checksum or a truncated stream
        t.equal(sha256(decoded), sha256(BODY), `${what}: byte-exact`);
      }
    }
  }
});

t.test('node http2: gzip and deflate round trips, with the compression event', async (t) => {
  const session = await h2Connect(t, port, APP, CA);
  for (const coding of ['gzip', 'deflate']) {
    const res = await h2Request(session, { ':path': `/zip/text?h2=${coding}`, 'accept-encoding': coding });
    t.equal(res.status, 200);
    t.ok(res.complete, 'the stream ended cleanly');
    t.equal(res.headers['content-encoding'], coding);
    t.equal(res.headers['content-length'], undefined, 'no content-length');
    t.match(String(res.headers.vary), /accept-encoding/i);
    t.equal(sha256(decode(coding, res.body)), sha256(BODY), `${coding} over h2: byte-exact`);
  }
  session.close();
  const events = await waitForEvent((e) => e.object.http.request.url.query === 'h2=gzip');
  t.equal(events.object.compression?.algorithm, 'gzip', 'the event names the algorithm');
  t.ok(events.object.compression.bytes_saved > BODY.length / 2, `bytes_saved ${events.object.compression.bytes_saved}`);
});

t.test('q-values choose the coding; q=0 and identity mean no compression', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['gzip;q=0.5, deflate;q=1', 'deflate'],
    ['deflate;q=0.2, gzip;q=0.9', 'gzip'],
    ['gzip;q=0', undefined],
    ['gzip;q=0, deflate;q=0', undefined],
    ['identity', undefined],
    ['compress', undefined],
    ['*;q=0.1, gzip;q=0', 'deflate'],
    ['GZIP', 'gzip'],
  ];
  for (const [accept, want] of cases) {
    const res = await httpsRequest({ port, host: APP, ca: CA, path: '/zip/text', headers: { 'accept-encoding': accept } });
    t.equal(res.status, 200, accept);
    if (want === undefined) {
      t.equal(res.headers['content-encoding'], undefined, `'${accept}' → identity`);
      t.equal(res.headers['content-length'], String(BODY.length), `'${accept}': the origin's Content-Length stays`);
      t.equal(sha256(res.body), sha256(BODY), `'${accept}': the body is the origin's`);
    } else {
      t.equal(res.headers['content-encoding'], want, `'${accept}' → ${want}`);
      t.equal(sha256(decode(want, res.body)), sha256(BODY), `'${accept}': byte-exact`);
    }
  }
  const none = await httpsRequest({ port, host: APP, ca: CA, path: '/zip/text' });
  t.equal(none.headers['content-encoding'], undefined, 'no Accept-Encoding: no compression');
  t.equal(none.headers['content-length'], String(BODY.length));
  const off = await httpsRequest({ port, host: APP, ca: CA, path: '/plain/text', headers: { 'accept-encoding': 'gzip' } });
  t.equal(off.headers['content-encoding'], undefined, 'a route without the module never compresses');
  t.equal(sha256(off.body), sha256(BODY));
});

t.test('no double compression: an encoded response passes through byte for byte', async (t) => {
  for (const accept of ['gzip', 'deflate', 'gzip, deflate, br']) {
    const res = await httpsRequest({ port, host: APP, ca: CA, path: '/zip/pregzipped', headers: { 'accept-encoding': accept } });
    t.equal(res.status, 200);
    t.equal(res.headers['content-encoding'], 'gzip', `${accept}: the origin's coding, once`);
    t.equal(res.headers['content-length'], String(BODY_GZIPPED.length), `${accept}: the origin's length`);
    t.equal(sha256(res.body), sha256(BODY_GZIPPED), `${accept}: the origin's bytes, unchanged`);
  }
  const viaCurl = await curl('pregzipped-curl', ['--http2', '--compressed'], '/zip/pregzipped');
  t.equal(sha256(viaCurl.body), sha256(BODY), 'curl decodes it once and gets the original');
  const ev = await waitForEvent((e) => e.object.http.request.url.path === '/zip/pregzipped');
  t.equal(ev.object.compression?.algorithm, 'none', 'the event says it was not compressed');
});

t.test('bodyless and empty responses', async (t) => {
  const empty = await httpsRequest({ port, host: APP, ca: CA, path: '/zip/empty-chunked', headers: { 'accept-encoding': 'gzip' } });
  t.equal(empty.status, 200);
  t.ok(empty.complete, 'the response ends');
  if (empty.headers['content-encoding'] === 'gzip') t.equal(zlib.gunzipSync(empty.body).length, 0, 'an empty body compresses to a valid, empty gzip member');
  else t.equal(empty.body.length, 0, 'or is left empty');
  const notModified = await httpsRequest({ port, host: APP, ca: CA, path: '/zip/not-modified', headers: { 'accept-encoding': 'gzip' } });
  t.equal(notModified.status, 304);
  t.equal(notModified.headers['content-encoding'], undefined, 'a 304 is never compressed');
  const head = await httpsRequest({ port, host: APP, ca: CA, method: 'HEAD', path: '/zip/text', headers: { 'accept-encoding': 'gzip' } });
  t.equal(head.status, 200);
  t.equal(head.body.length, 0);
  t.equal(head.headers['content-encoding'], undefined, 'HEAD: no coding announced for a body that is not sent');
});

t.test('a 5 MB streamed response is compressed on the fly, not buffered whole', async (t) => {
  const EARLY = 512 * 1024; // decoded bytes the client must hold before the origin may send the rest
  for (const coding of ['gzip', 'deflate']) {
    const got = await new Promise<{ decoded: Buffer; wireBytes: number; earlyBeforeOriginDone: boolean; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = https.request({
        host: APP, port, servername: APP, lookup: lookupLoopback, ca: CA, agent: false, path: `/zip/big?c=${coding}`,
        headers: { 'accept-encoding': coding },
      });
      const timer = setTimeout(() => req.destroy(new Error('no complete response within 20 s: was the body held back until the origin finished?')), 20_000);
      const fail = (err: Error): void => { clearTimeout(timer); reject(err); };
      req.on('error', fail);
      req.on('response', (res) => {
        // Decoded as it arrives: the gzip header alone (sent up front) would not count as body bytes.
        const decoder = coding === 'gzip' ? zlib.createGunzip() : zlib.createInflate();
        const chunks: Buffer[] = [];
        let decodedBytes = 0;
        let wireBytes = 0;
        let early: boolean | undefined;
        res.on('data', (c: Buffer) => { wireBytes += c.length; });
        decoder.on('data', (c: Buffer) => {
          chunks.push(c);
          decodedBytes += c.length;
          if (early === undefined && decodedBytes >= EARLY) {
            early = !bigOriginFinished;
            releaseBig(); // only now may the origin send the other 4 MB
          }
        });
        decoder.on('end', () => { clearTimeout(timer); resolve({ decoded: Buffer.concat(chunks), wireBytes, earlyBeforeOriginDone: early === true, headers: res.headers }); });
        decoder.on('error', fail);
        res.on('error', fail);
        res.pipe(decoder);
      });
      req.end();
    });
    t.ok(got.earlyBeforeOriginDone, `${coding}: ${EARLY} decoded bytes reached the client while the origin still held back 4 MB`);
    t.equal(got.headers['content-encoding'], coding);
    t.equal(got.headers['content-length'], undefined);
    t.equal(got.headers['transfer-encoding'], 'chunked', `${coding}: chunked, as the length is not known ahead`);
    t.ok(got.wireBytes < BIG.length / 2, `${coding}: ${got.wireBytes} bytes on the wire for ${BIG.length}`);
    t.equal(got.decoded.length, BIG.length, `${coding}: decoded length`);
    t.equal(sha256(got.decoded), sha256(BIG), `${coding}: 5 MB byte-exact`);
  }
  t.equal(origin.requestsTo('/zip/big').length, 2, 'one origin request each');
});

async function waitForEvent(pred: (e: Record<string, any>) => boolean, timeoutMs = 10_000): Promise<Record<string, any>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hit = daemon.events().find((e) => e.event_type === 'http_request_complete.v0' && pred(e));
    if (hit !== undefined) return hit;
    if (Date.now() > until) throw new Error('no matching http_request_complete.v0 event');
    await new Promise((r) => setTimeout(r, 50));
  }
}
