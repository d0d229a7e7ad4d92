// The long fuzz run: node dist/test/long/fuzz.js [--target NAME]... [--seconds N] [--seed S]
//   [--hang-ms MS] [--memory-mb MB] [--corpus-out DIR] [--update-corpus]
// Fuzzes each target (all by default) for N seconds (default 180) in turn, writes inputs that add
// coverage to a scratch corpus (default /tmp/edgeplane-fuzz-corpus/<target>/; --update-corpus writes
// into test/fuzz/corpus/ instead), prints per-target execs, execs/s, features and findings, and exits
// non-zero when anything was found (inputs under test/fuzz/findings/<target>/, printed as base64).
import { parseArgs } from 'node:util';
import { runTarget, type FuzzReport } from '../fuzz/engine.js';
import { CORPUS_ROOT } from '../fuzz/paths.js';
import { randomSeed } from '../fuzz/rng.js';
import { TARGET_NAMES } from '../fuzz/targets/index.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string', multiple: true },
    seconds: { type: 'string', default: '180' },
    seed: { type: 'string' },
    'hang-ms': { type: 'string', default: '2000' },
    'memory-mb': { type: 'string', default: '1024' },
    'corpus-out': { type: 'string', default: '/tmp/edgeplane-fuzz-corpus' },
    'update-corpus': { type: 'boolean', default: false },
  },
});

const targets = values.target ?? [...TARGET_NAMES];
const seconds = Number(values.seconds);
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : randomSeed();
const outputCorpus = values['update-corpus'] ? CORPUS_ROOT : values['corpus-out']!;
console.log(`fuzz: targets ${targets.join(', ')}; ${seconds} s each; seed ${seed} (replay with --seed ${seed}); new inputs -> ${outputCorpus}`);

const reports: FuzzReport[] = [];
for (const target of targets) {
  const report = await runTarget({
    target, seconds, seed, hangMs: Number(values['hang-ms']), memoryMb: Number(values['memory-mb']), outputCorpus,
    log: (line) => console.log(line),
  });
  reports.push(report);
  console.log(`${target}: ${report.execs} execs in ${report.seconds.toFixed(1)} s (${report.execsPerSecond}/s), features ${report.seedFeatures} -> ${report.features}, corpus ${report.corpusSize} (+${report.newInputs}), restarts ${report.restarts}, findings ${report.findings.length}`);
}

console.log('\ntarget        seconds    execs  execs/s  seed-features  features  new-inputs  findings');
for (const r of reports) {
  console.log(`${r.target.padEnd(12)} ${r.seconds.toFixed(0).padStart(8)} ${String(r.execs).padStart(8)} ${String(r.execsPerSecond).padStart(8)} ${String(r.seedFeatures).padStart(14)} ${String(r.features).padStart(9)} ${String(r.newInputs).padStart(11)} ${String(r.findings.length).padStart(9)}`);
}
const found = reports.reduce((n, r) => n + r.findings.length, 0);
console.log(`seed ${seed}; ${found} finding(s)`);
process.exit(found > 0 ? 1 : 0);
