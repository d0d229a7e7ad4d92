// The session cookie of the identity modules: a small sealed record of who the user is and when the
// session started, was last seen, expires and must be re-checked. Large data (tokens, long group
// lists) lives in SessionExtras keyed by the random session id, never in the cookie.
import { createHash, randomBytes } from 'node:crypto';
import { buildDeleteCookie, buildSetCookie, type CookieJar } from './cookies.js';
import { open, seal } from './seal.js';

/** ms since the epoch; injectable for tests. */
export type Clock = () => number;

/** The module's session settings, in seconds; 0 = no limit / no re-check (spec §1.6). */
export interface SessionPolicy {
  inactivityTimeoutS: number;
  maximumDurationS: number;
  authCheckIntervalS: number;
}

export interface SessionIdentity {
  /** The IdP's stable user id (OAuth user id, OIDC `sub`, SAML NameID). */
  sub: string;
  name?: string;
  email?: string;
  /** groupsDigest(groups): lets a refresh notice a changed group list without carrying it. */
  groupsDigest?: string;
  /** Provider name (oauth) or issuer / IdP entity id (oidc, saml). */
  provider: string;
}

/** Times are whole seconds since the epoch; 0 = none. */
export interface SessionRecord extends SessionIdentity {
  /** Random id keying SessionExtras. */
  sid: string;
  createdAt: number;
  lastSeen: number;
  /** A hard end set by the IdP (token or assertion lifetime); 0 = none. maximum_duration is checked separately. */
  expiresAt: number;
  /** When auth_check_interval asks for the next refresh; 0 = never. */
  nextCheckAt: number;
}

export type SessionInvalidReason = 'missing' | 'unreadable' | 'expired' | 'inactive' | 'maximum_duration';

export type SessionRead = { ok: true; record: SessionRecord } | { ok: false; reason: SessionInvalidReason };

// Field caps keep the cookie well under 4 KB; name is display-only so it is cut, ids are refused.
const MAX_ID_CHARS = 512;
const MAX_NAME_CHARS = 256;
// The oldest lastSeen is refreshed at most this often; shorter when the inactivity timeout is short.
const TOUCH_INTERVAL_S = 60;
// Several cookies may share our name (a parent domain's, an old one); try a few, not unboundedly many.
const MAX_CANDIDATES = 4;

export function nowSeconds(clock: Clock): number {
  return Math.floor(clock() / 1000);
}

/** A short digest of a group list, order-insensitive. */
export function groupsDigest(groups: readonly string[]): string {
  const sorted = [...new Set(groups)].sort();
  return createHash('sha256').update(JSON.stringify(sorted)).digest().subarray(0, 12).toString('base64url');
}

export function createSession(identity: SessionIdentity, policy: SessionPolicy, nowS: number, expiresAt = 0): SessionRecord {
  if (identity.sub === '') throw new Error('session subject is empty');
  if (identity.sub.length > MAX_ID_CHARS) throw new Error(`session subject is longer than ${MAX_ID_CHARS} characters`);
  if (identity.email !== undefined && identity.email.length > MAX_ID_CHARS) throw new Error(`session email is longer than ${MAX_ID_CHARS} characters`);
  if (identity.provider.length > MAX_ID_CHARS) throw new Error(`session provider is longer than ${MAX_ID_CHARS} characters`);
  const record: SessionRecord = {
    sid: randomBytes(16).toString('base64url'),
    sub: identity.sub,
    provider: identity.provider,
    createdAt: nowS,
    lastSeen: nowS,
    expiresAt,
    nextCheckAt: policy.authCheckIntervalS > 0 ? nowS + policy.authCheckIntervalS : 0,
  };
  if (identity.name !== undefined) record.name = identity.name.slice(0, MAX_NAME_CHARS);
  if (identity.email !== undefined) record.email = identity.email;
  if (identity.groupsDigest !== undefined) record.groupsDigest = identity.groupsDigest;
  return record;
}

/** Why the session is no longer good, or null when it is. Hard limits first, then inactivity. */
export function validateSession(record: SessionRecord, policy: SessionPolicy, nowS: number): SessionInvalidReason | null {
  if (record.expiresAt > 0 && nowS >= record.expiresAt) return 'expired';
  if (policy.maximumDurationS > 0 && nowS - record.createdAt >= policy.maximumDurationS) return 'maximum_duration';
  if (policy.inactivityTimeoutS > 0 && nowS - record.lastSeen >= policy.inactivityTimeoutS) return 'inactive';
  return null;
}

/**
 * Slides lastSeen forward. Returns the updated record when a new cookie is worth sending, else null:
 * only with an inactivity timeout, and at most once per touch interval (a minute, or a tenth of a
 * short timeout), so most requests send no Set-Cookie.
 */
export function touchSession(record: SessionRecord, policy: SessionPolicy, nowS: number): SessionRecord | null {
  if (policy.inactivityTimeoutS <= 0) return null;
  const interval = Math.max(1, Math.min(TOUCH_INTERVAL_S, Math.floor(policy.inactivityTimeoutS / 10)));
  if (nowS - record.lastSeen < interval) return null;
  return { ...record, lastSeen: nowS };
}

