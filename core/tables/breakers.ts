// Circuit breakers for the whole process in one SharedArrayBuffer, written with Atomics by every
// worker thread, so a route's breaker trips once for the process, not once per worker (spec §1.6,
// Hystrix semantics).
//
// Layout (Int32 words):
//   header  [MAGIC, VERSION, epoch ms as one Float64 in words 2-3]
//   slot s  at HEADER_WORDS + s × SLOT_WORDS:
//           [FINGERPRINT, STATE, OPEN_UNTIL, TRIPS, TRIALS, TRIAL_PENDING, WINDOW_RESETS, pad]
//           [bucket × MAX_BUCKETS: EPOCH, TOTAL, ERRORS]
// Times are int32 ms relative to the header epoch and always compared as wrapping differences
// ((a - b) | 0), so a process may run past the 24.8-day int32 range. A bucket's EPOCH is its absolute
// bucket number (floor(ms since epoch / bucket ms)) truncated to int32; its index is that number modulo
// num_buckets.
//
// The trip check needs the whole window on every record. Buckets older than the current one no longer
// change, so each thread caches their sum per (slot, current epoch, WINDOW_RESETS) and adds only the
// current bucket: a few atomics per request whatever num_buckets is (bench/micro/breaker.bench).
//
// Atomics cost ~25 ns each here (bench/micro/breaker.bench), so reads that only steer a decision the
// next CAS re-checks, or whose staleness costs at most one request's worth of accuracy, are plain
// reads of the shared array (tear-free for aligned Int32 elements): the fingerprint and state in admit,
// a bucket's epoch before its CAS, the current bucket's error count in the trip check.
//
// States: CLOSED counts requests into the rolling window; TRIPPING and CLOSING are held by the one
// thread that won the CAS while it writes OPEN_UNTIL or clears the window (nobody else touches the slot's
// window meanwhile); OPEN refuses requests until OPEN_UNTIL, then the one thread whose CAS moves
// OPEN_UNTIL forward by tripped_duration gets the trial request. Because OPEN_UNTIL moves forward, a
// trial that never reports (its worker died) is replaced by another one a tripped_duration later.
//
// Accepted races (as Envoy's ResourceManagerImpl says of its own atomics):
// - A bucket is reset by CAS on its EPOCH, then its counters are zeroed: a count added by another thread
//   between the CAS and the zeroing is lost. Counts are approximate at bucket boundaries only.
// - A bucket whose epoch is not the current one is taken over, older or newer: after the wall clock
//   steps back, buckets "from the future" are ignored by the window sum and reused as their index comes
//   round. The price: a thread stalled for a whole window between reading the clock and counting
//   (practically never) resets a bucket that is current for everyone else.
// - The trip check sums the window without a lock, so it may see a bucket mid-update; the trip itself
//   is a CAS, so the breaker still trips exactly once. A count a late thread adds to a past bucket after
//   another thread cached the past buckets' sum is missed by that thread until the epoch moves on.
// - Requests admitted while closed that finish after the trip are not counted; a late success from a
//   trial that was replaced (timed out) still closes the breaker: it is evidence the upstream answers.
// - Error ratio: the breaker trips when errors / requests is strictly MORE than the threshold (spec open
//   question 4: ngrok's docs say "more than"; Hystrix uses ≥). With threshold 0.5, 10 of 20 does not trip.
import type { BreakerDecision } from '../../workers/http/exchange.js';
import type { CircuitBreakerSpec } from '../generation/spec.js';

export const MAX_BREAKERS = 4096;
export const MAX_BUCKETS = 128;

const MAGIC = 0x42524b31; // 'BRK1'
const VERSION = 1;
const HDR_MAGIC = 0;
const HDR_VERSION = 1;
const HEADER_WORDS = 4; // words 2-3 hold the Float64 epoch

