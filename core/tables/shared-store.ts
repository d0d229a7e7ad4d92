// A bounded key → bytes store in one SharedArrayBuffer, made by the main thread and handed to every
// worker, for state that must be the same whatever worker serves a request (identity sessions' tokens,
// the SAML assertion replay set).
//
// Layout: a header, then SLOTS slots of SLOT_BYTES each. A key lives in one slot of its probe window
// (WINDOW slots from hash mod SLOTS). Slot words (Int32): [SEQ, HOME_LOCK, FLAGS, pad], then
// EXPIRES (Float64, ms epoch), HASH_HI, HASH_LO, KEY_LEN, VALUE_LEN (Int32), then the key and value bytes.
//
// Concurrency:
// - SEQ is a seqlock: odd while a writer holds the slot. A writer takes it with compareExchange from the
//   even value it saw when it chose the slot, so a slot that changed since is never overwritten blindly
//   (the writer looks again). Readers copy the slot and retry while SEQ was odd or moved.
// - HOME_LOCK of a key's first window slot serialises writers of keys sharing that window start, which
//   makes "look up, then write" (set, add-if-absent, delete) atomic per key: no key is ever stored twice.
// - Lookups scan the whole window and compare the full key bytes, so deletes need no tombstones.
// Eviction: an empty or expired slot first; when the window is full, `set` evicts the earliest-expiring
// entry (a cache), but never one written by `add` (PINNED), and `add` never evicts a live entry at all:
// an evicted replay-set id could be claimed twice. A window full of live pinned entries refuses writes.
// A writer that dies holding a lock (a crashed worker) would block that window; locks are taken with a
// bounded wait and the operation fails (returns false) rather than hanging a worker.
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export const DEFAULT_SLOTS = 8192;
export const DEFAULT_SLOT_BYTES = 2048;
export const PROBE_WINDOW = 16;

const MAGIC = 0x53535431; // 'SST1'
const HEADER_BYTES = 64; // [MAGIC, SLOTS, SLOT_BYTES, pad] + 32-byte hash seed at byte 16
const SEED_OFFSET = 16;
const SEED_BYTES = 32;

// Int32 word offsets inside a slot
const SEQ = 0;
const HOME_LOCK = 1;
const FLAGS = 2;
const PINNED = 1;
const HASH_HI = 4;
const HASH_LO = 5;
const KEY_LEN = 6;
const VALUE_LEN = 7;
const EXPIRES_BYTE = 32; // Float64
const DATA_BYTE = 40;
const SLOT_HEADER_BYTES = DATA_BYTE;

const LOCK_SPINS = 64;
const LOCK_WAIT_ROUNDS = 200; // × 1 ms Atomics.wait: a writer is never held longer than ~200 ms
const MAX_READ_RETRIES = 1000;
const SEQ_WAIT_MS = 200;

export interface SharedStoreShape { slots?: number; slotBytes?: number }

/** The buffer for a store (main thread, once per process). */
export function createSharedStoreBuffer(shape: SharedStoreShape = {}): SharedArrayBuffer {
  const slots = shape.slots ?? DEFAULT_SLOTS;
  const slotBytes = shape.slotBytes ?? DEFAULT_SLOT_BYTES;
  if (!Number.isInteger(slots) || slots < PROBE_WINDOW) throw new Error(`shared store: slots must be an integer ≥ ${PROBE_WINDOW}`);
  if (!Number.isInteger(slotBytes) || slotBytes % 8 !== 0 || slotBytes <= SLOT_HEADER_BYTES) throw new Error(`shared store: slot size must be a multiple of 8 above ${SLOT_HEADER_BYTES}`);
  const buffer = new SharedArrayBuffer(HEADER_BYTES + slots * slotBytes);
  const header = new Int32Array(buffer, 0, 4);
  header[0] = MAGIC;
  header[1] = slots;
  header[2] = slotBytes;
  new Uint8Array(buffer, SEED_OFFSET, SEED_BYTES).set(randomBytes(SEED_BYTES));
  return buffer;
}

export interface StoredValue { value: Uint8Array; expiresAt: number }

/** What `add` did: stored it, found a live entry with the key, or could not store it (window full of live entries, or locked). */
export type AddOutcome = 'added' | 'present' | 'refused';

export class SharedStore {
  readonly slots: number;
  readonly slotBytes: number;
  /** Largest key + value a slot holds. */
  readonly capacity: number;
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #seed: Buffer;
  readonly #now: () => number;

