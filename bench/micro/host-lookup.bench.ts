// Host table micro-benchmark: build time and size for 100k hostnames + 10k wildcards, then lookup
// latency for exact hits, wildcard hits (nested included) and misses.
// Run: npx tsc -p . && node dist/bench/micro/host-lookup.bench.js
import { buildHostTable, HostTable, type HostEntry } from '../../core/tables/host-table.js';

const EXACT_COUNT = 100_000;
const WILDCARD_COUNT = 10_000;
const BATCH = 1_000;
const BATCHES = 2_000;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

let seed = 1;
function random(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
}

function label(min: number, max: number): string {
  const length = min + Math.floor(random() * (max - min + 1));
  let text = '';
  for (let i = 0; i < length; i++) text += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return text;
}

function makeEntries(): { entries: HostEntry[]; exact: string[]; wildcardHits: string[]; misses: string[] } {
  const entries: HostEntry[] = [];
  const names = new Set<string>();
  while (names.size < EXACT_COUNT) names.add(`${label(4, 14)}.${label(3, 10)}.example.test`);
  for (const name of names) entries.push({ port: 443, name, value: entries.length });
  const bases = new Set<string>();
  while (bases.size < WILDCARD_COUNT) bases.add(`${label(3, 10)}.customer.test`);
  for (const base of bases) entries.push({ port: 443, name: `*.${base}`, value: entries.length });

  const exact = [...names];
  // '-' never appears in generated labels: these miss the exact table and hit a wildcard, half nested.
  const wildcardHits = [...bases].map((base, i) => (i % 2 ? `a-${label(3, 8)}.${base}` : `a-${label(3, 8)}.b-${label(2, 5)}.${base}`));
  const misses = exact.slice(0, WILDCARD_COUNT).map((name) => `m-${name}`);
  return { entries, exact, wildcardHits, misses };
}

function measure(table: HostTable, names: string[]): { median: number; p99: number; sink: number } {
  let sink = 0;
  const perLookup: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const from = (b * BATCH) % names.length;
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) sink += table.lookup(443, names[(from + i) % names.length]);
    perLookup.push(Number(process.hrtime.bigint() - start) / BATCH);
  }
  perLookup.sort((a, b) => a - b);
  return {
    median: perLookup[Math.floor(perLookup.length / 2)],
    p99: perLookup[Math.floor(perLookup.length * 0.99)],
    sink,
  };
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

const { entries, exact, wildcardHits, misses } = makeEntries();
const rssBefore = process.memoryUsage().rss;
const buildStart = process.hrtime.bigint();
const buf = buildHostTable(entries);
const buildMs = Number(process.hrtime.bigint() - buildStart) / 1e6;
const table = new HostTable(buf);
const rssAfter = process.memoryUsage().rss;

console.log(`entries      ${table.entryCount} (${EXACT_COUNT} exact + ${WILDCARD_COUNT} wildcards)`);
console.log(`build        ${buildMs.toFixed(1)} ms`);
console.log(`byteLength   ${table.byteLength} (${mib(table.byteLength)})`);
console.log(`rss          before build ${mib(rssBefore)}, after ${mib(rssAfter)}`);
for (const [kind, names] of [['exact hit', exact], ['wildcard hit', wildcardHits], ['miss', misses]] as const) {
  measure(table, names); // warm-up, so the JIT has settled
  const { median, p99, sink } = measure(table, names);
  console.log(`${kind.padEnd(12)} median ${median.toFixed(0)} ns, p99 ${p99.toFixed(0)} ns  (checksum ${sink})`);
}
