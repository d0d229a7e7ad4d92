import t from 'tap';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createCompression, negotiateEncoding } from '../../../workers/http/modules/compression.js';
import { createEncoder, type Coding } from '../../../workers/http/modules/compression-encoder.js';
import type { CompileContext } from '../../../workers/http/pipeline.js';
import type { Exchange } from '../../../workers/http/exchange.js';
import { makeExchange } from './exchange-fixture.js';

const ctx = {} as CompileContext; // compression needs nothing from the context

t.test('Accept-Encoding negotiation (RFC 9110 §12.5.3)', async (t) => {
  const table: Array<[string | undefined, Coding | null]> = [
    [undefined, null],
    ['', null],
    ['gzip', 'gzip'],
    ['GZIP', 'gzip'],
    ['x-gzip', 'gzip'],
    ['deflate', 'deflate'],
    ['br', 'br'],
    ['identity', null],
    ['compress, zstd', null],
    ['gzip, deflate, br', 'gzip'], // browsers: equal q, client order
    ['deflate, gzip, br, zstd', 'deflate'], // curl --compressed (spec §1.6 example)
    ['br, gzip', 'br'],
    ['gzip;q=0.5, deflate;q=0.8', 'deflate'],
    ['gzip;q=1.0, br;q=0.999', 'gzip'],
    ['gzip;q=0, deflate;q=0', null],
    ['gzip;q=0', null],
    ['*', 'gzip'],
    ['*;q=0.5, deflate', 'deflate'],
    ['br;q=0.1, *;q=0.5', 'gzip'], // * covers gzip and deflate at 0.5; gzip preferred at the same place
    ['*, gzip;q=0', 'deflate'], // an explicit q=0 beats *
    ['*;q=0', null],
    ['gzip;q=2', null], // invalid q: element ignored
    ['gzip;q=0.1234, deflate;q=0.1', 'deflate'],
    ['gzip;q=abc, br', 'br'],
    ['gzip ; q=0.7 , deflate ; Q=0.9', 'deflate'],
    ['gzip;level=1', 'gzip'], // other parameters are ignored
    [' , ,gzip', 'gzip'],
    ['gzip;q=0.3, gzip;q=1', 'gzip'], // the first listing of a coding counts
    ['deflate;q=0.5, gzip;q=0.5', 'deflate'],
    ['identity;q=1, *;q=0', null],
  ];
  for (const [header, expected] of table) t.equal(negotiateEncoding(header), expected, JSON.stringify(header));
});

// A body with repetitive JSON and incompressible stretches, in odd-sized chunks.
function testBody(): { body: Buffer; chunks: Buffer[] } {
  const parts: Buffer[] = [];
  for (let i = 0; i < 3000; i++) { // ~300 KB: several 64 KiB segments
    parts.push(Buffer.from(JSON.stringify({ id: i, name: `item ${i}`, tags: ['alpha', 'bravo'], ok: i % 3 === 0 })));
    if (i % 500 === 0) parts.push(randomBytes(3000));
  }
  parts.push(Buffer.from('é✓ end'));
  const body = Buffer.concat(parts);
  const chunks: Buffer[] = [];
  for (let at = 0, size = 1; at < body.length; at += size, size = (size * 7 + 3) % 9000 + 1) chunks.push(body.subarray(at, at + size));
  return { body, chunks };
}

async function collect(encoder: NodeJS.ReadWriteStream, chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  encoder.on('data', (d: Buffer) => out.push(d));
  const ended = once(encoder, 'end');
  for (const chunk of chunks) encoder.write(chunk);
  encoder.end();
  await ended;
  return Buffer.concat(out);
}

const DECOMPRESSORS: Record<Coding, (b: Buffer) => Buffer> = { gzip: zlib.gunzipSync, deflate: zlib.inflateSync, br: zlib.brotliDecompressSync };