/** True when auth_check_interval asks for a back-channel refresh and re-check of this session now. */
export function needsCheck(record: SessionRecord, policy: SessionPolicy, nowS: number): boolean {
  return policy.authCheckIntervalS > 0 && (record.nextCheckAt === 0 || nowS >= record.nextCheckAt);
}

/** The record after a successful refresh: the next check is one interval away. */
export function markChecked(record: SessionRecord, policy: SessionPolicy, nowS: number): SessionRecord {
  return { ...record, lastSeen: nowS, nextCheckAt: policy.authCheckIntervalS > 0 ? nowS + policy.authCheckIntervalS : 0 };
}

/** Cookie lifetime: until the earliest limit (inactivity slides); undefined = browser-session cookie. */
export function cookieMaxAge(record: SessionRecord, policy: SessionPolicy, nowS: number): number | undefined {
  const ends: number[] = [];
  if (record.expiresAt > 0) ends.push(record.expiresAt);
  if (policy.maximumDurationS > 0) ends.push(record.createdAt + policy.maximumDurationS);
  if (policy.inactivityTimeoutS > 0) ends.push(record.lastSeen + policy.inactivityTimeoutS);
  if (ends.length === 0) return undefined;
  return Math.max(0, Math.min(...ends) - nowS);
}

// The sealed form uses one-letter keys: every byte counts against the 4 KB cookie limit.
interface CompactSession {
  i: string; u: string; p: string; c: number; l: number; x: number; k: number;
  n?: string; e?: string; g?: string;
}

function compact(r: SessionRecord): CompactSession {
  const out: CompactSession = { i: r.sid, u: r.sub, p: r.provider, c: r.createdAt, l: r.lastSeen, x: r.expiresAt, k: r.nextCheckAt };
  if (r.name !== undefined) out.n = r.name;
  if (r.email !== undefined) out.e = r.email;
  if (r.groupsDigest !== undefined) out.g = r.groupsDigest;
  return out;
}

function expand(value: unknown): SessionRecord | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const str = (x: unknown): x is string => typeof x === 'string';
  const int = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!str(v.i) || !str(v.u) || !str(v.p) || !int(v.c) || !int(v.l) || !int(v.x) || !int(v.k)) return null;
  const record: SessionRecord = { sid: v.i, sub: v.u, provider: v.p, createdAt: v.c, lastSeen: v.l, expiresAt: v.x, nextCheckAt: v.k };
  if (str(v.n)) record.name = v.n;
  if (str(v.e)) record.email = v.e;
  if (str(v.g)) record.groupsDigest = v.g;
  return record;
}

export interface SessionCookiesOptions {
  /** The module's derived session key (AuthKeyRing.deriveModuleKeys(...).session). */
  key: Buffer;
  /** cookie_prefix from the module config, e.g. 'ngrok.'. */
  cookiePrefix: string;
  policy: SessionPolicy;
  clock?: Clock;
}

/** Reads, issues and clears one module's session cookie (`<prefix>session`). */
export class SessionCookies {
  readonly name: string;
  readonly policy: SessionPolicy;
  readonly #key: Buffer;
  readonly #clock: Clock;

  constructor(options: SessionCookiesOptions) {
    this.name = `${options.cookiePrefix}session`;
    this.policy = options.policy;
    this.#key = options.key;
    this.#clock = options.clock ?? Date.now;
  }

  now(): number {
    return nowSeconds(this.#clock);
  }

  create(identity: SessionIdentity, expiresAt = 0): SessionRecord {
    return createSession(identity, this.policy, this.now(), expiresAt);
  }

  /** The first of our cookies that opens and is still valid; else why not (the most telling reason). */
  read(jar: CookieJar): SessionRead {
    const values = jar.get(this.name);
    if (values === undefined || values.length === 0) return { ok: false, reason: 'missing' };
    const nowS = this.now();
    let reason: SessionInvalidReason = 'unreadable';
    for (const value of values.slice(0, MAX_CANDIDATES)) {
      const record = expand(open(this.#key, this.name, value));
      if (record === null) continue;
      const invalid = validateSession(record, this.policy, nowS);
      if (invalid === null) return { ok: true, record };
      reason = invalid;
    }
    return { ok: false, reason };
  }

  /** Set-Cookie for the record; throws CookieTooLargeError/SealTooLargeError if it cannot fit. */
  issue(record: SessionRecord): string {
    const nowS = this.now();
    const maxAgeS = cookieMaxAge(record, this.policy, nowS);
    return buildSetCookie(this.name, seal(this.#key, this.name, compact(record)), { maxAgeS, nowMs: this.#clock() });
  }

  /** Set-Cookie when the touch is worth a new cookie, else null. */
  touch(record: SessionRecord): string | null {
    const touched = touchSession(record, this.policy, this.now());
    return touched === null ? null : this.issue(touched);
  }

  needsCheck(record: SessionRecord): boolean {
    return needsCheck(record, this.policy, this.now());
  }

  clear(): string {
    return buildDeleteCookie(this.name);
  }
}
