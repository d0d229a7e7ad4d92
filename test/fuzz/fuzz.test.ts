// The CI fuzz run. For every target (targets/index.ts): (1) every corpus file is replayed, and any
// finding on one fails the test (the corpus holds every input that once crashed: regressions);
// (2) then the target is fuzzed, coverage-guided, for a short budget (EDGEPLANE_FUZZ_SECONDS, default
// 6 s) with a seed from EDGEPLANE_FUZZ_SEED or a random one (printed; a failure prints the input as
// base64). The engine itself is checked too: coverage must grow past the seeds on most targets, a
// crash hidden behind four byte comparisons must be found, and an endless exec reported as a hang.
import t from 'tap';
import { runTarget, type FuzzReport } from './engine.js';
import { randomSeed } from './rng.js';
import { readCorpus } from './target.js';
import { TARGET_NAMES } from './targets/index.js';

const SECONDS = Number(process.env.EDGEPLANE_FUZZ_SECONDS ?? '5');
const SEED = process.env.EDGEPLANE_FUZZ_SEED !== undefined ? Number(process.env.EDGEPLANE_FUZZ_SEED) >>> 0 : randomSeed();
// Generous on a loaded 2-core box: a real hang (a loop, a ReDoS) runs far past it anyway.
const HANG_MS = 5000;

t.comment(`fuzz seed ${SEED} (replay: EDGEPLANE_FUZZ_SEED=${SEED}), ${SECONDS} s per target`);

function describeFindings(r: FuzzReport): string {
  return r.findings.map((f) => `${f.kind}${f.source ? ` on corpus file ${f.source}` : ''}: ${f.message.split('\n')[0]}\n  input (base64): ${f.input}`).join('\n') + `\n  seed: ${r.seed}`;
}

const reports: FuzzReport[] = [];

for (const name of TARGET_NAMES) {
  t.test(`fuzz target ${name}`, async (t) => {
    const files = readCorpus(name).length;
    t.ok(files > 0, `the corpus of ${name} has ${files} files`);
    const report = await runTarget({ target: name, seconds: SECONDS, seed: SEED, hangMs: HANG_MS, outputCorpus: null, log: (line) => t.comment(line) });
    reports.push(report);
    t.comment(`${name}: ${report.execs} execs (${report.execsPerSecond}/s), features ${report.seedFeatures} -> ${report.features}, +${report.newInputs} inputs`);
    t.equal(report.findings.length, 0, report.findings.length === 0 ? 'no findings' : describeFindings(report));
    t.ok(report.replayed >= files, `every corpus file replayed (${report.replayed} >= ${files})`);
    t.ok(report.seedFeatures > 0, 'the corpus covers product code (the coverage feed sees it)');
    t.ok(report.execs > report.replayed, `fuzzing ran past the replay (${report.execs} execs)`);
    t.ok(report.features >= report.seedFeatures, 'features never shrink');
  });
}

t.test('coverage guidance works: most targets gain features beyond their seeds', async (t) => {
  const grown = reports.filter((r) => r.features > r.seedFeatures && r.newInputs > 0);
  t.ok(grown.length >= Math.ceil(reports.length / 2), `${grown.length} of ${reports.length} targets grew: ${grown.map((r) => r.target).join(', ')}`);
});

t.test('engine self-test: a crash behind four byte comparisons is found', async (t) => {
  const report = await runTarget({
    target: 'selftest-magic', targetModule: new URL('./selftest/magic.js', import.meta.url).href,
    seconds: 15, seed: SEED, hangMs: HANG_MS, outputCorpus: null, saveFindings: false, stopOnFinding: true,
  });
  t.equal(report.findings.length, 1, 'one finding');
  const finding = report.findings[0];
  t.equal(finding?.kind, 'crash');
  t.same([...Buffer.from(finding?.input ?? '', 'base64').subarray(0, 4)], [0xff, 0x00, 0x7f, 0x80], 'the input that crashed it');
  t.comment(`found after ${report.execs} execs, ${report.seconds.toFixed(1)} s`);
});

t.test('engine self-test: an endless exec is reported as a hang with its input', async (t) => {
  const report = await runTarget({
    target: 'selftest-hang', targetModule: new URL('./selftest/hang.js', import.meta.url).href,
    seconds: 0, seed: SEED, hangMs: 1000, outputCorpus: null, saveFindings: false,
  });
  t.equal(report.findings.length, 1, 'one finding');
  t.equal(report.findings[0]?.kind, 'hang');
  t.equal(Buffer.from(report.findings[0]?.input ?? '', 'base64').toString(), 'loop');
  t.equal(report.restarts, 1, 'the stuck worker was replaced');
});