t.test('gzip, deflate and br round-trip byte-exact through zlib\'s own decompressors', async (t) => {
  const { body, chunks } = testBody();
  for (const coding of ['gzip', 'deflate', 'br'] as const) {
    let counted: [number, number] | null = null;
    const compressed = await collect(createEncoder(coding, (raw, out) => { counted = [raw, out]; }), chunks);
    t.ok(DECOMPRESSORS[coding](compressed).equals(body), `${coding}: identical after decompression`);
    t.same(counted, [body.length, compressed.length], `${coding}: raw and compressed sizes reported at the end`);
    t.ok(compressed.length < body.length, `${coding}: smaller (${compressed.length} < ${body.length})`);
  }
  // deflate is the zlib format (RFC 1950), as HTTP's "deflate" means, not raw deflate
  const deflated = await collect(createEncoder('deflate'), [Buffer.from('hello')]);
  t.equal(deflated[0]! & 0x0f, 8, 'zlib header: CM = 8');
  const gzipped = await collect(createEncoder('gzip'), [Buffer.from('hello')]);
  t.same([...gzipped.subarray(0, 2)], [0x1f, 0x8b], 'gzip magic');
});

t.test('segments share a window: the ratio matches one-shot zlib, whatever the write sizes', async (t) => {
  const { body, chunks } = testBody();
  const oneShot = zlib.gzipSync(body, { level: 1 }).length;
  for (const [name, writes] of [['odd-sized writes', chunks], ['one 300 KB write', [body]], ['1-byte writes', [...body.subarray(0, 70_000)].map((b) => Buffer.from([b]))]] as const) {
    const input = Buffer.concat(writes);
    const compressed = await collect(createEncoder('gzip'), writes as Buffer[]);
    t.ok(zlib.gunzipSync(compressed).equals(input), `${name}: round trip`);
    if (input.length === body.length) t.ok(compressed.length <= oneShot * 1.02, `${name}: ${compressed.length} bytes vs one-shot ${oneShot}`);
  }
  // the gzip trailer carries CRC-32 and size; a corrupted byte is caught by zlib's own check
  const good = await collect(createEncoder('gzip'), [body]);
  const bad = Buffer.from(good);
  bad[bad.length - 8]! ^= 0xff;
  t.throws(() => zlib.gunzipSync(bad), /incorrect data check/);
  const zlibFormat = await collect(createEncoder('deflate'), chunks);
  const badAdler = Buffer.from(zlibFormat);
  badAdler[badAdler.length - 1]! ^= 0xff;
  t.throws(() => zlib.inflateSync(badAdler), /incorrect data check/);
});

t.test('an empty body still produces a valid stream', async (t) => {
  for (const coding of ['gzip', 'deflate', 'br'] as const) {
    const compressed = await collect(createEncoder(coding), []);
    t.equal(DECOMPRESSORS[coding](compressed).length, 0, coding);
  }
});

t.test('output streams out before the body ends (never the whole body buffered)', async (t) => {
  const encoder = createEncoder('gzip');
  const inflate = zlib.createGunzip();
  encoder.pipe(inflate);
  let inflated = 0;
  inflate.on('data', (d: Buffer) => { inflated += d.length; });
  const firstOutput = once(encoder, 'data');
  let written = 0;
  while (inflated === 0 && written < 64 * 1024 * 1024) {
    const chunk = randomBytes(64 * 1024);
    written += chunk.length;
    if (!encoder.write(chunk)) await once(encoder, 'drain');
    await new Promise((r) => setImmediate(r));
  }
  await firstOutput;
  t.ok(inflated > 0 && written < 64 * 1024 * 1024, `decompressed output appeared after ${written} bytes in, before end()`);
  encoder.end();
  await once(inflate, 'end');
});

t.test('a pause in the input flushes what was compressed so far (server-sent events)', async (t) => {
  for (const coding of ['gzip', 'deflate', 'br'] as const) {
    const encoder = createEncoder(coding);
    const decoder = coding === 'gzip' ? zlib.createGunzip() : coding === 'deflate' ? zlib.createInflate() : zlib.createBrotliDecompress();
    encoder.pipe(decoder);
    const event = 'data: {"tick":1}\n\n';
    const received = once(decoder, 'data');
    encoder.write(event); // no end(): the stream stays open like an SSE response
    const [chunk] = (await received) as [Buffer];
    t.equal(chunk.toString(), event, `${coding}: the event arrives while the stream is open`);
    const second = once(decoder, 'data');
    encoder.write('data: {"tick":2}\n\n');
    t.equal(((await second) as [Buffer])[0].toString(), 'data: {"tick":2}\n\n', `${coding}: and the next one`);
    encoder.end();
    await once(decoder, 'end');
  }
});