  /** `now`: ms clock for expiry (tests); default Date.now (shared by all threads, unlike performance.now). */
  constructor(buffer: SharedArrayBuffer, now: () => number = Date.now) {
    const header = new Int32Array(buffer, 0, 4);
    if (header[0] !== MAGIC) throw new Error('shared store: buffer was not made by createSharedStoreBuffer');
    this.slots = header[1]!;
    this.slotBytes = header[2]!;
    this.capacity = this.slotBytes - SLOT_HEADER_BYTES;
    this.#words = new Int32Array(buffer, HEADER_BYTES);
    this.#bytes = new Uint8Array(buffer, HEADER_BYTES);
    this.#view = new DataView(buffer, HEADER_BYTES);
    this.#seed = Buffer.from(new Uint8Array(buffer, SEED_OFFSET, SEED_BYTES));
    this.#now = now;
  }

  get(key: string): StoredValue | undefined {
    const k = Buffer.from(key, 'utf8');
    const [hi, lo, home] = this.#hash(k);
    const now = this.#now();
    for (let i = 0; i < PROBE_WINDOW; i++) {
      const found = this.#readIfKey((home + i) % this.slots, k, hi, lo);
      if (found !== undefined) return found.expiresAt > now ? found : undefined;
    }
    return undefined;
  }

  /** Stores `value` until `expiresAt` (ms epoch). False when it does not fit a slot, the window is locked, or every slot of it holds a live `add` entry. */
  set(key: string, value: Uint8Array, expiresAt: number): boolean {
    return this.#write(key, value, expiresAt, false) === 'added';
  }

  /**
   * Stores only when no live entry has the key: the atomic "first one wins" of a replay check. Never
   * evicts a live entry, so a key once added stays claimed until it expires or is deleted.
   */
  add(key: string, value: Uint8Array, expiresAt: number): AddOutcome {
    return this.#write(key, value, expiresAt, true);
  }

