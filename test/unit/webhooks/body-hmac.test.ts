// Body-HMAC providers: every signer through the acceptance cases, the SDK oracles judging the signers'
// output, and the provider details a table row encodes (rotation, prefixes, header variants, Xero's
// Intent to Receive).
import t from 'tap';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { verify as octokitVerify } from '@octokit/webhooks-methods';
import { BODY_HMAC_PROVIDERS } from '../../../workers/http/webhooks/providers/body-hmac.js';
import { findProvider } from '../../../workers/http/webhooks/providers/index.js';
import type { ProviderVerifier, Verdict } from '../../../workers/http/webhooks/types.js';
import { runAcceptanceCases, TEST_ORIGIN, TEST_PATH } from '../../helpers/webhooks/cases.js';
import { toWebhookRequest } from '../../helpers/webhooks/request.js';
import { BODY_HMAC_SIGNERS } from '../../helpers/webhooks/signers-body-hmac.js';
import { tamperLastByte, type SignedWebhook, type WebhookSigner } from '../../helpers/webhooks/types.js';

const require = createRequire(import.meta.url);
const URL_ = TEST_ORIGIN + TEST_PATH;
const NOW = Date.now();

function signerFor(provider: string): WebhookSigner {
  const signer = BODY_HMAC_SIGNERS.find((s) => s.provider === provider);
  if (signer === undefined) throw new Error(`no signer for ${provider}`);
  return signer;
}

function verifierFor(provider: string, secret: string): ProviderVerifier {
  const definition = findProvider(provider);
  if (definition === undefined) throw new Error(`no provider ${provider}`);
  return definition.create(secret, {});
}

async function signed(provider: string, body?: string): Promise<SignedWebhook> {
  const signer = signerFor(provider);
  return signer.sign({ url: URL_, nowMs: NOW, secret: signer.signingSecret, ...(body !== undefined ? { body: Buffer.from(body) } : {}) });
}

async function verdict(provider: string, request: SignedWebhook): Promise<Verdict> {
  return verifierFor(provider, signerFor(provider).configSecret!).verify(toWebhookRequest(request, TEST_ORIGIN, NOW));
}

/** The request with its headers replaced (names as given). */
function withHeaders(request: SignedWebhook, headers: Record<string, string | string[]>): SignedWebhook {
  return { ...request, headers };
}

function hmacOf(alg: string, secret: string | Buffer, body: Buffer | string, enc: 'hex' | 'base64'): string {
  return createHmac(alg, secret).update(body).digest(enc);
}

t.test('every provider of the group has a signer, and every signer a provider', async (t) => {
  const ids = BODY_HMAC_PROVIDERS.map((p) => p.id).sort();
  t.same(BODY_HMAC_SIGNERS.map((s) => s.provider).sort(), ids);
  t.equal(ids.length, 31);
  for (const p of BODY_HMAC_PROVIDERS) t.equal(p.toleranceSeconds, null, `${p.id}: no signed timestamp`);
});

t.test('acceptance cases', async (t) => {
  for (const signer of BODY_HMAC_SIGNERS) await runAcceptanceCases(t, signer, { nowMs: NOW });
});

t.test('aliases resolve to the same provider', async (t) => {
  const pairs: [string, string][] = [
    ['autodesk', 'autodesk_forge'], ['instagram', 'facebook_graph_api'], ['whatsapp', 'facebook_graph_api'],
    ['signalsciences', 'signal_sciences'], ['sonatype_nexus', 'sonatype'],
  ];
  for (const [alias, id] of pairs) t.equal(findProvider(alias)?.id, id, `${alias} → ${id}`);
});

