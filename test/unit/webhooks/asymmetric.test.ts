// The asymmetric providers (SNS, SendGrid): acceptance cases, the providers' own SDKs judging our
// signers (sns-validator fetches the certificate from the local cert server itself), SendGrid's
// published test vector, and SNS's certificate rules: allowed hosts only, https only, fetch failures,
// a certificate for another key, header/body disagreement, both signature versions and the cache.
import t from 'tap';
import https from 'node:https';
import { createRequire } from 'node:module';
import { generateKeyPairSync } from 'node:crypto';
import { runAcceptanceCases, TEST_ORIGIN } from '../../helpers/webhooks/cases.js';
import { toWebhookRequest } from '../../helpers/webhooks/request.js';
import { tamperLastByte, type SignedWebhook, type WebhookSigner } from '../../helpers/webhooks/types.js';
import {
  ASYMMETRIC_SIGNERS, createSnsSigner, SENDGRID_VERIFICATION_KEY, sendgridSigner, SNS_SIGNING_KEY, type SnsSignerOptions,
} from '../../helpers/webhooks/signers-asymmetric.js';
import { issueSnsCertificate, startSnsCertServer } from '../../helpers/webhooks/sns-cert-server.js';
import { findProvider } from '../../../workers/http/webhooks/providers/index.js';
import { createSnsCertificateSource, type SnsCertificateSourceOptions } from '../../../workers/http/webhooks/sns-certificates.js';
import type { ProviderContext, Verdict } from '../../../workers/http/webhooks/types.js';

const require = createRequire(import.meta.url);
/* eslint-disable @typescript-eslint/no-explicit-any -- the SDKs are untyped CommonJS */
const { EventWebhook } = require('@sendgrid/eventwebhook') as { EventWebhook: new () => any };
const MessageValidator = require('sns-validator') as new (hostPattern?: RegExp) => { validate(m: string, cb: (err: Error | null) => void): void };

const URL_IN = `${TEST_ORIGIN}/webhooks/in`;
const server = await startSnsCertServer();
t.teardown(() => server.close());

function snsContext(options: SnsCertificateSourceOptions = {}): ProviderContext {
  return { snsCertificates: createSnsCertificateSource({ fetchOrigin: server.origin, ca: server.ca, ...options }) };
}

async function verify(provider: string, secret: string, signed: SignedWebhook, ctx: ProviderContext = {}, nowMs = Date.now()): Promise<Verdict> {
  return findProvider(provider)!.create(secret, ctx).verify(toWebhookRequest(signed, TEST_ORIGIN, nowMs));
}

async function signSns(options: SnsSignerOptions = {}, secret = SNS_SIGNING_KEY.privateKey): Promise<SignedWebhook> {
  return createSnsSigner(options).sign({ url: URL_IN, nowMs: Date.now(), secret });
}

function editBody(signed: SignedWebhook, edit: (m: Record<string, string>) => void): SignedWebhook {
  const message = JSON.parse(signed.body.toString()) as Record<string, string>;
  edit(message);
  return { ...signed, body: Buffer.from(JSON.stringify(message)) };
}

t.test('acceptance cases', async (t) => {
  const ctx = snsContext();
  for (const signer of ASYMMETRIC_SIGNERS) await runAcceptanceCases(t, signer, { ctx });
  const variants: SnsSignerOptions[] = [
    { type: 'Notification', signatureVersion: '2' }, // no Subject: left out of the signed string
    { type: 'SubscriptionConfirmation', signatureVersion: '1' },
    { type: 'SubscriptionConfirmation', signatureVersion: '2' },
    { type: 'UnsubscribeConfirmation', signatureVersion: '2' },
  ];
  for (const v of variants) {
    await t.test(`sns ${v.type} v${v.signatureVersion}`, (t) => runAcceptanceCases(t, createSnsSigner(v), { ctx }));
  }
});

t.test('SendGrid SDK (@sendgrid/eventwebhook) judges the signer', async (t) => {
  const sdk = new EventWebhook();
  const key = sdk.convertPublicKeyToECDSA(SENDGRID_VERIFICATION_KEY);
  const judge = (s: SignedWebhook): boolean => sdk.verifySignature(key, s.body.toString(), s.headers['x-twilio-email-event-webhook-signature'], s.headers['x-twilio-email-event-webhook-timestamp']);
  const signed = await sendgridSigner.sign({ url: URL_IN, nowMs: Date.now(), secret: sendgridSigner.signingSecret });
  t.equal(judge(signed), true, 'SDK accepts the signer output');
  t.equal(judge(tamperLastByte(signed)), false, 'SDK refuses a tampered copy');
  const wrong = await sendgridSigner.sign({ url: URL_IN, nowMs: Date.now(), secret: sendgridSigner.wrongSecret });
  t.equal(judge(wrong), false, 'SDK refuses the wrong key');
});

