// Circuit breaker micro-benchmark: ns per request for admit + record on the shared breaker table,
// closed (default 10 buckets and the maximum 128: the trip check sums the window on every record),
// and open (refusals only), in one thread and with several threads on the same slot.
// Run: npx tsc -p . && node dist/bench/micro/breaker.bench.js [--threads 2]
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Breakers, createBreakerBuffer } from '../../core/tables/breakers.js';
import type { CircuitBreakerSpec } from '../../core/generation/spec.js';

const REQUESTS = 2_000_000;

function spec(slot: number, numBuckets: number): CircuitBreakerSpec {
  return { slot, errorThresholdPercentage: 0.5, trippedDurationMs: 60_000, rollingWindowMs: 10_000, numBuckets, volumeThreshold: 20 };
}

/** Runs `requests` admit+record pairs; 1 in `failEvery` fails (never enough to trip at 0.5). */
function drive(breakers: Breakers, s: CircuitBreakerSpec, requests: number, failEvery: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < requests; i++) {
    const now = Date.now();
    const decision = breakers.admit(s.slot, s, now);
    if (decision === 'block') continue;
    breakers.record(s.slot, s, now, decision, i % failEvery === 0);
  }
  return Number(process.hrtime.bigint() - start) / requests;
}

function tripOpen(breakers: Breakers, s: CircuitBreakerSpec): void {
  breakers.adopt(s.slot, s);
  for (let i = 0; i < 100; i++) breakers.record(s.slot, s, Date.now(), breakers.admit(s.slot, s, Date.now()), true);
  if (breakers.state(s.slot).state !== 'open') throw new Error('breaker did not open');
}

async function threads(buffer: SharedArrayBuffer, s: CircuitBreakerSpec, count: number): Promise<number> {
  const workers = Array.from({ length: count }, () => new Worker(new URL(import.meta.url), { workerData: { buffer, spec: s, requests: REQUESTS / count } }));
  const results = await Promise.all(workers.map((w) => new Promise<number>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); })));
  await Promise.all(workers.map((w) => w.terminate()));
  return results.reduce((a, b) => a + b, 0) / results.length;
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--threads');
  const threadCount = at < 0 ? 2 : Number(process.argv[at + 1]);
  const breakers = new Breakers(createBreakerBuffer());
  const rows: Array<[string, number]> = [];
  for (const buckets of [10, 128]) {
    const s = spec(buckets, buckets);
    breakers.adopt(s.slot, s);
    drive(breakers, s, 200_000, 10); // warm-up
    rows.push([`closed, ${buckets} buckets, 10% errors, 1 thread`, drive(breakers, s, REQUESTS, 10)]);
  }
  const open = spec(1, 10);
  tripOpen(breakers, open);
  rows.push(['open (refusing), 1 thread', drive(breakers, open, REQUESTS, 10)]);

  const shared = spec(2, 10);
  breakers.adopt(shared.slot, shared);
  rows.push([`closed, 10 buckets, ${threadCount} threads on one slot (ns per request per thread)`, await threads(breakers.buffer, shared, threadCount)]);
  if (breakers.state(shared.slot).trips !== 0) throw new Error('10% errors must not trip a 50% breaker');

  console.log(`breaker admit+record, ${REQUESTS.toLocaleString()} requests each; node ${process.version}`);
  for (const [name, ns] of rows) console.log(`${name.padEnd(80)} ${ns.toFixed(0).padStart(6)} ns/request`);
}

if (isMainThread) {
  await main();
} else {
  const { buffer, spec: s, requests } = workerData as { buffer: SharedArrayBuffer; spec: CircuitBreakerSpec; requests: number };
  const breakers = new Breakers(buffer);
  drive(breakers, s, 100_000, 10);
  parentPort!.postMessage(drive(breakers, s, requests, 10));
}