t.test('SDK oracles judge the signers', async (t) => {
  t.test('github: @octokit/webhooks-methods verify', async (t) => {
    const signer = signerFor('github');
    const req = await signed('github');
    const sig = req.headers['X-Hub-Signature-256'] as string;
    t.equal(await octokitVerify(signer.signingSecret, req.body.toString(), sig), true, 'signer output verifies');
    t.equal(await octokitVerify(signer.signingSecret, tamperLastByte(req).body.toString(), sig), false, 'tampered copy does not');
  });

  t.test('modern_treasury: modern-treasury validateSignature', async (t) => {
    const signer = signerFor('modern_treasury');
    const req = await signed('modern_treasury');
    const MT = require('modern-treasury') as { default: new (o: object) => { webhooks: { validateSignature(p: string, h: Record<string, string>, o: { key: string }): boolean } } };
    const client = new MT.default({ apiKey: 'k', organizationID: 'o' });
    const headers = { 'X-Signature': req.headers['X-Signature'] as string };
    t.equal(client.webhooks.validateSignature(req.body.toString(), headers, { key: signer.signingSecret }), true, 'signer output verifies');
    t.equal(client.webhooks.validateSignature(tamperLastByte(req).body.toString(), headers, { key: signer.signingSecret }), false, 'tampered copy does not');
    // and the SDK-signed request also passes a spec computation (the SDK and the spec agree)
    t.equal(headers['X-Signature'], hmacOf('sha256', signer.signingSecret, req.body, 'hex'));
  });

  t.test('shopify: @shopify/shopify-api webhooks.validate', async (t) => {
    const signer = signerFor('shopify');
    require('@shopify/shopify-api/adapters/node');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const sdk = require('@shopify/shopify-api') as any;
    const shopify = sdk.shopifyApi({
      apiKey: 'app-key', apiSecretKey: signer.signingSecret, scopes: [], hostName: 'hooks.example.test',
      apiVersion: Object.values(sdk.ApiVersion)[0], isEmbeddedApp: false, logger: { level: sdk.LogSeverity.Error },
    });
    const req = await signed('shopify');
    const rawRequest = (r: SignedWebhook) => ({ headers: lowerHeaders(r), method: 'POST', url: TEST_PATH });
    const good = await shopify.webhooks.validate({ rawBody: req.body.toString(), rawRequest: rawRequest(req) });
    t.equal(good.valid, true, 'signer output verifies');
    const bad = await shopify.webhooks.validate({ rawBody: tamperLastByte(req).body.toString(), rawRequest: rawRequest(req) });
    t.equal(bad.valid, false, 'tampered copy does not');
  });

  t.test('pusher: pusher webhook().isValid()', async (t) => {
    const signer = signerFor('pusher');
    const req = await signed('pusher');
    const Pusher = require('pusher') as new (o: object) => { webhook(r: { headers: Record<string, string>; rawBody: string }): { isValid(): boolean } };
    const pusher = new Pusher({ appId: '1', key: req.headers['X-Pusher-Key'], secret: signer.signingSecret, cluster: 'eu' });
    t.equal(pusher.webhook({ headers: lowerHeaders(req), rawBody: req.body.toString() }).isValid(), true, 'signer output verifies');
    t.equal(pusher.webhook({ headers: lowerHeaders(req), rawBody: tamperLastByte(req).body.toString() }).isValid(), false, 'tampered copy does not');
  });

  t.test('coinbase: coinbase-commerce-node Webhook.verifySigHeader', async (t) => {
    const signer = signerFor('coinbase');
    const req = await signed('coinbase');
    const { Webhook } = require('coinbase-commerce-node') as { Webhook: { verifySigHeader(b: string, s: string, k: string): boolean } };
    const sig = req.headers['X-CC-Webhook-Signature'] as string;
    t.equal(Webhook.verifySigHeader(req.body.toString(), sig, signer.signingSecret), true, 'signer output verifies');
    t.throws(() => Webhook.verifySigHeader(tamperLastByte(req).body.toString(), sig, signer.signingSecret), 'tampered copy does not');
  });
});

function lowerHeaders(req: SignedWebhook): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

