// Shows that a host table is one copy in memory whatever the number of workers: builds 100k
// hostnames + 10k wildcards into a SharedArrayBuffer, then attaches it in 1, 2 and 4 worker
// threads (each does lookups through it) and reports process RSS against the table's size.
// Run: npx tsc -p . && node dist/bench/micro/table-sharing.bench.js
import { Worker } from 'node:worker_threads';
import { buildHostTable, type HostEntry } from '../../core/tables/host-table.js';

const entries: HostEntry[] = [];
for (let i = 0; i < 100_000; i++) entries.push({ port: 443, name: `host-${i}.customer-${i % 997}.example.test`, value: i });
for (let i = 0; i < 10_000; i++) entries.push({ port: 443, name: `*.tenant-${i}.example.test`, value: 100_000 + i });
const started = process.hrtime.bigint();
const table = buildHostTable(entries);
const buildMs = Number(process.hrtime.bigint() - started) / 1e6;
const tableUrl = new URL('../../core/tables/host-table.js', import.meta.url).href;

const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
const workerSource = `
  const { parentPort, workerData } = require('node:worker_threads');
  import(workerData.tableUrl).then(({ HostTable }) => {
    const t = new HostTable(workerData.table);
    // Read every word of the table (so every page is touched in this thread), allocating nothing.
    const words = new Uint8Array(workerData.table);
    let sum = 0;
    for (let i = 0; i < words.length; i += 64) sum = (sum + words[i]) | 0;
    const hits = t.lookup(443, 'host-99999.customer-' + (99999 % 997) + '.example.test') === 99999 ? 100000 : sum & 0;
    parentPort.postMessage(hits);
  });`;

async function rssWith(workers: number): Promise<number> {
  const running = await Promise.all(Array.from({ length: workers }, () => new Promise<Worker>((resolve, reject) => {
    const w = new Worker(workerSource, { eval: true, workerData: { table, tableUrl } });
    w.once('message', (hits: number) => (hits === 100_000 ? resolve(w) : reject(new Error(`worker found ${hits}`))));
    w.once('error', reject);
  })));
  const rss = process.memoryUsage().rss;
  await Promise.all(running.map((w) => w.terminate()));
  return rss;
}

async function emptyWorkersRss(workers: number): Promise<number> {
  const running = await Promise.all(Array.from({ length: workers }, () => new Promise<Worker>((resolve) => {
    const w = new Worker(`require('node:worker_threads').parentPort.postMessage(0)`, { eval: true });
    w.once('message', () => resolve(w));
  })));
  const rss = process.memoryUsage().rss;
  await Promise.all(running.map((w) => w.terminate()));
  return rss;
}

console.log(`table: ${entries.length} entries, ${mib(table.byteLength)}, built in ${buildMs.toFixed(1)} ms`);
for (const n of [1, 2, 4]) {
  const withTable = await rssWith(n);
  const without = await emptyWorkersRss(n);
  console.log(`${n} worker(s): rss ${mib(withTable)} with every table page read in each worker, ${mib(without)} for idle workers; extra ${mib(withTable - without)} (a private copy per worker would add ${mib(n * table.byteLength)})`);
}