const FINGERPRINT = 0;
const STATE = 1;
const OPEN_UNTIL = 2;
const TRIPS = 3;
const TRIALS = 4;
const TRIAL_PENDING = 5;
const WINDOW_RESETS = 6;
const SLOT_HEADER_WORDS = 8;
const BUCKET_EPOCH = 0;
const BUCKET_TOTAL = 1;
const BUCKET_ERRORS = 2;
const BUCKET_WORDS = 3;
const SLOT_WORDS = SLOT_HEADER_WORDS + MAX_BUCKETS * BUCKET_WORDS;

const CLOSED = 0;
const TRIPPING = 1;
const OPEN = 2;
const CLOSING = 3;

export type BreakerStateName = 'closed' | 'open' | 'half_open';

/** A snapshot of one slot, for metrics and tests. */
export interface BreakerState {
  state: BreakerStateName;
  /** How often the breaker went from closed to open since the slot was (re)set. */
  trips: number;
  /** Trial requests let through while open. */
  trials: number;
  /** Requests and errors in the current rolling window (0 while open). */
  requests: number;
  errors: number;
}

export function createBreakerBuffer(): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer((HEADER_WORDS + MAX_BREAKERS * SLOT_WORDS) * 4);
  const header = new Int32Array(buffer, 0, HEADER_WORDS);
  header[HDR_MAGIC] = MAGIC;
  header[HDR_VERSION] = VERSION;
  new Float64Array(buffer, 8, 1)[0] = Date.now();
  return buffer;
}

/** A small, non-zero hash of the parameters that give the window its meaning (0 marks an unused slot). */
export function breakerFingerprint(spec: CircuitBreakerSpec): number {
  let h = 0x811c9dc5;
  h = Math.imul(h ^ Math.round(spec.errorThresholdPercentage * 1_000_000), 0x01000193);
  h = Math.imul(h ^ spec.trippedDurationMs, 0x01000193);
  h = Math.imul(h ^ spec.rollingWindowMs, 0x01000193);
  h = Math.imul(h ^ spec.numBuckets, 0x01000193);
  h = Math.imul(h ^ spec.volumeThreshold, 0x01000193);
  return h === 0 ? 1 : h;
}

export class Breakers {
  private readonly words: Int32Array;
  private readonly epochMs: number;
  // This thread's cache of the past buckets' sums, per slot (see the layout comment).
  private readonly pastEpoch = new Int32Array(MAX_BREAKERS);
  private readonly pastResets = new Int32Array(MAX_BREAKERS).fill(-1);
  private readonly pastRequests = new Int32Array(MAX_BREAKERS);
  private readonly pastErrors = new Int32Array(MAX_BREAKERS);