function response(overrides: Partial<Exchange>, acceptEncoding = 'gzip, deflate, br'): Exchange {
  return makeExchange({
    requestHeaders: ['host', 'app.example.test', 'accept-encoding', acceptEncoding],
    status: 200,
    responseHeaders: ['content-type', 'application/json', 'content-length', '5000'],
    ...overrides,
  });
}

t.test('compressing: Content-Length dropped, Content-Encoding set, Vary added, strong ETag weakened', async (t) => {
  const module = createCompression({}, ctx);
  const x = response({ responseHeaders: ['content-type', 'application/json', 'content-length', '5000', 'etag', '"v1"', 'accept-ranges', 'bytes'] });
  module.onResponseHead!(x);
  t.equal(x.vars.compressionAlgorithm, 'gzip');
  t.same(x.responseHeaders, ['content-type', 'application/json', 'etag', 'W/"v1"', 'content-encoding', 'gzip', 'vary', 'Accept-Encoding']);

  const varied = response({ responseHeaders: ['vary', 'Origin', 'etag', 'W/"weak"'] }, 'deflate');
  module.onResponseHead!(varied);
  t.same(varied.responseHeaders, ['vary', 'Origin, Accept-Encoding', 'etag', 'W/"weak"', 'content-encoding', 'deflate']);

  for (const vary of ['accept-encoding', 'Origin, Accept-Encoding', '*']) {
    const already = response({ responseHeaders: ['vary', vary] });
    module.onResponseHead!(already);
    t.same(already.responseHeaders, ['vary', vary, 'content-encoding', 'gzip'], `Vary: ${vary} kept as is`);
  }
  // multiple Accept-Encoding headers are one list
  const split = makeExchange({ requestHeaders: ['accept-encoding', 'identity', 'accept-encoding', 'br'], status: 200 });
  module.onResponseHead!(split);
  t.equal(split.vars.compressionAlgorithm, 'br');
});

t.test('responses that are left alone', async (t) => {
  const module = createCompression({}, ctx);
  const cases: Array<[string, Exchange]> = [
    ['no Accept-Encoding', makeExchange({ requestHeaders: ['host', 'a'], status: 200 })],
    ['nothing acceptable', response({}, 'identity, zstd')],
    ['HEAD', response({ method: 'HEAD' })],
    ['204', response({ status: 204 })],
    ['304', response({ status: 304 })],
    ['101', response({ status: 101 })],
    ['206', response({ status: 206, responseHeaders: ['content-range', 'bytes 0-9/100'] })],
    ['already encoded', response({ responseHeaders: ['content-encoding', 'gzip', 'content-length', '300'] })],
    ['already encoded (identity counts too)', response({ responseHeaders: ['content-encoding', 'identity'] })],
    ['Content-Length: 0', response({ responseHeaders: ['content-length', '0'] })],
    ['Cache-Control: no-transform', response({ responseHeaders: ['cache-control', 'public, no-transform'] })],
  ];
  for (const [name, x] of cases) {
    const before = x.responseHeaders.slice();
    module.onResponseHead!(x);
    t.equal(x.vars.compressionAlgorithm, 'none', name);
    t.same(x.responseHeaders, before, `${name}: headers untouched`);
    t.equal(module.responseBody!(x), null, `${name}: no body transform`);
  }
});

t.test('the body transform reports compression.bytes_saved when it ends', async (t) => {
  const module = createCompression({}, ctx);
  const x = response({});
  module.onResponseHead!(x);
  const transform = module.responseBody!(x);
  t.ok(transform);
  const body = Buffer.from('{"a":"' + 'x'.repeat(10_000) + '"}');
  const compressed = await collect(transform!, [body.subarray(0, 4000), body.subarray(4000)]);
  t.ok(zlib.gunzipSync(compressed).equals(body));
  t.equal(x.vars.compressionBytesSaved, body.length - compressed.length);
  t.ok(x.vars.compressionBytesSaved! > 9_000);
});
