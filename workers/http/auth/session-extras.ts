// Session data too large or too secret for the cookie (tokens, full group lists), keyed by the
// random session id the cookie carries.
//
// LocalSessionExtras is per worker thread: a request served by another worker (or after a restart)
// finds nothing, so callers must treat a miss as "refresh from the IdP" (or, without a refresh
// token, re-authenticate), never as an error. The lead may move this to shared memory later; the
// interface is what callers depend on.
import { LRUCache } from 'lru-cache';

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
