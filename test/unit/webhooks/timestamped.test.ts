// The timestamped providers (airship … zoom): every signer passes the acceptance cases; the providers'
// own SDKs (Stripe, Slack, Mux, Box, Svix / Standard Webhooks for Brex) judge the signers; and the edge
// cases of each construction (rotation, prefixes, timestamp forms, Zoom's url_validation handshake).
import t from 'tap';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { findProvider } from '../../../workers/http/webhooks/providers/index.js';
import type { ChallengeAnswer, Verdict } from '../../../workers/http/webhooks/types.js';
import { runAcceptanceCases, TEST_ORIGIN, TEST_PATH } from '../../helpers/webhooks/cases.js';
import { toWebhookRequest } from '../../helpers/webhooks/request.js';
import { BOX_SECONDARY_KEY, BREX_SECRET, TIMESTAMPED_SIGNERS, boxTimestamp, stripeSdk } from '../../helpers/webhooks/signers-timestamped.js';
import { tamperLastByte, type SignedWebhook, type WebhookSigner } from '../../helpers/webhooks/types.js';

const require = createRequire(import.meta.url);
const URL_ = TEST_ORIGIN + TEST_PATH;

function signerFor(id: string): WebhookSigner {
  const signer = TIMESTAMPED_SIGNERS.find((s) => s.provider === id);
  if (signer === undefined) throw new Error(`no signer for ${id}`);
  return signer;
}

async function sign(id: string, nowMs = Date.now(), body?: string, secret?: string): Promise<SignedWebhook> {
  const signer = signerFor(id);
  return signer.sign({ url: URL_, nowMs, secret: secret ?? signer.signingSecret, ...(body === undefined ? {} : { body: Buffer.from(body) }) });
}

function verify(id: string, signed: SignedWebhook, nowMs = Date.now(), secret?: string): Verdict {
  const provider = findProvider(id)!;
  const verdict = provider.create(secret ?? signerFor(id).configSecret!, {}).verify(toWebhookRequest(signed, TEST_ORIGIN, nowMs));
  if (verdict instanceof Promise) throw new Error('timestamped verifiers are synchronous');
  return verdict;
}

function withHeader(signed: SignedWebhook, name: string, value: string | string[]): SignedWebhook {
  return { ...signed, headers: { ...signed.headers, [name]: value } };
}

/** Lower-case header object, the form the SDKs take. */
function lowerHeaders(signed: SignedWebhook): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) out[k.toLowerCase()] = Array.isArray(v) ? v[0]! : v;
  return out;
}

t.test('every provider of the group has a signer', async (t) => {
  for (const signer of TIMESTAMPED_SIGNERS) {
    const provider = findProvider(signer.provider);
    t.ok(provider, `${signer.provider} is registered`);
    t.equal(provider?.toleranceSeconds, signer.toleranceSeconds, `${signer.provider}: tolerance ${signer.toleranceSeconds} s`);
  }
  t.equal(TIMESTAMPED_SIGNERS.length, 14);
});

t.test('acceptance cases', async (t) => {
  for (const signer of TIMESTAMPED_SIGNERS) await runAcceptanceCases(t, signer);
});

// ---------------------------------------------------------------------------------------------
// SDK oracles

t.test('stripe: the SDK signs, the SDK and the verifier agree', async (t) => {
  const signer = signerFor('stripe');
  const signed = await sign('stripe');
  const header = lowerHeaders(signed)['stripe-signature']!;
  t.doesNotThrow(() => stripeSdk.webhooks.constructEvent(signed.body.toString(), header, signer.signingSecret, 300), 'constructEvent accepts the signer');
  t.throws(() => stripeSdk.webhooks.constructEvent(tamperLastByte(signed).body.toString(), header, signer.signingSecret, 300), 'constructEvent refuses a tampered body');
  // rotation: a stale v1 first, the current one second; a v0 entry is ignored
  const [tPart, v1Part] = header.split(',');
  const rotated = withHeader(signed, 'Stripe-Signature', `${tPart},v1=${'ab'.repeat(32)},${v1Part},v0=${'cd'.repeat(32)}`);
  t.same(verify('stripe', rotated), { ok: true }, 'second v1 entry matches: admitted');
  t.doesNotThrow(() => stripeSdk.webhooks.constructEvent(signed.body.toString(), lowerHeaders(rotated)['stripe-signature']!, signer.signingSecret, 300), 'SDK agrees on rotation');
  const onlyV0 = withHeader(signed, 'Stripe-Signature', `${tPart},v0=${v1Part!.slice(3)}`);
  t.equal(verify('stripe', onlyV0).ok, false, 'a v0 entry alone is not checked: refused');
  t.equal(verify('stripe', withHeader(signed, 'Stripe-Signature', `${tPart},${v1Part},t=1`)).ok, false, 'two t entries: refused');
  t.same(verify('stripe', withHeader(signed, 'Stripe-Signature', v1Part!)), { ok: false, reason: 'missing_timestamp' }, 'no t entry: missing_timestamp');
});

