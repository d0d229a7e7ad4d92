// Session data too large or too secret for the cookie (tokens, full group lists), keyed by the
// random session id the cookie carries.
//
// SharedSessionExtras (what the daemon uses) lives in the process-wide shared store, so every worker
// reads what any worker wrote. LocalSessionExtras is per thread (unit tests, bare runtimes). Either
// may miss (evicted, too large for a slot, after a restart), so callers treat a miss as "refresh from
// the IdP" (or, without a refresh token, re-authenticate), never as an error.
import { LRUCache } from 'lru-cache';
import type { SharedStore } from '../../../core/tables/shared-store.js';

export interface SessionExtrasData {
  accessToken?: string;
  refreshToken?: string;
  idToken?: string;
  groups?: string[];
}

export interface SessionExtras {
  get(sid: string): SessionExtrasData | undefined;
  /** ttlS: how long to keep it; normally the session's remaining life. */
  set(sid: string, data: SessionExtrasData, ttlS?: number): void;
  delete(sid: string): void;
}

export interface LocalSessionExtrasOptions {
  maxEntries?: number;
  /** Total budget, in UTF-16 code units of the stored strings. */
  maxChars?: number;
  /** Default and upper bound on an entry's life. */
  ttlS?: number;
  /** ms clock for TTLs (tests); default performance.now. */
  clock?: () => number;
}

export class LocalSessionExtras implements SessionExtras {
  readonly #cache: LRUCache<string, SessionExtrasData>;
  readonly #ttlMs: number;

  constructor(options: LocalSessionExtrasOptions = {}) {
    this.#ttlMs = (options.ttlS ?? 24 * 3600) * 1000;
    this.#cache = new LRUCache<string, SessionExtrasData>({
      max: options.maxEntries ?? 10_000,
      maxSize: options.maxChars ?? 32 * 1024 * 1024,
      sizeCalculation: extrasSize,
      ttl: this.#ttlMs,
      ...(options.clock === undefined ? {} : { perf: { now: options.clock }, ttlResolution: 0 }),
    });
  }

  get(sid: string): SessionExtrasData | undefined {
    return this.#cache.get(sid);
  }

  set(sid: string, data: SessionExtrasData, ttlS?: number): void {
    const ttl = ttlS === undefined ? this.#ttlMs : Math.min(this.#ttlMs, Math.max(1, ttlS) * 1000);
    this.#cache.set(sid, data, { ttl });
  }

  delete(sid: string): void {
    this.#cache.delete(sid);
  }

  get size(): number {
    return this.#cache.size;
  }
}

function extrasSize(data: SessionExtrasData, sid: string): number {
  let n = sid.length + (data.accessToken?.length ?? 0) + (data.refreshToken?.length ?? 0) + (data.idToken?.length ?? 0);
  for (const g of data.groups ?? []) n += g.length + 1;
  return Math.max(1, n);
}

const DEFAULT_SHARED_TTL_S = 24 * 3600;

/** SessionExtras in the process-wide SharedStore: JSON under "extras:<sid>". */
export class SharedSessionExtras implements SessionExtras {
  constructor(private readonly store: SharedStore, private readonly now: () => number = Date.now, private readonly maxTtlS = DEFAULT_SHARED_TTL_S) {}

  get(sid: string): SessionExtrasData | undefined {
    const found = this.store.get(storeKey(sid));
    if (found === undefined) return undefined;
    try {
      return JSON.parse(Buffer.from(found.value).toString('utf8')) as SessionExtrasData;
    } catch {
      return undefined; // not ours or damaged: a miss
    }
  }

  set(sid: string, data: SessionExtrasData, ttlS?: number): void {
    const ttl = ttlS === undefined ? this.maxTtlS : Math.min(this.maxTtlS, Math.max(1, ttlS));
    const expiresAt = this.now() + ttl * 1000;
    // A slot is small (2 KiB): when everything does not fit, keep the tokens the flow needs (access,
    // refresh) and drop the ID token and groups, which are only re-derivable extras.
    if (this.store.set(storeKey(sid), encode(data), expiresAt)) return;
    const slim: SessionExtrasData = {};
    if (data.accessToken !== undefined) slim.accessToken = data.accessToken;
    if (data.refreshToken !== undefined) slim.refreshToken = data.refreshToken;
    if (!this.store.set(storeKey(sid), encode(slim), expiresAt)) this.store.delete(storeKey(sid));
  }

  delete(sid: string): void {
    this.store.delete(storeKey(sid));
  }
}

function storeKey(sid: string): string {
  return `extras:${sid}`;
}

function encode(data: SessionExtrasData): Uint8Array {
  return Buffer.from(JSON.stringify(data), 'utf8');
}
