// The coverage-guided fuzzer. The loop runs in a worker thread (fuzzLoop, started by worker.ts); the
// parent (runTarget) watches it through shared memory: before each exec the worker copies the input
// there and stamps the start time, so when one exec runs past the hang threshold, or the worker dies
// of memory, the parent knows exactly which input did it, terminates the worker, records the finding
// and starts a fresh worker on the corpus grown so far.
//
// Inputs run in batches; V8 coverage is taken once per batch (a take costs milliseconds). Only a
// batch that shows features never seen is re-run one input at a time to find which inputs to keep.
import { Worker } from 'node:worker_threads';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoverageFeed } from './coverage.js';
import { mutate } from './mutate.js';
import { Rng } from './rng.js';
import { FINDINGS_ROOT } from './paths.js';
import { readCorpus, sha1, writeCorpusFile, type FuzzTarget } from './target.js';

export type FindingKind = 'crash' | 'invariant' | 'hang' | 'memory' | 'uncaught';

export interface Finding {
  kind: FindingKind;
  message: string;
  /** Base64 of the input. */
  input: string;
  /** Corpus file the input came from, during the replay of the corpus. */
  source?: string;
}

export interface FuzzStats {
  execs: number;
  /** Execs of the replay phase (every corpus file and seed once). */
  replayed: number;
  seconds: number;
  execsPerSecond: number;
  /** Features after the replay, and at the end. */
  seedFeatures: number;
  features: number;
  corpusSize: number;
  newInputs: number;
  /** Worker restarts after a hang or a death. */
  restarts: number;
}

export interface FuzzReport extends FuzzStats {
  target: string;
  seed: number;
  findings: Finding[];
}

export interface RunOptions {
  /** A name from targets/index.ts. */
  target: string;
  /** Module URL to load the target from instead (self-tests); `target` then only names its corpus and findings. */
  targetModule?: string;
  /** Fuzzing time after the replay; 0 = replay the corpus only. */
  seconds: number;
  seed: number;
  /** One exec longer than this is a hang. */
  hangMs?: number;
  /** Old-space bound of the worker; past it is a memory finding. */
  memoryMb?: number;
  /** Where new interesting inputs are written (null: nowhere). */
  outputCorpus?: string | null;
  /** Where the corpus is read from (default test/fuzz/corpus). */
  corpusRoot?: string;
  /** End the run at the first finding (self-tests). */
  stopOnFinding?: boolean;
  /** Write findings under test/fuzz/findings/<target>/ (default true). */
  saveFindings?: boolean;
  log?: (line: string) => void;
}

// ---- shared memory between the worker and its parent ----

const HDR_STATE = 0; // 1 while an exec runs
const HDR_LEN = 1;
const HDR_INTS = 4;
const TIME_OFFSET = HDR_INTS * 4; // Float64: Date.now() at the start of the exec
const INPUT_OFFSET = TIME_OFFSET + 8;

export interface SharedExec { ints: Int32Array; time: Float64Array; bytes: Uint8Array }

export function sharedExec(buffer: SharedArrayBuffer): SharedExec {
  return {
    ints: new Int32Array(buffer, 0, HDR_INTS),
    time: new Float64Array(buffer, TIME_OFFSET, 1),
    bytes: new Uint8Array(buffer, INPUT_OFFSET),
  };
}

function sharedSize(maxLen: number): number {
  return INPUT_OFFSET + maxLen;
}

// ---- the worker side ----

export type WorkerMessage =
  | { type: 'corpus'; data: Uint8Array }
  | { type: 'finding'; finding: Finding }
  | { type: 'stats'; stats: FuzzStats; done: boolean };

export interface LoopOptions {
  seconds: number;
  seed: number;
  /** Inputs carried over from an earlier worker of the same run. */
  carried: Uint8Array[];
  corpusRoot?: string;
  restarts: number;
  stopOnFinding?: boolean;
  /** sha1s of inputs that hung or killed an earlier worker of this run: not run again. */
  skip?: string[];
}

const MAX_FINDINGS = 20;

