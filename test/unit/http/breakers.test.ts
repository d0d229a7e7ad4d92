import t from 'tap';
import { Worker } from 'node:worker_threads';
import { Breakers, createBreakerBuffer, MAX_BREAKERS } from '../../../core/tables/breakers.js';
import type { CircuitBreakerSpec } from '../../../core/generation/spec.js';

const BREAKERS_URL = new URL('../../../core/tables/breakers.js', import.meta.url).href;

function spec(overrides: Partial<CircuitBreakerSpec> = {}): CircuitBreakerSpec {
  return {
    slot: 7,
    errorThresholdPercentage: 0.5,
    trippedDurationMs: 10_000,
    rollingWindowMs: 10_000,
    numBuckets: 10,
    volumeThreshold: 20,
    ...overrides,
  };
}

/** A fresh table and a fake clock: at(ms) is ms after the test's start. */
function setup(): { breakers: Breakers; at: (ms: number) => number } {
  const breakers = new Breakers(createBreakerBuffer());
  const start = Date.now();
  return { breakers, at: (ms) => start + ms };
}

/** Admits and records `count` requests at time `now`; returns the decisions. */
function run(breakers: Breakers, s: CircuitBreakerSpec, now: number, count: number, failed: boolean): string[] {
  const decisions: string[] = [];
  for (let i = 0; i < count; i++) {
    const decision = breakers.admit(s.slot, s, now);
    decisions.push(decision);
    breakers.record(s.slot, s, now, decision, failed);
  }
  return decisions;
}

t.test('below volume_threshold the breaker never trips, even at 100% errors', async (t) => {
  const { breakers, at } = setup();
  const s = spec();
  t.same(new Set(run(breakers, s, at(0), 19, true)), new Set(['allow']));
  t.equal(breakers.state(s.slot).state, 'closed');
  t.equal(breakers.state(s.slot).requests, 19);
  t.equal(breakers.state(s.slot).errors, 19);
  t.equal(breakers.admit(s.slot, s, at(1)), 'allow');
});

t.test('trips only when the error ratio is MORE than the threshold (spec open question 4)', async (t) => {
  const { breakers, at } = setup();
  const s = spec();
  run(breakers, s, at(0), 10, false);
  run(breakers, s, at(0), 10, true); // 10 of 20 = 0.5: not more than 0.5
  t.equal(breakers.state(s.slot).state, 'closed');
  run(breakers, s, at(0), 1, true); // 11 of 21
  t.equal(breakers.state(s.slot).state, 'open');
  t.equal(breakers.state(s.slot).trips, 1);
  t.equal(breakers.admit(s.slot, s, at(1)), 'block');
});

t.test('a success that brings the window to volume_threshold can trip it', async (t) => {
  const { breakers, at } = setup();
  const s = spec();
  run(breakers, s, at(0), 15, true);
  t.equal(breakers.state(s.slot).state, 'closed');
  run(breakers, s, at(0), 4, false);
  t.equal(breakers.state(s.slot).state, 'closed');
  run(breakers, s, at(0), 1, false); // 15 of 20
  t.equal(breakers.state(s.slot).state, 'open');
});

t.test('threshold 0 trips on the first error once the volume is there; 1.0 never trips', async (t) => {
  const { breakers, at } = setup();
  const zero = spec({ slot: 1, errorThresholdPercentage: 0, volumeThreshold: 3 });
  run(breakers, zero, at(0), 2, false);
  run(breakers, zero, at(0), 1, true);
  t.equal(breakers.state(zero.slot).state, 'open');
  const one = spec({ slot: 2, errorThresholdPercentage: 1, volumeThreshold: 3 });
  run(breakers, one, at(0), 50, true);
  t.equal(breakers.state(one.slot).state, 'closed');
});

t.test('old buckets leave the rolling window a bucket at a time', async (t) => {
  const { breakers, at } = setup();
  const s = spec(); // 10 s window of 1 s buckets
  run(breakers, s, at(0), 10, true);
  run(breakers, s, at(10_500), 10, true); // the first 10 are out of the window now
  t.equal(breakers.state(s.slot).state, 'closed');
  const s2 = spec({ slot: 8 });
  run(breakers, s2, at(0), 10, true);
  run(breakers, s2, at(9_500), 10, true); // still inside: 20 of 20 failed
  t.equal(breakers.state(s2.slot).state, 'open');
});

t.test('open: refuses until tripped_duration, then lets exactly one trial through', async (t) => {
  const { breakers, at } = setup();
  const s = spec();
  run(breakers, s, at(0), 21, true);
  t.equal(breakers.state(s.slot).state, 'open');
  t.equal(breakers.admit(s.slot, s, at(9_999)), 'block');
  t.equal(breakers.admit(s.slot, s, at(10_000)), 'allow_while_open');
  t.equal(breakers.state(s.slot).state, 'half_open');
  t.equal(breakers.admit(s.slot, s, at(10_000)), 'block', 'one trial at a time');
  t.equal(breakers.admit(s.slot, s, at(15_000)), 'block');
  t.equal(breakers.state(s.slot).trials, 1);
});