t.test('slack: @slack/bolt judges the signer', async (t) => {
  const { isValidSlackRequest } = require('@slack/bolt') as { isValidSlackRequest(o: { signingSecret: string; body: string; headers: Record<string, unknown>; nowMilliseconds?: number }): boolean };
  const signer = signerFor('slack');
  const nowMs = Date.now();
  const signed = await sign('slack', nowMs);
  const h = lowerHeaders(signed);
  const headers = { 'x-slack-signature': h['x-slack-signature'], 'x-slack-request-timestamp': Number(h['x-slack-request-timestamp']) };
  t.equal(isValidSlackRequest({ signingSecret: signer.signingSecret, body: signed.body.toString(), headers, nowMilliseconds: nowMs }), true, 'bolt accepts the signer');
  t.equal(isValidSlackRequest({ signingSecret: signer.signingSecret, body: tamperLastByte(signed).body.toString(), headers, nowMilliseconds: nowMs }), false, 'bolt refuses a tampered body');
  const upper = withHeader(signed, 'X-Slack-Signature', 'v0=' + h['x-slack-signature']!.slice(3).toUpperCase());
  t.same(verify('slack', upper, nowMs), { ok: true }, 'upper-case hex: admitted');
  const bare = withHeader(signed, 'X-Slack-Signature', h['x-slack-signature']!.slice(3));
  t.same(verify('slack', bare, nowMs), { ok: false, reason: 'malformed_signature', detail: "expected 'v0=<hex>'" }, 'v0= prefix missing: refused');
  const future = await sign('slack', nowMs + 301_000);
  t.same(verify('slack', future, nowMs), { ok: false, reason: 'stale_timestamp' }, 'timestamp 301 s in the future: refused');
  const noTs = { ...signed, headers: { ...signed.headers } };
  delete noTs.headers['X-Slack-Request-Timestamp'];
  t.same(verify('slack', noTs, nowMs), { ok: false, reason: 'missing_timestamp' }, 'no timestamp header: missing_timestamp');
});

t.test('mux: @mux/mux-node judges the signer', async (t) => {
  const MuxModule = require('@mux/mux-node') as { default: new (o: object) => { webhooks: { verifySignature(body: string, headers: Record<string, string>, secret: string): Promise<void> } } };
  const mux = new MuxModule.default({ tokenId: 'oracle', tokenSecret: 'oracle' });
  const signer = signerFor('mux');
  const signed = await sign('mux');
  await t.resolves(mux.webhooks.verifySignature(signed.body.toString(), lowerHeaders(signed), signer.signingSecret), 'mux accepts the signer');
  await t.rejects(mux.webhooks.verifySignature(tamperLastByte(signed).body.toString(), lowerHeaders(signed), signer.signingSecret), 'mux refuses a tampered body');
  const header = lowerHeaders(signed)['mux-signature']!;
  const [tPart, v1Part] = header.split(',');
  const rotated = withHeader(signed, 'Mux-Signature', `${tPart},v1=${'00'.repeat(32)},${v1Part}`);
  t.same(verify('mux', rotated), { ok: true }, 'several v1 entries, the second matches: admitted');
  await t.resolves(mux.webhooks.verifySignature(signed.body.toString(), lowerHeaders(rotated), signer.signingSecret), 'mux agrees on rotation');
});

