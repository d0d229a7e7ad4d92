// Providers that sign a timestamp with the body, so a captured delivery can only be replayed inside a
// window. Every check reads the timestamp first (cheap refusal of replays), then computes one HMAC.
// Facts are copied from the provider research (webhook-providers.md); tolerances are the provider's
// recommendation where it gives one, else DEFAULT_TOLERANCE_SECONDS like ngrok.
import type { ChallengeAnswer, ProviderDefinition, ProviderVerifier, Verdict, WebhookRequest } from '../types.js';
import { refuse } from '../types.js';
import {
  DEFAULT_TOLERANCE_SECONDS,
  checkTimestamp,
  decode,
  header,
  headerValues,
  hmac,
  matchAny,
  parseKeyValues,
  parseUnixTimestamp,
  stripPrefix,
} from '../crypto.js';

// ---------------------------------------------------------------------------------------------
// Timestamp forms

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** ms epoch of an RFC 3339 / ISO-8601 date-time with an explicit offset; NaN otherwise. */
export function parseRfc3339(text: string | undefined): number {
  if (text === undefined || !RFC3339.test(text.trim())) return NaN;
  return Date.parse(text.trim().toUpperCase());
}

/** Unix seconds, or Unix ms when the value has 13+ digits (for providers whose unit is not documented). */
function parseUnixSecondsOrMs(text: string | undefined): number {
  const t = text?.trim();
  return t !== undefined && /^\d{13,16}$/.test(t) ? parseUnixTimestamp(t, 'ms') : parseUnixTimestamp(t, 's');
}

/** The timestamp verdict, or null when inside the window. */
function timestampVerdict(request: WebhookRequest, text: string | undefined, parse: (t: string | undefined) => number, tolerance: number): Verdict | null {
  if (text === undefined || text.trim() === '') return refuse('missing_timestamp');
  return checkTimestamp(parse(text), request.nowMs, tolerance);
}

// ---------------------------------------------------------------------------------------------
// Constructions shared by several providers

interface PrefixedHeaderScheme {
  signatureHeader: string;
  timestampHeader: string;
  /** Version tag: the header is `<version>=<hex>` and the signed bytes `<version>:{timestamp}:{body}`. */
  version: string;
  tolerance: number;
  parseTimestamp?: (text: string | undefined) => number;
}

/** Slack-style: `X-…-Signature: v0=<hex>` over `v0:{timestamp}:{body}` (Slack, Zoom, Frame.io, Pinwheel). */
function prefixedHeaderVerifier(secret: string, scheme: PrefixedHeaderScheme): { verify(request: WebhookRequest): Verdict } {
  const key = Buffer.from(secret, 'utf8');
  const prefix = `${scheme.version}=`;
  const parse = scheme.parseTimestamp ?? ((t: string | undefined) => parseUnixTimestamp(t));
  return {
    verify(request) {
      const values = headerValues(request.headers, scheme.signatureHeader).filter((v) => v.trim() !== '');
      if (values.length === 0) return refuse('missing_signature');
      const timestamp = header(request.headers, scheme.timestampHeader);
      const stale = timestampVerdict(request, timestamp, parse, scheme.tolerance);
      if (stale !== null) return stale;
      const candidates = values.map((v) => stripPrefix(v.trim(), prefix)).filter((v): v is string => v !== null);
      if (candidates.length === 0) return refuse('malformed_signature', `expected '${prefix}<hex>'`);
      const expected = hmac('sha256', key, `${scheme.version}:${timestamp!}:`, request.body);
      return matchAny(expected, candidates, 'hex');
    },
  };
}

interface KeyValueHeaderScheme {
  signatureHeader: string;
  /** Key of the timestamp entry (`t`, `timestamp`). */
  timestampKey: string;
  /** Key of the signature entries (`v1`, `s`, `signature`); several entries = rotation, any may match. */
  signatureKey: string;
  tolerance: number;
}

