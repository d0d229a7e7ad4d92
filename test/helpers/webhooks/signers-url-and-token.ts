// Signers for the URL-signed, structured and token providers (workers/http/webhooks/providers/url-and-token.ts),
// written from the spec with node:crypto or by the provider's own SDK where it can sign. They never
// import the verifiers. SDKs are loaded with createRequire: their typings pull in DOM types.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SignedWebhook, SignInput, WebhookSigner } from './types.js';

const require = createRequire(import.meta.url);

type FormParams = Record<string, string | string[]>;

// The SDK functions used, typed here so `any` stays out of the signers.
export interface TwilioSdk {
  getExpectedTwilioSignature(authToken: string, url: string, params: FormParams): string;
  validateRequest(authToken: string, signature: string, url: string, params: FormParams): boolean;
  validateRequestWithBody(authToken: string, signature: string, url: string, body: string): boolean;
}
export interface HubSpotSignature {
  getSignature(method: string, version: 'v1' | 'v2' | 'v3', options: { clientSecret: string; requestBody: string; url?: string; timestamp?: number }): string;
  isValid(options: { signature: string; clientSecret: string; requestBody: string; signatureVersion: 'v3'; url: string; method: string; timestamp: number }): boolean;
}
export interface ContentfulToolkit {
  signRequest(secret: string, request: { method: string; path: string; headers?: Record<string, string>; body?: string }, timestamp?: number): Record<string, string>;
  verifyRequest(secret: string, request: { method: string; path: string; headers?: Record<string, string>; body?: string }, ttlSeconds?: number): boolean;
}
export interface HygraphUtils {
  generateWebhookSignature(options: { rawPayload: string; secret: string; environmentName?: string }): string;
  verifyWebhookSignature(options: { rawPayload: string; signature: string; secret: string }): boolean;
}
export interface PlivoSdk {
  validateV3Signature(method: string, uri: string, nonce: string, authToken: string, signature: string, params?: FormParams): boolean;
}
export interface SquareWebhooksHelper {
  verifySignature(options: { requestBody: string; signatureHeader: string; signatureKey: string; notificationUrl: string }): Promise<boolean>;
}

/**
 * Loads one file of an SDK package by path, lazily and once: the packages' indexes load whole API
 * clients (seconds for square and @hubspot/api-client), and some files are outside their "exports".
 */
function sdkFile<T>(pkg: string, relative: string): () => T {
  let loaded: T | undefined;
  return () => {
    if (loaded !== undefined) return loaded;
    let root = dirname(require.resolve(pkg));
    while (!isPackageRoot(root, pkg)) {
      if (dirname(root) === root) throw new Error(`cannot find the root of npm package ${pkg}`);
      root = dirname(root);
    }
    loaded = require(join(root, relative)) as T;
    return loaded;
  };
}

function isPackageRoot(dir: string, pkg: string): boolean {
  const file = join(dir, 'package.json');
  return existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === pkg;
}

export const twilioSdk = sdkFile<TwilioSdk>('twilio', 'lib/webhooks/webhooks.js');
export const hubspotSignature = (): HubSpotSignature => sdkFile<{ Signature: HubSpotSignature }>('@hubspot/api-client', 'lib/src/utils/signature.js')().Signature;
export const contentfulToolkit = sdkFile<ContentfulToolkit>('@contentful/node-apps-toolkit', 'lib/requests/index.cjs');
export const hygraphUtils = sdkFile<HygraphUtils>('@hygraph/utils', 'index.js');
export const plivoSdk = sdkFile<PlivoSdk>('plivo', 'dist/utils/v3Security.js');
export const squareWebhooksHelper = (): SquareWebhooksHelper => sdkFile<{ WebhooksHelper: SquareWebhooksHelper }>('square', 'wrapper/WebhooksHelper.js')().WebhooksHelper;

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

/** Path and query of a URL, as the request line carries them. */
export function pathAndQueryOf(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}

