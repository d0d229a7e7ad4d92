// Signers for the providers that sign a timestamp (airship … zoom), written from the provider research
// with node:crypto, or by the provider's SDK where it can sign (Stripe; Svix for Brex's construction).
// They never import the verifiers. The SDKs that only verify (Slack, Mux, Box) judge these signers in
// test/unit/webhooks/timestamped.test.ts.
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import type { SignedWebhook, SignInput, WebhookSigner } from './types.js';

const require = createRequire(import.meta.url);

function pathOf(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}

function hmacOf(secret: string | Buffer, data: string | Buffer, encoding: 'hex' | 'base64'): string {
  return createHmac('sha256', secret).update(data).digest(encoding);
}

const unixSeconds = (ms: number): string => String(Math.floor(ms / 1000));

function post(input: SignInput, defaultBody: string, headers: Record<string, string | string[]>, contentType = 'application/json'): SignedWebhook {
  return { method: 'POST', pathAndQuery: pathOf(input.url), headers: { 'Content-Type': contentType, ...headers }, body: input.body ?? Buffer.from(defaultBody) };
}

function bodyOf(input: SignInput, defaultBody: string): Buffer {
  return input.body ?? Buffer.from(defaultBody);
}

// ---------------------------------------------------------------------------------------------

const AIRSHIP_BODY = '{"id":"5b2b8b2c-3e63-4c6a-9b1b-2f1a2c3d4e5f","type":"open_channel","device":{"address":"+15035550100"},"payload":{"alert":"Hello"}}';
const airship: WebhookSigner = {
  provider: 'airship', configSecret: 'airship-open-channel-key', signingSecret: 'airship-open-channel-key', wrongSecret: 'airship-other-key',
  signatureHeader: 'X-UA-Signature', toleranceSeconds: 180, oracle: 'spec', confirmed: true,
  sign(input) {
    const body = bodyOf(input, AIRSHIP_BODY);
    const ts = unixSeconds(input.nowMs);
    return post({ ...input, body }, AIRSHIP_BODY, { 'X-UA-Timestamp': ts, 'X-UA-Signature': hmacOf(input.secret, Buffer.concat([Buffer.from(`${ts}:`), body]), 'hex') });
  },
};

/** Box's docs show timestamps with an offset (2016-07-11T10:10:33-07:00): the signer uses one too. */
export function boxTimestamp(ms: number): string {
  return new Date(ms - 7 * 3600_000).toISOString().slice(0, 19) + '-07:00';
}
/** The key Box uses for BOX-SIGNATURE-SECONDARY in these tests (the configured key is the primary one). */
export const BOX_SECONDARY_KEY = 'box-secondary-signature-key';
const BOX_BODY = '{"type":"webhook_event","id":"eac4a4a4-9c2d-4b6e-8f1a-7e3b2d1c0f9e","created_at":"2026-11-23T10:10:33-07:00","trigger":"FILE.UPLOADED","source":{"id":"1234567890","type":"file","name":"report.pdf"}}';
const box: WebhookSigner = {
  provider: 'box', configSecret: 'box-primary-signature-key', signingSecret: 'box-primary-signature-key', wrongSecret: 'box-unknown-key',
  signatureHeader: 'BOX-SIGNATURE-PRIMARY', toleranceSeconds: 600, oracle: 'spec', confirmed: true,
  sign(input) {
    const body = bodyOf(input, BOX_BODY);
    const ts = boxTimestamp(input.nowMs);
    const signed = Buffer.concat([body, Buffer.from(ts)]);
    return post({ ...input, body }, BOX_BODY, {
      'BOX-DELIVERY-ID': 'f96bb54b-ee16-4fc5-aa65-8c2d9e5b546f',
      'BOX-DELIVERY-TIMESTAMP': ts,
      'BOX-SIGNATURE-ALGORITHM': 'HmacSHA256',
      'BOX-SIGNATURE-VERSION': '1',
      'BOX-SIGNATURE-PRIMARY': hmacOf(input.secret, signed, 'base64'),
      'BOX-SIGNATURE-SECONDARY': hmacOf(BOX_SECONDARY_KEY, signed, 'base64'),
    });
  },
  // Box sends two signatures: "unsigned" means neither is there
  unsign(signed) {
    const headers = { ...signed.headers };
    delete headers['BOX-SIGNATURE-PRIMARY'];
    delete headers['BOX-SIGNATURE-SECONDARY'];
    return { ...signed, headers };
  },
};

