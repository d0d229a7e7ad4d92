// Assertion replay protection: an assertion id accepted once is refused until the assertion
// expires (its NotOnOrAfter, plus the clock skew the checks allow). Bounded: past `max` entries the
// least recently seen id is dropped, which could let a very old assertion through again while the
// cache is flooded; the short validity window keeps that narrow.
//
// Limitation: the cache lives in one worker thread (one per thread, shared by that thread's SAML
// modules across config generations). An attacker who captured a fresh assertion could replay it
// once to each other worker within its validity window. A per-process cache would need the
// SharedArrayBuffer tables; SP-initiated logins are also bound to the browser's nonce cookie and
// one-time login state, so this mostly matters for IdP-initiated logins.
import { LRUCache } from 'lru-cache';

export const DEFAULT_REPLAY_CACHE_SIZE = 10_000;

export class AssertionReplayCache {
  private readonly seen: LRUCache<string, true>;
  private readonly now: () => number;

  constructor(max = DEFAULT_REPLAY_CACHE_SIZE, now: () => number = Date.now) {
    this.now = now;
    // ttlAutopurge off: expired entries go when touched or evicted, no timers per entry
    this.seen = new LRUCache<string, true>({ max, ttlResolution: 1000, perf: { now } });
  }

  /**
   * Records `key` until `expiresAtMs`; false when it is already recorded (a replay). Synchronous,
   * so two callbacks carrying the same assertion cannot both pass.
   */
  claim(key: string, expiresAtMs: number): boolean {
    if (this.seen.has(key)) return false;
    this.seen.set(key, true, { ttl: Math.max(1000, expiresAtMs - this.now()) });
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}

/** The worker thread's cache (module state is per thread). */
export const workerReplayCache = new AssertionReplayCache();