/** Stripe-style: `t=<unix>,v1=<hex>[,v1=<hex>…]` over `{timestamp}.{body}` (Stripe, Mux, Calendly, Go1, TikTok, Buildkite). */
function keyValueHeaderVerifier(secret: string, scheme: KeyValueHeaderScheme): ProviderVerifier {
  const key = Buffer.from(secret, 'utf8');
  return {
    verify(request) {
      const value = header(request.headers, scheme.signatureHeader);
      if (value === undefined || value.trim() === '') return refuse('missing_signature');
      const fields = parseKeyValues(value);
      const timestamps = fields.get(scheme.timestampKey);
      // two timestamps: which one was signed is ambiguous, so neither is trusted
      if (timestamps !== undefined && timestamps.length > 1) return refuse('malformed_signature', `'${scheme.timestampKey}' appears more than once`);
      const timestamp = timestamps?.[0];
      const stale = timestampVerdict(request, timestamp, (t) => parseUnixTimestamp(t), scheme.tolerance);
      if (stale !== null) return stale;
      const candidates = fields.get(scheme.signatureKey) ?? [];
      if (candidates.length === 0) return refuse('malformed_signature', `no '${scheme.signatureKey}' entry in ${scheme.signatureHeader}`);
      const expected = hmac('sha256', key, `${timestamp!}.`, request.body);
      return matchAny(expected, candidates, 'hex');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Providers with a construction of their own

/** Airship: `X-UA-Signature: <hex>` over `{timestamp}:{body}`, timestamp in `X-UA-Timestamp`. */
function airshipVerifier(secret: string): ProviderVerifier {
  const key = Buffer.from(secret, 'utf8');
  return {
    verify(request) {
      const signature = header(request.headers, 'x-ua-signature');
      if (signature === undefined || signature.trim() === '') return refuse('missing_signature');
      const timestamp = header(request.headers, 'x-ua-timestamp');
      const stale = timestampVerdict(request, timestamp, (t) => parseUnixTimestamp(t), DEFAULT_TOLERANCE_SECONDS);
      if (stale !== null) return stale;
      return matchAny(hmac('sha256', key, `${timestamp!}:`, request.body), [signature], 'hex');
    },
  };
}

const BOX_TOLERANCE_SECONDS = 600;

/**
 * Box: base64 HMAC of the body followed by the RFC 3339 delivery timestamp. Box sends two signatures,
 * one per signature key (primary, secondary), so that keys can be rotated: the configured key may be
 * either, so either header may match.
 */
function boxVerifier(secret: string): ProviderVerifier {
  const key = Buffer.from(secret, 'utf8');
  return {
    verify(request) {
      const candidates = [header(request.headers, 'box-signature-primary'), header(request.headers, 'box-signature-secondary')]
        .filter((v): v is string => v !== undefined && v.trim() !== '');
      if (candidates.length === 0) return refuse('missing_signature');
      // version 1 / HmacSHA256 is the only scheme Box defines; another value is a scheme we cannot check
      const version = header(request.headers, 'box-signature-version');
      const algorithm = header(request.headers, 'box-signature-algorithm');
      if ((version !== undefined && version.trim() !== '1') || (algorithm !== undefined && algorithm.trim() !== 'HmacSHA256')) {
        return refuse('malformed_signature', 'unsupported BOX-SIGNATURE-VERSION or BOX-SIGNATURE-ALGORITHM');
      }
      const timestamp = header(request.headers, 'box-delivery-timestamp');
      const stale = timestampVerdict(request, timestamp, parseRfc3339, BOX_TOLERANCE_SECONDS);
      if (stale !== null) return stale;
      return matchAny(hmac('sha256', key, request.body, timestamp!), candidates, 'base64');
    },
  };
}

/** Brex's secret: base64, optionally with the Standard Webhooks `whsec_` prefix. */
function brexKey(secret: string): Buffer | null {
  const trimmed = secret.trim();
  return decode(stripPrefix(trimmed, 'whsec_') ?? trimmed, 'base64');
}

/**
 * Brex uses the Svix / Standard Webhooks construction: base64 HMAC of `{id}.{timestamp}.{body}` with the
 * base64-decoded secret; `Webhook-Signature` is a space-separated list of `v1,<base64>` entries.
 */
function brexVerifier(secret: string): ProviderVerifier {
  const key = brexKey(secret);
  if (key === null) throw new Error('brex: the secret must be base64 (optionally prefixed whsec_)');
  return {
    verify(request) {
      const value = header(request.headers, 'webhook-signature');
      if (value === undefined || value.trim() === '') return refuse('missing_signature');
      const id = header(request.headers, 'webhook-id');
      if (id === undefined || id.trim() === '') return refuse('malformed_signature', 'Webhook-Id header absent');
      const timestamp = header(request.headers, 'webhook-timestamp');
      const stale = timestampVerdict(request, timestamp, (t) => parseUnixTimestamp(t), DEFAULT_TOLERANCE_SECONDS);
      if (stale !== null) return stale;
      const candidates: string[] = [];
      for (const entry of value.trim().split(/\s+/)) {
        const signature = stripPrefix(entry, 'v1,');
        if (signature !== null) candidates.push(signature);
      }
      if (candidates.length === 0) return refuse('malformed_signature', "no 'v1,<base64>' entry in Webhook-Signature");
      return matchAny(hmac('sha256', key, `${id}.${timestamp!}.`, request.body), candidates, 'base64');
    },
  };
}

/** Zendesk: base64 HMAC of the ISO-8601 timestamp followed by the body. */
function zendeskVerifier(secret: string): ProviderVerifier {
  const key = Buffer.from(secret, 'utf8');
  return {
    verify(request) {
      const signature = header(request.headers, 'x-zendesk-webhook-signature');
      if (signature === undefined || signature.trim() === '') return refuse('missing_signature');
      const timestamp = header(request.headers, 'x-zendesk-webhook-signature-timestamp');
      const stale = timestampVerdict(request, timestamp, parseRfc3339, DEFAULT_TOLERANCE_SECONDS);
      if (stale !== null) return stale;
      return matchAny(hmac('sha256', key, timestamp!, request.body), [signature], 'base64');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Zoom: deliveries are Slack-style; the endpoint.url_validation handshake is answered at the edge.

const ZOOM_VALIDATION_EVENT = Buffer.from('endpoint.url_validation');

/**
 * Zoom's endpoint.url_validation carries `payload.plainToken`; the answer is that token and
 * hex(HMAC-SHA256(secret, plainToken)). Zoom signs the validation request like any delivery, so the
 * edge answers only when the signature verifies: an unsigned one gets null and is refused by the
 * module (otherwise anyone could use the edge as an HMAC oracle for the secret).
 */
function zoomVerifier(secret: string): ProviderVerifier {
  const deliveries = prefixedHeaderVerifier(secret, {
    signatureHeader: 'x-zm-signature',
    timestampHeader: 'x-zm-request-timestamp',
    version: 'v0',
    tolerance: DEFAULT_TOLERANCE_SECONDS,
  });
  const key = Buffer.from(secret, 'utf8');
  return {
    verify: deliveries.verify,
    challenge(request): ChallengeAnswer | null {
      // cheap filter first: ordinary deliveries never parse JSON here
      if (request.method !== 'POST' || Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength).indexOf(ZOOM_VALIDATION_EVENT) < 0) return null;
      const plainToken = zoomPlainToken(request.body);
      if (plainToken === null) return null;
      if (!deliveries.verify(request).ok) return null;
      const encryptedToken = hmac('sha256', key, plainToken).toString('hex');
      return { status: 200, contentType: 'application/json', body: JSON.stringify({ plainToken, encryptedToken }) };
    },
  };
}

/** The plainToken of an endpoint.url_validation body, or null when the body is not one. */
function zoomPlainToken(body: Uint8Array): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { event, payload } = parsed as { event?: unknown; payload?: unknown };
  if (event !== 'endpoint.url_validation' || typeof payload !== 'object' || payload === null) return null;
  const token = (payload as { plainToken?: unknown }).plainToken;
  return typeof token === 'string' && token !== '' ? token : null;
}

// ---------------------------------------------------------------------------------------------

function keyValue(signatureHeader: string, timestampKey: string, signatureKey: string, tolerance: number) {
  return (secret: string): ProviderVerifier => keyValueHeaderVerifier(secret, { signatureHeader, timestampKey, signatureKey, tolerance });
}

export const TIMESTAMPED_PROVIDERS: ProviderDefinition[] = [
  {
    id: 'airship',
    name: 'Airship',
    confirmed: true,
    secret: 'required',
    toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
    describe: '`X-UA-Signature: <hex>` HMAC-SHA256 of `{X-UA-Timestamp}:{body}` (Unix seconds)',
    create: airshipVerifier,
  },
  {
    id: 'box',
    name: 'Box',
    confirmed: true,
    secret: 'required',
    toleranceSeconds: BOX_TOLERANCE_SECONDS,
    describe: '`BOX-SIGNATURE-PRIMARY` / `-SECONDARY: <base64>` HMAC-SHA256 of `{body}{BOX-DELIVERY-TIMESTAMP}` (RFC 3339)',
    create: boxVerifier,
  },
  {
    id: 'brex',
    name: 'Brex',
    confirmed: true,
    secret: 'required',
    checkSecret: (secret) => (brexKey(secret) === null ? 'brex: the secret must be the base64 signing secret (optionally prefixed whsec_)' : null),
    toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
    describe: '`Webhook-Signature: v1,<base64> …` HMAC-SHA256 (base64 key) of `{Webhook-Id}.{Webhook-Timestamp}.{body}`',
    create: brexVerifier,
  },
  {
    id: 'buildkite',
    name: 'Buildkite',
    confirmed: true,
    secret: 'required',
    toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
    describe: '`X-Buildkite-Signature: timestamp=<unix>,signature=<hex>` HMAC-SHA256 of `{timestamp}.{body}`',
    create: keyValue('x-buildkite-signature', 'timestamp', 'signature', DEFAULT_TOLERANCE_SECONDS),
  },
  {
    id: 'calendly',
    name: 'Calendly',
    confirmed: true,
    secret: 'required',
    toleranceSeconds: 180,
    describe: '`Calendly-Webhook-Signature: t=<unix>,v1=<hex>` HMAC-SHA256 of `{t}.{body}`',
    create: keyValue('calendly-webhook-signature', 't', 'v1', 180),
  },
  {
    id: 'frameio',
    name: 'Frame.io',
    confirmed: true,
    secret: 'required',
    toleranceSeconds: 300,
    describe: '`X-Frameio-Signature: v0=<hex>` HMAC-SHA256 of `v0:{X-Frameio-Request-Timestamp}:{body}`',
    create: (secret) => prefixedHeaderVerifier(secret, { signatureHeader: 'x-frameio-signature', timestampHeader: 'x-frameio-request-timestamp', version: 'v0', tolerance: 300 }),
  },
  {
    id: 'go1',
    name: 'Go1',
    confirmed: true,
    secret: 'required',
    toleranceSeconds: 60,
    describe: '`Go1-Signature: t=<unix>,v1=<hex>` HMAC-SHA256 of `{t}.{body}`',
    create: keyValue('go1-signature', 't', 'v1', 60),
  },
  {
    id: 'mux',
    name: 'Mux',
    confirmed: true,
    secret: 'required',
    toleranceSeconds: 300,
    describe: '`Mux-Signature: t=<unix>,v1=<hex>` HMAC-SHA256 of `{t}.{body}`',
    create: keyValue('mux-signature', 't', 'v1', 300),
  },
  {
    id: 'pinwheel',
    name: 'Pinwheel',
    confirmed: true,
    secret: 'required',
    toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
    describe: '`X-Pinwheel-Signature: v2=<hex>` HMAC-SHA256 of `v2:{X-Timestamp}:{body}`',
    // the timestamp's unit is not documented in the sources read: seconds, or ms when 13+ digits
    create: (secret) => prefixedHeaderVerifier(secret, { signatureHeader: 'x-pinwheel-signature', timestampHeader: 'x-timestamp', version: 'v2', tolerance: DEFAULT_TOLERANCE_SECONDS, parseTimestamp: parseUnixSecondsOrMs }),
  },
  {
    id: 'slack',
    name: 'Slack',
    confirmed: true,
    secret: 'required',
    toleranceSeconds: 300,
    describe: '`X-Slack-Signature: v0=<hex>` HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{body}`',
    create: (secret) => prefixedHeaderVerifier(secret, { signatureHeader: 'x-slack-signature', timestampHeader: 'x-slack-request-timestamp', version: 'v0', tolerance: 300 }),
  },
  {
    id: 'stripe',
    name: 'Stripe',
    confirmed: true,
    secret: 'required',
    toleranceSeconds: 300,
    describe: '`Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]` HMAC-SHA256 (the whole `whsec_…` secret) of `{t}.{body}`',
    create: keyValue('stripe-signature', 't', 'v1', 300),
  },
  {
    id: 'tiktok',
    name: 'TikTok',
    confirmed: true,
    secret: 'required',
    toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
    describe: '`TikTok-Signature: t=<unix>,s=<hex>` HMAC-SHA256 of `{t}.{body}`',
    create: keyValue('tiktok-signature', 't', 's', DEFAULT_TOLERANCE_SECONDS),
  },
  {
    id: 'zendesk',
    name: 'Zendesk',
    confirmed: true,
    secret: 'required',
    toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
    describe: '`X-Zendesk-Webhook-Signature: <base64>` HMAC-SHA256 of `{X-Zendesk-Webhook-Signature-Timestamp}{body}` (ISO 8601)',
    create: zendeskVerifier,
  },
  {
    id: 'zoom',
    name: 'Zoom',
    confirmed: true,
    secret: 'required',
    toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
    describe: '`x-zm-signature: v0=<hex>` HMAC-SHA256 of `v0:{x-zm-request-timestamp}:{body}`; answers endpoint.url_validation',
    create: zoomVerifier,
  },
];