interface SvixWebhook { sign(msgId: string, timestamp: Date, payload: string): string }
const { Webhook: SvixWebhookClass } = require('svix') as { Webhook: new (secret: string) => SvixWebhook };
/** A Brex-style secret: base64 of 24 random-looking bytes (Brex hands them out without `whsec_`). */
export const BREX_SECRET = Buffer.from('brex-webhook-secret-0001').toString('base64');
const BREX_BODY = '{"event_type":"EXPENSE_PAYMENT_UPDATED","expense_id":"expense_cl8f3q2a000a0a0a0a0a0a0a","payment_status":"CLEARED","company_id":"cuacc_cl8f3q2a000b0b0b"}';
const brex: WebhookSigner = {
  provider: 'brex', configSecret: BREX_SECRET, signingSecret: BREX_SECRET, wrongSecret: Buffer.from('brex-webhook-secret-9999').toString('base64'),
  signatureHeader: 'Webhook-Signature', toleranceSeconds: 180, oracle: 'sdk:svix', confirmed: true,
  sign(input) {
    const body = bodyOf(input, BREX_BODY);
    const id = 'msg_2Lh9KsO2T1pN0e3bqGkWQm';
    // Svix signs whole seconds: the Date is truncated the way the provider's header is
    const signature = new SvixWebhookClass(input.secret).sign(id, new Date(Math.floor(input.nowMs / 1000) * 1000), body.toString('utf8'));
    return post({ ...input, body }, BREX_BODY, { 'Webhook-Id': id, 'Webhook-Timestamp': unixSeconds(input.nowMs), 'Webhook-Signature': signature });
  },
};

/** `t=<unix>,<key>=<hex>` over `{t}.{body}` with a raw UTF-8 key (Buildkite, Calendly, Go1, Mux, TikTok). */
function keyValueSigner(provider: string, headerName: string, tKey: string, sKey: string, tolerance: number, defaultBody: string, secret: string): WebhookSigner {
  return {
    provider, configSecret: secret, signingSecret: secret, wrongSecret: `${secret}-wrong`,
    signatureHeader: headerName, toleranceSeconds: tolerance, oracle: 'spec', confirmed: true,
    sign(input) {
      const body = bodyOf(input, defaultBody);
      const ts = unixSeconds(input.nowMs);
      const sig = hmacOf(input.secret, Buffer.concat([Buffer.from(`${ts}.`), body]), 'hex');
      return post({ ...input, body }, defaultBody, { [headerName]: `${tKey}=${ts},${sKey}=${sig}` });
    },
  };
}

/** `<version>=<hex>` over `<version>:{timestamp}:{body}` (Slack, Zoom, Frame.io, Pinwheel). */
function prefixedSigner(provider: string, sigHeader: string, tsHeader: string, version: string, tolerance: number, defaultBody: string, secret: string, contentType = 'application/json'): WebhookSigner {
  return {
    provider, configSecret: secret, signingSecret: secret, wrongSecret: `${secret}-wrong`,
    signatureHeader: sigHeader, toleranceSeconds: tolerance, oracle: 'spec', confirmed: true,
    sign(input) {
      const body = bodyOf(input, defaultBody);
      const ts = unixSeconds(input.nowMs);
      const sig = hmacOf(input.secret, Buffer.concat([Buffer.from(`${version}:${ts}:`), body]), 'hex');
      return post({ ...input, body }, defaultBody, { [tsHeader]: ts, [sigHeader]: `${version}=${sig}` }, contentType);
    },
  };
}

const buildkite = keyValueSigner('buildkite', 'X-Buildkite-Signature', 'timestamp', 'signature', 180,
  '{"event":"build.finished","build":{"id":"f62a1b4d-10f9-4790-bc1c-e2c3a0c80983","number":42,"state":"passed","branch":"main"},"sender":{"id":"8a7693f8-dbae-4783-9137-84090fce9045","name":"Ada"}}',
  'buildkite-webhook-token');
const calendly = keyValueSigner('calendly', 'Calendly-Webhook-Signature', 't', 'v1', 180,
  '{"event":"invitee.created","created_at":"2026-11-23T17:00:00.000000Z","payload":{"email":"ada@example.com","name":"Ada Lovelace","status":"active"}}',
  'calendly-signing-key');
const go1 = keyValueSigner('go1', 'Go1-Signature', 't', 'v1', 60,
  '{"type":"enrolment.update","data":{"id":1234,"lo_id":5678,"user_id":91011,"status":"completed"}}',
  'go1-secret-key');
const mux = keyValueSigner('mux', 'Mux-Signature', 't', 'v1', 300,
  '{"type":"video.asset.ready","object":{"type":"asset","id":"0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002"},"id":"3a56ac3d-33da-4366-855b-f592d898409d","environment":{"name":"Production","id":"j0863n"}}',
  'mux-webhook-signing-secret');
const tiktok = keyValueSigner('tiktok', 'TikTok-Signature', 't', 's', 180,
  '{"client_key":"bwo2m45353a6k85","event":"video.publish.completed","create_time":1615338610,"user_openid":"act.example12345","content":"{\\"share_id\\":\\"video.6974245311675353080.VDCxrcMJ\\"}"}',
  'tiktok-client-secret');

