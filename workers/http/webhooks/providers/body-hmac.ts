// Providers whose signature is an HMAC of the raw body alone (no timestamp, so no replay window).
// Each provider is a row of facts (where the signature is, digest, encoding, prefix, secret form);
// one factory turns a row into a verifier. Facts: shared/spec/webhook-providers.md, copied here.
import type { ChallengeAnswer, ProviderDefinition, ProviderVerifier, Verdict, WebhookRequest } from '../types.js';
import { refuse } from '../types.js';
import { decode, hmac, matchAny, stripPrefix, type DigestEncoding, type HmacAlgorithm } from '../crypto.js';

/** One place a signature may be sent. */
interface SignatureSource {
  /** Lower-case header name, or a pattern for numbered headers (DocuSign's X-DocuSign-Signature-N). */
  readonly header: string | RegExp;
  /** Fixed text before the digest (case-insensitive); a value without it is malformed unless `prefixOptional`. */
  readonly prefix?: string;
  readonly prefixOptional?: boolean;
  /**
   * The value is a comma-separated list of `key=digest` entries (PagerDuty, CircleCI); entries with this
   * key are candidates, other keys (future versions) are ignored.
   */
  readonly entryKey?: string;
}

interface BodyHmacScheme {
  readonly id: string;
  readonly aliases?: readonly string[];
  readonly name: string;
  readonly algorithm: HmacAlgorithm;
  readonly encoding: DigestEncoding;
  /** Every value of every matching header is a candidate; any match passes (rotation). */
  readonly sources: readonly SignatureSource[];
  /** 'base64': the configured secret is base64 and its decoded bytes are the key (Microsoft Teams). */
  readonly secretEncoding?: 'utf8' | 'base64';
  readonly describe: string;
  /** Endpoint-verification handshake the edge answers itself (Xero). */
  readonly challenge?: (request: WebhookRequest, verify: (request: WebhookRequest) => Verdict) => ChallengeAnswer | null;
}

/** A value that was present but yielded no candidate: distinguishes malformed from missing. */
const MALFORMED = Symbol('malformed');

function candidatesOf(source: SignatureSource, value: string): string[] | typeof MALFORMED {
  if (source.entryKey !== undefined) {
    const marker = `${source.entryKey}=`;
    const out: string[] = [];
    for (const entry of value.split(',')) {
      const digest = stripPrefix(entry.trim(), marker);
      if (digest !== null) out.push(digest);
    }
    return out.length > 0 ? out : MALFORMED;
  }
  if (source.prefix === undefined) return [value];
  const digest = stripPrefix(value, source.prefix);
  if (digest !== null) return [digest];
  return source.prefixOptional === true ? [value] : MALFORMED;
}

function sourceFor(sources: readonly SignatureSource[], name: string): SignatureSource | undefined {
  for (const s of sources) if (typeof s.header === 'string' ? s.header === name : s.header.test(name)) return s;
  return undefined;
}

function secretKey(scheme: BodyHmacScheme, secret: string): Buffer {
  if (scheme.secretEncoding !== 'base64') return Buffer.from(secret, 'utf8');
  const key = decode(secret, 'base64');
  // checkSecret refuses this at config time; this guards direct use of create()
  if (key === null) throw new Error(`${scheme.name}: the secret must be base64`);
  return key;
}

function createVerifier(scheme: BodyHmacScheme, secret: string): ProviderVerifier {
  const key = secretKey(scheme, secret);
  const verify = (request: WebhookRequest): Verdict => {
    const candidates: string[] = [];
    let malformed = false;
    const headers = request.headers;
    for (let i = 0; i < headers.length; i += 2) {
      const source = sourceFor(scheme.sources, headers[i]!);
      if (source === undefined) continue;
      const value = headers[i + 1]!.trim();
      if (value === '') continue;
      const found = candidatesOf(source, value);
      if (found === MALFORMED) malformed = true;
      else candidates.push(...found);
    }
    if (candidates.length === 0) return malformed ? refuse('malformed_signature') : refuse('missing_signature');
    return matchAny(hmac(scheme.algorithm, key, request.body), candidates, scheme.encoding);
  };
  const challenge = scheme.challenge;
  return challenge === undefined ? { verify } : { verify, challenge: (request) => challenge(request, verify) };
}

