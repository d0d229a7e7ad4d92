// edgeplane's host table at N hostnames, in-process (the method of bench/micro/host-lookup.bench.ts):
// build time and size, then lookup ns/op for exact hits, misses and wildcard hits. The table holds the
// job's N names + the probe, plus max(1, N/100) wildcards '*.w<k>.wild.test' so the wildcard path is
// timed too (with wildcards present, a miss also probes each suffix of the name). Names are looked up
// in a shuffled order so that neither the slots nor the name strings are walked in memory order.
// Usage: node dist/bench/scale/host-lookup.js <hosts> <port>        Prints one line: LOOKUP {...}
import { buildHostTable, HostTable, type HostEntry } from '../../core/tables/host-table.js';
import { hostName, PROBE_NAME } from './names.js';

const hosts = Number(process.argv[2]);
const port = Number(process.argv[3]);
if (!(Number.isInteger(hosts) && hosts > 0 && Number.isInteger(port) && port > 0)) {
  process.stderr.write('usage: host-lookup.js <hosts> <port>\n');
  process.exit(2);
}
const BATCH = 1_000;
const BATCHES = 2_000;
const SAMPLE = 100_000; // distinct names per kind looked up (all N when smaller)

let seed = 7;
function random(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
}
function shuffled<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

const wildcards = Math.max(1, Math.floor(hosts / 100));
const entries: HostEntry[] = [];
for (let i = 0; i < hosts; i++) entries.push({ port, name: hostName(i), value: i });
entries.push({ port, name: PROBE_NAME, value: hosts });
for (let k = 0; k < wildcards; k++) entries.push({ port, name: `*.w${k}.wild.test`, value: hosts + 1 + k });

const t0 = performance.now();
const table = new HostTable(buildHostTable(entries));
const buildMs = performance.now() - t0;

// Exact hits drawn from the whole table; strings made afresh (as a parsed SNI would be).
const pickIndex = (n: number): number[] => shuffled(Array.from({ length: Math.min(SAMPLE, n) }, (_, i) => (n <= SAMPLE ? i : Math.floor(random() * n))));
const exact = pickIndex(hosts).map(hostName);
const misses = pickIndex(hosts).map((i) => `m${i}.scale.test`);
const wildcardHits = pickIndex(wildcards).map((k) => `x${k}.w${k}.wild.test`);

function measure(names: string[], want: (v: number) => boolean): { median_ns: number; p99_ns: number; wrong: number } {
  let wrong = 0;
  const perLookup: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const from = (b * BATCH) % names.length;
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) if (!want(table.lookup(port, names[(from + i) % names.length]!))) wrong++;
    perLookup.push(Number(process.hrtime.bigint() - start) / BATCH);
  }
  perLookup.sort((a, b) => a - b);
  return { median_ns: perLookup[perLookup.length >> 1]!, p99_ns: perLookup[Math.floor(perLookup.length * 0.99)]!, wrong };
}

const result: Record<string, unknown> = { hosts, wildcards, build_ms: buildMs, table_mib: Math.round((table.byteLength / 2 ** 20) * 10) / 10 };
const kinds = [
  ['exact', exact, (v: number) => v >= 0 && v < hosts],
  ['miss', misses, (v: number) => v === -1],
  ['wildcard', wildcardHits, (v: number) => v > hosts],
] as const;
for (const [kind, names, want] of kinds) {
  measure(names, want); // warm-up: let the JIT settle
  result[kind] = measure(names, want);
}
process.stdout.write(`LOOKUP ${JSON.stringify(result)}\n`);