/** Form body → params the way Express' urlencoded parser hands them to the SDKs (repeats → arrays). */
export function formParams(body: Buffer): FormParams {
  const out: FormParams = {};
  for (const [name, value] of new URLSearchParams(body.toString('utf8'))) {
    const prior = out[name];
    out[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return out;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function flipLastChar(text: string): string {
  const last = text.charCodeAt(text.length - 1);
  return text.slice(0, -1) + String.fromCharCode(last === 0x41 ? 0x42 : 0x41); // 'A' unless it was 'A'
}

// ---------- Twilio: by the twilio SDK ----------

const TWILIO_BODY = 'AccountSid=AC1234567890abcdef1234567890abcdef&ApiVersion=2010-04-01&Body=Hello+from+Twilio&From=%2B15005550006&MessageSid=SM1234567890abcdef1234567890abcdef&To=%2B15005550001';

/** A JSON-bodied Twilio request: the URL carries bodySHA256 and the URL alone is signed. */
export function signTwilioJson(url: string, body: Buffer, secret: string): SignedWebhook {
  const signedUrl = `${url}?bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
  const signature = twilioSdk().getExpectedTwilioSignature(secret, signedUrl, {});
  return { method: 'POST', pathAndQuery: pathAndQueryOf(signedUrl), headers: { 'content-type': JSON_TYPE, 'x-twilio-signature': signature }, body };
}

const twilio: WebhookSigner = {
  provider: 'twilio',
  configSecret: 'twilio-auth-token-0123456789abcdef',
  signingSecret: 'twilio-auth-token-0123456789abcdef',
  wrongSecret: 'twilio-auth-token-fedcba9876543210',
  signatureHeader: 'x-twilio-signature',
  toleranceSeconds: null,
  oracle: 'sdk:twilio',
  confirmed: true,
  sign(input: SignInput): SignedWebhook {
    const body = input.body ?? Buffer.from(TWILIO_BODY);
    const signature = twilioSdk().getExpectedTwilioSignature(input.secret, input.url, formParams(body));
    return { method: 'POST', pathAndQuery: pathAndQueryOf(input.url), headers: { 'content-type': FORM, 'x-twilio-signature': signature }, body };
  },
};

// ---------- Plivo V3: from the spec ----------

const PLIVO_BODY = 'From=14155550100&MessageUUID=7d1c6a8e-3c1b-11ef-9a5e-0242ac110002&Text=Hi+there&To=14155550101&Type=sms';

/**
 * Spec: POST with params → {scheme}://{host}{path}?{sorted query k=v&…}[.]{sorted params name+value}.{nonce}
 * ('?' always, '.' after the query only when there is one); values sorted within a name.
 */
export function plivoV3Signature(url: string, body: Buffer, nonce: string, secret: string): string {
  const [base, query = ''] = url.split('?', 2) as [string, string?];
  const sortedPairs = (text: string): [string, string][] =>
    [...new URLSearchParams(text)].sort(([a, av], [b, bv]) => byName(a, b) || byName(av, bv));
  const sortedQuery = sortedPairs(query).map(([k, v]) => `${k}=${v}`).join('&');
  const posted = sortedPairs(body.toString('utf8')).map(([k, v]) => k + v).join('');
  const signedUrl = posted === ''
    ? base + (sortedQuery === '' ? '' : `?${sortedQuery}`)
    : `${base}?${sortedQuery}${sortedQuery === '' ? '' : '.'}${posted}`;
  return createHmac('sha256', secret).update(`${signedUrl}.${nonce}`).digest('base64');
}

const plivo: WebhookSigner = {
  provider: 'plivo',
  configSecret: 'MzY4ZjU0NjA4ZjE0YWE2YzM1ZDFhNjY3ZjM1OTQz',
  signingSecret: 'MzY4ZjU0NjA4ZjE0YWE2YzM1ZDFhNjY3ZjM1OTQz',
  wrongSecret: 'NDY4ZjU0NjA4ZjE0YWE2YzM1ZDFhNjY3ZjM1OTQz',
  signatureHeader: 'x-plivo-signature-v3',
  toleranceSeconds: null,
  oracle: 'spec',
  confirmed: true,
  sign(input: SignInput): SignedWebhook {
    const body = input.body ?? Buffer.from(PLIVO_BODY);
    const nonce = BigInt('0x' + randomBytes(8).toString('hex')).toString().padStart(20, '1');
    const signature = plivoV3Signature(input.url, body, nonce, input.secret);
    return {
      method: 'POST',
      pathAndQuery: pathAndQueryOf(input.url),
      headers: { 'content-type': FORM, 'x-plivo-signature-v3': signature, 'x-plivo-signature-v3-nonce': nonce },
      body,
    };
  },
};

// ---------- Square: from the spec ----------

const SQUARE_BODY = JSON.stringify({
  merchant_id: 'ML8M1AQ1GQG2K', type: 'payment.updated', event_id: '0b2a4c66-1d9a-4e0f-9b1c-5a2d3e4f6a7b', created_at: '2024-05-01T10:00:00Z',
  data: { type: 'payment', id: 'KkAkhdMsgzn59SM8A89WgKwekxLZY', object: { payment: { id: 'KkAkhdMsgzn59SM8A89WgKwekxLZY', status: 'COMPLETED', amount_money: { amount: 1200, currency: 'USD' } } } },
});

const square: WebhookSigner = {
  provider: 'square',
  configSecret: 'sq-signature-key-Xq1w2e3r4t5y6u7i8o9p',
  signingSecret: 'sq-signature-key-Xq1w2e3r4t5y6u7i8o9p',
  wrongSecret: 'sq-signature-key-000000000000000000000',
  signatureHeader: 'x-square-hmacsha256-signature',
  toleranceSeconds: null,
  oracle: 'spec',
  confirmed: true,
  sign(input: SignInput): SignedWebhook {
    const body = input.body ?? Buffer.from(SQUARE_BODY);
    const signature = createHmac('sha256', input.secret).update(input.url).update(body).digest('base64');
    return { method: 'POST', pathAndQuery: pathAndQueryOf(input.url), headers: { 'content-type': JSON_TYPE, 'x-square-hmacsha256-signature': signature }, body };
  },
};

// ---------- HubSpot v3: by @hubspot/api-client ----------

const HUBSPOT_BODY = JSON.stringify([{ eventId: 100, subscriptionId: 12345, portalId: 62515, occurredAt: 1714557600000, subscriptionType: 'contact.creation', attemptNumber: 0, objectId: 123, changeSource: 'CRM', changeFlag: 'NEW', appId: 54321 }]);

const hubspot: WebhookSigner = {
  provider: 'hubspot',
  configSecret: 'a1b2c3d4-e5f6-4711-8899-aabbccddeeff',
  signingSecret: 'a1b2c3d4-e5f6-4711-8899-aabbccddeeff',
  wrongSecret: 'ffffffff-e5f6-4711-8899-aabbccddeeff',
  signatureHeader: 'x-hubspot-signature-v3',
  toleranceSeconds: 300,
  oracle: 'sdk:@hubspot/api-client',
  confirmed: true,
  sign(input: SignInput): SignedWebhook {
    const body = input.body ?? Buffer.from(HUBSPOT_BODY);
    const signature = hubspotSignature().getSignature('POST', 'v3', { clientSecret: input.secret, requestBody: body.toString('utf8'), url: input.url, timestamp: input.nowMs });
    return {
      method: 'POST',
      pathAndQuery: pathAndQueryOf(input.url),
      headers: { 'content-type': JSON_TYPE, 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': String(input.nowMs) },
      body,
    };
  },
};

// ---------- Contentful: by @contentful/node-apps-toolkit ----------

const CONTENTFUL_BODY = JSON.stringify({ sys: { type: 'Entry', id: '5KsDBWseXY6QegucYAoacS', space: { sys: { type: 'Link', linkType: 'Space', id: 'yadj1kx9rmg0' } }, revision: 3 }, fields: { title: { 'en-US': 'Hello, World!' } } });
/** Headers Contentful sends and signs besides its own three. */
export const CONTENTFUL_EXTRA_HEADERS = { 'content-type': 'application/vnd.contentful.management.v1+json', 'x-contentful-topic': 'ContentManagement.Entry.publish' };

const contentful: WebhookSigner = {
  provider: 'contentful',
  configSecret: 'cNxq3Vb8Kd2Lp7Rt5Wy9Zs4Hg6Jf1Mn0Qa3Xe8Uc2Bv7Tk5Yo9Pi4Lr6Dw1Sh0Fm',
  signingSecret: 'cNxq3Vb8Kd2Lp7Rt5Wy9Zs4Hg6Jf1Mn0Qa3Xe8Uc2Bv7Tk5Yo9Pi4Lr6Dw1Sh0Fm',
  wrongSecret: 'XXxq3Vb8Kd2Lp7Rt5Wy9Zs4Hg6Jf1Mn0Qa3Xe8Uc2Bv7Tk5Yo9Pi4Lr6Dw1Sh0Fm',
  signatureHeader: 'x-contentful-signature',
  toleranceSeconds: 30,
  oracle: 'sdk:@contentful/node-apps-toolkit',
  confirmed: true,
  sign(input: SignInput): SignedWebhook {
    const body = input.body ?? Buffer.from(CONTENTFUL_BODY);
    const path = pathAndQueryOf(input.url);
    const signedHeaders = contentfulToolkit().signRequest(input.secret, { method: 'POST', path, headers: { ...CONTENTFUL_EXTRA_HEADERS }, body: body.toString('utf8') }, input.nowMs);
    return { method: 'POST', pathAndQuery: path, headers: { ...CONTENTFUL_EXTRA_HEADERS, ...signedHeaders }, body };
  },
};

// ---------- Mailchimp Transactional (Mandrill): from the spec; unconfirmed which scheme ngrok means ----------

const MANDRILL_EVENTS = JSON.stringify([{ event: 'send', _id: 'b6d7e1a2c3f44d5e9f8a7b6c5d4e3f2a', ts: 1714557600, msg: { email: 'someone@example.com', subject: 'Welcome', state: 'sent' } }]);

const mailchimp: WebhookSigner = {
  provider: 'mailchimp',
  configSecret: 'mandrill-webhook-key-4fJ9sQ2xP7',
  signingSecret: 'mandrill-webhook-key-4fJ9sQ2xP7',
  wrongSecret: 'mandrill-webhook-key-0000000000',
  signatureHeader: 'x-mandrill-signature',
  toleranceSeconds: null,
  oracle: 'spec',
  confirmed: false,
  sign(input: SignInput): SignedWebhook {
    const body = input.body ?? Buffer.from(new URLSearchParams({ mandrill_events: MANDRILL_EVENTS }).toString());
    // {url} then every POST parameter sorted by name, as name+value
    const params = [...new URLSearchParams(body.toString('utf8'))].sort(([a], [b]) => byName(a, b)).map(([k, v]) => k + v).join('');
    const signature = createHmac('sha1', input.secret).update(input.url + params).digest('base64');
    return { method: 'POST', pathAndQuery: pathAndQueryOf(input.url), headers: { 'content-type': FORM, 'x-mandrill-signature': signature }, body };
  },
};

// ---------- Mailgun: from the spec; the signature lives in the body ----------

export function mailgunSignature(secret: string, timestamp: string, token: string): string {
  return createHmac('sha256', secret).update(timestamp + token).digest('hex');
}

const MAILGUN_EVENT = { event: 'delivered', id: 'CPgfbmQMTCKtHW6uIWtuVe', timestamp: 1714557600.5, recipient: 'alice@example.com', message: { headers: { 'message-id': '20240501.1@mg.example.com' } } };

/** Replaces one field of the JSON body's signature block (undefined removes it). */
function withMailgunField(signed: SignedWebhook, field: 'token' | 'signature', value: string | undefined): SignedWebhook {
  const parsed = JSON.parse(signed.body.toString('utf8')) as { signature: Record<string, string> };
  if (value === undefined) delete parsed.signature[field]; else parsed.signature[field] = value;
  return { ...signed, body: Buffer.from(JSON.stringify(parsed)) };
}

const mailgun: WebhookSigner = {
  provider: 'mailgun',
  configSecret: 'key-3ax6xnjp29jd6fds4gc373sgvjxteol0',
  signingSecret: 'key-3ax6xnjp29jd6fds4gc373sgvjxteol0',
  wrongSecret: 'key-00000000000000000000000000000000',
  signatureHeader: null,
  toleranceSeconds: 180,
  oracle: 'spec',
  confirmed: true,
  sign(input: SignInput): SignedWebhook {
    const timestamp = String(Math.floor(input.nowMs / 1000));
    const token = randomBytes(25).toString('hex'); // 50 chars, like Mailgun's
    const signature = { timestamp, token, signature: mailgunSignature(input.secret, timestamp, token) };
    const body = Buffer.from(JSON.stringify({ signature, 'event-data': MAILGUN_EVENT }));
    return { method: 'POST', pathAndQuery: pathAndQueryOf(input.url), headers: { 'content-type': JSON_TYPE }, body };
  },
  // The missing-signature case: the body's signature field is absent.
  unsign: (signed) => withMailgunField(signed, 'signature', undefined),
  // Mailgun signs timestamp + token only, not the event: tampering means changing a signed field.
  tamper(signed) {
    const parsed = JSON.parse(signed.body.toString('utf8')) as { signature: { token: string } };
    return withMailgunField(signed, 'token', flipLastChar(parsed.signature.token));
  },
};

// ---------- GraphCMS / Hygraph: by @hygraph/utils ----------

const HYGRAPH_BODY = JSON.stringify({ operation: 'publish', data: { __typename: 'Post', id: 'clv1abcde0001', stage: 'PUBLISHED', title: 'Hello world' } });

/** The SDK stamps Date.now(); the signer needs the input's clock, so Date.now is pinned around the call. */
function atTime<T>(nowMs: number, run: () => T): T {
  const realNow = Date.now;
  Date.now = () => nowMs;
  try {
    return run();
  } finally {
    Date.now = realNow;
  }
}

/** Spec construction: JSON {Body, EnvironmentName, TimeStamp} with & < > as Go's \u0026 escapes. */
export function hygraphSpecSignature(body: Buffer, env: string, timestampMs: number, secret: string): string {
  const payload = JSON.stringify({ Body: body.toString('utf8'), EnvironmentName: env, TimeStamp: timestampMs })
    .replace(/&/g, '\\u0026').replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
  const sign = createHmac('sha256', secret).update(payload).digest('base64');
  return `sign=${sign}, env=${env}, t=${timestampMs}`;
}

const graphcms: WebhookSigner = {
  provider: 'graphcms',
  configSecret: 'rCNwyiloY3oJYYkxgpBXaleIiUv5MYlx',
  signingSecret: 'rCNwyiloY3oJYYkxgpBXaleIiUv5MYlx',
  wrongSecret: 'xxNwyiloY3oJYYkxgpBXaleIiUv5MYlx',
  signatureHeader: 'gcms-signature',
  toleranceSeconds: 180,
  oracle: 'sdk:@hygraph/utils',
  confirmed: true,
  sign(input: SignInput): SignedWebhook {
    const body = input.body ?? Buffer.from(HYGRAPH_BODY);
    const signature = atTime(input.nowMs, () => hygraphUtils().generateWebhookSignature({ rawPayload: body.toString('utf8'), secret: input.secret, environmentName: 'master' }));
    return { method: 'POST', pathAndQuery: pathAndQueryOf(input.url), headers: { 'content-type': JSON_TYPE, 'gcms-signature': signature }, body };
  },
};

// ---------- plain tokens: GitLab, Orbit (unconfirmed), VMware Basic (unconfirmed) ----------
// The body is not signed by these providers: a "tampered" request is one whose credential was
// changed in transit (the unit test shows separately that a changed body is not detected).

function tokenSigner(provider: string, headerName: string, secret: string, confirmed: boolean, body: string): WebhookSigner {
  return {
    provider,
    configSecret: secret,
    signingSecret: secret,
    wrongSecret: `${secret}-wrong`,
    signatureHeader: headerName,
    toleranceSeconds: null,
    oracle: 'spec',
    confirmed,
    sign: (input) => ({ method: 'POST', pathAndQuery: pathAndQueryOf(input.url), headers: { 'content-type': JSON_TYPE, [headerName]: input.secret }, body: input.body ?? Buffer.from(body) }),
    tamper: (signed) => ({ ...signed, headers: { ...signed.headers, [headerName]: flipLastChar(String(signed.headers[headerName])) } }),
  };
}

const gitlab = tokenSigner('gitlab', 'x-gitlab-token', 'gl-webhook-secret-7c1e9d', true,
  JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main', checkout_sha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7', project: { id: 15, path_with_namespace: 'group/project' } }));
const orbit = tokenSigner('orbit', 'x-orbit-signature', 'orbit-webhook-secret-42', false,
  JSON.stringify({ event_type: 'activity:created', data: { id: 'abc123', type: 'activity', attributes: { action: 'issue_opened' } } }));

/** Spec: ngrok's secret is 'username::password'; VMware sends them as HTTP Basic credentials. */
export function vmwareAuthorization(secret: string): string {
  const at = secret.indexOf('::');
  return 'Basic ' + Buffer.from(`${secret.slice(0, at)}:${secret.slice(at + 2)}`).toString('base64');
}

const vmware: WebhookSigner = {
  provider: 'vmware',
  configSecret: 'ws1-notify::S3cret:Pass',
  signingSecret: 'ws1-notify::S3cret:Pass',
  wrongSecret: 'ws1-notify::wrong-pass',
  signatureHeader: 'authorization',
  toleranceSeconds: null,
  oracle: 'spec',
  confirmed: false,
  sign: (input) => ({
    method: 'POST',
    pathAndQuery: pathAndQueryOf(input.url),
    headers: { 'content-type': JSON_TYPE, authorization: vmwareAuthorization(input.secret) },
    body: input.body ?? Buffer.from(JSON.stringify({ EventId: 148, EventType: 'Device Enrolled', DeviceId: 4021, EnrollmentUserName: 'jdoe' })),
  }),
  tamper: (signed) => ({ ...signed, headers: { ...signed.headers, authorization: vmwareAuthorization('ws1-notify::S3cret:Pasz') } }),
};

export const URL_AND_TOKEN_SIGNERS: WebhookSigner[] = [twilio, plivo, square, hubspot, contentful, mailchimp, mailgun, graphcms, gitlab, orbit, vmware];