function secretCheck(scheme: BodyHmacScheme): ((secret: string) => string | null) | undefined {
  if (scheme.secretEncoding !== 'base64') return undefined;
  return (secret) => (decode(secret, 'base64') === null ? `${scheme.name} secrets are base64 (the security token Teams shows); this one is not` : null);
}

function define(scheme: BodyHmacScheme): ProviderDefinition {
  const checkSecret = secretCheck(scheme);
  return {
    id: scheme.id,
    ...(scheme.aliases !== undefined ? { aliases: scheme.aliases } : {}),
    name: scheme.name,
    confirmed: true,
    secret: 'required',
    ...(checkSecret !== undefined ? { checkSecret } : {}),
    toleranceSeconds: null,
    describe: scheme.describe,
    create: (secret) => createVerifier(scheme, secret),
  };
}

/** Intent-to-receive payloads are ~150 bytes; bigger bodies are deliveries and are not parsed here. */
const XERO_INTENT_MAX_BYTES = 4096;

/**
 * Xero's "Intent to Receive": on enabling a webhook Xero POSTs payloads with an empty `events` array,
 * some deliberately mis-signed, and expects 200 (empty body) for the correctly signed ones and 401 for
 * the rest. ngrok answers these itself, so the upstream never sees them.
 */
function xeroIntentToReceive(request: WebhookRequest, verify: (request: WebhookRequest) => Verdict): ChallengeAnswer | null {
  if (request.method !== 'POST' || request.body.length > XERO_INTENT_MAX_BYTES) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength).toString('utf8'));
  } catch {
    return null;
  }
  if (typeof payload !== 'object' || payload === null) return null;
  const events = (payload as { events?: unknown }).events;
  if (!Array.isArray(events) || events.length !== 0) return null;
  return { status: verify(request).ok ? 200 : 401, contentType: '', body: '' };
}

const sha256Hex = (header: string, prefix?: string): Pick<BodyHmacScheme, 'algorithm' | 'encoding' | 'sources'> => ({
  algorithm: 'sha256',
  encoding: 'hex',
  sources: [prefix === undefined ? { header } : { header, prefix }],
});

