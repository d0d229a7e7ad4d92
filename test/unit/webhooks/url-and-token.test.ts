// The URL-signed, structured and token providers: the acceptance cases for every signer, the
// providers' own SDKs judging the signers' output, and the edge cases of each scheme.
import t from 'tap';
import { createHash, createHmac } from 'node:crypto';
import { findProvider } from '../../../workers/http/webhooks/providers/index.js';
import type { Verdict } from '../../../workers/http/webhooks/types.js';
import { runAcceptanceCases, TEST_ORIGIN, TEST_PATH } from '../../helpers/webhooks/cases.js';
import { toWebhookRequest } from '../../helpers/webhooks/request.js';
import { tamperLastByte, type SignedWebhook, type WebhookSigner } from '../../helpers/webhooks/types.js';
import {
  contentfulToolkit, CONTENTFUL_EXTRA_HEADERS, formParams, hubspotSignature, hygraphSpecSignature, hygraphUtils, mailgunSignature,
  plivoSdk, plivoV3Signature, signTwilioJson, squareWebhooksHelper, twilioSdk, URL_AND_TOKEN_SIGNERS,
} from '../../helpers/webhooks/signers-url-and-token.js';

const URL = TEST_ORIGIN + TEST_PATH;

function signer(id: string): WebhookSigner {
  const found = URL_AND_TOKEN_SIGNERS.find((s) => s.provider === id);
  if (found === undefined) throw new Error(`no signer for ${id}`);
  return found;
}

/** The verdict of provider `id` (configured with `secret`) on a request sent to `origin`. */
async function verdict(id: string, secret: string, signed: SignedWebhook, nowMs = Date.now(), origin = TEST_ORIGIN): Promise<Verdict> {
  const provider = findProvider(id);
  if (provider === undefined) throw new Error(`no provider ${id}`);
  return provider.create(secret, {}).verify(toWebhookRequest(signed, origin, nowMs));
}

async function signDefault(id: string, nowMs = Date.now(), url = URL): Promise<SignedWebhook> {
  const s = signer(id);
  return s.sign({ url, nowMs, secret: s.signingSecret });
}

t.test('acceptance cases', async (t) => {
  t.equal(URL_AND_TOKEN_SIGNERS.length, 11, 'one signer per provider of the group');
  for (const s of URL_AND_TOKEN_SIGNERS) await runAcceptanceCases(t, s);
});

t.test('twilio', async (t) => {
  const s = signer('twilio');
  const secret = s.signingSecret;
  const signed = await signDefault('twilio');
  const sig = signed.headers['x-twilio-signature'] as string;
  t.ok(twilioSdk().validateRequest(secret, sig, URL, formParams(signed.body)), 'the SDK accepts the form request');
  t.notOk(twilioSdk().validateRequest(secret, sig, URL, formParams(tamperLastByte(signed).body)), 'the SDK refuses a changed parameter');

  const body = Buffer.from(JSON.stringify({ CallSid: 'CA123', CallStatus: 'completed' }));
  const json = signTwilioJson(URL, body, secret);
  t.ok(twilioSdk().validateRequestWithBody(secret, json.headers['x-twilio-signature'] as string, TEST_ORIGIN + json.pathAndQuery, body.toString()), 'the SDK accepts the JSON request');
  t.same(await verdict('twilio', secret, json), { ok: true }, 'JSON body with bodySHA256: admitted');
  const jsonTampered = await verdict('twilio', secret, tamperLastByte(json));
  t.equal(jsonTampered.ok, false, 'JSON body changed: refused');
  t.notOk(twilioSdk().validateRequestWithBody(secret, json.headers['x-twilio-signature'] as string, TEST_ORIGIN + json.pathAndQuery, tamperLastByte(json).body.toString()), 'the SDK agrees');

  const unsignedJson = { ...json, pathAndQuery: TEST_PATH };
  t.same(await verdict('twilio', secret, unsignedJson), { ok: false, reason: 'malformed_request', detail: 'body is not form-encoded, so the signature would not cover it' }, 'JSON body without bodySHA256: refused');

  // Twilio signed https://host:443/…; a proxy dropped the port (and the other way round)
  const withPort = await s.sign({ url: 'https://hooks.example.test:443' + TEST_PATH, nowMs: Date.now(), secret });
  t.same(await verdict('twilio', secret, withPort), { ok: true }, 'signed with :443, received without: admitted');
  t.same(await verdict('twilio', secret, signed, Date.now(), 'https://hooks.example.test:443'), { ok: true }, 'signed without port, received with :443: admitted');

  // repeated parameters: the SDK signs them deduplicated and sorted
  const repeated = await s.sign({ url: URL, nowMs: Date.now(), secret, body: Buffer.from('To=%2B1555&MediaUrl=b&MediaUrl=a&MediaUrl=b') });
  t.same(await verdict('twilio', secret, repeated), { ok: true }, 'repeated form parameters: admitted');
});

