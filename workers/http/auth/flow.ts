// The login flow every identity module shares (oauth, oidc, saml), whatever the protocol: identity
// headers stripped from the client, the module's own paths answered at the edge, the session cookie
// read (identity headers set from it) or a login started (sealed state + nonce cookie), the callback
// checked and turned into a session, refreshes, logout. The protocol lives in an IdentityProvider.
//
// Error codes are edgeplane's picks inside the families the spec names (§1.10: 3100-3167 for the
// OAuth flow): 3100 for a broken login state (state.ts), 3101 for a user the rules refuse, 3102 for
// a request that cannot carry a login (bad Host, wrong method on the callback).
import { createHash } from 'node:crypto';
import type { AuthSessionSpec } from '../../../core/generation/spec.js';
import { log } from '../../../core/log.js';
import type { EdgeResponse, Exchange, HeaderList, HttpModule } from '../exchange.js';
import { firstHeader } from '../headers.js';
import type { CompileContext } from '../pipeline.js';
import { cookiesFromHeaders } from './cookies.js';
import { AuthKeyRing, generateRootKey, moduleFingerprint } from './keys.js';
import { OidcDiscoveryCache } from './oidc-discovery.js';
import { ProviderError, type AuthorizationVerdict, type CallbackInput, type Identity, type IdentityProvider, type LoginResult, type LoginSecrets } from './provider.js';
import { SharedStore } from '../../../core/tables/shared-store.js';
import { useSharedReplayStore } from './saml-replay.js';
import { LocalSessionExtras, SharedSessionExtras, type SessionExtras, type SessionExtrasData } from './session-extras.js';
import { SessionCookies, groupsDigest, markChecked, type Clock, type SessionIdentity, type SessionRecord } from './session.js';
import { LoginStates, loginStateErrorResponse, type LoginState } from './state.js';

export const CALLBACK_PATH = '/auth/callback';
export const AUTHN_PATH = '/auth/authn';
export const LOGOUT_PATH = '/auth/logout';

/** Identity headers only the edge may set: removed from every client request (spec §1.6, current and older names). */
export const IDENTITY_HEADERS: ReadonlySet<string> = new Set([
  'ngrok-auth-user-id', 'ngrok-auth-user-name', 'ngrok-auth-user-email',
  'ngrok-auth-oauth-access-token', 'ngrok-auth-oauth-refresh-token',
  'ngrok-auth-email', 'ngrok-oauth-access-token',
]);

const CODE_NOT_AUTHORIZED = 'ERR_NGROK_3101';
const CODE_BAD_LOGIN_REQUEST = 'ERR_NGROK_3102';
/** A POST callback (SAML's ACS) holds one form; assertions are a few KB, so this is generous. */
const MAX_CALLBACK_FORM_BYTES = 256 * 1024;

/** Per worker: the daemon's root key (same in every worker, so any worker opens any session) and the caches. */
export interface AuthWorkerContext {
  keyRing: AuthKeyRing;
  oidcDiscovery: OidcDiscoveryCache;
  /** Tokens kept out of the cookie; a miss (evicted, too large, a restart) means "refresh or log in again". */
  sessionExtras: SessionExtras;
}

/**
 * `sharedStore`: the daemon's process-wide store (core/tables/shared-store.ts); with it, session tokens
 * and the SAML replay set are seen by every worker. Without it (benchmarks, tests) they are per thread.
 */
export function createAuthWorkerContext(rootKey: Uint8Array, sharedStore?: SharedArrayBuffer): AuthWorkerContext {
  let sessionExtras: SessionExtras;
  if (sharedStore === undefined) {
    sessionExtras = new LocalSessionExtras();
  } else {
    const store = new SharedStore(sharedStore);
    sessionExtras = new SharedSessionExtras(store);
    useSharedReplayStore(store);
  }
  return { keyRing: new AuthKeyRing(rootKey), oidcDiscovery: new OidcDiscoveryCache(), sessionExtras };
}