t.test('box: box-node-sdk judges the signer', async (t) => {
  const { WebhooksManager } = require('box-node-sdk/lib/managers/webhooks') as {
    WebhooksManager: { validateMessage(body: string, headers: Record<string, string>, primaryKey: string, o?: { secondaryKey?: string; maxAge?: number }): Promise<boolean> };
  };
  const signer = signerFor('box');
  const signed = await sign('box');
  t.equal(await WebhooksManager.validateMessage(signed.body.toString(), lowerHeaders(signed), signer.signingSecret), true, 'SDK accepts the primary signature');
  t.equal(await WebhooksManager.validateMessage(signed.body.toString(), lowerHeaders(signed), 'not-the-key', { secondaryKey: BOX_SECONDARY_KEY }), true, 'SDK accepts the secondary signature');
  t.equal(await WebhooksManager.validateMessage(tamperLastByte(signed).body.toString(), lowerHeaders(signed), signer.signingSecret, { secondaryKey: BOX_SECONDARY_KEY }), false, 'SDK refuses a tampered body');
  t.same(verify('box', signed, Date.now(), BOX_SECONDARY_KEY), { ok: true }, 'configured with the secondary key: the secondary header matches');
  const onlySecondary = { ...signed, headers: { ...signed.headers } };
  delete onlySecondary.headers['BOX-SIGNATURE-PRIMARY'];
  t.same(verify('box', onlySecondary, Date.now(), BOX_SECONDARY_KEY), { ok: true }, 'primary header absent, secondary matches: admitted');
  t.same(verify('box', withHeader(signed, 'BOX-SIGNATURE-VERSION', '2')).ok, false, 'unknown signature version: refused');
  t.same(verify('box', withHeader(signed, 'BOX-DELIVERY-TIMESTAMP', '1763917200')), { ok: false, reason: 'missing_timestamp' }, 'a Unix timestamp is not RFC 3339: refused');
  const nowMs = Date.now();
  const utc = await sign('box', nowMs);
  t.match(lowerHeaders(utc)['box-delivery-timestamp'], /-07:00$/, 'the signer sends an offset timestamp');
  t.equal(boxTimestamp(0), '1969-12-31T17:00:00-07:00', 'offset timestamps are local times');
  t.same(verify('box', await sign('box', nowMs - 601_000), nowMs), { ok: false, reason: 'stale_timestamp' }, '601 s old: refused');
});

t.test('brex: svix signs, standardwebhooks and svix verify; the verifier agrees', async (t) => {
  type Verifier = new (secret: string) => { verify(payload: string, headers: Record<string, string>): unknown };
  const { Webhook: StandardWebhook } = require('standardwebhooks') as { Webhook: Verifier };
  const { Webhook: SvixWebhook } = require('svix') as { Webhook: Verifier };
  const signed = await sign('brex');
  const headers = lowerHeaders(signed);
  t.doesNotThrow(() => new StandardWebhook(BREX_SECRET).verify(signed.body.toString(), headers), 'standardwebhooks accepts the signer');
  t.throws(() => new StandardWebhook(BREX_SECRET).verify(tamperLastByte(signed).body.toString(), headers), 'standardwebhooks refuses a tampered body');
  t.doesNotThrow(() => new SvixWebhook(BREX_SECRET).verify(signed.body.toString(), headers), 'svix accepts the signer');
  t.same(verify('brex', signed, Date.now(), `whsec_${BREX_SECRET}`), { ok: true }, 'secret with the whsec_ prefix: admitted');
  const list = withHeader(signed, 'Webhook-Signature', `v1,${Buffer.alloc(32).toString('base64')} v1a,ignored ${headers['webhook-signature']}`);
  t.same(verify('brex', list), { ok: true }, 'space-separated list, the last entry matches: admitted');
  t.doesNotThrow(() => new StandardWebhook(BREX_SECRET).verify(signed.body.toString(), lowerHeaders(list)), 'standardwebhooks agrees on the list');
  const noId = { ...signed, headers: { ...signed.headers } };
  delete noId.headers['Webhook-Id'];
  t.equal(verify('brex', noId).ok, false, 'no Webhook-Id: refused');
  const brex = findProvider('brex')!;
  t.equal(brex.checkSecret?.(BREX_SECRET), null, 'base64 secret: accepted');
  t.equal(brex.checkSecret?.(`whsec_${BREX_SECRET}`), null, 'whsec_ secret: accepted');
  t.match(brex.checkSecret?.('not base64!'), /base64/, 'not base64: a clear config error');
});

// ---------------------------------------------------------------------------------------------
// Constructions without an SDK