t.test('plivo', async (t) => {
  const secret = signer('plivo').signingSecret;
  const signed = await signDefault('plivo');
  const sig = signed.headers['x-plivo-signature-v3'] as string;
  const nonce = signed.headers['x-plivo-signature-v3-nonce'] as string;
  t.ok(plivoSdk().validateV3Signature('POST', URL, nonce, secret, sig, formParams(signed.body)), 'the SDK accepts the spec signer');
  t.notOk(plivoSdk().validateV3Signature('POST', URL, nonce, secret, sig, formParams(tamperLastByte(signed).body)), 'the SDK refuses a changed parameter');

  const withQuery = URL + '?b=2&a=1';
  const q = await signDefault('plivo', Date.now(), withQuery);
  const qNonce = q.headers['x-plivo-signature-v3-nonce'] as string;
  t.ok(plivoSdk().validateV3Signature('POST', withQuery, qNonce, secret, q.headers['x-plivo-signature-v3'] as string, formParams(q.body)), 'the SDK accepts a URL with a query');
  t.same(await verdict('plivo', secret, q), { ok: true }, 'URL with a query (sorted when signed): admitted');

  const get = { method: 'GET', pathAndQuery: TEST_PATH + '?b=2&a=1', headers: { 'x-plivo-signature-v3': plivoV3Signature(withQuery, Buffer.alloc(0), 'n1', secret), 'x-plivo-signature-v3-nonce': 'n1' }, body: Buffer.alloc(0) };
  t.ok(plivoSdk().validateV3Signature('GET', withQuery, 'n1', secret, get.headers['x-plivo-signature-v3']), 'the SDK accepts the GET signature');
  t.same(await verdict('plivo', secret, get), { ok: true }, 'GET: admitted');

  const rotated = { ...signed, headers: { ...signed.headers, 'x-plivo-signature-v3': `${plivoV3Signature(URL, signed.body, nonce, 'other-token')},${sig}` } };
  t.same(await verdict('plivo', secret, rotated), { ok: true }, 'several comma-separated signatures, the second matches: admitted');

  const noNonce = { ...signed, headers: { 'content-type': signed.headers['content-type']!, 'x-plivo-signature-v3': sig } };
  t.equal((await verdict('plivo', secret, noNonce)).ok, false, 'nonce missing: refused');

  const v2 = createHmac('sha256', secret).update(URL + nonce).digest('base64');
  const v2Only = { ...signed, headers: { 'content-type': signed.headers['content-type']!, 'x-plivo-signature-v2': v2, 'x-plivo-signature-v2-nonce': nonce } };
  t.same(await verdict('plivo', secret, v2Only), { ok: false, reason: 'missing_signature' }, 'V2 only (body unsigned): not accepted');
});