let threadFallback: AuthWorkerContext | undefined;

/**
 * The context's auth state. Contexts built without one (unit tests, bare runtimes in benchmarks) get a
 * key of this thread only: sessions then do not cross threads. The daemon always passes one.
 */
export function authWorkerContext(ctx: CompileContext): AuthWorkerContext {
  return ctx.auth ?? (threadFallback ??= createAuthWorkerContext(generateRootKey()));
}

/** Settings every identity module has (config names and units: seconds, 0 = no limit). */
export interface AuthCommon {
  cookie_prefix: string;
  options_passthrough: boolean;
  inactivity_timeout: number;
  maximum_duration: number;
  /** oauth only: seconds between back-channel re-checks; 0 or absent = only at login. */
  auth_check_interval?: number;
  /** The module's whole spec: hashed into its keys, so any config change forces a new login. Never logged. */
  config: unknown;
  /** ms clock (tests). */
  clock?: Clock;
}

/** AuthCommon from a module's generation spec (durations there are in ms). */
export function authCommonFromSpec(spec: AuthSessionSpec & { authCheckIntervalMs?: number }): AuthCommon {
  return {
    cookie_prefix: spec.cookiePrefix,
    options_passthrough: spec.optionsPassthrough,
    inactivity_timeout: Math.floor(spec.inactivityTimeoutMs / 1000),
    maximum_duration: Math.floor(spec.maximumDurationMs / 1000),
    auth_check_interval: Math.floor((spec.authCheckIntervalMs ?? 0) / 1000),
    config: spec,
  };
}

/**
 * Short tag of a route, put in the session cookie name: two auth routes on one domain keep separate
 * cookies instead of overwriting (and so logging out) each other.
 */
export function routeTag(edgeId: string, routeId: string): string {
  return createHash('sha256').update(JSON.stringify([edgeId, routeId])).digest('hex').slice(0, 8);
}