t.test('signature forms', async (t) => {
  const gh = await signed('github');
  const ghSig = gh.headers['X-Hub-Signature-256'] as string;
  const ghSecret = signerFor('github').signingSecret;

  t.same(await verdict('github', withHeaders(gh, { 'X-Hub-Signature-256': 'sha256=' + ghSig.slice(7).toUpperCase() })), { ok: true }, 'uppercase hex accepted');
  t.same(await verdict('github', withHeaders(gh, { 'X-Hub-Signature-256': 'SHA256=' + ghSig.slice(7) })), { ok: true }, 'prefix matched case-insensitively');
  t.same(await verdict('github', withHeaders(gh, { 'X-Hub-Signature-256': ghSig.slice(7) })), { ok: false, reason: 'malformed_signature' }, 'prefix missing: malformed');
  t.same(await verdict('github', withHeaders(gh, { 'X-Hub-Signature-256': 'sha256=not-hex' })), { ok: false, reason: 'malformed_signature' }, 'not hex: malformed');
  t.same(await verdict('github', withHeaders(gh, { 'X-Hub-Signature-256': '' })), { ok: false, reason: 'missing_signature' }, 'empty header: missing');
  t.same(await verdict('github', withHeaders(gh, { 'X-Hub-Signature-256': 'sha256=' + '0'.repeat(64) })), { ok: false, reason: 'signature_mismatch' }, 'well-formed but wrong: mismatch');

  // legacy SHA-1 X-Hub-Signature alone is not enough (GitHub and Meta always send the SHA-256 header)
  const legacy = withHeaders(gh, { 'X-Hub-Signature': 'sha1=' + hmacOf('sha1', ghSecret, gh.body, 'hex') });
  t.same(await verdict('github', legacy), { ok: false, reason: 'missing_signature' }, 'github: legacy SHA-1 header alone refused');
  const fb = await signed('facebook_graph_api');
  const fbSecret = signerFor('facebook_graph_api').signingSecret;
  const fbLegacy = withHeaders(fb, { 'X-Hub-Signature': 'sha1=' + hmacOf('sha1', fbSecret, fb.body, 'hex') });
  t.same(await verdict('facebook_graph_api', fbLegacy), { ok: false, reason: 'missing_signature' }, 'facebook: legacy SHA-1 header alone refused');
  t.same(await verdict('facebook_graph_api', { ...fb, headers: { ...fb.headers, ...fbLegacy.headers } }), { ok: true }, 'facebook: both headers (as Meta sends): admitted');

  const tf = await signed('typeform');
  const tfSig = tf.headers['Typeform-Signature'] as string;
  t.same(await verdict('typeform', withHeaders(tf, { 'Typeform-Signature': tfSig.slice('sha256='.length) })), { ok: false, reason: 'malformed_signature' }, 'typeform: prefix missing refused');
  const ad = await signed('autodesk_forge');
  const adSig = ad.headers['x-adsk-signature'] as string;
  t.same(await verdict('autodesk_forge', withHeaders(ad, { 'x-adsk-signature': adSig.replace('sha1hash=', 'sha1=') })), { ok: false, reason: 'malformed_signature' }, 'autodesk: wrong prefix refused');
  const viaAlias = verifierFor('autodesk', signerFor('autodesk_forge').configSecret!);
  t.same(await viaAlias.verify(toWebhookRequest(ad, TEST_ORIGIN, NOW)), { ok: true }, 'autodesk alias verifies the same way');

  const bb = await signed('bitbucket');
  const bbSecret = signerFor('bitbucket').signingSecret;
  const bbSha1 = withHeaders(bb, { 'X-Hub-Signature': 'sha1=' + hmacOf('sha1', bbSecret, bb.body, 'hex') });
  t.equal((await verdict('bitbucket', bbSha1)).ok, false, 'bitbucket: X-Hub-Signature carries sha256, a sha1 value is refused');
});

t.test('rotation: any of several signatures may match', async (t) => {
  const pd = await signed('pagerduty');
  const pdSecret = signerFor('pagerduty').signingSecret;
  const good = hmacOf('sha256', pdSecret, pd.body, 'hex');
  const other = hmacOf('sha256', 'old-secret', pd.body, 'hex');
  t.same(await verdict('pagerduty', withHeaders(pd, { 'X-PagerDuty-Signature': `v1=${other},v1=${good}` })), { ok: true }, 'pagerduty: second v1 entry matches');
  t.same(await verdict('pagerduty', withHeaders(pd, { 'X-PagerDuty-Signature': `v1=${other}, v2=${good}` })), { ok: false, reason: 'signature_mismatch' }, 'pagerduty: only v1 entries count');
  t.same(await verdict('pagerduty', withHeaders(pd, { 'X-PagerDuty-Signature': good })), { ok: false, reason: 'malformed_signature' }, 'pagerduty: no v1= entry: malformed');

  const cc = await signed('circleci');
  const ccSecret = signerFor('circleci').signingSecret;
  t.same(await verdict('circleci', withHeaders(cc, { 'circleci-signature': `v1=${hmacOf('sha256', ccSecret, cc.body, 'hex')},v2=abcd` })), { ok: true }, 'circleci: unknown versions ignored');

  const ds = await signed('docusign');
  const dsSecret = signerFor('docusign').signingSecret;
  const dsGood = hmacOf('sha256', dsSecret, ds.body, 'base64');
  const dsOther = hmacOf('sha256', 'another-connect-key', ds.body, 'base64');
  t.same(await verdict('docusign', withHeaders(ds, { 'X-DocuSign-Signature-1': dsOther, 'X-DocuSign-Signature-2': dsGood })), { ok: true }, 'docusign: X-DocuSign-Signature-2 matches');
  t.same(await verdict('docusign', withHeaders(ds, { 'X-DocuSign-Signature-1': dsOther, 'X-DocuSign-Signature-17': dsGood })), { ok: true }, 'docusign: any numbered header');
  t.same(await verdict('docusign', withHeaders(ds, { 'X-DocuSign-Signature-1': dsOther })), { ok: false, reason: 'signature_mismatch' }, 'docusign: no key matches');
  t.same(await verdict('docusign', withHeaders(ds, { 'X-DocuSign-Signature': dsGood })), { ok: false, reason: 'missing_signature' }, 'docusign: unnumbered header is not one');

  const gh = await signed('github');
  const ghSig = gh.headers['X-Hub-Signature-256'] as string;
  t.same(await verdict('github', withHeaders(gh, { 'X-Hub-Signature-256': ['sha256=' + '1'.repeat(64), ghSig] })), { ok: true }, 'repeated header: second value matches');
});