t.test('square', async (t) => {
  const secret = signer('square').signingSecret;
  const signed = await signDefault('square');
  const helper = squareWebhooksHelper();
  const header = signed.headers['x-square-hmacsha256-signature'] as string;
  t.ok(await helper.verifySignature({ requestBody: signed.body.toString(), signatureHeader: header, signatureKey: secret, notificationUrl: URL }), 'the SDK accepts the spec signer');
  t.notOk(await helper.verifySignature({ requestBody: tamperLastByte(signed).body.toString(), signatureHeader: header, signatureKey: secret, notificationUrl: URL }), 'the SDK refuses a changed body');
  t.equal((await verdict('square', secret, signed, Date.now(), 'https://other.example.test')).ok, false, 'same body at another host: refused (URL is signed)');
});

t.test('hubspot', async (t) => {
  const secret = signer('hubspot').signingSecret;
  const nowMs = Date.now();
  const signed = await signDefault('hubspot', nowMs);
  const base = { clientSecret: secret, signatureVersion: 'v3' as const, url: URL, method: 'POST', timestamp: nowMs };
  t.ok(hubspotSignature().isValid({ ...base, signature: signed.headers['x-hubspot-signature-v3'] as string, requestBody: signed.body.toString() }), 'the SDK accepts the request');
  t.notOk(hubspotSignature().isValid({ ...base, signature: signed.headers['x-hubspot-signature-v3'] as string, requestBody: tamperLastByte(signed).body.toString() }), 'the SDK refuses a changed body');

  const future = await signDefault('hubspot', nowMs + 400_000);
  t.same(await verdict('hubspot', secret, future, nowMs), { ok: false, reason: 'stale_timestamp' }, 'timestamp 400 s ahead: refused');

  // HubSpot signs the URL with some escapes decoded
  const encodedUrl = URL + '?next=https%3A%2F%2Fapp.example.test';
  const decodedSig = hubspotSignature().getSignature('POST', 'v3', { clientSecret: secret, requestBody: signed.body.toString(), url: URL + '?next=https://app.example.test', timestamp: nowMs });
  const decoded = { ...signed, pathAndQuery: TEST_PATH + '?next=https%3A%2F%2Fapp.example.test', headers: { ...signed.headers, 'x-hubspot-signature-v3': decodedSig } };
  t.same(await verdict('hubspot', secret, decoded, nowMs), { ok: true }, 'signature over the URL with %3A %2F decoded: admitted');
  const raw = await signDefault('hubspot', nowMs, encodedUrl);
  t.same(await verdict('hubspot', secret, raw, nowMs), { ok: true }, 'signature over the URL as sent: admitted');

  const v1 = createHash('sha256').update(secret + signed.body.toString()).digest('hex');
  const legacy = { ...signed, headers: { 'content-type': 'application/json', 'x-hubspot-signature': v1, 'x-hubspot-signature-version': 'v1' } };
  t.same(await verdict('hubspot', secret, legacy, nowMs), { ok: false, reason: 'missing_signature' }, 'legacy v1 only (no timestamp): not accepted');
});