  constructor(readonly buffer: SharedArrayBuffer) {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength !== (HEADER_WORDS + MAX_BREAKERS * SLOT_WORDS) * 4) {
      throw new Error('breakers: not a breaker buffer');
    }
    this.words = new Int32Array(buffer);
    if (this.words[HDR_MAGIC] !== MAGIC || this.words[HDR_VERSION] !== VERSION) throw new Error('breakers: bad magic or version');
    this.epochMs = new Float64Array(buffer, 8, 1)[0]!;
  }

  /**
   * Binds a slot to a spec, once per generation (at pipeline compile). When the parameters differ from
   * the ones the slot was counting with (a reload changed them), the slot starts over, closed. From then
   * on admit/record calls that carry other parameters (requests of an older generation still draining)
   * leave the slot alone instead of flapping it back.
   */
  adopt(slot: number, spec: CircuitBreakerSpec): void {
    const base = this.slotBase(slot, spec);
    const fingerprint = breakerFingerprint(spec);
    const seen = Atomics.load(this.words, base + FINGERPRINT);
    if (seen === fingerprint) return;
    if (Atomics.compareExchange(this.words, base + FINGERPRINT, seen, fingerprint) !== seen) return; // another thread adopted
    this.clearWindow(base);
    Atomics.store(this.words, base + TRIPS, 0);
    Atomics.store(this.words, base + TRIALS, 0);
    Atomics.store(this.words, base + TRIAL_PENDING, 0);
    Atomics.store(this.words, base + STATE, CLOSED);
  }

  /** Decides whether a request may go upstream now. */
  admit(slot: number, spec: CircuitBreakerSpec, nowMs: number): BreakerDecision {
    const words = this.words;
    const base = this.slotBase(slot, spec);
    const fingerprint = breakerFingerprint(spec);
    const seen = words[base + FINGERPRINT];
    if (seen !== fingerprint) {
      if (seen !== 0) return 'allow'; // an older generation's request: not this breaker's business any more
      this.adopt(slot, spec);
    }
    const state = words[base + STATE];
    if (state === CLOSED) return 'allow';
    if (state !== OPEN) return 'block'; // TRIPPING / CLOSING: a transition of a few instructions
    const now = this.relative(nowMs);
    const openUntil = Atomics.load(words, base + OPEN_UNTIL);
    const remaining = (openUntil - now) | 0;
    // remaining > tripped_duration can only mean the clock went back or 24 days passed: let a trial through
    if (remaining > 0 && remaining <= spec.trippedDurationMs) return 'block';
    const next = (now + spec.trippedDurationMs) | 0;
    if (Atomics.compareExchange(words, base + OPEN_UNTIL, openUntil, next) !== openUntil) return 'block';
    Atomics.add(words, base + TRIALS, 1);
    Atomics.store(words, base + TRIAL_PENDING, 1);
    return 'allow_while_open';
  }

  /** Reports how an admitted request ended. `failed`: the upstream answered ≥ 500 or not at all. */
  record(slot: number, spec: CircuitBreakerSpec, nowMs: number, decision: BreakerDecision, failed: boolean): void {
    if (decision === 'block') return;
    const words = this.words;
    const base = this.slotBase(slot, spec);
    if (words[base + FINGERPRINT] !== breakerFingerprint(spec)) return;
    if (decision === 'allow_while_open') this.recordTrial(base, spec, nowMs, failed);
    else if (Atomics.load(words, base + STATE) === CLOSED) this.recordClosed(slot, base, spec, nowMs, failed);
  }

  state(slot: number): BreakerState {
    if (!(slot >= 0 && slot < MAX_BREAKERS) || slot !== (slot | 0)) throw new RangeError(`breakers: no slot ${String(slot)}`);
    const words = this.words;
    const base = HEADER_WORDS + slot * SLOT_WORDS;
    const state = Atomics.load(words, base + STATE);
    let requests = 0;
    let errors = 0;
    if (state === CLOSED) {
      for (let b = 0; b < MAX_BUCKETS; b++) {
        const at = base + SLOT_HEADER_WORDS + b * BUCKET_WORDS;
        requests += Atomics.load(words, at + BUCKET_TOTAL);
        errors += Atomics.load(words, at + BUCKET_ERRORS);
      }
    }
    return {
      state: state === CLOSED || state === CLOSING ? 'closed' : Atomics.load(words, base + TRIAL_PENDING) === 1 ? 'half_open' : 'open',
      trips: Atomics.load(words, base + TRIPS),
      trials: Atomics.load(words, base + TRIALS),
      requests,
      errors,
    };
  }

  private recordTrial(base: number, spec: CircuitBreakerSpec, nowMs: number, failed: boolean): void {
    const words = this.words;
    if (Atomics.load(words, base + STATE) !== OPEN) return; // an earlier trial already closed it
    Atomics.store(words, base + TRIAL_PENDING, 0);
    if (failed) {
      // spec §1.6: a failed trial keeps the breaker open for another period
      Atomics.store(words, base + OPEN_UNTIL, (this.relative(nowMs) + spec.trippedDurationMs) | 0);
      return;
    }
    if (Atomics.compareExchange(words, base + STATE, OPEN, CLOSING) !== OPEN) return;
    this.clearWindow(base); // the errors that tripped it must not trip it again at once
    Atomics.store(words, base + STATE, CLOSED);
  }

  private recordClosed(slot: number, base: number, spec: CircuitBreakerSpec, nowMs: number, failed: boolean): void {
    const words = this.words;
    const buckets = spec.numBuckets;
    const bucketMs = spec.rollingWindowMs / buckets;
    const bucketNumber = Math.floor((nowMs - this.epochMs) / bucketMs);
    const epoch = bucketNumber | 0;
    const index = bucketNumber % buckets; // negative only if the clock is behind the epoch
    const at = base + SLOT_HEADER_WORDS + (index < 0 ? index + buckets : index) * BUCKET_WORDS;
    const stored = words[at + BUCKET_EPOCH]!;
    if (stored !== epoch) {
      if (Atomics.compareExchange(words, at + BUCKET_EPOCH, stored, epoch) === stored) {
        Atomics.store(words, at + BUCKET_TOTAL, 0);
        Atomics.store(words, at + BUCKET_ERRORS, 0);
      }
    }
    const total = Atomics.add(words, at + BUCKET_TOTAL, 1) + 1;
    const current = failed ? Atomics.add(words, at + BUCKET_ERRORS, 1) + 1 : words[at + BUCKET_ERRORS]!;

    // The window: this bucket plus the past ones. Checked on successes too: old successes expiring or
    // the volume threshold being reached can push an already-high error ratio over the line.
    const resets = Atomics.load(words, base + WINDOW_RESETS);
    if (this.pastEpoch[slot] !== epoch || this.pastResets[slot] !== resets) this.sumPastBuckets(slot, base, buckets, epoch, resets);
    const requests = this.pastRequests[slot]! + total;
    const errors = this.pastErrors[slot]! + current;
    if (requests < spec.volumeThreshold || errors <= spec.errorThresholdPercentage * requests) return;
    if (Atomics.compareExchange(words, base + STATE, CLOSED, TRIPPING) !== CLOSED) return; // another thread tripped it
    Atomics.store(words, base + OPEN_UNTIL, (this.relative(nowMs) + spec.trippedDurationMs) | 0);
    Atomics.store(words, base + TRIAL_PENDING, 0);
    Atomics.add(words, base + TRIPS, 1);
    Atomics.store(words, base + STATE, OPEN);
  }

  private sumPastBuckets(slot: number, base: number, buckets: number, epoch: number, resets: number): void {
    const words = this.words;
    let requests = 0;
    let errors = 0;
    for (let b = 0; b < buckets; b++) {
      const at = base + SLOT_HEADER_WORDS + b * BUCKET_WORDS;
      const age = (epoch - Atomics.load(words, at + BUCKET_EPOCH)) | 0;
      if (age <= 0 || age >= buckets) continue; // the current bucket is read live; older ones expired
      requests += Atomics.load(words, at + BUCKET_TOTAL);
      errors += Atomics.load(words, at + BUCKET_ERRORS);
    }
    this.pastEpoch[slot] = epoch;
    this.pastResets[slot] = resets;
    this.pastRequests[slot] = requests;
    this.pastErrors[slot] = errors;
  }

  // Zeroes every bucket's counts; epochs stay, so a bucket still current keeps counting from zero.
  private clearWindow(base: number): void {
    for (let b = 0; b < MAX_BUCKETS; b++) {
      const at = base + SLOT_HEADER_WORDS + b * BUCKET_WORDS;
      Atomics.store(this.words, at + BUCKET_TOTAL, 0);
      Atomics.store(this.words, at + BUCKET_ERRORS, 0);
    }
    Atomics.add(this.words, base + WINDOW_RESETS, 1); // every thread's cached sums are now stale
  }

  private relative(nowMs: number): number {
    return (nowMs - this.epochMs) | 0;
  }

  private slotBase(slot: number, spec: CircuitBreakerSpec): number {
    if (!(slot >= 0 && slot < MAX_BREAKERS) || slot !== (slot | 0)) throw new RangeError(`breakers: no slot ${String(slot)}`);
    if (!(spec.numBuckets >= 1 && spec.numBuckets <= MAX_BUCKETS)) throw new RangeError(`breakers: num_buckets ${spec.numBuckets} out of 1..${MAX_BUCKETS}`);
    return HEADER_WORDS + slot * SLOT_WORDS;
  }
}