export async function fuzzLoop(target: FuzzTarget, opts: LoopOptions, shared: SharedExec, post: (m: WorkerMessage) => void): Promise<void> {
  const maxLen = target.maxLen ?? 4096;
  const isAsync = target.run.constructor.name === 'AsyncFunction';
  const rng = new Rng(opts.seed);
  const dictionary = (target.dictionary ?? []).map((t) => (typeof t === 'string' ? Buffer.from(t, 'latin1') : t));
  const signatures = new Set<string>();
  let stopped = false;
  let findings = 0;
  let current: Buffer = Buffer.alloc(0);
  let currentSource: string | undefined;

  const report = (kind: FindingKind, err: unknown, data: Buffer, source?: string): void => {
    const message = describe(err);
    const signature = findingSignature(kind, message);
    if (signatures.has(signature) || findings >= MAX_FINDINGS) return;
    signatures.add(signature);
    findings++;
    if (opts.stopOnFinding === true) stopped = true;
    post({ type: 'finding', finding: { kind, message, input: data.toString('base64'), ...(source === undefined ? {} : { source }) } });
  };
  // An error thrown later by something the input started (a timer, a socket event) still belongs to it.
  process.on('uncaughtException', (err) => report('uncaught', err, current, currentSource));
  process.on('unhandledRejection', (err) => report('uncaught', err, current, currentSource));

  await target.setup?.();
  const feed = new CoverageFeed(target.coverageLibraries, target.coverageScripts);

  const exec = async (data: Buffer, source?: string): Promise<void> => {
    current = data;
    currentSource = source;
    shared.bytes.set(data.subarray(0, shared.bytes.length));
    shared.ints[HDR_LEN] = Math.min(data.length, shared.bytes.length);
    shared.time[0] = Date.now();
    Atomics.store(shared.ints, HDR_STATE, 1);
    try {
      const result = target.run(data);
      if (result instanceof Promise) await result;
    } catch (err) {
      report(err instanceof Error && err.name === 'InvariantError' ? 'invariant' : 'crash', err, data, source);
    } finally {
      Atomics.store(shared.ints, HDR_STATE, 0);
    }
  };

  const features = new Set<string>();
  const batchSeen = new Set<string>();
  const addNew = (found: Set<string>): number => {
    let added = 0;
    for (const f of found) if (!features.has(f)) { features.add(f); added++; }
    return added;
  };

  // Replay: every corpus file and seed once, on its own (these are also the regression inputs).
  const corpus: Buffer[] = [];
  const inputs: { data: Buffer; source?: string }[] = [
    ...readCorpus(target.name, opts.corpusRoot).map((f) => ({ data: f.data, source: `${target.name}/${f.name}` })),
    ...(target.seeds?.() ?? []).map((data) => ({ data })),
    ...opts.carried.map((d) => ({ data: Buffer.from(d) })),
  ];
  const skip = new Set(opts.skip ?? []);
  const started = Date.now();
  let execs = 0;
  feed.reset();
  for (const input of inputs) {
    if (skip.size > 0 && skip.has(sha1(input.data))) continue;
    await exec(input.data, input.source);
    execs++;
    addNew(feed.take());
    corpus.push(input.data);
  }
  for (const f of features) batchSeen.add(f);
  const replayed = execs;
  const seedFeatures = features.size;
  if (corpus.length === 0) corpus.push(Buffer.alloc(0));

  let newInputs = 0;
  const fuzzStart = Date.now();
  const deadline = fuzzStart + opts.seconds * 1000;
  let lastYield = Date.now();
  let lastStats = Date.now();
  const stats = (): FuzzStats => {
    const seconds = (Date.now() - started) / 1000;
    return {
      execs, replayed, seconds, execsPerSecond: Math.round(execs / Math.max(seconds, 0.001)),
      seedFeatures, features: features.size, corpusSize: corpus.length, newInputs, restarts: opts.restarts,
    };
  };
  const recent = (): Buffer => corpus[corpus.length - 1 - rng.below(Math.min(16, corpus.length))]!;
  // Finds which inputs of a batch with new features to keep: halves are re-run with one coverage
  // take each, and only halves that still show something new are split further, down to single
  // inputs (whose features are exact). ~2·log2(batch) takes per new input instead of one per input.
  const groupSeen = new Set<string>();
  // `wanted`: block ranges the parent group showed as new; a half that hits one of them (at any
  // count) holds the input responsible. Bucket sums of a group may also look new without any one
  // input being so; groupSeen stops those from being chased twice.
  const rangeOf = (f: string): string => f.slice(0, f.lastIndexOf(':'));
  const explore = async (group: Buffer[], wanted: Set<string>): Promise<void> => {
    // No reset before a run: the take before it (every path here starts after one) already reset the counters.
    if (group.length === 1) {
      await exec(group[0]!);
      execs++;
      if (addNew(feed.take()) > 0) {
        corpus.push(group[0]!);
        newInputs++;
        post({ type: 'corpus', data: group[0]! });
      }
      return;
    }
    const half = group.length >> 1;
    for (const part of [group.slice(0, half), group.slice(half)]) {
      if (Date.now() >= deadline) return;
      for (const input of part) { await exec(input); execs++; }
      const fresh = new Set<string>();
      for (const f of feed.take()) {
        if (features.has(f)) continue;
        const range = rangeOf(f);
        if (wanted.has(range) || !groupSeen.has(f)) { groupSeen.add(f); fresh.add(range); }
      }
      if (fresh.size > 0) await explore(part, fresh);
    }
  };

  // Batches last ~25 ms of execs (a coverage take costs a few ms): big for fast targets, small for slow ones.
  const replayMs = Math.max(Date.now() - started, 1);
  let avgExecMs = replayMs / Math.max(execs, 1);
  while (Date.now() < deadline && !stopped) {
    const batchSize = Math.max(4, Math.min(isAsync ? 32 : 128, Math.round(25 / Math.max(avgExecMs, 0.001))));
    const batchStart = Date.now();
    const batch: Buffer[] = [];
    for (let i = 0; i < batchSize; i++) {
      const parent = rng.chance(4) ? recent() : rng.pick(corpus);
      batch.push(mutate(parent, { rng, corpus, dictionary, maxLen }));
    }
    for (const input of batch) { await exec(input); execs++; }
    avgExecMs = 0.8 * avgExecMs + 0.2 * ((Date.now() - batchStart) / batch.length);
    const fresh = new Set<string>();
    for (const f of feed.take()) if (!batchSeen.has(f)) { batchSeen.add(f); if (!features.has(f)) fresh.add(rangeOf(f)); }
    if (fresh.size > 0) await explore(batch, fresh);
    const now = Date.now();
    // Let timers, sockets and messages of the worker move (async targets need it; stats go out).
    if (isAsync || now - lastYield > 100) { await new Promise((r) => setImmediate(r)); lastYield = Date.now(); }
    if (now - lastStats > 1000) { post({ type: 'stats', stats: stats(), done: false }); lastStats = now; }
  }
  feed.close();
  post({ type: 'stats', stats: stats(), done: true });
}

