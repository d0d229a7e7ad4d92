// ClientHello parser micro-benchmark: parses/sec for the hellos the acceptor sees most (a Chrome-like
// 1.8 KB post-quantum hello, the same split over records, a small hello) and for the cheap
// "incomplete" answer on a partial peek. Prints results, asserts nothing.
// Run: npx tsc -p . && node dist/bench/micro/client-hello.bench.js
import { parseClientHello } from '../../core/acceptor/client-hello.js';
import { buildClientHello, chromeLikeHello, reframe } from '../../test/fixtures/client-hello/hello-builder.js';

const WARMUP_MS = 300;
const RUN_MS = 1_000;
const BATCH = 1_000;

interface Case { name: string; bytes: Buffer }

function run(bytes: Buffer, ms: number): { perSec: number; nsPer: number; sink: number } {
  let sink = 0;
  let done = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(ms) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < BATCH; i++) {
      const r = parseClientHello(bytes);
      sink += r.kind === 'hello' ? r.helloBytes : r.kind.length;
    }
    done += BATCH;
    elapsed = process.hrtime.bigint() - start;
  }
  const ns = Number(elapsed);
  return { perSec: (done * 1e9) / ns, nsPer: ns / done, sink };
}

const chrome = chromeLikeHello('www.example.test');
const cases: Case[] = [
  { name: `chrome-like PQ hello, 1 record (${chrome.length} B)`, bytes: chrome },
  { name: 'chrome-like PQ hello, 512-byte records', bytes: reframe(chrome, 512) },
  { name: `small TLS 1.3 hello (${buildClientHello().length} B)`, bytes: buildClientHello() },
  { name: 'partial peek (first 600 B) -> incomplete', bytes: chrome.subarray(0, 600) },
  { name: 'plain HTTP -> not_tls', bytes: Buffer.from('GET / HTTP/1.1\r\nHost: example.test\r\n\r\n') },
];

let sink = 0;
console.log(`node ${process.version}, ${RUN_MS} ms per case`);
for (const c of cases) {
  sink += run(c.bytes, WARMUP_MS).sink;
  const r = run(c.bytes, RUN_MS);
  sink += r.sink;
  console.log(`${c.name.padEnd(48)} ${Math.round(r.perSec).toLocaleString('en-US').padStart(12)} parses/s  ${r.nsPer.toFixed(0).padStart(7)} ns/parse`);
}
if (sink === 42) console.log('');