/** The HttpModule for one identity module on one route. */
export function createAuthModule(name: string, provider: IdentityProvider, common: AuthCommon, ctx: CompileContext): HttpModule {
  const auth = authWorkerContext(ctx);
  const keys = auth.keyRing.deriveModuleKeys({ module: name, edgeId: ctx.edgeId, routeId: ctx.routeId, fingerprint: moduleFingerprint(common.config) });
  const clock = common.clock ?? Date.now;
  const sessions = new SessionCookies({
    key: keys.session,
    // `<prefix><route tag>.session`: SessionCookies appends "session" to the prefix it is given.
    cookiePrefix: `${common.cookie_prefix}${routeTag(ctx.edgeId, ctx.routeId)}.`,
    policy: {
      inactivityTimeoutS: common.inactivity_timeout,
      maximumDurationS: common.maximum_duration,
      authCheckIntervalS: common.auth_check_interval ?? 0,
    },
    clock,
  });
  const states = new LoginStates({ key: keys.state, cookiePrefix: common.cookie_prefix, clock });
  const extras = auth.sessionExtras;
  // Set-Cookie headers for upstream responses (a refreshed session), by exchange.
  const pendingCookies = new WeakMap<Exchange, string>();
  const where = { edge: ctx.edgeId, route: ctx.routeId, module: name };

  function noteClient(x: Exchange): void {
    x.vars.oauthAppClientId = provider.clientId;
  }

  function noteUser(x: Exchange, identity: { id: string; name?: string | undefined }): void {
    x.vars.oauthUserId = identity.id;
    if (identity.name !== undefined) x.vars.oauthUserName = identity.name;
  }

  /** Lets the request through as this session's user. */
  function admit(x: Exchange, record: SessionRecord, setCookie: string | null): undefined {
    const h = x.upstreamHeaders;
    h.push('ngrok-auth-user-id', headerValue(record.sub));
    if (record.name !== undefined) h.push('ngrok-auth-user-name', headerValue(record.name));
    if (record.email !== undefined) h.push('ngrok-auth-user-email', headerValue(record.email));
    if (name === 'oauth') addTokenHeaders(h, extras.get(record.sid));
    noteClient(x);
    noteUser(x, { id: record.sub, name: record.name });
    x.vars.oauthDecision = 'allow';
    if (setCookie !== null) pendingCookies.set(x, setCookie);
    return undefined;
  }

  async function startLogin(x: Exchange, rawUrl: string, force: boolean): Promise<EdgeResponse> {
    noteClient(x);
    const redirectUri = callbackUriOf(x);
    if (redirectUri === null) return badLoginRequest(400, 'The Host header is not a hostname[:port]; a login cannot return to it.');
    const begun = states.begin(rawUrl, { pkce: true });
    let url: string;
    try {
      url = await provider.beginLogin(redirectUri, begun.state, secretsOf(begun.login), { forceReauthentication: force });
    } catch (err) {
      return failure(x, err, []);
    }
    const headers: HeaderList = ['location', url, 'set-cookie', begun.nonceCookie, 'cache-control', 'no-store'];
    if (force) headers.push('set-cookie', sessions.clear());
    return { status: 302, errorCode: '', headers };
  }

  async function callback(x: Exchange): Promise<EdgeResponse> {
    noteClient(x);
    if (x.method !== 'GET' && x.method !== 'POST') {
      const answer = badLoginRequest(405, `The login callback takes GET (or POST for a form post), not ${x.method}.`);
      answer.headers!.push('allow', 'GET, POST');
      return answer;
    }
    const query = new URLSearchParams(x.query);
    let form = new URLSearchParams();
    if (x.method === 'POST') {
      // SAML's POST binding (the ACS): the form holds the response and RelayState (our sealed state).
      const body = await x.readBody(MAX_CALLBACK_FORM_BYTES);
      if (body === null) return badLoginRequest(413, 'The login callback form is too large.');
      form = new URLSearchParams(body.toString('utf8'));
    }
    const state = query.get('state') ?? form.get('RelayState') ?? form.get('state') ?? '';
    const redirectUri = callbackUriOf(x);
    if (redirectUri === null) return badLoginRequest(400, 'The Host header is not a hostname[:port].');
    const input: CallbackInput = { redirectUri, method: x.method, query, form, state, secrets: null };
    let returnTo = '/';
    const cleanup: HeaderList = [];
    if (state !== '' || x.method !== 'POST') {
      const finished = states.finish(state, cookiesFromHeaders(x.requestHeaders));
      if (!finished.ok) return loginStateErrorResponse(finished);
      cleanup.push('set-cookie', finished.clearNonceCookie);
      input.secrets = secretsOf(finished.login);
      returnTo = finished.login.uri;
    }
    // else: an IdP-initiated POST (SAML) with no state of ours: the provider accepts it only if configured to.
    let result: LoginResult;
    try {
      result = await provider.completeLogin(input);
    } catch (err) {
      return failure(x, err, cleanup);
    }
    noteUser(x, result.identity);
    const verdict = provider.authorize(result.identity);
    if (!verdict.allowed) {
      x.vars.oauthDecision = 'block';
      log.info('login refused by the module rules', { ...where, reason: verdict.reason ?? '' });
      return refused(verdict, cleanup);
    }
    const record = sessions.create(sessionIdentity(provider.kind, result.identity));
    const cookie = sessions.issue(record);
    if (result.tokens !== undefined) extras.set(record.sid, result.tokens, remainingLife(record));
    x.vars.oauthDecision = 'allow';
    return { status: 302, errorCode: '', headers: ['location', returnTo, 'set-cookie', cookie, ...cleanup, 'cache-control', 'no-store'] };
  }

  function logout(x: Exchange): EdgeResponse {
    noteClient(x);
    const read = sessions.read(cookiesFromHeaders(x.requestHeaders));
    if (read.ok) extras.delete(read.record.sid);
    return page(200, '', 'Logged out', `You are logged out. <a href="${AUTHN_PATH}">Log in again</a>.`, ['set-cookie', sessions.clear()]);
  }

  /** auth_check_interval is due: refresh the user from the provider and re-check the rules. */
  async function recheck(x: Exchange, record: SessionRecord): Promise<EdgeResponse | undefined> {
    const tokens = extras.get(record.sid);
    if (provider.refresh === undefined || tokens === undefined) return startLogin(x, x.rawUrl, false);
    let result: LoginResult | null;
    try {
      result = await provider.refresh(tokens);
    } catch (err) {
      log.info('session refresh failed; asking for a new login', { ...where, reason: err instanceof ProviderError ? err.reason : 'error' });
      result = null;
    }
    if (result === null || result.identity.id !== record.sub) return startLogin(x, x.rawUrl, false);
    noteClient(x);
    noteUser(x, result.identity);
    const verdict = provider.authorize(result.identity);
    if (!verdict.allowed) {
      x.vars.oauthDecision = 'block';
      extras.delete(record.sid);
      return refused(verdict, ['set-cookie', sessions.clear()]);
    }
    const fresh = sessionIdentity(provider.kind, result.identity);
    const updated: SessionRecord = { ...markChecked(record, sessions.policy, sessions.now()), ...fresh, sid: record.sid };
    if (fresh.name === undefined) delete updated.name;
    if (fresh.email === undefined) delete updated.email;
    if (result.tokens !== undefined) extras.set(record.sid, { ...tokens, ...result.tokens }, remainingLife(updated));
    return admit(x, updated, sessions.issue(updated));
  }

  function remainingLife(record: SessionRecord): number | undefined {
    const ends: number[] = [];
    if (record.expiresAt > 0) ends.push(record.expiresAt);
    if (sessions.policy.maximumDurationS > 0) ends.push(record.createdAt + sessions.policy.maximumDurationS);
    return ends.length === 0 ? undefined : Math.max(1, Math.min(...ends) - sessions.now());
  }

  function failure(x: Exchange, err: unknown, extraHeaders: HeaderList): EdgeResponse {
    x.vars.oauthDecision = 'block';
    if (err instanceof ProviderError) {
      log.info('login failed', { ...where, code: err.code, reason: err.reason });
      return page(err.status, err.code, 'Login failed', `${escapeHtml(err.message)} <a href="${AUTHN_PATH}">Try again</a>.`, extraHeaders);
    }
    // Not a ProviderError: a bug or an unexpected library failure. Its message may quote provider data, so only its name is logged.
    log.warn('login failed unexpectedly', { ...where, error: err instanceof Error ? err.name : typeof err });
    return page(502, 'ERR_NGROK_3100', 'Login failed', `The login could not be completed. <a href="${AUTHN_PATH}">Try again</a>.`, extraHeaders);
  }

  return {
    name,
    onRequest(x) {
      stripIdentityHeaders(x);
      // The cleartext listener in serve mode: Secure cookies never come back over http, so a login would loop.
      if (x.conn.tlsVersion === '') return badLoginRequest(403, 'This route needs HTTPS: its login cookies are sent over HTTPS only.');
      if (common.options_passthrough && x.method === 'OPTIONS') return undefined;
      switch (x.path) {
        case CALLBACK_PATH: return callback(x);
        case AUTHN_PATH: return startLogin(x, '/', true);
        case LOGOUT_PATH: return logout(x);
      }
      const extra = provider.extraPaths?.get(x.path);
      if (extra !== undefined) {
        const doc = extra();
        return { status: 200, errorCode: '', body: doc.body, headers: ['content-type', doc.contentType] };
      }
      const read = sessions.read(cookiesFromHeaders(x.requestHeaders));
      if (!read.ok) return startLogin(x, x.rawUrl, false);
      if (sessions.needsCheck(read.record)) return recheck(x, read.record);
      return admit(x, read.record, sessions.touch(read.record));
    },
    onResponseHead(x) {
      const cookie = pendingCookies.get(x);
      if (cookie !== undefined) x.responseHeaders.push('set-cookie', cookie);
    },
  };
}

