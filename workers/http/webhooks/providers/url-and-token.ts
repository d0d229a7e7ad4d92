// Providers whose signature covers more than the body (the URL the provider called, the method, a
// canonical request, fields inside the body) and providers that send a plain shared token. Facts are
// copied from the webhook-providers spec; each entry says where a choice had to be made.
import { createHash } from 'node:crypto';
import { escape as querystringEscape } from 'node:querystring';
import type { ProviderDefinition, Verdict, WebhookRequest } from '../types.js';
import { ALLOW, refuse } from '../types.js';
import {
  checkTimestamp, decode, DEFAULT_TOLERANCE_SECONDS, digestsEqual, header, headerValues, hmac, matchAny,
  parseKeyValues, parseUnixTimestamp,
} from '../crypto.js';

// ---------- helpers shared by this group ----------

const utf8 = new TextDecoder();

/**
 * The URL as received plus the same URL with the scheme's default port added or any port removed:
 * a proxy in front of the edge (or the provider's HTTP client) may add or drop it, so Twilio's SDKs
 * retry both. Every variant names the same endpoint, so accepting them weakens nothing.
 */
export function urlPortVariants(url: string): string[] {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is.exec(url);
  if (m === null) return [url];
  const [, scheme, authority, rest] = m as unknown as [string, string, string, string];
  const portAt = authority.indexOf(':', authority.lastIndexOf(']') + 1);
  if (portAt >= 0) return [url, scheme + authority.slice(0, portAt) + rest];
  const port = scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return [url, scheme + authority + port + rest];
}

/** Splits a URL at its query: [everything before '?', query without '?']. */
function splitQuery(url: string): [string, string] {
  const q = url.indexOf('?');
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
}