t.test('SendGrid: the SDK repository\'s published vector', async (t) => {
  // sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js
  const publicKey = 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==';
  const signature = 'MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=';
  const timestamp = '1600112502';
  const body = Buffer.from(JSON.stringify([{
    email: 'hello@world.com', event: 'dropped', reason: 'Bounced Address', sg_event_id: 'ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA',
    sg_message_id: 'LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0',
    'smtp-id': '<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>', timestamp: 1600112492,
  }]) + '\r\n');
  const signed: SignedWebhook = {
    method: 'POST', pathAndQuery: '/webhooks/in', body,
    headers: { 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': timestamp },
  };
  const at = Number(timestamp) * 1000 + 10_000;
  t.same(await verify('sendgrid', publicKey, signed, {}, at), { ok: true }, 'vector admitted');
  t.equal((await verify('sendgrid', publicKey, tamperLastByte(signed), {}, at)).ok, false, 'tampered vector refused');
});

t.test('SendGrid edge cases', async (t) => {
  const provider = findProvider('sendgrid')!;
  t.equal(provider.checkSecret!(SENDGRID_VERIFICATION_KEY), null, 'the base64 verification key is accepted');
  const pem = `-----BEGIN PUBLIC KEY-----\n${SENDGRID_VERIFICATION_KEY.match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`;
  t.equal(provider.checkSecret!(pem), null, 'PEM armour is tolerated');
  t.match(provider.checkSecret!('not a key!'), /base64/, 'non-base64 refused');
  t.match(provider.checkSecret!(Buffer.from('hello world').toString('base64')), /not a DER public key/, 'base64 junk refused');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  t.match(provider.checkSecret!(rsa), /P-256/, 'RSA key refused');
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  t.match(provider.checkSecret!(p384), /P-256/, 'P-384 key refused');
  t.throws(() => provider.create('not a key!', {}), /base64/, 'create refuses a bad key');

  const signed = await sendgridSigner.sign({ url: URL_IN, nowMs: Date.now(), secret: sendgridSigner.signingSecret });
  const without = { ...signed, headers: { ...signed.headers } };
  delete without.headers['x-twilio-email-event-webhook-timestamp'];
  t.same(await verify('sendgrid', SENDGRID_VERIFICATION_KEY, without), { ok: false, reason: 'missing_timestamp' }, 'no timestamp');
  const future = await sendgridSigner.sign({ url: URL_IN, nowMs: Date.now() + 300_000, secret: sendgridSigner.signingSecret });
  t.same(await verify('sendgrid', SENDGRID_VERIFICATION_KEY, future), { ok: false, reason: 'stale_timestamp' }, '5 min in the future');
  const junk = { ...signed, headers: { ...signed.headers, 'x-twilio-email-event-webhook-signature': '%%%' } };
  t.equal((await verify('sendgrid', SENDGRID_VERIFICATION_KEY, junk) as { reason?: string }).reason, 'malformed_signature', 'non-base64 signature');
  const notDer = { ...signed, headers: { ...signed.headers, 'x-twilio-email-event-webhook-signature': Buffer.alloc(64, 7).toString('base64') } };
  t.equal((await verify('sendgrid', SENDGRID_VERIFICATION_KEY, notDer)).ok, false, 'raw (non-DER) signature refused');
  const retimed = { ...signed, headers: { ...signed.headers, 'x-twilio-email-event-webhook-timestamp': String(Math.floor(Date.now() / 1000) - 1) } };
  t.same(await verify('sendgrid', SENDGRID_VERIFICATION_KEY, retimed), { ok: false, reason: 'signature_mismatch' }, 'timestamp is signed');
});

t.test('sns-validator (AWS\'s validator) judges the signer, fetching from the local server', async (t) => {
  // sns-validator uses https.globalAgent and takes a host pattern; it matches url.parse().host (with port)
  https.globalAgent.options.ca = [server.ca];
  t.teardown(() => { delete https.globalAgent.options.ca; });
  const validator = new MessageValidator(/^127\.0\.0\.1:\d+$/);
  const judge = (s: SignedWebhook): Promise<string | null> => new Promise((resolve) => validator.validate(s.body.toString(), (err) => resolve(err === null ? null : err.message)));
  const certUrl = `${server.origin}/SimpleNotificationService-oracle.pem`;
  // UnsubscribeConfirmation is left out: sns-validator 0.3.5 builds its string from the Notification list
  // (no Token) for that type, unlike AWS's documentation and the spec
  const cases: SnsSignerOptions[] = [
    { type: 'Notification', signatureVersion: '1', subject: 'Order shipped' },
    { type: 'Notification', signatureVersion: '2' },
    { type: 'SubscriptionConfirmation', signatureVersion: '1' },
    { type: 'SubscriptionConfirmation', signatureVersion: '2' },
  ];
  for (const c of cases) {
    const signer: WebhookSigner = createSnsSigner({ ...c, certUrl });
    const signed = await signer.sign({ url: URL_IN, nowMs: Date.now(), secret: signer.signingSecret });
    const label = `${c.type} v${c.signatureVersion}${c.subject !== undefined ? ' with Subject' : ''}`;
    t.equal(await judge(signed), null, `${label}: accepted`);
    t.match(await judge(signer.tamper!(signed)), /invalid/, `${label}: tampered copy refused`);
  }
  t.ok(server.fetches('/SimpleNotificationService-oracle.pem') >= 1, 'the validator really fetched from the local server');
});

t.test('SNS certificate URL rules', async (t) => {
  const ctx = snsContext();
  const before = server.fetches();
  for (const [url, why] of [
    ['https://sns.evil.example.com/SimpleNotificationService-x.pem', 'host not an SNS host'],
    ['https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-x.pem', 'SNS host as a prefix'],
    ['http://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem', 'http://'],
    ['https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.txt', 'not .pem'],
    ['https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-x.pem', 'explicit port'],
    ['not a url', 'not a URL'],
  ]) {
    const verdict = await verify('sns', '', await signSns({ certUrl: url }), ctx);
    t.equal((verdict as { reason?: string }).reason, 'certificate_unavailable', `${why}: refused`);
  }
  t.equal(server.fetches(), before, 'none of them was fetched');
  const china = await verify('sns', '', await signSns({ certUrl: 'https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-cn.pem' }), ctx);
  t.same(china, { ok: true }, 'amazonaws.com.cn is an SNS host');
  t.same(await verify('sns', '', await signSns(), {}), { ok: false, reason: 'certificate_unavailable', detail: 'no SNS certificate source configured' }, 'no certificate source: refused');
});

t.test('SNS certificate fetch failures', async (t) => {
  const url = (path: string): string => `https://sns.us-east-1.amazonaws.com${path}`;
  const reason = async (ctx: ProviderContext, path: string): Promise<Verdict> => verify('sns', '', await signSns({ certUrl: url(path) }), ctx);

  const ctx = snsContext();
  server.serve('/missing.pem', 404);
  t.match(await reason(ctx, '/missing.pem'), { ok: false, reason: 'certificate_unavailable', detail: /404/ }, 'HTTP 404 refused');
  await reason(ctx, '/missing.pem');
  t.equal(server.fetches('/missing.pem'), 1, 'the failure is cached: no second fetch');

  server.serve('/garbage.pem', 'SECRET-LOOKING BODY TEXT');
  const garbage = await reason(ctx, '/garbage.pem');
  t.match(garbage, { ok: false, reason: 'certificate_unavailable', detail: /not an X.509/ }, 'non-certificate refused');
  t.notMatch(JSON.stringify(garbage), /SECRET-LOOKING/, 'the response body is not echoed');

  server.serve('/huge.pem', 'x'.repeat(100_000));
  t.match(await reason(ctx, '/huge.pem'), { ok: false, reason: 'certificate_unavailable', detail: /larger than/ }, 'oversized body refused');

  const expired = await issueSnsCertificate(server.testCa, SNS_SIGNING_KEY, { notBefore: new Date(Date.now() - 3 * 86400_000), notAfter: new Date(Date.now() - 86400_000) });
  server.serve('/expired.pem', expired);
  t.match(await reason(ctx, '/expired.pem'), { ok: false, reason: 'certificate_unavailable', detail: /not currently valid/ }, 'expired certificate refused');

  const slow = snsContext({ timeoutMs: 100 });
  server.delay(400);
  t.match(await reason(slow, '/slow.pem'), { ok: false, reason: 'certificate_unavailable', detail: /timed out/ }, 'slow server: timed out');
  server.delay(0);

  const untrusted = { snsCertificates: createSnsCertificateSource({ fetchOrigin: server.origin }) };
  t.match(await reason(untrusted, '/a.pem'), { ok: false, reason: 'certificate_unavailable' }, 'server certificate not trusted: refused');

  const closed = { snsCertificates: createSnsCertificateSource({ fetchOrigin: 'https://127.0.0.1:1', ca: server.ca }) };
  t.match(await reason(closed, '/a.pem'), { ok: false, reason: 'certificate_unavailable', detail: /connection failed/ }, 'nothing listening: refused');
});

t.test('SNS signature rules', async (t) => {
  const ctx = snsContext();
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  server.serve('/other-key.pem', await issueSnsCertificate(server.testCa, otherKey));
  const otherCert = await signSns({ certUrl: 'https://sns.us-east-1.amazonaws.com/other-key.pem' });
  t.same(await verify('sns', '', otherCert, ctx), { ok: false, reason: 'signature_mismatch' }, 'certificate for another key: refused');

  const v1 = await signSns({ signatureVersion: '1' });
  const v2 = await signSns({ signatureVersion: '2' });
  t.same(await verify('sns', '', v1, ctx), { ok: true }, 'SignatureVersion 1 (SHA1withRSA) admitted');
  t.same(await verify('sns', '', v2, ctx), { ok: true }, 'SignatureVersion 2 (SHA256withRSA) admitted');
  t.same(await verify('sns', '', editBody(v1, (m) => { m['SignatureVersion'] = '2'; }), ctx), { ok: false, reason: 'signature_mismatch' }, 'v1 signature claimed as v2: refused');
  t.match(await verify('sns', '', editBody(v1, (m) => { m['SignatureVersion'] = '3'; }), ctx), { ok: false, reason: 'malformed_signature' }, 'unknown SignatureVersion refused');
  t.same(await verify('sns', '', editBody(v2, (m) => { m['Subject'] = 'added'; }), ctx), { ok: false, reason: 'signature_mismatch' }, 'a Subject added after signing: refused');
  t.same(await verify('sns', '', editBody(v2, (m) => { m['UnsubscribeURL'] = 'https://evil.example/'; }), ctx), { ok: true }, 'unsigned fields may differ (as AWS specifies)');

  const retyped = { ...v1, headers: { ...v1.headers, 'x-amz-sns-message-type': 'SubscriptionConfirmation' } };
  t.match(await verify('sns', '', retyped, ctx), { ok: false, reason: 'malformed_request', detail: /x-amz-sns-message-type/ }, 'Type header disagrees with the body: refused');
  const otherId = { ...v1, headers: { ...v1.headers, 'x-amz-sns-message-id': 'another-id' } };
  t.match(await verify('sns', '', otherId, ctx), { ok: false, reason: 'malformed_request' }, 'message-id header disagrees: refused');
  const noHeaders = { ...v1, headers: { 'content-type': 'text/plain; charset=UTF-8' } };
  t.same(await verify('sns', '', noHeaders, ctx), { ok: true }, 'absent x-amz-sns-* headers: admitted (the body is what is signed)');

  t.match(await verify('sns', '', { ...v1, body: Buffer.from('not json') }, ctx), { ok: false, reason: 'malformed_request' }, 'non-JSON body refused');
  t.match(await verify('sns', '', editBody(v1, (m) => { m['Type'] = 'Bogus'; }), ctx), { ok: false, reason: 'malformed_request' }, 'unknown Type refused');
  t.match(await verify('sns', '', editBody(v1, (m) => { delete m['TopicArn']; }), ctx), { ok: false, reason: 'malformed_request' }, 'missing TopicArn refused');
  t.match(await verify('sns', '', editBody(v1, (m) => { m['Signature'] = '***'; }), ctx), { ok: false, reason: 'malformed_signature' }, 'non-base64 Signature refused');
  const provider = findProvider('sns')!;
  t.equal(provider.secret, 'forbidden', 'sns takes no secret');
  t.equal(provider.asymmetric, true, 'sns is asymmetric');
});

t.test('SNS certificate cache', async (t) => {
  const ctx = snsContext();
  const certUrl = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-cached.pem';
  for (let i = 0; i < 20; i++) t.same(await verify('sns', '', await signSns({ certUrl, signatureVersion: i % 2 ? '1' : '2' }), ctx), { ok: true });
  t.equal(server.fetches('/SimpleNotificationService-cached.pem'), 1, '20 messages, one fetch');

  const fresh = snsContext();
  const concurrentUrl = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-concurrent.pem';
  server.delay(150);
  const messages = await Promise.all(Array.from({ length: 10 }, () => signSns({ certUrl: concurrentUrl })));
  const verdicts = await Promise.all(messages.map((m) => verify('sns', '', m, fresh)));
  server.delay(0);
  t.same(verdicts, Array.from({ length: 10 }, () => ({ ok: true })), 'all ten concurrent first requests admitted');
  t.equal(server.fetches('/SimpleNotificationService-concurrent.pem'), 1, 'and they shared one fetch');
});