/** The oauth module's token headers (spec §1.6), from the session's extras when it has them. */
function addTokenHeaders(h: HeaderList, tokens: SessionExtrasData | undefined): void {
  if (tokens?.accessToken !== undefined) h.push('ngrok-auth-oauth-access-token', headerValue(tokens.accessToken));
  if (tokens?.refreshToken !== undefined) h.push('ngrok-auth-oauth-refresh-token', headerValue(tokens.refreshToken));
}

/** Removes every identity header the client sent: only the edge sets them. */
export function stripIdentityHeaders(x: Exchange): void {
  const h = x.upstreamHeaders;
  let found = false;
  for (let i = 0; i < h.length && !found; i += 2) found = IDENTITY_HEADERS.has(h[i]!);
  if (!found) return;
  const kept: HeaderList = [];
  for (let i = 0; i + 1 < h.length; i += 2) if (!IDENTITY_HEADERS.has(h[i]!)) kept.push(h[i]!, h[i + 1]!);
  x.upstreamHeaders = kept;
}

// A DNS name (LDH labels) or IPv4 address, then an optional port.
const HOST_AND_PORT = /^((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.?(?::([0-9]{1,5}))?$/;

/**
 * https://<Host as the client sent it>/auth/callback. TLS ends at the edge, so the scheme is https; the
 * Host must be a plain hostname[:port] naming the host the request was routed by.
 */
export function callbackUriOf(x: Exchange): string | null {
  const sent = firstHeader(x.requestHeaders, 'host') ?? `${x.host}:${x.conn.serverPort}`;
  const match = HOST_AND_PORT.exec(sent.trim().toLowerCase());
  if (match === null || match[1] !== x.host) return null;
  const port = match[2] === undefined ? 443 : Number(match[2]);
  if (port < 1 || port > 65535) return null;
  return `https://${match[1]}${port === 443 ? '' : `:${port}`}${CALLBACK_PATH}`;
}

function secretsOf(login: LoginState): LoginSecrets {
  const secrets: LoginSecrets = { nonce: login.nonce };
  if (login.pkceVerifier !== undefined) secrets.pkceVerifier = login.pkceVerifier;
  return secrets;
}

function sessionIdentity(kind: string, identity: Identity): SessionIdentity {
  const out: SessionIdentity = { sub: identity.id, provider: kind };
  if (identity.name !== undefined) out.name = identity.name;
  if (identity.email !== undefined) out.email = identity.email;
  if (identity.groups !== undefined) out.groupsDigest = groupsDigest(identity.groups);
  return out;
}

/**
 * Claims come from the provider: control characters (CR/LF would split the upstream request) are
 * dropped, and non-ASCII text is sent as its UTF-8 bytes (the upstream head is written as latin1).
 */
export function headerValue(text: string): string {
  // eslint-disable-next-line no-control-regex
  return Buffer.from(text.replace(/[\x00-\x1f\x7f]/g, ''), 'utf8').toString('latin1');
}

function badLoginRequest(status: number, message: string): EdgeResponse {
  return { status, errorCode: CODE_BAD_LOGIN_REQUEST, body: `${message}\n`, headers: [] };
}

function refused(verdict: AuthorizationVerdict, extraHeaders: HeaderList): EdgeResponse {
  const reason = verdict.reason;
  const why = reason === undefined || reason === '' ? '' : ` (${escapeHtml(reason)})`;
  return page(403, verdict.code ?? CODE_NOT_AUTHORIZED, 'Not authorized', `You signed in, but this account may not use this site${why}. <a href="${AUTHN_PATH}">Try again</a> with another account.`, extraHeaders);
}

function page(status: number, errorCode: string, title: string, html: string, extraHeaders: HeaderList): EdgeResponse {
  const body = `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1>\n<p>${html}</p></body></html>\n`;
  return { status, errorCode, body, headers: ['content-type', 'text/html; charset=utf-8', 'cache-control', 'no-store', ...extraHeaders] };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