t.test('timestamp forms', async (t) => {
  const nowMs = Date.now();
  const pinMs = await sign('pinwheel', nowMs);
  const ts = lowerHeaders(pinMs)['x-timestamp']!;
  // re-sign with a ms timestamp: the unit is undocumented, both forms are accepted
  const msTs = String(nowMs);
  const body = pinMs.body;
  const sig = createHmac('sha256', signerFor('pinwheel').signingSecret).update(`v2:${msTs}:`).update(body).digest('hex');
  const withMs = withHeader(withHeader(pinMs, 'X-Timestamp', msTs), 'X-Pinwheel-Signature', `v2=${sig}`);
  t.same(verify('pinwheel', withMs, nowMs), { ok: true }, 'pinwheel: a ms timestamp is accepted');
  t.equal(verify('pinwheel', withHeader(pinMs, 'X-Timestamp', msTs), nowMs).ok, false, 'pinwheel: the signed timestamp string is what counts');
  t.ok(/^\d{10}$/.test(ts), 'pinwheel signer sends seconds');

  const zd = await sign('zendesk', nowMs);
  t.same(verify('zendesk', withHeader(zd, 'X-Zendesk-Webhook-Signature-Timestamp', 'yesterday'), nowMs), { ok: false, reason: 'missing_timestamp' }, 'zendesk: non-ISO timestamp refused');
  const airship = await sign('airship', nowMs);
  t.same(verify('airship', withHeader(airship, 'X-UA-Timestamp', ''), nowMs), { ok: false, reason: 'missing_timestamp' }, 'airship: empty timestamp refused');
  t.same(verify('go1', await sign('go1', nowMs - 61_000), nowMs), { ok: false, reason: 'stale_timestamp' }, 'go1: 61 s old is outside its 60 s window');
  const bk = await sign('buildkite', nowMs);
  t.equal(verify('buildkite', withHeader(bk, 'X-Buildkite-Signature', lowerHeaders(bk)['x-buildkite-signature']!.replace('signature=', 'v1=')), nowMs).ok, false, 'buildkite: wrong key name refused');
  const tk = await sign('tiktok', nowMs);
  t.equal(verify('tiktok', withHeader(tk, 'TikTok-Signature', lowerHeaders(tk)['tiktok-signature']!.replace(',s=', ',s=00')), nowMs).ok, false, 'tiktok: altered signature refused');
});

// ---------------------------------------------------------------------------------------------
// Zoom's endpoint.url_validation

t.test('zoom: endpoint.url_validation is answered only when signed', async (t) => {
  const signer = signerFor('zoom');
  const verifier = findProvider('zoom')!.create(signer.configSecret!, {});
  const nowMs = Date.now();
  const plainToken = 'qgg8vlvZRS6UYooatFL8Aw';
  const validation = JSON.stringify({ payload: { plainToken }, event_ts: 1654503849680, event: 'endpoint.url_validation' });
  const challenge = (signed: SignedWebhook): ChallengeAnswer | null => verifier.challenge!(toWebhookRequest(signed, TEST_ORIGIN, nowMs));

  const signed = await sign('zoom', nowMs, validation);
  const answer = challenge(signed);
  const expected = createHmac('sha256', signer.signingSecret).update(plainToken).digest('hex');
  t.same(answer, { status: 200, contentType: 'application/json', body: JSON.stringify({ plainToken, encryptedToken: expected }) }, 'signed validation: answered');
  t.same(JSON.parse(answer!.body), { plainToken, encryptedToken: expected }, 'answer is the JSON Zoom expects');

  const unsigned = { ...signed, headers: { 'Content-Type': 'application/json' } };
  t.equal(challenge(unsigned), null, 'unsigned validation: not answered');
  t.equal(verify('zoom', unsigned, nowMs).ok, false, '…and refused by verify');
  t.equal(challenge(await sign('zoom', nowMs, validation, signer.wrongSecret)), null, 'validation signed with another secret: not answered');
  t.equal(challenge(await sign('zoom', nowMs - 600_000, validation)), null, 'stale validation: not answered');
  t.equal(challenge(await sign('zoom', nowMs)), null, 'ordinary delivery: no challenge');
  t.same(verify('zoom', await sign('zoom', nowMs), nowMs), { ok: true }, 'ordinary delivery: verified');
  const noToken = JSON.stringify({ payload: {}, event: 'endpoint.url_validation' });
  t.equal(challenge(await sign('zoom', nowMs, noToken)), null, 'validation without plainToken: not answered');
  t.equal(challenge(await sign('zoom', nowMs, '{"event":"endpoint.url_validation",')), null, 'truncated JSON: not answered');
  t.equal(findProvider('slack')!.create('x', {}).challenge, undefined, 'providers without an edge-answered handshake have no challenge');
});