t.test('contentful', async (t) => {
  const s = signer('contentful');
  const secret = s.signingSecret;
  const signed = await signDefault('contentful');
  const asToolkitSees = (w: SignedWebhook) => ({ method: w.method, path: w.pathAndQuery, headers: w.headers as Record<string, string>, body: w.body.toString() });
  t.ok(contentfulToolkit().verifyRequest(secret, asToolkitSees(signed)), 'the toolkit accepts the request');
  t.notOk(contentfulToolkit().verifyRequest(secret, asToolkitSees(tamperLastByte(signed))), 'the toolkit refuses a changed body');

  const query = await signDefault('contentful', Date.now(), URL + '?a=1&b=x%20y');
  t.same(await verdict('contentful', secret, query), { ok: true }, 'path with a query (double-encoded by the toolkit): admitted');
  t.ok(contentfulToolkit().verifyRequest(secret, asToolkitSees(query)), 'the toolkit agrees');

  const signedTopic = { ...signed, headers: { ...signed.headers, 'x-contentful-topic': 'ContentManagement.Entry.delete' } };
  t.equal((await verdict('contentful', secret, signedTopic)).ok, false, 'a signed header changed: refused');
  const unsignedExtra = { ...signed, headers: { ...signed.headers, 'x-extra': 'anything' } };
  t.same(await verdict('contentful', secret, unsignedExtra), { ok: true }, 'an unsigned header added: admitted');
  const upper = { ...signed, headers: { ...signed.headers, 'x-contentful-signature': (signed.headers['x-contentful-signature'] as string).toUpperCase() } };
  t.same(await verdict('contentful', secret, upper), { ok: true }, 'uppercase hex: admitted');
  t.ok(Object.keys(CONTENTFUL_EXTRA_HEADERS).every((h) => (signed.headers['x-contentful-signed-headers'] as string).includes(h)), 'the extra headers are among the signed ones');
  t.match(findProvider('contentful')!.checkSecret!('too-short'), /64 characters/, 'a secret that is not 64 characters: config error');
  t.equal(findProvider('contentful')!.checkSecret!(secret), null, 'a 64-character secret: accepted');
});

t.test('mailchimp (unconfirmed: Transactional scheme)', async (t) => {
  const secret = signer('mailchimp').signingSecret;
  const signed = await signDefault('mailchimp');
  const json = { ...signed, headers: { ...signed.headers, 'content-type': 'application/json' } };
  t.equal((await verdict('mailchimp', secret, json)).ok, false, 'a body that is not form-encoded: refused');
});

t.test('mailgun', async (t) => {
  const s = signer('mailgun');
  const secret = s.signingSecret;
  const nowMs = Date.now();
  const signed = await signDefault('mailgun', nowMs);
  const parsed = JSON.parse(signed.body.toString()) as { signature: { signature: string }; 'event-data': { event: string } };

  // Honest about the scheme: Mailgun signs timestamp + token only, not the event.
  parsed['event-data'].event = 'failed';
  t.same(await verdict('mailgun', secret, { ...signed, body: Buffer.from(JSON.stringify(parsed)) }, nowMs), { ok: true }, 'event-data changed: admitted (Mailgun does not sign it)');

  const upper = JSON.parse(signed.body.toString()) as { signature: { signature: string } };
  upper.signature.signature = upper.signature.signature.toUpperCase();
  t.same(await verdict('mailgun', secret, { ...signed, body: Buffer.from(JSON.stringify(upper)) }, nowMs), { ok: true }, 'uppercase hex: admitted');

  const timestamp = String(Math.floor(nowMs / 1000));
  const token = 'a'.repeat(50);
  const form = new URLSearchParams({ timestamp, token, signature: mailgunSignature(secret, timestamp, token), event: 'delivered', recipient: 'alice@example.com' });
  const formSigned = { method: 'POST', pathAndQuery: TEST_PATH, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()) };
  t.same(await verdict('mailgun', secret, formSigned, nowMs), { ok: true }, 'legacy form fields: admitted');
  form.set('token', 'b'.repeat(50));
  t.equal((await verdict('mailgun', secret, { ...formSigned, body: Buffer.from(form.toString()) }, nowMs)).ok, false, 'legacy form with a changed token: refused');

  const noBlock = { ...signed, body: Buffer.from(JSON.stringify({ 'event-data': { event: 'delivered' } })) };
  t.same(await verdict('mailgun', secret, noBlock, nowMs), { ok: false, reason: 'missing_signature' }, 'no signature block: missing_signature');
  t.equal((await verdict('mailgun', secret, { ...signed, body: Buffer.from('not json') }, nowMs)).ok, false, 'a body that is not JSON: refused');
});

