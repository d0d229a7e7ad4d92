// Login state for the identity modules. Starting a login seals {captured URI, OIDC nonce, PKCE
// verifier, login id, created_at} into the `state` parameter sent to the IdP, and sets a nonce cookie
// `<prefix>nonce.<16 hex>` whose value only this browser holds. The callback must bring back a state
// this module sealed in the last 30 minutes *and* the matching nonce cookie, which ties the login to
// the browser that started it (login CSRF protection).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EdgeResponse } from '../exchange.js';
import { captureRequestUri, isSameOriginPath } from './captured-uri.js';
import { buildDeleteCookie, buildSetCookie, type CookieJar } from './cookies.js';
import { open, seal } from './seal.js';
import { nowSeconds, type Clock } from './session.js';

export const STATE_MAX_AGE_S = 1800;
// Associated data for the sealed state: it is a URL parameter, not a cookie.
const STATE_NAME = 'state';
// A state stamped further in the future than this is refused (clock steps between workers are small).
const FUTURE_SKEW_S = 60;

export interface LoginState {
  /** Same-origin path+query to return to (always with GET). */
  uri: string;
  /** OIDC nonce (sent in the authorization request, checked in the ID token). */
  nonce: string;
  /** PKCE code verifier (OIDC / OAuth providers that take it). */
  pkceVerifier?: string;
  /** 16 hex characters; names the nonce cookie. */
  loginId: string;
  createdAt: number;
}

export interface BegunLogin {
  login: LoginState;
  /** Value for the `state` query parameter. */
  state: string;
  /** Set-Cookie for the nonce cookie. */
  nonceCookie: string;
}

export type LoginStateFailure = 'state_missing' | 'state_invalid' | 'state_expired' | 'nonce_cookie_missing' | 'nonce_mismatch';

const FAILURE_MESSAGES: Record<LoginStateFailure, string> = {
  state_missing: 'The login callback carried no state. Start the login again.',
  state_invalid: 'The login state is invalid: it was changed, or the module configuration changed since the login started. Start the login again.',
  state_expired: `The login took longer than ${STATE_MAX_AGE_S / 60} minutes. Start the login again.`,
  nonce_cookie_missing: 'The login nonce cookie is missing: the login must finish in the browser that started it, with cookies enabled.',
  nonce_mismatch: 'The login nonce cookie does not match this login. Start the login again.',
};

export type FinishedLogin =
  | { ok: true; login: LoginState; clearNonceCookie: string }
  | { ok: false; reason: LoginStateFailure; message: string; clearNonceCookie?: string };

export interface LoginStatesOptions {
  /** The module's derived state key (AuthKeyRing.deriveModuleKeys(...).state). */
  key: Buffer;
  cookiePrefix: string;
  clock?: Clock;
}

/** S256 code challenge for a PKCE verifier (RFC 7636). */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export class LoginStates {
  readonly #key: Buffer;
  readonly #prefix: string;
  readonly #clock: Clock;

  constructor(options: LoginStatesOptions) {
    this.#key = options.key;
    this.#prefix = options.cookiePrefix;
    this.#clock = options.clock ?? Date.now;
  }

  nonceCookieName(loginId: string): string {
    return `${this.#prefix}nonce.${loginId}`;
  }

  /** Starts a login for a request with this request-target; `pkce` adds a code verifier. */
  begin(rawUrl: string, options: { pkce?: boolean } = {}): BegunLogin {
    const login: LoginState = {
      uri: captureRequestUri(rawUrl),
      nonce: randomBytes(16).toString('base64url'),
      loginId: randomBytes(8).toString('hex'),
      createdAt: nowSeconds(this.#clock),
    };
    if (options.pkce === true) login.pkceVerifier = randomBytes(32).toString('base64url');
    const cookieValue = randomBytes(16).toString('base64url');
    const sealed: CompactState = { u: login.uri, n: login.nonce, i: login.loginId, c: login.createdAt, b: bindingOf(cookieValue) };
    if (login.pkceVerifier !== undefined) sealed.p = login.pkceVerifier;
    return {
      login,
      state: seal(this.#key, STATE_NAME, sealed),
      nonceCookie: buildSetCookie(this.nonceCookieName(login.loginId), cookieValue, { maxAgeS: STATE_MAX_AGE_S, nowMs: this.#clock() }),
    };
  }

  /** Checks the callback's `state` parameter against the request's cookies. */
  finish(state: string | undefined | null, jar: CookieJar): FinishedLogin {
    if (state === undefined || state === null || state === '') return failure('state_missing');
    const sealed = expand(open(this.#key, STATE_NAME, state));
    if (sealed === null) return failure('state_invalid');
    const cookieName = this.nonceCookieName(sealed.i);
    const clearNonceCookie = buildDeleteCookie(cookieName);
    const nowS = nowSeconds(this.#clock);
    if (sealed.c > nowS + FUTURE_SKEW_S) return failure('state_invalid', clearNonceCookie);
    if (nowS - sealed.c >= STATE_MAX_AGE_S) return failure('state_expired', clearNonceCookie);
    const values = jar.get(cookieName);
    if (values === undefined || values.length === 0) return failure('nonce_cookie_missing');
    const expected = Buffer.from(sealed.b, 'base64url');
    const matches = values.some((v) => timingSafeEqual(Buffer.from(bindingOf(v), 'base64url'), expected));
    if (!matches) return failure('nonce_mismatch', clearNonceCookie);
    const login: LoginState = {
      // Sealed by us, but re-checked: a bug elsewhere must not turn into an open redirect.
      uri: isSameOriginPath(sealed.u) ? sealed.u : '/',
      nonce: sealed.n,
      loginId: sealed.i,
      createdAt: sealed.c,
    };
    if (sealed.p !== undefined) login.pkceVerifier = sealed.p;
    return { ok: true, login, clearNonceCookie };
  }
}

/** The edge's answer for a failed callback: 400 ERR_NGROK_3100 with the reason, clearing the nonce cookie. */
export function loginStateErrorResponse(result: Extract<FinishedLogin, { ok: false }>): EdgeResponse {
  const response: EdgeResponse = { status: 400, errorCode: 'ERR_NGROK_3100', body: result.message };
  if (result.clearNonceCookie !== undefined) response.headers = ['set-cookie', result.clearNonceCookie];
  return response;
}

function failure(reason: LoginStateFailure, clearNonceCookie?: string): FinishedLogin {
  const out: FinishedLogin = { ok: false, reason, message: FAILURE_MESSAGES[reason] };
  if (clearNonceCookie !== undefined) out.clearNonceCookie = clearNonceCookie;
  return out;
}

// The state holds a digest of the cookie value, not the value: the state travels through the IdP.
function bindingOf(cookieValue: string): string {
  return createHash('sha256').update(cookieValue, 'utf8').digest().subarray(0, 16).toString('base64url');
}

interface CompactState {
  u: string; n: string; i: string; c: number; b: string; p?: string;
}

function expand(value: unknown): CompactState | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.u !== 'string' || typeof v.n !== 'string') return null;
  if (typeof v.b !== 'string' || Buffer.from(v.b, 'base64url').length !== 16) return null;
  if (typeof v.i !== 'string' || !/^[0-9a-f]{16}$/.test(v.i)) return null;
  if (!Number.isSafeInteger(v.c)) return null;
  if (v.p !== undefined && typeof v.p !== 'string') return null;
  const out: CompactState = { u: v.u, n: v.n, i: v.i, c: v.c as number, b: v.b };
  if (typeof v.p === 'string') out.p = v.p;
  return out;
}