t.test('aftership header variants', async (t) => {
  const as = await signed('aftership');
  const secret = signerFor('aftership').signingSecret;
  const sig = hmacOf('sha256', secret, as.body, 'base64');
  t.same(await verdict('aftership', withHeaders(as, { 'as-signature-hmac-sha256': sig })), { ok: true }, 'Returns/Warranty header');
  t.same(await verdict('aftership', withHeaders(as, { 'am-webhook-signature': sig })), { ok: true }, 'Shipping header');
  t.same(await verdict('aftership', withHeaders(as, { 'am-webhook-signature': 'hmac-sha256=' + sig })), { ok: true }, 'old Returns orgs: hmac-sha256= prefix');
  t.same(await verdict('aftership', withHeaders(as, { 'aftership-hmac-sha256': hmacOf('sha256', secret, as.body, 'hex') })), { ok: false, reason: 'signature_mismatch' }, 'hex digest where base64 is expected: refused');
});

t.test('microsoft teams: base64 secret and HMAC prefix', async (t) => {
  const teams = findProvider('microsoft_teams')!;
  const signer = signerFor('microsoft_teams');
  t.equal(teams.checkSecret?.(signer.configSecret!), null, 'a base64 security token is accepted');
  t.match(teams.checkSecret?.('not base64!'), /base64/, 'a non-base64 secret is a config problem');
  t.throws(() => teams.create('not base64!', {}), /base64/, 'create() refuses it too');
  const req = await signed('microsoft_teams');
  const value = req.headers['Authorization'] as string;
  t.match(value, /^HMAC [A-Za-z0-9+/]+=*$/, 'Authorization: HMAC <base64>');
  t.same(await verdict('microsoft_teams', withHeaders(req, { Authorization: value.slice(5) })), { ok: false, reason: 'malformed_signature' }, 'without HMAC prefix: malformed');
  t.same(await verdict('microsoft_teams', withHeaders(req, { Authorization: 'Bearer abc' })), { ok: false, reason: 'malformed_signature' }, 'another scheme: malformed');
  // the key is the decoded token: signing with the token text itself must not pass
  const raw = 'HMAC ' + hmacOf('sha256', signer.signingSecret, req.body, 'base64');
  t.same(await verdict('microsoft_teams', withHeaders(req, { Authorization: raw })), { ok: false, reason: 'signature_mismatch' }, 'undecoded token as key: refused');
});

t.test('xero intent to receive', async (t) => {
  const signer = signerFor('xero');
  const xero = verifierFor('xero', signer.configSecret!);
  t.ok(xero.challenge, 'xero answers a challenge');
  const intent = '{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"JPLMYSHXGKQVOTWBRZCA"}';
  const good = await signed('xero', intent);
  t.same(xero.challenge!(toWebhookRequest(good, TEST_ORIGIN, NOW)), { status: 200, contentType: '', body: '' }, 'correctly signed: 200, empty body');
  const wrong = await signerFor('xero').sign({ url: URL_, nowMs: NOW, secret: signer.wrongSecret, body: Buffer.from(intent) });
  t.same(xero.challenge!(toWebhookRequest(wrong, TEST_ORIGIN, NOW)), { status: 401, contentType: '', body: '' }, 'wrongly signed: 401, empty body');
  const unsigned = withHeaders(good, { 'Content-Type': 'application/json' });
  t.same(xero.challenge!(toWebhookRequest(unsigned, TEST_ORIGIN, NOW)), { status: 401, contentType: '', body: '' }, 'unsigned: 401');

  const delivery = await signed('xero');
  t.equal(xero.challenge!(toWebhookRequest(delivery, TEST_ORIGIN, NOW)), null, 'ordinary delivery: not a challenge');
  t.same(await xero.verify(toWebhookRequest(delivery, TEST_ORIGIN, NOW)), { ok: true }, 'and it is verified as usual');
  const notJson = await signed('xero', 'events=');
  t.equal(xero.challenge!(toWebhookRequest(notJson, TEST_ORIGIN, NOW)), null, 'non-JSON body: not a challenge');
  t.equal(xero.challenge!(toWebhookRequest(await signed('xero', '[]'), TEST_ORIGIN, NOW)), null, 'JSON array: not a challenge');

  const other = verifierFor('github', signerFor('github').configSecret!);
  t.equal(other.challenge, undefined, 'other providers answer no challenge');
});

t.test('describe lines and definitions', async (t) => {
  for (const p of BODY_HMAC_PROVIDERS) {
    t.ok(p.describe.length > 10 && p.describe.length < 140, `${p.id}: describe is one short line`);
    t.equal(p.secret, 'required');
    t.equal(p.confirmed, true);
  }
});