t.test('a successful trial closes the breaker and clears the window', async (t) => {
  const { breakers, at } = setup();
  const s = spec();
  run(breakers, s, at(0), 21, true);
  const trial = breakers.admit(s.slot, s, at(10_000));
  t.equal(trial, 'allow_while_open');
  breakers.record(s.slot, s, at(10_050), trial, false);
  const state = breakers.state(s.slot);
  t.equal(state.state, 'closed');
  t.equal(state.requests, 0);
  t.equal(state.errors, 0);
  t.equal(breakers.admit(s.slot, s, at(10_100)), 'allow');
  run(breakers, s, at(10_100), 5, true); // the old errors are gone: 5 failures are below the volume
  t.equal(breakers.state(s.slot).state, 'closed');
  t.equal(breakers.state(s.slot).trips, 1);
});

t.test('a failed trial keeps it open for another tripped_duration', async (t) => {
  const { breakers, at } = setup();
  const s = spec();
  run(breakers, s, at(0), 21, true);
  const trial = breakers.admit(s.slot, s, at(10_000));
  breakers.record(s.slot, s, at(10_500), trial, true);
  t.equal(breakers.state(s.slot).state, 'open');
  t.equal(breakers.admit(s.slot, s, at(20_499)), 'block');
  t.equal(breakers.admit(s.slot, s, at(20_500)), 'allow_while_open');
  t.equal(breakers.state(s.slot).trips, 1, 're-opening is not a new trip');
});

t.test('a trial that never reports is replaced after tripped_duration', async (t) => {
  const { breakers, at } = setup();
  const s = spec();
  run(breakers, s, at(0), 21, true);
  t.equal(breakers.admit(s.slot, s, at(10_000)), 'allow_while_open'); // its worker dies: no record
  t.equal(breakers.admit(s.slot, s, at(19_999)), 'block');
  const second = breakers.admit(s.slot, s, at(20_000));
  t.equal(second, 'allow_while_open');
  breakers.record(s.slot, s, at(20_010), second, false);
  t.equal(breakers.state(s.slot).state, 'closed');
  t.equal(breakers.state(s.slot).trials, 2);
});

t.test('refused requests and requests admitted before the trip are not counted', async (t) => {
  const { breakers, at } = setup();
  const s = spec();
  const early = breakers.admit(s.slot, s, at(0)); // in flight while the breaker trips
  run(breakers, s, at(0), 21, true);
  breakers.record(s.slot, s, at(1), early, false);
  breakers.record(s.slot, s, at(1), 'block', true);
  t.equal(breakers.state(s.slot).state, 'open');
  t.equal(breakers.admit(s.slot, s, at(2)), 'block', 'a late success of a closed-time request does not close it');
});

t.test('slots are independent', async (t) => {
  const { breakers, at } = setup();
  const a = spec({ slot: 0 });
  const b = spec({ slot: MAX_BREAKERS - 1 });
  run(breakers, a, at(0), 21, true);
  t.equal(breakers.state(a.slot).state, 'open');
  t.equal(breakers.admit(b.slot, b, at(0)), 'allow');
  t.equal(breakers.state(b.slot).state, 'closed');
});

t.test('changed parameters on reload reset the slot; the old generation then leaves it alone', async (t) => {
  const { breakers, at } = setup();
  const old = spec();
  run(breakers, old, at(0), 21, true);
  t.equal(breakers.state(old.slot).state, 'open');
  breakers.adopt(old.slot, { ...old }); // same parameters (a reload that kept them): no reset
  t.equal(breakers.state(old.slot).state, 'open');

  const reloaded = spec({ volumeThreshold: 50, numBuckets: 20 });
  breakers.adopt(reloaded.slot, reloaded);
  const state = breakers.state(reloaded.slot);
  t.equal(state.state, 'closed');
  t.equal(state.trips, 0);
  t.equal(state.requests, 0);
  // requests still running on the old generation neither trip nor count
  run(breakers, old, at(100), 30, true);
  t.equal(breakers.state(reloaded.slot).state, 'closed');
  t.equal(breakers.state(reloaded.slot).requests, 0);
  run(breakers, reloaded, at(100), 49, true);
  t.equal(breakers.state(reloaded.slot).state, 'closed');
  run(breakers, reloaded, at(100), 1, true);
  t.equal(breakers.state(reloaded.slot).state, 'open');
});

t.test('a clock behind the table epoch stays inside the slot', async (t) => {
  const { breakers } = setup();
  const s = spec({ slot: 3 });
  const neighbour = spec({ slot: 2 });
  breakers.adopt(neighbour.slot, neighbour);
  run(breakers, s, 1_000, 21, true); // 1970: negative bucket numbers
  t.equal(breakers.state(s.slot).state, 'open');
  t.equal(breakers.state(neighbour.slot).requests, 0);
});