t.test('graphcms (hygraph)', async (t) => {
  const secret = signer('graphcms').signingSecret;
  const nowMs = Date.now();
  const signed = await signDefault('graphcms', nowMs);
  const header = signed.headers['gcms-signature'] as string;
  t.ok(hygraphUtils().verifyWebhookSignature({ rawPayload: signed.body.toString(), signature: header, secret }), 'the SDK verifies its own signature');
  t.same(await verdict('graphcms', secret, signed, nowMs), { ok: true }, 'the SDK signature: admitted');

  const specSigned = { ...signed, headers: { ...signed.headers, 'gcms-signature': hygraphSpecSignature(signed.body, 'master', nowMs, secret) } };
  t.same(await verdict('graphcms', secret, specSigned, nowMs), { ok: true }, 'the spec construction: admitted');

  // & < > : the spec's Go-style escapes and the installed SDK (no escaping) both verify
  const html = Buffer.from(JSON.stringify({ data: { title: 'Tom & Jerry <3>' } }));
  const goStyle = { ...signed, body: html, headers: { ...signed.headers, 'gcms-signature': hygraphSpecSignature(html, 'master', nowMs, secret) } };
  t.same(await verdict('graphcms', secret, goStyle, nowMs), { ok: true }, 'body with & < >, Go-style escapes: admitted');
  const sdkStyle = await signer('graphcms').sign({ url: URL, nowMs, secret, body: html });
  t.same(await verdict('graphcms', secret, sdkStyle, nowMs), { ok: true }, 'body with & < >, SDK 1.2.1 signature: admitted');
  t.equal((await verdict('graphcms', secret, tamperLastByte(goStyle), nowMs)).ok, false, 'and its body changed: refused');

  const otherEnv = { ...signed, headers: { ...signed.headers, 'gcms-signature': header.replace('env=master', 'env=staging') } };
  t.equal((await verdict('graphcms', secret, otherEnv, nowMs)).ok, false, 'environment changed: refused (it is signed)');
  const noT = { ...signed, headers: { ...signed.headers, 'gcms-signature': header.replace(/, t=\d+/, '') } };
  t.same(await verdict('graphcms', secret, noT, nowMs), { ok: false, reason: 'missing_timestamp' }, 'no t=: missing_timestamp');
});

t.test('plain tokens: gitlab, orbit (unconfirmed)', async (t) => {
  for (const id of ['gitlab', 'orbit']) {
    const s = signer(id);
    const signed = await signDefault(id);
    // These providers sign nothing: the token proves the sender, the body is not covered.
    t.same(await verdict(id, s.signingSecret, tamperLastByte(signed)), { ok: true }, `${id}: changed body with the right token admitted (body unsigned by the provider)`);
    const prefix = { ...signed, headers: { ...signed.headers, [s.signatureHeader!]: s.signingSecret.slice(0, -1) } };
    t.equal((await verdict(id, s.signingSecret, prefix)).ok, false, `${id}: a prefix of the token: refused`);
  }
});

t.test('vmware (unconfirmed: HTTP Basic)', async (t) => {
  const s = signer('vmware');
  t.equal(findProvider('vmware_workspace'), findProvider('vmware'), 'vmware_workspace is an alias');
  const signed = await signDefault('vmware');
  t.same(await verdict('vmware', 'ws1-notify:S3cret:Pass', signed), { ok: true }, "secret as 'username:password': admitted too");
  t.match(findProvider('vmware')!.checkSecret!('no-separator'), /username::password/, 'a secret without a separator: config error');
  t.equal(findProvider('vmware')!.checkSecret!(s.configSecret!), null, 'username::password: accepted');
  const bearer = { ...signed, headers: { ...signed.headers, authorization: 'Bearer abc' } };
  t.same(await verdict('vmware', s.signingSecret, bearer), { ok: false, reason: 'malformed_signature', detail: 'expected Authorization: Basic <base64>' }, 'not Basic: malformed');
});
