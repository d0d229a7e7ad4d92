// Assertion replay protection: an assertion id accepted once is refused until the assertion
// expires (its NotOnOrAfter, plus the clock skew the checks allow). Bounded: past `max` entries the
// least recently seen id is dropped, which could let a very old assertion through again while the
// cache is flooded; the short validity window keeps that narrow.
//
// In the daemon the ids go to the process-wide SharedStore (useSharedReplayStore, called once per
// worker), so an assertion accepted by one worker is refused by all. Without a store (unit tests, bare
// runtimes) the cache is per thread. A shared store that cannot record the id (its window full of live
// ids, or locked by a dead writer) refuses the assertion: failing closed costs one login retry, failing
// open a replay.
import { LRUCache } from 'lru-cache';
import type { AddOutcome, SharedStore } from '../../../core/tables/shared-store.js';

export const DEFAULT_REPLAY_CACHE_SIZE = 10_000;

export class AssertionReplayCache {
  private readonly seen: LRUCache<string, true>;
  private readonly now: () => number;
  private shared: SharedStore | null = null;

  constructor(max = DEFAULT_REPLAY_CACHE_SIZE, now: () => number = Date.now) {
    this.now = now;
    // ttlAutopurge off: expired entries go when touched or evicted, no timers per entry
    this.seen = new LRUCache<string, true>({ max, ttlResolution: 1000, perf: { now } });
  }

  /**
   * Records `key` until `expiresAtMs`: 'added', or 'present' when it is already recorded (a replay), or
   * 'refused' when it cannot be recorded. Synchronous, so two callbacks carrying the same assertion
   * cannot both pass.
   */
  claim(key: string, expiresAtMs: number): AddOutcome {
    if (this.shared !== null) return this.shared.add(`saml-replay:${key}`, EMPTY, Math.max(this.now() + 1000, expiresAtMs));
    if (this.seen.has(key)) return 'present';
    this.seen.set(key, true, { ttl: Math.max(1000, expiresAtMs - this.now()) });
    return 'added';
  }

  /** Records ids in `store` from now on (shared by every worker) instead of this thread's cache. */
  useShared(store: SharedStore): void {
    this.shared = store;
  }

  get size(): number {
    return this.seen.size;
  }
}

const EMPTY = new Uint8Array(0);

/** The worker thread's cache (module state is per thread); shared across workers once given the store. */
export const workerReplayCache = new AssertionReplayCache();

export function useSharedReplayStore(store: SharedStore): void {
  workerReplayCache.useShared(store);
}