t.test('bad slots, bucket counts and buffers are refused clearly', async (t) => {
  const { breakers, at } = setup();
  t.throws(() => breakers.admit(MAX_BREAKERS, spec({ slot: MAX_BREAKERS }), at(0)), RangeError);
  t.throws(() => breakers.admit(-1, spec({ slot: -1 }), at(0)), RangeError);
  t.throws(() => breakers.admit(1.5, spec({ slot: 1.5 }), at(0)), RangeError);
  t.throws(() => breakers.admit(1, spec({ slot: 1, numBuckets: 129 }), at(0)), /num_buckets/);
  t.throws(() => breakers.state(MAX_BREAKERS), RangeError);
  t.throws(() => new Breakers(new SharedArrayBuffer(64)), /not a breaker buffer/);
  const wrongMagic = createBreakerBuffer();
  new Int32Array(wrongMagic)[0] = 0;
  t.throws(() => new Breakers(wrongMagic), /bad magic/);
});

// ---- four worker threads on one slot ----

interface WorkerPhaseResult { allow: number; block: number; trial: number }

// Each worker waits for a message {phase, now, requests, failed}, then for the shared start signal, and
// runs admit/record `requests` times with the given fake time. All workers start together.
const WORKER_SOURCE = `
  const { parentPort, workerData } = require('node:worker_threads');
  import(workerData.url).then(({ Breakers }) => {
    const breakers = new Breakers(workerData.buffer);
    const control = new Int32Array(workerData.control);
    parentPort.on('message', ({ phase, now, requests, failed, spec }) => {
      Atomics.add(control, 1, 1);
      Atomics.notify(control, 1);
      while (Atomics.load(control, 0) < phase) Atomics.wait(control, 0, phase - 1, 1000);
      const result = { allow: 0, block: 0, trial: 0 };
      for (let i = 0; i < requests; i++) {
        const decision = breakers.admit(spec.slot, spec, now);
        if (decision === 'allow') result.allow++;
        else if (decision === 'block') result.block++;
        else result.trial++;
        if (failed !== null && decision !== 'allow_while_open') breakers.record(spec.slot, spec, now, decision, failed);
      }
      parentPort.postMessage(result);
    });
  });`;

t.test('four worker threads on one slot see one breaker: one trip, refusals everywhere, one trial', async (t) => {
  const buffer = createBreakerBuffer();
  const control = new SharedArrayBuffer(8);
  const controlWords = new Int32Array(control);
  const breakers = new Breakers(buffer);
  const s = spec({ slot: 42, volumeThreshold: 20, trippedDurationMs: 5_000 });
  breakers.adopt(s.slot, s);
  const workers = Array.from({ length: 4 }, () => new Worker(WORKER_SOURCE, { eval: true, workerData: { url: BREAKERS_URL, buffer, control } }));
  t.teardown(() => Promise.all(workers.map((w) => w.terminate())));

  async function phase(n: number, message: object): Promise<WorkerPhaseResult[]> {
    const results = workers.map((w) => new Promise<WorkerPhaseResult>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
    Atomics.store(controlWords, 1, 0);
    for (const w of workers) w.postMessage({ phase: n, spec: s, ...message });
    while (Atomics.load(controlWords, 1) < workers.length) await new Promise((r) => setImmediate(r)); // all waiting at the gate
    Atomics.store(controlWords, 0, n);
    Atomics.notify(controlWords, 0);
    return Promise.all(results);
  }

  const start = Date.now();
  // Phase 1: every request fails; all four hammer the slot at the same moment.
  const failing = await phase(1, { now: start, requests: 5_000, failed: true });
  const state = breakers.state(s.slot);
  t.equal(state.trips, 1, 'the breaker tripped once for the process');
  t.equal(state.state, 'open');
  const admitted = failing.reduce((sum, r) => sum + r.allow, 0);
  t.ok(admitted >= s.volumeThreshold, `at least volume_threshold requests were admitted (${admitted})`);
  t.ok(admitted < s.volumeThreshold + 4 * 50, `admissions stop shortly after the trip (${admitted} of 20,000)`);
  for (const [i, r] of failing.entries()) t.ok(r.block > 4_000, `worker ${i} was refused by the shared breaker (${r.block} blocks)`);

  // Phase 2: tripped_duration later all four race for the trial: exactly one gets it.
  const racing = await phase(2, { now: start + 5_000, requests: 200, failed: null });
  t.equal(racing.reduce((sum, r) => sum + r.trial, 0), 1, 'one trial request across all workers');
  t.equal(racing.reduce((sum, r) => sum + r.allow, 0), 0);

  // The trial succeeds (reported from this thread: the table is process-wide); everyone is let through.
  breakers.record(s.slot, s, start + 5_010, 'allow_while_open', false);
  const closed = await phase(3, { now: start + 5_020, requests: 100, failed: false });
  for (const r of closed) t.same(r, { allow: 100, block: 0, trial: 0 });
  t.equal(breakers.state(s.slot).state, 'closed');
  t.equal(breakers.state(s.slot).trips, 1);
});