const SCHEMES: readonly BodyHmacScheme[] = [
  {
    id: 'aftership', name: 'AfterShip', algorithm: 'sha256', encoding: 'base64',
    // Tracking, Returns/Warranty, Shipping (and old Returns orgs, which prefix `hmac-sha256=`) use different headers
    sources: [
      { header: 'aftership-hmac-sha256' },
      { header: 'as-signature-hmac-sha256' },
      { header: 'am-webhook-signature', prefix: 'hmac-sha256=', prefixOptional: true },
    ],
    describe: '`aftership-hmac-sha256` (or `as-signature-hmac-sha256`, `am-webhook-signature`): base64 HMAC-SHA256 of the body',
  },
  {
    id: 'autodesk_forge', aliases: ['autodesk'], name: 'Autodesk Platform Services (Forge)', algorithm: 'sha1', encoding: 'hex',
    sources: [{ header: 'x-adsk-signature', prefix: 'sha1hash=' }],
    describe: '`x-adsk-signature: sha1hash=<hex>` HMAC-SHA1 of the body (key: the registered secret token)',
  },
  {
    id: 'bitbucket', name: 'Bitbucket', ...sha256Hex('x-hub-signature', 'sha256='),
    describe: '`X-Hub-Signature: sha256=<hex>` HMAC-SHA256 of the body',
  },
  {
    id: 'bolt', name: 'Bolt', algorithm: 'sha256', encoding: 'base64', sources: [{ header: 'x-bolt-hmac-sha256' }],
    describe: '`X-Bolt-Hmac-Sha256: <base64>` HMAC-SHA256 of the body',
  },
  {
    id: 'castle', name: 'Castle', algorithm: 'sha256', encoding: 'base64', sources: [{ header: 'x-castle-signature' }],
    describe: '`X-Castle-Signature: <base64>` HMAC-SHA256 of the body (key: the API secret)',
  },
  {
    // the deprecated MD5 header X-Chargify-Webhook-Signature is not accepted
    id: 'chargify', name: 'Chargify (Maxio Advanced Billing)', ...sha256Hex('x-chargify-webhook-signature-hmac-sha-256'),
    describe: '`X-Chargify-Webhook-Signature-Hmac-Sha-256: <hex>` HMAC-SHA256 of the body (key: the site shared key)',
  },
  {
    id: 'circleci', name: 'CircleCI', algorithm: 'sha256', encoding: 'hex',
    sources: [{ header: 'circleci-signature', entryKey: 'v1' }],
    describe: '`circleci-signature: v1=<hex>[,…]` HMAC-SHA256 of the body',
  },
  {
    id: 'clearbit', name: 'Clearbit', algorithm: 'sha1', encoding: 'hex', sources: [{ header: 'x-request-signature', prefix: 'sha1=' }],
    describe: '`X-Request-Signature: sha1=<hex>` HMAC-SHA1 of the body (key: the secret API key)',
  },
  {
    // Coinbase Commerce's HMAC (ngrok's provider table); API v2's RSA notifications take no user secret
    id: 'coinbase', name: 'Coinbase Commerce', ...sha256Hex('x-cc-webhook-signature'),
    describe: '`X-CC-Webhook-Signature: <hex>` HMAC-SHA256 of the body (Coinbase Commerce shared secret)',
  },
  {
    id: 'docusign', name: 'DocuSign Connect', algorithm: 'sha256', encoding: 'base64',
    sources: [{ header: /^x-docusign-signature-\d{1,3}$/ }],
    describe: '`X-DocuSign-Signature-1..N: <base64>` HMAC-SHA256 of the body; any numbered header may match',
  },
  {
    id: 'dropbox', name: 'Dropbox', ...sha256Hex('x-dropbox-signature'),
    describe: '`X-Dropbox-Signature: <hex>` HMAC-SHA256 of the body (key: the app secret)',
  },
  {
    // Meta sends X-Hub-Signature-256 on every delivery; the legacy SHA-1 X-Hub-Signature is not accepted
    id: 'facebook_graph_api', aliases: ['instagram', 'whatsapp'], name: 'Facebook Graph API (Meta Webhooks)',
    ...sha256Hex('x-hub-signature-256', 'sha256='),
    describe: '`X-Hub-Signature-256: sha256=<hex>` HMAC-SHA256 of the body (key: the app secret)',
  },
  {
    id: 'facebook_messenger', name: 'Facebook Messenger', ...sha256Hex('x-hub-signature-256', 'sha256='),
    describe: '`X-Hub-Signature-256: sha256=<hex>` HMAC-SHA256 of the body (key: the app secret)',
  },
  {
    // GitHub sends X-Hub-Signature-256 on every delivery; the legacy SHA-1 X-Hub-Signature is not accepted
    id: 'github', name: 'GitHub', ...sha256Hex('x-hub-signature-256', 'sha256='),
    describe: '`X-Hub-Signature-256: sha256=<hex>` HMAC-SHA256 of the body',
  },
  {
    id: 'heroku', name: 'Heroku', algorithm: 'sha256', encoding: 'base64', sources: [{ header: 'heroku-webhook-hmac-sha256' }],
    describe: '`Heroku-Webhook-Hmac-SHA256: <base64>` HMAC-SHA256 of the body',
  },
  {
    id: 'intercom', name: 'Intercom', algorithm: 'sha1', encoding: 'hex', sources: [{ header: 'x-hub-signature', prefix: 'sha1=' }],
    describe: '`X-Hub-Signature: sha1=<hex>` HMAC-SHA1 of the body (key: the app client secret)',
  },
  {
    id: 'launch_darkly', name: 'LaunchDarkly', ...sha256Hex('x-ld-signature'),
    describe: '`X-LD-Signature: <hex>` HMAC-SHA256 of the body',
  },
  {
    id: 'microsoft_teams', name: 'Microsoft Teams (outgoing webhook)', algorithm: 'sha256', encoding: 'base64',
    sources: [{ header: 'authorization', prefix: 'HMAC ' }], secretEncoding: 'base64',
    describe: '`Authorization: HMAC <base64>` HMAC-SHA256 of the body (key: the base64-decoded security token)',
  },
  {
    id: 'modern_treasury', name: 'Modern Treasury', ...sha256Hex('x-signature'),
    describe: '`X-Signature: <hex>` HMAC-SHA256 of the body (key: the webhook key)',
  },
  {
    // Atlas alert webhooks (ngrok's current guide), not App Services' Endpoint-Signature
    id: 'mongodb', name: 'MongoDB Atlas', algorithm: 'sha1', encoding: 'base64', sources: [{ header: 'x-mms-signature' }],
    describe: '`X-MMS-Signature: <base64>` HMAC-SHA1 of the body',
  },
  {
    id: 'pagerduty', name: 'PagerDuty (V3 webhooks)', algorithm: 'sha256', encoding: 'hex',
    sources: [{ header: 'x-pagerduty-signature', entryKey: 'v1' }],
    describe: '`X-PagerDuty-Signature: v1=<hex>[,v1=<hex>…]` HMAC-SHA256 of the body; any entry may match',
  },
  {
    // Channels (ngrok's guide), not Beams; X-Pusher-Key names the app and is not checked
    id: 'pusher', name: 'Pusher Channels', ...sha256Hex('x-pusher-signature'),
    describe: '`X-Pusher-Signature: <hex>` HMAC-SHA256 of the body (key: the Channels app secret)',
  },
  {
    // Sentry-Hook-Timestamp is not signed, so it is not checked
    id: 'sentry', name: 'Sentry', ...sha256Hex('sentry-hook-signature'),
    describe: '`Sentry-Hook-Signature: <hex>` HMAC-SHA256 of the body (key: the client secret)',
  },
  {
    id: 'shopify', name: 'Shopify', algorithm: 'sha256', encoding: 'base64', sources: [{ header: 'x-shopify-hmac-sha256' }],
    describe: '`X-Shopify-Hmac-Sha256: <base64>` HMAC-SHA256 of the body (key: the app client secret)',
  },
  {
    id: 'signal_sciences', aliases: ['signalsciences'], name: 'Signal Sciences (Fastly Next-Gen WAF)', ...sha256Hex('x-sigsci-signature'),
    describe: '`X-SigSci-Signature: <hex>` HMAC-SHA256 of the body',
  },
  {
    id: 'sonatype', aliases: ['sonatype_nexus'], name: 'Sonatype Nexus Repository', algorithm: 'sha1', encoding: 'hex',
    sources: [{ header: 'x-nexus-webhook-signature' }],
    describe: '`X-Nexus-Webhook-Signature: <hex>` HMAC-SHA1 of the body',
  },
  {
    id: 'terraform', name: 'HCP Terraform / Terraform Enterprise', algorithm: 'sha512', encoding: 'hex',
    sources: [{ header: 'x-tfe-notification-signature' }],
    describe: '`X-TFE-Notification-Signature: <hex>` HMAC-SHA512 of the body (key: the notification token)',
  },
  {
    id: 'trendmicro_conformity', name: 'Trend Micro Cloud One Conformity', ...sha256Hex('x-conformity-signature'),
    describe: '`X-Conformity-Signature: <hex>` HMAC-SHA256 of the body',
  },
  {
    id: 'typeform', name: 'Typeform', algorithm: 'sha256', encoding: 'base64', sources: [{ header: 'typeform-signature', prefix: 'sha256=' }],
    describe: '`Typeform-Signature: sha256=<base64>` HMAC-SHA256 of the body',
  },
  {
    id: 'webex', name: 'Webex', algorithm: 'sha1', encoding: 'hex', sources: [{ header: 'x-spark-signature' }],
    describe: '`X-Spark-Signature: <hex>` HMAC-SHA1 of the body',
  },
  {
    id: 'xero', name: 'Xero', algorithm: 'sha256', encoding: 'base64', sources: [{ header: 'x-xero-signature' }],
    challenge: xeroIntentToReceive,
    describe: '`x-xero-signature: <base64>` HMAC-SHA256 of the body; Intent to Receive answered by the edge (200/401)',
  },
];

export const BODY_HMAC_PROVIDERS: ProviderDefinition[] = SCHEMES.map(define);
