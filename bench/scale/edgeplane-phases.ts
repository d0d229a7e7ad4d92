// edgeplane's start-up, phase by phase, in-process, with the daemon's own modules and in its order
// (core/daemon.ts boot and reload): read + YAML parse, schema + checks (loadConfigObject: what
// loadConfigFile does after parsing), buildGeneration (host table included), publish to the workers.
// At boot the pool spawns its workers after the generation is set, and each is ready once it has
// installed it; a reload publishes to running workers and waits for every acknowledgement.
// Usage: node dist/bench/scale/edgeplane-phases.js <config.yaml>     Prints one line: PHASES {...}
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import v8 from 'node:v8';
import { parseDocument } from 'yaml';
import { loadConfigObject } from '../../core/config/load.js';
import { ConfigError } from '../../core/config/errors.js';
import { buildGeneration } from '../../core/generation/build.js';
import { WorkerPool } from '../../core/dispatch/worker-pool.js';
import { loadNative } from '../../core/native/index.js';
import { createBreakerBuffer, MAX_BREAKERS } from '../../core/tables/breakers.js';
import { Counters, createCounterBuffer, MAX_BACKENDS, MAX_EDGES, SlotMap } from '../../core/tables/counters.js';
import { WorkerRuntime } from '../../workers/runtime.js';

const path = process.argv[2];
if (path === undefined) {
  process.stderr.write('usage: edgeplane-phases.js <config.yaml>\n');
  process.exit(2);
}
const full = resolve(path);
const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
const time = <T>(fn: () => T): [T, number] => {
  const t0 = performance.now();
  const value = fn();
  return [value, performance.now() - t0];
};

const [text, readMs] = time(() => readFileSync(full, 'utf8'));
// The options of core/config/load.ts parseText.
const [parsed, yamlMs] = time(() => {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
});
let loaded;
let checkMs;
try {
  [loaded, checkMs] = time(() => loadConfigObject(parsed, { baseDir: dirname(full), sourceName: path }));
} catch (e) {
  const detail = e instanceof ConfigError ? e.problems.slice(0, 3).map((p) => `${p.path}: ${p.reason}`).join('; ') : (e as Error).message;
  throw new Error(`config refused: ${detail}`);
}
const slots = { edges: new SlotMap(MAX_EDGES, 'edge'), backends: new SlotMap(MAX_BACKENDS, 'backend'), breakers: new SlotMap(MAX_BREAKERS, 'circuit breaker') };
const [built, buildMs] = time(() => buildGeneration(loaded, 1, slots));
const spec = built.spec;
// What a worker receives by structured clone; the SharedArrayBuffer tables are shared, not copied.
const clonedBytes = v8.serialize({ ...spec, hostTable: null, ipTable: null }).length;

const counters = new Counters(createCounterBuffer());
const breakerBuffer = createBreakerBuffer();
const native = process.env.EDGEPLANE_DISABLE_NATIVE === '1' ? null : loadNative().addon;
const workers = loaded.config.workers;
let bootPublishMs: number;
let reloadPublishMs: number;
if (native !== null) {
  const pool = new WorkerPool({ size: workers, counters, breakerBuffer, closeFd: (fd) => native.close(fd), onEvents: () => {} });
  let t0 = performance.now();
  await pool.publish(spec);
  await pool.start();
  bootPublishMs = performance.now() - t0;
  t0 = performance.now();
  await pool.publish({ ...spec, generation: 2 });
  reloadPublishMs = performance.now() - t0;
  await pool.stop();
} else {
  // Degraded mode (no native addon): the daemon installs on the main thread, no worker pool.
  const local = new WorkerRuntime(counters, 0, breakerBuffer, () => {});
  [, bootPublishMs] = time(() => local.install(spec));
  [, reloadPublishMs] = time(() => local.install({ ...spec, generation: 2 }));
}
const mem = process.memoryUsage();
process.stdout.write(`PHASES ${JSON.stringify({
  config_mib: mib(Buffer.byteLength(text)),
  read_ms: readMs, yaml_ms: yamlMs, check_ms: checkMs, build_ms: buildMs,
  boot_publish_ms: bootPublishMs, reload_publish_ms: reloadPublishMs,
  total_ms: readMs + yamlMs + checkMs + buildMs + bootPublishMs,
  cloned_mib_per_worker: mib(clonedBytes), host_table_mib: mib(spec.hostTable.byteLength),
  edges: spec.edges.length, hostports: spec.hostports.length,
  workers: native !== null ? workers : 0, degraded: native === null,
  heap_used_mib: mib(mem.heapUsed), rss_mib: mib(mem.rss),
})}\n`);
process.exit(0);