/** Findings with the same kind and the same start of message are one bug (inputs and details differ). */
export function findingSignature(kind: string, message: string): string {
  return `${kind}:${message.split('\n')[0]!.replace(/\d+/g, 'N').slice(0, 90)}`;
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}\n${(err.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
  return `non-error thrown: ${String(err)}`;
}

// ---- the parent side ----

/** Fuzzes one target in a worker thread, restarting it after hangs and deaths, until the time is up. */
export async function runTarget(opts: RunOptions): Promise<FuzzReport> {
  const hangMs = opts.hangMs ?? 2000;
  const log = opts.log ?? (() => {});
  const findings: Finding[] = [];
  const grown: Uint8Array[] = [];
  const startedAt = Date.now();
  const deadline = startedAt + opts.seconds * 1000;
  let restarts = 0;
  const skip: string[] = [];
  let lastKnown: FuzzStats | null = null;
  const latest: { stats: FuzzStats | null } = { stats: null };
  let totalExecs = 0;
  let firstReplay = -1;
  let firstSeedFeatures = -1;

  const signatures = new Set<string>();
  const record = (f: Finding): void => {
    // A restarted worker finds the same bug again: one report per bug.
    const signature = findingSignature(f.kind, f.message);
    if (signatures.has(signature)) return;
    signatures.add(signature);
    findings.push(f);
    const data = Buffer.from(f.input, 'base64');
    let where = '';
    if (opts.saveFindings !== false) {
      const dir = join(FINDINGS_ROOT, opts.target);
      mkdirSync(dir, { recursive: true });
      where = join(dir, sha1(data));
      writeFileSync(where, data);
    }
    log(`FINDING ${opts.target} ${f.kind}${f.source ? ` (corpus file ${f.source})` : ''}: ${f.message.split('\n')[0]}\n  input (base64, ${data.length} bytes): ${f.input}${where ? `\n  saved: ${where}` : ''}\n  seed: ${opts.seed}`);
  };

  for (;;) {
    const remaining = Math.max(0, (deadline - Date.now()) / 1000);
    const first = restarts === 0;
    const outcome = await oneWorker(opts, { seconds: first ? opts.seconds : remaining, seed: (opts.seed + restarts) >>> 0, carried: grown, restarts, skip }, hangMs, (m) => {
      if (m.type === 'corpus') {
        grown.push(m.data);
        if (opts.outputCorpus) writeCorpusFile(opts.target, m.data, opts.outputCorpus);
      } else if (m.type === 'finding') record(m.finding);
      else latest.stats = m.stats;
    });
    if (latest.stats !== null) {
      const s = latest.stats;
      lastKnown = s;
      if (firstReplay < 0) { firstReplay = s.replayed; firstSeedFeatures = s.seedFeatures; }
      totalExecs += s.execs;
    }
    if (outcome.kind === 'done') break;
    record({ kind: outcome.kind, message: outcome.message, input: Buffer.from(outcome.input).toString('base64') });
    skip.push(sha1(outcome.input));
    if (opts.stopOnFinding === true) break;
    restarts++;
    latest.stats = null;
    if (Date.now() >= deadline || restarts > 10) break;
  }
  const seconds = (Date.now() - startedAt) / 1000;
  const s = lastKnown;
  return {
    target: opts.target,
    seed: opts.seed,
    execs: totalExecs,
    replayed: Math.max(firstReplay, 0),
    seconds,
    execsPerSecond: Math.round(totalExecs / Math.max(seconds, 0.001)),
    seedFeatures: Math.max(firstSeedFeatures, 0),
    features: s?.features ?? 0,
    corpusSize: s?.corpusSize ?? 0,
    newInputs: grown.length,
    restarts,
    findings,
  };
}

type WorkerOutcome = { kind: 'done' } | { kind: 'hang' | 'memory' | 'crash'; message: string; input: Uint8Array };

function oneWorker(opts: RunOptions, loop: LoopOptions, hangMs: number, onMessage: (m: WorkerMessage) => void): Promise<WorkerOutcome> {
  const buffer = new SharedArrayBuffer(sharedSize(65536));
  const shared = sharedExec(buffer);
  const lastInput = (): Uint8Array => shared.bytes.slice(0, shared.ints[HDR_LEN]!);
  const worker = new Worker(new URL('./worker.js', import.meta.url), {
    workerData: { target: opts.targetModule ?? opts.target, loop: { ...loop, corpusRoot: opts.corpusRoot, stopOnFinding: opts.stopOnFinding === true }, buffer },
    resourceLimits: { maxOldGenerationSizeMb: opts.memoryMb ?? 1024 },
    // Not the parent's flags: a test runner's loader hooks (tap's) would slow every import of the
    // worker and every exec through them.
    execArgv: [],
    stdout: false,
    stderr: false,
  });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: WorkerOutcome): void => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      void worker.terminate();
      resolve(outcome);
    };
    const watchdog = setInterval(() => {
      if (Atomics.load(shared.ints, HDR_STATE) !== 1) return;
      const ran = Date.now() - shared.time[0]!;
      if (ran > hangMs) finish({ kind: 'hang', message: `one exec ran for more than ${hangMs} ms (${ran} ms when stopped)`, input: lastInput() });
    }, Math.min(250, hangMs / 4));
    worker.on('message', (m: WorkerMessage) => {
      onMessage(m);
      if (m.type === 'stats' && m.done) finish({ kind: 'done' });
    });
    worker.on('error', (err: Error & { code?: string }) => {
      const memory = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      finish({ kind: memory ? 'memory' : 'crash', message: `${memory ? 'worker ran out of memory' : 'worker died'}: ${err.message}`, input: lastInput() });
    });
    worker.on('exit', (code) => finish({ kind: 'crash', message: `worker exited (code ${code}) before it finished`, input: lastInput() }));
  });
}