const frameio = prefixedSigner('frameio', 'X-Frameio-Signature', 'X-Frameio-Request-Timestamp', 'v0', 300,
  '{"type":"asset.ready","resource":{"type":"asset","id":"d3075547-4e64-45f0-ad12-d075660eddd2"},"account":{"id":"6bdcb4d9-4548-4548-93c4-2b1f6b2a5d1e"}}',
  'frameio-signing-secret');
const pinwheel = prefixedSigner('pinwheel', 'X-Pinwheel-Signature', 'X-Timestamp', 'v2', 180,
  '{"event":"paystubs.added","event_id":"e3f5d4a2-1b6c-4e3a-9f8d-7c6b5a4e3d2c","payload":{"account_id":"03cb1c1a-8e4e-4b9b-8b1e-7b6f5e4d3c2b","count":3}}',
  'pinwheel-api-secret');
const slack = prefixedSigner('slack', 'X-Slack-Signature', 'X-Slack-Request-Timestamp', 'v0', 300,
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  '8f742231b10e8888abcd99yyyzzz85a5', 'application/x-www-form-urlencoded');
const zoom = prefixedSigner('zoom', 'x-zm-signature', 'x-zm-request-timestamp', 'v0', 180,
  '{"event":"meeting.started","event_ts":1763917200000,"payload":{"account_id":"AAAAAABBBB","object":{"id":"1234567890","uuid":"4444AAAiAAAAAiAiAiiAii==","topic":"Weekly sync"}}}',
  'zoom-webhook-secret-token');

interface StripeWebhooks {
  generateTestHeaderString(opts: { payload: string; secret: string; timestamp?: number }): string;
  constructEvent(payload: string, header: string, secret: string, toleranceSeconds?: number): unknown;
}
const StripeClass = require('stripe') as new (key: string) => { webhooks: StripeWebhooks };
/** Stripe's SDK, offline (only its webhook helpers are used). */
export const stripeSdk = new StripeClass('sk_test_edgeplane_oracle');
const STRIPE_BODY = '{"id":"evt_1QqZ8mLkdIwHu7ix2XyZ0abc","object":"event","api_version":"2024-06-20","type":"payment_intent.succeeded","data":{"object":{"id":"pi_3QqZ8mLkdIwHu7ix0abc","object":"payment_intent","amount":2000,"currency":"usd"}}}';
const stripe: WebhookSigner = {
  provider: 'stripe', configSecret: 'whsec_test_edgeplane_0123456789', signingSecret: 'whsec_test_edgeplane_0123456789', wrongSecret: 'whsec_test_other_9876543210',
  signatureHeader: 'Stripe-Signature', toleranceSeconds: 300, oracle: 'sdk:stripe', confirmed: true,
  sign(input) {
    const body = bodyOf(input, STRIPE_BODY);
    const header = stripeSdk.webhooks.generateTestHeaderString({ payload: body.toString('utf8'), secret: input.secret, timestamp: Math.floor(input.nowMs / 1000) });
    return post({ ...input, body }, STRIPE_BODY, { 'Stripe-Signature': header });
  },
};

/** Zendesk sends ISO 8601 UTC timestamps (2021-07-23T20:45:23Z). */
export function zendeskTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}
const ZENDESK_BODY = '{"type":"zen:event-type:ticket.created","account_id":12514403,"id":"2b24ef10-19d4-4740-93cf-8f98ec4776c0","time":"2026-11-23T17:00:00Z","zendesk_event_version":"2022-11-06","subject":"zen:ticket:35436","detail":{"id":"35436","status":"NEW"}}';
const zendesk: WebhookSigner = {
  provider: 'zendesk', configSecret: 'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ', signingSecret: 'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ', wrongSecret: 'another-zendesk-secret',
  signatureHeader: 'X-Zendesk-Webhook-Signature', toleranceSeconds: 180, oracle: 'spec', confirmed: true,
  sign(input) {
    const body = bodyOf(input, ZENDESK_BODY);
    const ts = zendeskTimestamp(input.nowMs);
    return post({ ...input, body }, ZENDESK_BODY, {
      'X-Zendesk-Webhook-Id': '01FBRMWTBAY2EXHX6ABCDFGHJK',
      'X-Zendesk-Webhook-Signature-Timestamp': ts,
      'X-Zendesk-Webhook-Signature': hmacOf(input.secret, Buffer.concat([Buffer.from(ts), body]), 'base64'),
    });
  },
};

export const TIMESTAMPED_SIGNERS: WebhookSigner[] = [
  airship, box, brex, buildkite, calendly, frameio, go1, mux, pinwheel, slack, stripe, tiktok, zendesk, zoom,
];
