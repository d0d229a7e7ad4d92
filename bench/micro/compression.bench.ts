// Compression micro-benchmark: output bytes and CPU µs (process CPU, zlib's thread pool included) to
// stream-compress a ~100 KB JSON body through the compression module's encoder, for the chosen
// settings and the alternatives (other levels and segment sizes, node:zlib's own streams). The body is the peers-bench /json fixture, generated the same way
// (100,082 bytes; nginx gzip level 1 sends 28,733 bytes of it).
// Run: npx tsc -p . && node dist/bench/micro/compression.bench.js [--rounds 5] [--per-round 60]
import zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import { jsonBody } from '../fixtures.js';
import { BROTLI_OPTIONS, createEncoder, DEFLATE_SETTINGS, type Coding } from '../../workers/http/modules/compression-encoder.js';

const NGINX_GZIP_1_BYTES = 28_733;

// The bench's own /json body: peers-bench's generator, byte-identical (100,082 B).
const peersBenchJson = (): Buffer => Buffer.from(jsonBody());

interface Variant {
  name: string;
  coding: Coding;
  make: () => Transform;
  chosen?: boolean;
}

const brotli = (quality: number): zlib.BrotliOptions => ({ ...BROTLI_OPTIONS, params: { ...BROTLI_OPTIONS.params, [zlib.constants.BROTLI_PARAM_QUALITY]: quality } });
const segmented = (coding: 'gzip' | 'deflate', level: number, segmentBytes: number) => () => createEncoder(coding, undefined, { deflate: { level, segmentBytes } });

const VARIANTS: Variant[] = [
  { name: 'gzip (module: level 1, 64 KiB segments)', coding: 'gzip', make: () => createEncoder('gzip'), chosen: true },
  { name: 'gzip level 1, 16 KiB segments', coding: 'gzip', make: segmented('gzip', 1, 16 * 1024) },
  { name: 'gzip level 1, 256 KiB segments', coding: 'gzip', make: segmented('gzip', 1, 256 * 1024) },
  { name: 'gzip level 2, 64 KiB segments', coding: 'gzip', make: segmented('gzip', 2, 64 * 1024) },
  { name: 'gzip level 3, 64 KiB segments', coding: 'gzip', make: segmented('gzip', 3, 64 * 1024) },
  { name: 'gzip level 6, 64 KiB segments', coding: 'gzip', make: segmented('gzip', 6, 64 * 1024) },
  { name: 'node:zlib gzip stream, level 1', coding: 'gzip', make: () => zlib.createGzip({ level: 1 }) },
  { name: 'node:zlib gzip stream, level 1, 64K buf', coding: 'gzip', make: () => zlib.createGzip({ level: 1, chunkSize: 64 * 1024 }) },
  { name: 'deflate (module)', coding: 'deflate', make: () => createEncoder('deflate'), chosen: true },
  { name: 'br (module: quality 2)', coding: 'br', make: () => createEncoder('br'), chosen: true },
  { name: 'br quality 0', coding: 'br', make: () => createEncoder('br', undefined, { brotli: brotli(0) }) },
  { name: 'br quality 1', coding: 'br', make: () => createEncoder('br', undefined, { brotli: brotli(1) }) },
  { name: 'br quality 4', coding: 'br', make: () => createEncoder('br', undefined, { brotli: brotli(4) }) },
];

const DECOMPRESS: Record<Coding, (b: Buffer) => Buffer> = { gzip: zlib.gunzipSync, deflate: zlib.inflateSync, br: zlib.brotliDecompressSync };

function split(body: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) chunks.push(body.subarray(i, i + size));
  return chunks;
}

function compressOnce(variant: Variant, chunks: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const encoder = variant.make();
    encoder.on('data', (d: Buffer) => out.push(d));
    encoder.on('error', reject);
    encoder.on('end', () => resolve(Buffer.concat(out)));
    for (const chunk of chunks) encoder.write(chunk);
    encoder.end();
  });
}

// CPU per body for every variant, rounds interleaved across variants so that load drift on a shared
// machine spreads evenly; median and min over the rounds.
async function cpuPerBody(variants: Variant[], chunks: Buffer[], rounds: number, perRound: number): Promise<Array<{ median: number; min: number }>> {
  const samples: number[][] = variants.map(() => []);
  for (const variant of variants) for (let i = 0; i < 20; i++) await compressOnce(variant, chunks); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (let v = 0; v < variants.length; v++) {
      const start = process.cpuUsage();
      for (let i = 0; i < perRound; i++) await compressOnce(variants[v]!, chunks);
      const used = process.cpuUsage(start);
      samples[v]!.push((used.user + used.system) / perRound);
    }
  }
  return samples.map((list) => {
    list.sort((a, b) => a - b);
    return { median: list[Math.floor(list.length / 2)]!, min: list[0]! };
  });
}

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

async function main(): Promise<void> {
  const rounds = option('rounds', 9);
  const perRound = option('per-round', 20);
  const body = peersBenchJson();
  const inputs = { '16 KiB writes': split(body, 16 * 1024), '64 KiB writes': split(body, 64 * 1024) };
  console.log(`body: ${body.length} bytes of JSON; nginx gzip level 1: ${NGINX_GZIP_1_BYTES} bytes; node ${process.version}, zlib ${process.versions.zlib}`);
  console.log(`module settings: ${JSON.stringify(DEFLATE_SETTINGS)}`);
  console.log(`CPU = process user+system µs per body, zlib's threads included (median of ${rounds} interleaved rounds × ${perRound}; min in brackets)\n`);
  const sizes: number[][] = [];
  const cpu: Array<Array<{ median: number; min: number }>> = [];
  for (const chunks of Object.values(inputs)) {
    const row: number[] = [];
    for (const variant of VARIANTS) {
      const compressed = await compressOnce(variant, chunks);
      if (!DECOMPRESS[variant.coding](compressed).equals(body)) throw new Error(`${variant.name}: round trip differs`);
      row.push(compressed.length);
    }
    sizes.push(row);
    cpu.push(await cpuPerBody(VARIANTS, chunks, rounds, perRound));
  }
  const names = Object.keys(inputs);
  console.log(`${'variant'.padEnd(42)}${names.map((n) => `${n}: bytes`.padStart(22) + 'CPU'.padStart(18)).join('')}`);
  VARIANTS.forEach((variant, v) => {
    const cells = names.map((_, i) => {
      const bytes = sizes[i]![v]!;
      const { median, min } = cpu[i]![v]!;
      return `${bytes}${bytes <= NGINX_GZIP_1_BYTES ? ' ' : '!'}`.padStart(22) + `${median.toFixed(0)} µs (${min.toFixed(0)})`.padStart(18);
    });
    console.log(`${(variant.name + (variant.chosen === true ? ' *' : '')).padEnd(42)}${cells.join('')}`);
  });
  const oneShot: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = process.cpuUsage();
    for (let i = 0; i < perRound; i++) zlib.gzipSync(body, { level: 1 });
    const used = process.cpuUsage(start);
    oneShot.push((used.user + used.system) / perRound);
  }
  oneShot.sort((a, b) => a - b);
  console.log(`\nreference, not streaming: zlib.gzipSync level 1 of the whole body: ${oneShot[Math.floor(rounds / 2)]!.toFixed(0)} µs (${oneShot[0]!.toFixed(0)})`);
  console.log('* = what the compression module uses; ! = more bytes than nginx gzip level 1');
}

await main();
