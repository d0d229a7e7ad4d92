// Maps a finished Exchange to the http_request_complete.v0 object (spec §1.8). The engine calls
// this once per request, after the last response byte (or the failure), and hands the object to
// core/events/serializers.ts.
import type { EventHeaders, HttpRequestComplete } from '../../core/events/types.js';
import type { Exchange, HeaderList } from './exchange.js';

// The identity modules' login callback (auth/flow.ts); its `code` parameter is a credential until redeemed.
const AUTH_CALLBACK_PATH = '/auth/callback';

export type UrlScheme = 'http' | 'https';

/** Wall-clock ms of the byte boundaries the engine observed; a field left out is left out of the event. */
export interface ExchangeByteTimes {
  requestFirstByteMs?: number;
  requestLastByteMs?: number;
  responseFirstByteMs?: number;
  /** Defaults to `endMs` when a response was sent. */
  responseLastByteMs?: number;
}

// Same marker as the config redaction (core/config/redact.ts), so "hidden" reads the same everywhere.
const REDACTED = '[redacted]';

// Events leave the process (files, HTTP destinations, other teams' log stores) and are kept far
// longer than a request lives, so credentials must never be copied into them: a bearer token or a
// session cookie in an event is as good as a stolen login. The header stays listed (its presence
// helps debugging), only its value is hidden. Names are the lower-case ones the engine gives us.
// Webhook providers that send their shared secret itself rather than a signature (gitlab, orbit,
// buildkite's token mode) put it in these headers.
const SECRET_HEADERS = new Set([
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-auth-token',
  'x-gitlab-token', 'x-orbit-signature', 'x-buildkite-token',
]);
// ngrok-* headers carry identities and tokens set by auth modules (oauth, oidc, webhook
// verification); hide the ones whose name says they hold a credential.
const SECRET_NGROK_HEADER = /^ngrok-.*(?:auth|token|secret|key|signature|session|password|cookie|credential)/;

function isSecretHeader(name: string): boolean {
  return SECRET_HEADERS.has(name) || (name.startsWith('ngrok-') && SECRET_NGROK_HEADER.test(name));
}

// Header names repeat across requests, so their capitalised forms are memoised; bounded so a
// client sending random names cannot grow it without limit.
const CAPITALISED_CACHE_MAX = 2048;
const capitalisedNames = new Map<string, string>();

/** 'content-type' → 'Content-Type' (Go's canonical form, which ngrok's own events use). */
export function capitaliseHeaderName(name: string): string {
  const cached = capitalisedNames.get(name);
  if (cached !== undefined) return cached;
  let out = '';
  let upper = true;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i]!;
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === '-';
  }
  if (capitalisedNames.size >= CAPITALISED_CACHE_MAX) capitalisedNames.clear();
  capitalisedNames.set(name, out);
  return out;
}

/** Spec §1.8: keys capitalised, values lower-cased; secrets replaced; pseudo-headers (HTTP/2) left out. */
export function eventHeaders(headers: HeaderList): EventHeaders {
  // No prototype: a header named "__proto__" must stay an ordinary key.
  const out: EventHeaders = Object.create(null);
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    const value = isSecretHeader(name) ? REDACTED : headers[i + 1]!.toLowerCase();
    const key = capitaliseHeaderName(name);
    const list = out[key];
    if (list === undefined) out[key] = [value];
    else list.push(value);
  }
  return out;
}

const HTTP_VERSION = { '1.0': 'HTTP/1.0', '1.1': 'HTTP/1.1', '2': 'HTTP/2.0' } as const;

function isoOrUndefined(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function userAgentOf(headers: HeaderList): string {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'user-agent') return headers[i + 1]!;
  return '';
}

/**
 * The event object for one finished exchange. `scheme` is the one the client used (an HTTPS edge,
 * or the cleartext listener); `endMs` is when the exchange finished.
 */
export function httpRequestCompleteEvent(x: Exchange, scheme: UrlScheme, endMs: number, times: ExchangeByteTimes = {}): HttpRequestComplete {
  const { conn, vars } = x;
  const eventQuery = vars.oauthAppClientId !== undefined && x.path === AUTH_CALLBACK_PATH ? redactCode(x.query) : x.query;
  const query = eventQuery === '' ? '' : `?${eventQuery}`;
  const responded = x.status !== 0;
  const event: HttpRequestComplete = {
    conn: {
      client_ip: conn.clientIp,
      server_ip: conn.serverIp,
      server_name: conn.serverName,
      server_port: conn.serverPort,
      start_ts: new Date(conn.startMs).toISOString(),
    },
    http: {
      request: {
        body_length: x.requestBodyBytes,
        headers: eventHeaders(x.requestHeaders),
        // Spec §1.8's table says lower case, its sample shows "GET" (open question 5, §1.13):
        // we follow the table, which is the normative part.
        method: x.method.toLowerCase(),
        // The path as routed (normalised, spec §1.5), so events and route matches agree.
        url: { host: x.host, path: x.path, query: eventQuery, scheme, raw: `${scheme}://${x.host}${x.path}${query}` },
        user_agent: userAgentOf(x.requestHeaders),
        version: HTTP_VERSION[x.version],
        first_byte_ts: isoOrUndefined(times.requestFirstByteMs),
        last_byte_ts: isoOrUndefined(times.requestLastByteMs),
      },
      response: {
        body_length: x.responseBodyBytes,
        headers: eventHeaders(x.responseHeaders),
        status_code: x.status,
        first_byte_ts: isoOrUndefined(times.responseFirstByteMs),
        last_byte_ts: isoOrUndefined(times.responseLastByteMs ?? (responded ? endMs : undefined)),
      },
    },
    ja4_fingerprint: conn.ja4,
    tls: { cipher_suite: conn.tlsCipher, version: conn.tlsVersion },
    edge: { id: x.edgeId },
    route: { id: x.routeId },
  };
  if (conn.clientCert !== null) {
    event.tls.client_cert = { serial_number: conn.clientCert.serialNumber, subject: { cn: conn.clientCert.subjectCn } };
  }
  if (vars.ipPolicyDecision !== undefined) event.ip_policy = { decision: vars.ipPolicyDecision };
  if (vars.circuitBreakerDecision !== undefined) event.circuit_breaker = { decision: vars.circuitBreakerDecision };
  if (vars.compressionAlgorithm !== undefined) {
    event.compression = { algorithm: vars.compressionAlgorithm, bytes_saved: vars.compressionBytesSaved ?? 0 };
  }
  if (vars.userAgentFilterDecision !== undefined) event.user_agent_filter = { decision: vars.userAgentFilterDecision };
  if (vars.webhookDecision !== undefined) event.webhook_verification = { decision: vars.webhookDecision };
  if (vars.oauthAppClientId !== undefined) {
    // Set by the identity modules; the decision is '' while a login is only being started.
    event.oauth = {
      app_client_id: vars.oauthAppClientId,
      decision: vars.oauthDecision ?? '',
      user: { id: vars.oauthUserId ?? '', name: vars.oauthUserName ?? '' },
    };
  }
  if (vars.backendConnectionReused !== undefined) event.backend = { connection_reused: vars.backendConnectionReused };
  return event;
}

/** The callback's query with the authorization code's value hidden (the rest, state included, is opaque or public). */
function redactCode(query: string): string {
  if (!/(?:^|&)code=/.test(query)) return query;
  return query.split('&').map((pair) => (pair.startsWith('code=') ? `code=${encodeURIComponent(REDACTED)}` : pair)).join('&');
}