function isFormEncoded(request: WebhookRequest): boolean {
  const type = header(request.headers, 'content-type') ?? '';
  return type.split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/** Form (or query) parameters grouped by name, names sorted (JS string order, as the SDKs sort). */
function sortedParams(text: string): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(text)) {
    const list = groups.get(name);
    if (list === undefined) groups.set(name, [value]); else list.push(value);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * For schemes that sign the URL plus form parameters: the parameters to sign, or a refusal when the
 * body is something the signature cannot cover (a JSON body there would reach the upstream unsigned).
 */
function formParamsOrRefusal(request: WebhookRequest): [string, string[]][] | Verdict {
  if (request.body.length === 0) return [];
  if (!isFormEncoded(request)) return refuse('malformed_request', 'body is not form-encoded, so the signature would not cover it');
  return sortedParams(utf8.decode(request.body));
}

/** Constant-time comparison of a received token with the configured one, whatever their lengths. */
function tokenDigest(token: string | Uint8Array): Buffer {
  return createHash('sha256').update(token).digest();
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

// ---------- Twilio ----------

// `X-Twilio-Signature`: base64 HMAC-SHA1 of the URL Twilio called followed by every form parameter
// sorted by name as name+value (repeated values deduplicated and sorted, as the twilio SDK does).
// JSON bodies: the URL carries bodySHA256 (hex SHA-256 of the body); the URL alone is signed and the
// hash must match the body.
const twilio: ProviderDefinition = {
  id: 'twilio',
  name: 'Twilio',
  confirmed: true,
  secret: 'required',
  toleranceSeconds: null,
  describe: '`X-Twilio-Signature` base64 HMAC-SHA1 of the URL + sorted form params (JSON: URL with `bodySHA256`)',
  create(secret) {
    const key = Buffer.from(secret, 'utf8');
    return {
      verify(request) {
        const signature = header(request.headers, 'x-twilio-signature');
        if (!nonEmpty(signature)) return refuse('missing_signature');
        const bodyHash = new URLSearchParams(request.query).get('bodySHA256');
        let params = '';
        if (bodyHash === null) {
          const form = formParamsOrRefusal(request);
          if (!Array.isArray(form)) return form;
          for (const [name, values] of form) for (const value of [...new Set(values)].sort()) params += name + value;
        }
        const expected = urlPortVariants(request.url).map((url) => hmac('sha1', key, url, params));
        const verdict = matchAny(expected, [signature], 'base64');
        if (!verdict.ok || bodyHash === null) return verdict;
        const claimed = decode(bodyHash, 'hex');
        const actual = createHash('sha256').update(request.body).digest();
        return claimed !== null && digestsEqual(claimed, actual) ? ALLOW : refuse('signature_mismatch', 'bodySHA256 does not match the body');
      },
    };
  },
};

// ---------- Plivo ----------

// V3 only. `X-Plivo-Signature-V3` (and `X-Plivo-Signature-Ma-V3`, signed with the main account's
// token): comma-separated base64 HMAC-SHA256 signatures of the URL with its query sorted, the sorted
// POST params and the nonce (construction below, as plivo-node's v3Security.js builds it).
// V2 is NOT accepted: it signs only scheme://host/path + nonce, so a captured V2 signature would
// admit any body and query.
const plivo: ProviderDefinition = {
  id: 'plivo',
  name: 'Plivo',
  confirmed: true,
  secret: 'required',
  toleranceSeconds: null,
  describe: '`X-Plivo-Signature-V3` (+ `-Nonce`) base64 HMAC-SHA256 of the URL with sorted query, sorted POST params and the nonce (V3 only)',
  create(secret) {
    const key = Buffer.from(secret, 'utf8');
    return {
      verify(request) {
        const candidates = [...headerValues(request.headers, 'x-plivo-signature-v3'), ...headerValues(request.headers, 'x-plivo-signature-ma-v3')]
          .flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
        if (candidates.length === 0) return refuse('missing_signature');
        const nonce = header(request.headers, 'x-plivo-signature-v3-nonce');
        if (!nonEmpty(nonce)) return refuse('malformed_signature', 'X-Plivo-Signature-V3-Nonce is missing');
        const form = formParamsOrRefusal(request);
        if (!Array.isArray(form)) return form;
        // Only POST params are signed (the SDK treats other methods' bodies as absent).
        if (form.length > 0 && request.method !== 'POST') return refuse('malformed_request', 'Plivo signs form parameters of POST requests only');
        const posted = form.map(([name, values]) => [...values].sort().map((v) => name + v).join('')).join('');
        const expected = urlPortVariants(request.url).map((url) => hmac('sha256', key, plivoSignedUrl(url, form.length > 0, posted), '.', nonce));
        return matchAny(expected, candidates, 'base64');
      },
    };
  },
};

/** `{base}?{sorted query}` then, with POST params, `[.]{params}` ('?' always, '.' only after a query). */
function plivoSignedUrl(url: string, hasPostParams: boolean, posted: string): string {
  const [base, query] = splitQuery(url);
  const sortedQuery = sortedParams(query).flatMap(([name, values]) => [...values].sort().map((v) => `${name}=${v}`)).join('&');
  if (!hasPostParams) return sortedQuery === '' ? base : `${base}?${sortedQuery}`;
  return `${base}?${sortedQuery}${sortedQuery === '' ? '' : '.'}${posted}`;
}

// ---------- Square ----------

// `x-square-hmacsha256-signature`: base64 HMAC-SHA256 of the notification URL followed by the body.
// The legacy SHA-1 `x-square-signature` is not accepted. The secret is the subscription's signature
// key (ngrok's guide says access token; Square signs with the signature key).
const square: ProviderDefinition = {
  id: 'square',
  name: 'Square',
  confirmed: true,
  secret: 'required',
  toleranceSeconds: null,
  describe: '`x-square-hmacsha256-signature` base64 HMAC-SHA256 of the notification URL + body',
  create(secret) {
    const key = Buffer.from(secret, 'utf8');
    return {
      verify(request) {
        const signature = header(request.headers, 'x-square-hmacsha256-signature');
        if (!nonEmpty(signature)) return refuse('missing_signature');
        const expected = urlPortVariants(request.url).map((url) => hmac('sha256', key, url, request.body));
        return matchAny(expected, [signature], 'base64');
      },
    };
  },
};

// ---------- HubSpot ----------

// v3 only: `X-HubSpot-Signature-v3` = base64 HMAC-SHA256 of method + URL + body + timestamp, with
// `X-HubSpot-Request-Timestamp` in ms, refused when more than 300 s off. HubSpot sends v3 next to the
// legacy v1/v2 `X-HubSpot-Signature`; those sign no timestamp (replayable forever) and v1 ignores the
// URL, so they are not accepted.
const HUBSPOT_TOLERANCE_SECONDS = 300;
// HubSpot's docs ask verifiers to URL-decode these escapes in the URI before signing.
const HUBSPOT_DECODED: Record<string, string> = {
  '%3A': ':', '%2F': '/', '%3F': '?', '%40': '@', '%21': '!', '%24': '$', '%27': "'", '%28': '(', '%29': ')', '%2A': '*', '%2C': ',', '%3B': ';',
};
const HUBSPOT_ESCAPES = /%(?:3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi;

const hubspot: ProviderDefinition = {
  id: 'hubspot',
  name: 'HubSpot',
  confirmed: true,
  secret: 'required',
  toleranceSeconds: HUBSPOT_TOLERANCE_SECONDS,
  describe: '`X-HubSpot-Signature-v3` base64 HMAC-SHA256 of method + URL + body + `X-HubSpot-Request-Timestamp` (ms, 300 s)',
  create(secret) {
    const key = Buffer.from(secret, 'utf8');
    return {
      verify(request) {
        const signature = header(request.headers, 'x-hubspot-signature-v3');
        if (!nonEmpty(signature)) return refuse('missing_signature');
        const timestamp = header(request.headers, 'x-hubspot-request-timestamp');
        const stale = checkTimestamp(parseUnixTimestamp(timestamp, 'ms'), request.nowMs, HUBSPOT_TOLERANCE_SECONDS);
        if (stale !== null) return stale;
        const urls = urlPortVariants(request.url);
        // Both forms are tried: as received, and with HubSpot's listed escapes decoded.
        for (const url of [...urls]) {
          const decoded = url.replace(HUBSPOT_ESCAPES, (e) => HUBSPOT_DECODED[e.toUpperCase()]!);
          if (decoded !== url) urls.push(decoded);
        }
        const expected = urls.map((url) => hmac('sha256', key, request.method, url, request.body, timestamp!));
        return matchAny(expected, [signature], 'base64');
      },
    };
  },
};

// ---------- Contentful ----------

// `x-contentful-signature`: hex HMAC-SHA256 of a canonical request, as @contentful/node-apps-toolkit
// builds it: method \n normalised path?query \n signed headers (name:value sorted, ';'-joined) \n body.
// `x-contentful-timestamp` (ms, signed) must be within 30 s (the toolkit's default TTL).
const CONTENTFUL_TOLERANCE_SECONDS = 30;
const CONTENTFUL_SIGNED_HEADERS = 'x-contentful-signed-headers';
const CONTENTFUL_TIMESTAMP = 'x-contentful-timestamp';

/** The toolkit's path normalisation: querystring.escape the query, then encodeURI the whole. */
function contentfulPath(rawPath: string, query: string): string | null {
  const search = query.split('?')[0]!; // the toolkit splits the whole URI on '?' and keeps two parts
  try {
    return encodeURI(search !== '' ? `${rawPath}?${querystringEscape(search)}` : rawPath);
  } catch {
    return null; // a lone surrogate: cannot be what Contentful signed
  }
}

function contentfulHeaders(request: WebhookRequest, signedList: string, timestamp: number): string {
  const wanted = new Set(signedList.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== ''));
  const picked = new Map<string, string>();
  for (let i = 0; i < request.headers.length; i += 2) {
    const name = request.headers[i]!.trim();
    if (!wanted.has(name)) continue;
    const value = request.headers[i + 1]!.trim();
    const prior = picked.get(name);
    picked.set(name, prior === undefined ? value : `${prior}, ${value}`); // Node joins repeats like this
  }
  // The toolkit re-derives these two from the headers it actually kept.
  picked.delete(CONTENTFUL_SIGNED_HEADERS);
  picked.delete(CONTENTFUL_TIMESTAMP);
  const names = [...picked.keys(), CONTENTFUL_SIGNED_HEADERS, CONTENTFUL_TIMESTAMP].sort();
  picked.set(CONTENTFUL_SIGNED_HEADERS, names.join(','));
  picked.set(CONTENTFUL_TIMESTAMP, String(timestamp));
  return names.map((n) => `${n}:${picked.get(n)!}`).join(';');
}

const contentful: ProviderDefinition = {
  id: 'contentful',
  name: 'Contentful',
  confirmed: true,
  secret: 'required',
  toleranceSeconds: CONTENTFUL_TOLERANCE_SECONDS,
  checkSecret(secret) {
    return /^[0-9a-zA-Z+/=_-]{64}$/.test(secret) ? null : "Contentful's webhook signing secret is exactly 64 characters of [0-9a-zA-Z+/=_-]";
  },
  describe: '`x-contentful-signature` hex HMAC-SHA256 of method, path?query, `x-contentful-signed-headers` and body; `x-contentful-timestamp` (ms, 30 s)',
  create(secret) {
    const key = Buffer.from(secret, 'utf8');
    return {
      verify(request) {
        const signature = header(request.headers, 'x-contentful-signature');
        if (!nonEmpty(signature)) return refuse('missing_signature');
        const timestampText = header(request.headers, CONTENTFUL_TIMESTAMP);
        const timestamp = parseUnixTimestamp(timestampText, 'ms');
        const stale = checkTimestamp(timestamp, request.nowMs, CONTENTFUL_TOLERANCE_SECONDS);
        if (stale !== null) return stale;
        const signedList = header(request.headers, CONTENTFUL_SIGNED_HEADERS);
        if (!nonEmpty(signedList)) return refuse('malformed_signature', 'x-contentful-signed-headers is missing');
        const path = contentfulPath(request.rawPath, request.query);
        if (path === null) return refuse('malformed_request', 'the path cannot be URI-encoded');
        const expected = hmac('sha256', key, request.method, '\n', path, '\n', contentfulHeaders(request, signedList, timestamp), '\n', request.body);
        return matchAny(expected, [signature], 'hex');
      },
    };
  },
};

// ---------- Mailchimp (Transactional / Mandrill) ----------

// NOT CONFIRMED which scheme ngrok means: its guide sets up Mailchimp Marketing webhooks, which are
// unsigned; the only signed Mailchimp webhooks are Transactional (Mandrill) ones, implemented here:
// `X-Mandrill-Signature` = base64 HMAC-SHA1 of the webhook URL + POST params sorted by name (name+value).
const mailchimp: ProviderDefinition = {
  id: 'mailchimp',
  name: 'Mailchimp (Transactional)',
  confirmed: false,
  secret: 'required',
  toleranceSeconds: null,
  describe: '`X-Mandrill-Signature` base64 HMAC-SHA1 of the URL + sorted POST params (Transactional scheme; unconfirmed)',
  create(secret) {
    const key = Buffer.from(secret, 'utf8');
    return {
      verify(request) {
        const signature = header(request.headers, 'x-mandrill-signature');
        if (!nonEmpty(signature)) return refuse('missing_signature');
        const form = formParamsOrRefusal(request);
        if (!Array.isArray(form)) return form;
        const params = form.map(([name, values]) => values.map((v) => name + v).join('')).join('');
        const expected = urlPortVariants(request.url).map((url) => hmac('sha1', key, url, params));
        return matchAny(expected, [signature], 'base64');
      },
    };
  },
};

// ---------- Mailgun ----------

// No header: the body carries `signature: {timestamp, token, signature}` (JSON webhooks) or top-level
// `timestamp`, `token`, `signature` form fields (legacy). signature = hex HMAC-SHA256 of
// timestamp + token with the webhook signing key. Mailgun does NOT sign the rest of the body
// (event-data): the check proves the request came from Mailgun recently, not that its event is intact.
// Freshness: ngrok's 180 s default (Mailgun names no window).
interface MailgunFields { timestamp?: string; token?: string; signature?: string }

function fieldText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
}

function mailgunFields(request: WebhookRequest): MailgunFields | Verdict {
  const text = utf8.decode(request.body);
  if (isFormEncoded(request)) {
    const form = new URLSearchParams(text);
    return { timestamp: form.get('timestamp') ?? undefined, token: form.get('token') ?? undefined, signature: form.get('signature') ?? undefined };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return refuse('malformed_request', 'body is neither JSON nor form-encoded (Mailgun signs fields inside the body)');
  }
  const block = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['signature'] : undefined;
  if (typeof block !== 'object' || block === null) return {};
  const fields = block as Record<string, unknown>;
  return { timestamp: fieldText(fields['timestamp']), token: fieldText(fields['token']), signature: fieldText(fields['signature']) };
}

const mailgun: ProviderDefinition = {
  id: 'mailgun',
  name: 'Mailgun',
  confirmed: true,
  secret: 'required',
  toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
  describe: 'body fields `signature.{timestamp,token,signature}` (or form fields): hex HMAC-SHA256 of timestamp + token (body itself unsigned)',
  create(secret) {
    const key = Buffer.from(secret, 'utf8');
    return {
      verify(request) {
        const fields = mailgunFields(request);
        if ('ok' in fields) return fields;
        if (!nonEmpty(fields.signature)) return refuse('missing_signature');
        if (!nonEmpty(fields.token)) return refuse('malformed_signature', 'the token field is missing');
        const stale = checkTimestamp(parseUnixTimestamp(fields.timestamp), request.nowMs, DEFAULT_TOLERANCE_SECONDS);
        if (stale !== null) return stale;
        return matchAny(hmac('sha256', key, fields.timestamp!, fields.token), [fields.signature], 'hex');
      },
    };
  },
};

// ---------- GraphCMS / Hygraph ----------

// `gcms-signature: sign=<base64>, env=<environment>, t=<unix ms>`: HMAC-SHA256 of
// JSON.stringify({Body: <raw body>, EnvironmentName: env, TimeStamp: t}) with & < > written as Go's
// encoding/json writes them (\u0026 …). Hygraph's JS helpers have differed here (1.2.1: no escaping;
// later: escapes with an extra backslash), so when the payload holds & < > those forms are tried too.
// The timestamp is signed; no window is named, so ngrok's 180 s default applies.
const HTML_CHARS = /[&<>]/g;
const GO_ESCAPES: Record<string, string> = { '&': '\\u0026', '<': '\\u003c', '>': '\\u003e' };

const graphcms: ProviderDefinition = {
  id: 'graphcms',
  name: 'GraphCMS (Hygraph)',
  confirmed: true,
  secret: 'required',
  toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
  describe: '`gcms-signature: sign=<base64>, env=…, t=<ms>` HMAC-SHA256 of JSON {Body, EnvironmentName, TimeStamp}',
  create(secret) {
    const key = Buffer.from(secret, 'utf8');
    return {
      verify(request) {
        const value = header(request.headers, 'gcms-signature');
        if (!nonEmpty(value)) return refuse('missing_signature');
        const fields = parseKeyValues(value);
        const sign = fields.get('sign')?.[0];
        const env = fields.get('env')?.[0];
        if (sign === undefined || env === undefined) return refuse('malformed_signature', 'expected sign=…, env=…, t=…');
        const timestamp = parseUnixTimestamp(fields.get('t')?.[0], 'ms');
        const stale = checkTimestamp(timestamp, request.nowMs, DEFAULT_TOLERANCE_SECONDS);
        if (stale !== null) return stale;
        const payload = JSON.stringify({ Body: utf8.decode(request.body), EnvironmentName: env, TimeStamp: timestamp });
        const payloads = [payload.replace(HTML_CHARS, (c) => GO_ESCAPES[c]!)];
        if (payloads[0] !== payload) payloads.push(payload, payload.replace(HTML_CHARS, (c) => '\\' + GO_ESCAPES[c]!));
        return matchAny(payloads.map((p) => hmac('sha256', key, p)), [sign], 'base64');
      },
    };
  },
};

// ---------- plain tokens ----------

/** A header that must carry the configured secret itself (compared in constant time). */
function plainToken(headerName: string) {
  return (secret: string) => {
    const expected = tokenDigest(secret);
    return {
      verify(request: WebhookRequest): Verdict {
        const token = header(request.headers, headerName);
        if (token === undefined || token === '') return refuse('missing_signature');
        return digestsEqual(tokenDigest(token), expected) ? ALLOW : refuse('signature_mismatch');
      },
    };
  };
}

// `X-Gitlab-Token` carries the webhook's secret token itself (GitLab's optional Standard-Webhooks
// signing token, behind a 2026 feature flag, is not checked).
const gitlab: ProviderDefinition = {
  id: 'gitlab',
  name: 'GitLab',
  confirmed: true,
  secret: 'required',
  toleranceSeconds: null,
  describe: '`X-Gitlab-Token` equals the secret token (plain compare, body unsigned)',
  create: plainToken('x-gitlab-token'),
};

// NOT CONFIRMED: Orbit has shut down and its docs could not be read; only RedwoodJS's docs describe
// `X-Orbit-Signature` as carrying the configured secret itself. An HMAC scheme cannot be ruled out.
const orbit: ProviderDefinition = {
  id: 'orbit',
  name: 'Orbit',
  confirmed: false,
  secret: 'required',
  toleranceSeconds: null,
  describe: '`X-Orbit-Signature` equals the webhook secret (plain compare; unconfirmed)',
  create: plainToken('x-orbit-signature'),
};

// ---------- VMware Workspace ONE (HTTP Basic) ----------

// NOT CONFIRMED from VMware/Omnissa docs: event notifications carry only the Username/Password set on
// the notification, sent as HTTP Basic credentials; ngrok's guide takes the secret as
// 'username::password'. That form is read first; 'username:password' is accepted too (a Basic user
// name cannot contain ':', so the first ':' splits it unambiguously).
function vmwareCredentials(secret: string): { user: string; password: string } | null {
  const double = secret.indexOf('::');
  const at = double >= 0 ? double : secret.indexOf(':');
  if (at <= 0) return null;
  return { user: secret.slice(0, at), password: secret.slice(at + (double >= 0 ? 2 : 1)) };
}

const vmware: ProviderDefinition = {
  id: 'vmware',
  aliases: ['vmware_workspace'],
  name: 'VMware Workspace ONE UEM',
  confirmed: false,
  secret: 'required',
  toleranceSeconds: null,
  checkSecret(secret) {
    const creds = vmwareCredentials(secret);
    if (creds === null) return "the VMware secret must be 'username::password'";
    return creds.user.includes(':') ? 'the VMware user name cannot contain \':\' (HTTP Basic)' : null;
  },
  describe: '`Authorization: Basic` credentials equal the secret `username::password` (unconfirmed)',
  create(secret) {
    const creds = vmwareCredentials(secret);
    // checkSecret refuses such a secret at config time; this keeps a bad one from ever matching
    const expected = creds === null ? null : tokenDigest(`${creds.user}:${creds.password}`);
    return {
      verify(request) {
        const value = header(request.headers, 'authorization');
        if (!nonEmpty(value)) return refuse('missing_signature');
        const m = /^\s*basic\s+(\S+)\s*$/i.exec(value);
        const decoded = m === null ? null : decode(m[1]!, 'base64');
        if (decoded === null) return refuse('malformed_signature', 'expected Authorization: Basic <base64>');
        if (expected === null) return refuse('signature_mismatch');
        return digestsEqual(tokenDigest(decoded), expected) ? ALLOW : refuse('signature_mismatch');
      },
    };
  },
};

export const URL_AND_TOKEN_PROVIDERS: ProviderDefinition[] = [
  twilio, plivo, square, hubspot, contentful, mailchimp, mailgun, graphcms, gitlab, orbit, vmware,
];