  delete(key: string): boolean {
    const k = Buffer.from(key, 'utf8');
    const [hi, lo, home] = this.#hash(k);
    if (!this.#lockHome(home)) return false;
    try {
      for (;;) {
        const at = this.#findSlot(home, k, hi, lo);
        if (at === null) return true;
        if (this.#acquire(at.slot, at.seq)) {
          this.#words[this.#word(at.slot) + KEY_LEN] = 0;
          this.#release(at.slot);
          return true;
        }
      }
    } finally {
      this.#unlockHome(home);
    }
  }

  #write(key: string, value: Uint8Array, expiresAt: number, onlyIfAbsent: boolean): AddOutcome {
    const k = Buffer.from(key, 'utf8');
    if (k.length === 0 || k.length + value.length > this.capacity) return 'refused';
    const [hi, lo, home] = this.#hash(k);
    if (!this.#lockHome(home)) return 'refused';
    try {
      for (let attempt = 0; attempt < MAX_READ_RETRIES; attempt++) {
        const now = this.#now();
        const existing = this.#findSlot(home, k, hi, lo);
        if (existing !== null && onlyIfAbsent && this.#expiresAt(existing.slot) > now) return 'present';
        const target = existing ?? this.#victim(home, now, !onlyIfAbsent);
        if (target === null) return 'refused';
        if (!this.#acquire(target.slot, target.seq)) continue; // changed under us (another window's writer): look again
        const w = this.#word(target.slot);
        const base = target.slot * this.slotBytes;
        this.#view.setFloat64(base + EXPIRES_BYTE, expiresAt, true);
        this.#words[w + HASH_HI] = hi;
        this.#words[w + HASH_LO] = lo;
        this.#words[w + VALUE_LEN] = value.length;
        this.#words[w + FLAGS] = onlyIfAbsent ? PINNED : 0;
        this.#bytes.set(k, base + DATA_BYTE);
        this.#bytes.set(value, base + DATA_BYTE + k.length);
        this.#words[w + KEY_LEN] = k.length;
        this.#release(target.slot);
        return 'added';
      }
      return 'refused';
    } finally {
      this.#unlockHome(home);
    }
  }

  /** The slot holding `k` in the window (with its even SEQ as seen), or null. Caller holds the home lock. */
  #findSlot(home: number, k: Uint8Array, hi: number, lo: number): { slot: number; seq: number } | null {
    for (let i = 0; i < PROBE_WINDOW; i++) {
      const slot = (home + i) % this.slots;
      const seq = this.#stableSeq(slot);
      if (this.#keyMatches(slot, k, hi, lo) && Atomics.load(this.#words, this.#word(slot) + SEQ) === seq) return { slot, seq };
    }
    return null;
  }

  /** An empty or expired slot of the window, else (when `evictLive`) the earliest-expiring one, else null. */
  #victim(home: number, now: number, evictLive: boolean): { slot: number; seq: number } | null {
    let best: { slot: number; seq: number } | null = null;
    let bestExpiry = Infinity;
    for (let i = 0; i < PROBE_WINDOW; i++) {
      const slot = (home + i) % this.slots;
      const seq = this.#stableSeq(slot);
      if (seq === -1) continue;
      const empty = this.#words[this.#word(slot) + KEY_LEN] === 0;
      const expiry = empty ? -Infinity : this.#expiresAt(slot);
      if (empty || expiry <= now) return { slot, seq };
      if ((this.#words[this.#word(slot) + FLAGS]! & PINNED) !== 0) continue;
      if (expiry < bestExpiry) { best = { slot, seq }; bestExpiry = expiry; }
    }
    return evictLive ? best : null;
  }

  /** A consistent copy of the slot when it holds `k`. */
  #readIfKey(slot: number, k: Uint8Array, hi: number, lo: number): StoredValue | undefined {
    const w = this.#word(slot);
    for (let attempt = 0; attempt < MAX_READ_RETRIES; attempt++) {
      const seq = this.#stableSeq(slot);
      if (seq === -1) return undefined;
      let result: StoredValue | undefined;
      if (this.#keyMatches(slot, k, hi, lo)) {
        const base = slot * this.slotBytes + DATA_BYTE + k.length;
        const length = this.#words[w + VALUE_LEN]!;
        if (length >= 0 && k.length + length <= this.capacity) {
          result = { value: this.#bytes.slice(base, base + length), expiresAt: this.#expiresAt(slot) };
        }
      }
      if (Atomics.load(this.#words, w + SEQ) === seq) return result;
    }
    return undefined;
  }

  #keyMatches(slot: number, k: Uint8Array, hi: number, lo: number): boolean {
    const w = this.#word(slot);
    if (this.#words[w + KEY_LEN] !== k.length || this.#words[w + HASH_HI] !== hi || this.#words[w + HASH_LO] !== lo) return false;
    const base = slot * this.slotBytes + DATA_BYTE;
    for (let i = 0; i < k.length; i++) if (this.#bytes[base + i] !== k[i]) return false;
    return true;
  }

  #expiresAt(slot: number): number {
    return this.#view.getFloat64(slot * this.slotBytes + EXPIRES_BYTE, true);
  }

  /**
   * Waits for an even SEQ. A writer holds a slot for a copy of ≤ 2 KiB, but its thread may be descheduled
   * meanwhile, so the wait is by time: -1 (never a SEQ we can take) only past SEQ_WAIT_MS, when the
   * writer most likely died mid-write.
   */
  #stableSeq(slot: number): number {
    const at = this.#word(slot) + SEQ;
    let since = 0;
    for (let i = 1; ; i++) {
      const seq = Atomics.load(this.#words, at);
      if ((seq & 1) === 0) return seq;
      if ((i & 1023) === 0) {
        const now = performance.now();
        if (since === 0) since = now;
        else if (now - since > SEQ_WAIT_MS) return -1;
      }
    }
  }

  #acquire(slot: number, seenSeq: number): boolean {
    return Atomics.compareExchange(this.#words, this.#word(slot) + SEQ, seenSeq, seenSeq + 1) === seenSeq;
  }

  #release(slot: number): void {
    Atomics.add(this.#words, this.#word(slot) + SEQ, 1);
  }

  #lockHome(home: number): boolean {
    const at = this.#word(home) + HOME_LOCK;
    for (let i = 0; i < LOCK_SPINS; i++) if (Atomics.compareExchange(this.#words, at, 0, 1) === 0) return true;
    for (let i = 0; i < LOCK_WAIT_ROUNDS; i++) {
      Atomics.wait(this.#words, at, 1, 1);
      if (Atomics.compareExchange(this.#words, at, 0, 1) === 0) return true;
    }
    return false;
  }

  #unlockHome(home: number): void {
    const at = this.#word(home) + HOME_LOCK;
    Atomics.store(this.#words, at, 0);
    Atomics.notify(this.#words, at, 1);
  }

  #word(slot: number): number {
    return (slot * this.slotBytes) >> 2;
  }

  /** 64-bit keyed hash (seeded per process, so chosen keys cannot crowd one window) and the window start. */
  #hash(k: Uint8Array): [number, number, number] {
    const digest = createHash('sha256').update(this.#seed).update(k).digest();
    const hi = digest.readInt32LE(0);
    const lo = digest.readInt32LE(4);
    return [hi, lo, (lo >>> 0) % this.slots];
  }
}
