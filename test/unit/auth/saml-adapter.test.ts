// The SAML SP adapter against a real IdP (samlify in the IdP role, over HTTP on 127.0.0.1, with its
// own self-signed key): SP metadata, the signed AuthnRequest, the POST-binding login, and every way
// a signed-or-not Response can be wrong.
import t, { type Test } from 'tap';
import { createVerify } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import type { SamlSpec } from '../../../core/generation/spec.js';
import { ProviderError, type CallbackInput, type LoginSecrets } from '../../../workers/http/auth/provider.js';
import { SamlAdapter, SamlError, SAML_METADATA_PATH, type SamlAdapterConfig } from '../../../workers/http/auth/saml-adapter.js';
import { AssertionReplayCache } from '../../../workers/http/auth/saml-replay.js';
import { selfSignedRsa, startSamlIdp, type IdpLogin, type ResponseOverrides, type SamlIdpFixture } from '../../helpers/saml-idp.js';

const BASE = 'https://app.example.test';
const ACS = `${BASE}/auth/callback`;
const ENTITY_ID = `${BASE}${SAML_METADATA_PATH}`;
const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const SIGALG_RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

const sp = await selfSignedRsa('edgeplane-sp');
const idp = await startSamlIdp(t);

let nonceCounter = 0;
function secrets(): LoginSecrets {
  nonceCounter += 1;
  return { nonce: `n${String(nonceCounter).padStart(4, '0')}${'a1b2c3d4e5f60718'}` };
}

function config(extra: Partial<SamlSpec> = {}): SamlAdapterConfig {
  return {
    idpMetadata: idp.metadataXml,
    idpMetadataUrl: null,
    forceAuthn: false,
    allowIdpInitiated: false,
    authorizedGroups: [],
    nameIdFormat: PERSISTENT,
    spCertificatePem: sp.certPem,
    spPrivateKeyPem: sp.privateKeyPem,
    ...extra,
  };
}

function adapterFor(extra: Partial<SamlSpec> = {}, fixture: SamlIdpFixture = idp): SamlAdapter {
  const adapter = new SamlAdapter(config(extra), { baseUrl: BASE, replayCache: new AssertionReplayCache() });
  fixture.registerSp(adapter.extraPaths.get(SAML_METADATA_PATH)!().body);
  return adapter;
}

function callback(form: { samlResponse: string; relayState: string | null }, state: string, loginSecrets: LoginSecrets | null, method = 'POST'): CallbackInput {
  const fields = new URLSearchParams({ SAMLResponse: form.samlResponse });
  if (form.relayState !== null) fields.set('RelayState', form.relayState);
  return { redirectUri: ACS, method, query: new URLSearchParams(), form: fields, state, secrets: loginSecrets };
}

/** beginLogin → the IdP (over HTTP) → the form it posts; the secrets and state used. */
async function startLogin(adapter: SamlAdapter, overrides: ResponseOverrides = {}, fixture: SamlIdpFixture = idp) {
  const loginSecrets = secrets();
  const state = `sealed-state-${nonceCounter}`;
  const url = await adapter.beginLogin(ACS, state, loginSecrets);
  const form = await fixture.login(url, overrides);
  return { url, state, loginSecrets, form };
}

async function refused(t: Test, promise: Promise<unknown>, code: string, detail?: RegExp): Promise<void> {
  try {
    await promise;
    t.fail(`expected ${code}`);
  } catch (err) {
    t.type(err, ProviderError);
    t.type(err, SamlError);
    t.equal((err as ProviderError).code, code, (err as Error).message);
    if (detail) t.match((err as Error).message, detail);
  }
}

function tamper(t: Test, form: IdpLogin, from: string, to: string): IdpLogin {
  const xml = Buffer.from(form.samlResponse, 'base64').toString('utf8');
  t.ok(xml.includes(from), `response contains ${from}`);
  return { ...form, samlResponse: Buffer.from(xml.replace(from, to)).toString('base64') };
}

t.test('SP metadata names the entity id, the POST ACS and the signing certificate', async (t) => {
  const adapter = adapterFor();
  const served = adapter.extraPaths.get(SAML_METADATA_PATH)!();
  t.equal(served.contentType, 'application/samlmetadata+xml');
  t.match(served.body, `entityID="${ENTITY_ID}"`);
  t.match(served.body, /AuthnRequestsSigned="true"/);
  t.match(served.body, new RegExp(`Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"\\s+Location="${ACS}"`));
  const certBody = sp.certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
  t.ok(served.body.replace(/\s/g, '').includes(certBody), 'the SP certificate is in the metadata');
  t.match(served.body, `<NameIDFormat>${PERSISTENT}</NameIDFormat>`);
  t.equal(adapter.clientId, ENTITY_ID);
  t.equal(adapter.kind, 'saml');
});

t.test('an SP-initiated login yields the identity from the assertion', async (t) => {
  const adapter = adapterFor();
  const { url, state, loginSecrets, form } = await startLogin(adapter);
  t.ok(url.startsWith(`${idp.baseUrl}/sso?`), 'sent to the IdP SSO endpoint from its metadata');
  t.equal(form.action, ACS, 'the IdP posts to the ACS it read from the SP metadata');
  t.equal(form.relayState, state, 'RelayState carries the flow state');
  t.equal(form.request.id, `_${loginSecrets.nonce}`, 'AuthnRequest ID is _ + nonce');
  t.match(form.request.xml, `AssertionConsumerServiceURL="${ACS}"`);
  t.match(form.request.xml, new RegExp(`<samlp:NameIDPolicy[^>]*Format="${PERSISTENT}"`));
  t.notMatch(form.request.xml, /ForceAuthn/);
  const result = await adapter.completeLogin(callback(form, state, loginSecrets));
  t.same(result.identity, { id: 'alice-0001', email: 'alice@example.test', name: 'Alice Example', groups: ['staff', 'admins'] });
});

t.test('identity attributes: OID and claim-URI names, memberOf groups', async (t) => {
  const adapter = adapterFor();
  const { state, loginSecrets, form } = await startLogin(adapter, {
    user: {
      nameId: 'bob@example.test',
      attributes: {
        'urn:oid:0.9.2342.19200300.100.1.3': 'bob@example.test',
        givenName: 'Bob',
        sn: 'Builder',
        'http://schemas.xmlsoap.org/claims/Group': ['builders'],
      },
    },
  });
  const result = await adapter.completeLogin(callback(form, state, loginSecrets));
  t.same(result.identity, { id: 'bob@example.test', email: 'bob@example.test', name: 'Bob Builder', groups: ['builders'] });
});

t.test('the AuthnRequest is signed with the SP key (HTTP-Redirect binding)', async (t) => {
  const adapter = adapterFor({ forceAuthn: true });
  const url = new URL(await adapter.beginLogin(ACS, 'state-1', secrets()));
  t.equal(url.searchParams.get('SigAlg'), SIGALG_RSA_SHA256);
  const raw = new Map(url.search.slice(1).split('&').map((p) => [p.slice(0, p.indexOf('=')), p] as const));
  const signed = ['SAMLRequest', 'RelayState', 'SigAlg'].map((k) => raw.get(k)!).join('&');
  const verify = (text: string) => createVerify('RSA-SHA256').update(text).verify(sp.certPem, url.searchParams.get('Signature')!, 'base64');
  t.ok(verify(signed), 'the signature verifies with the SP certificate');
  t.notOk(verify(signed.replace('state-1', 'state-2')), 'and not over another RelayState');
  const xml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  t.match(xml, /ForceAuthn="true"/, 'force_authn asks the IdP to prompt again');
  t.match(xml, `<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${ENTITY_ID}</saml:Issuer>`);

  // The IdP verifies it too: a request whose RelayState was changed in transit is refused there.
  url.searchParams.set('RelayState', 'state-2');
  await t.rejects(idp.login(url.href), /IdP answered 400/);
});

t.test('a tampered assertion is refused (NameID changed after signing)', async (t) => {
  const adapter = adapterFor();
  const { state, loginSecrets, form } = await startLogin(adapter);
  await refused(t, adapter.completeLogin(callback(tamper(t, form, '>alice-0001<', '>mallory-666<'), state, loginSecrets)), 'ERR_NGROK_5305');
});

t.test('an assertion signed by another key is refused', async (t) => {
  const impostor = await startSamlIdp(t, { entityId: idp.entityId });
  const adapter = adapterFor();
  impostor.registerSp(adapter.spMetadata);
  const { state, loginSecrets } = await startLogin(adapter);
  const forged = await impostor.unsolicited({ inResponseTo: `_${loginSecrets.nonce}` });
  await refused(t, adapter.completeLogin(callback({ samlResponse: forged, relayState: state }, state, loginSecrets)), 'ERR_NGROK_5305');
});

t.test('the wrong audience is refused', async (t) => {
  const adapter = adapterFor();
  const { state, loginSecrets, form } = await startLogin(adapter, { audience: 'https://other.example.test/auth/saml/metadata' });
  await refused(t, adapter.completeLogin(callback(form, state, loginSecrets)), 'ERR_NGROK_5308', /audience/);
});

t.test('expired and not-yet-valid assertions are refused', async (t) => {
  const adapter = adapterFor();
  const expired = await startLogin(adapter, { issueInstantOffsetMs: -20 * 60_000, notBeforeOffsetMs: -20 * 60_000, notOnOrAfterOffsetMs: -10 * 60_000 });
  await refused(t, adapter.completeLogin(callback(expired.form, expired.state, expired.loginSecrets)), 'ERR_NGROK_5308');
  const early = await startLogin(adapter, { notBeforeOffsetMs: 10 * 60_000, notOnOrAfterOffsetMs: 20 * 60_000 });
  await refused(t, adapter.completeLogin(callback(early.form, early.state, early.loginSecrets)), 'ERR_NGROK_5308', /validity window/);
  const skewed = await startLogin(adapter, { notBeforeOffsetMs: 20_000 });
  t.ok((await adapter.completeLogin(callback(skewed.form, skewed.state, skewed.loginSecrets))).identity, 'a small clock skew is tolerated');
});

t.test('a replayed assertion is refused', async (t) => {
  const adapter = adapterFor();
  const { state, loginSecrets, form } = await startLogin(adapter);
  await adapter.completeLogin(callback(form, state, loginSecrets));
  await refused(t, adapter.completeLogin(callback(form, state, loginSecrets)), 'ERR_NGROK_5308', /already used/);
});

t.test('a response to another login (InResponseTo) or another ACS (Recipient) is refused', async (t) => {
  const adapter = adapterFor();
  const first = await startLogin(adapter);
  await refused(t, adapter.completeLogin(callback(first.form, first.state, secrets())), 'ERR_NGROK_5308', /InResponseTo/);
  const elsewhere = await startLogin(adapter, { recipient: 'https://other.example.test/auth/callback' });
  await refused(t, adapter.completeLogin(callback(elsewhere.form, elsewhere.state, elsewhere.loginSecrets)), 'ERR_NGROK_5308', /recipient/);
  const relay = await startLogin(adapter);
  await refused(t, adapter.completeLogin(callback({ ...relay.form, relayState: 'other' }, relay.state, relay.loginSecrets)), 'ERR_NGROK_5308', /RelayState/);
});

t.test('the assertion must hold exactly one AuthnStatement', async (t) => {
  const adapter = adapterFor();
  for (const count of [0, 2]) {
    const { state, loginSecrets, form } = await startLogin(adapter, { authnStatements: count });
    await refused(t, adapter.completeLogin(callback(form, state, loginSecrets)), 'ERR_NGROK_5311', new RegExp(`found ${count}`));
  }
});

t.test('IdP-initiated logins only when allow_idp_initiated', async (t) => {
  const closed = adapterFor();
  const unsolicited = await idp.unsolicited();
  await refused(t, closed.completeLogin(callback({ samlResponse: unsolicited, relayState: '/app' }, '', null)), 'ERR_NGROK_5302');

  const open = adapterFor({ allowIdpInitiated: true });
  const result = await open.completeLogin(callback({ samlResponse: await idp.unsolicited(), relayState: '/app' }, '', null));
  t.equal(result.identity.id, 'alice-0001');
  const solicited = await idp.unsolicited({ inResponseTo: '_someone-elses-login-0001' });
  await refused(t, open.completeLogin(callback({ samlResponse: solicited, relayState: null }, '', null)), 'ERR_NGROK_5308', /did not start/);
});

t.test('authorized_groups admits members of any listed group and refuses others', async (t) => {
  const admins = adapterFor({ authorizedGroups: ['finance', 'admins'] });
  const a = await startLogin(admins);
  const identity = (await admins.completeLogin(callback(a.form, a.state, a.loginSecrets))).identity;
  t.same(admins.authorize(identity), { allowed: true });
  t.equal(identity.groups?.[0], 'admins', 'authorized groups are kept first');

  const finance = adapterFor({ authorizedGroups: ['finance'] });
  const f = await startLogin(finance);
  const verdict = finance.authorize((await finance.completeLogin(callback(f.form, f.state, f.loginSecrets))).identity);
  t.equal(verdict.allowed, false);
  t.match(verdict.reason, /group/);
  t.same(adapterFor().authorize({ id: 'x' }), { allowed: true }, 'no rule: everyone');
});

t.test('IdP metadata from idp_metadata_url; unusable metadata is an error page, not a crash', async (t) => {
  const byUrl = adapterFor({ idpMetadata: null, idpMetadataUrl: idp.metadataUrl });
  const { state, loginSecrets, form } = await startLogin(byUrl);
  t.equal((await byUrl.completeLogin(callback(form, state, loginSecrets))).identity.id, 'alice-0001');

  const noRedirect = idp.metadataXml.replace(/urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect/g, 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
  await refused(t, adapterFor({ idpMetadata: noRedirect }).beginLogin(ACS, 's', secrets()), 'ERR_NGROK_5300', /HTTP-Redirect/);
  const unreachable = adapterFor({ idpMetadata: null, idpMetadataUrl: 'http://127.0.0.1:9/metadata' });
  await refused(t, unreachable.beginLogin(ACS, 's', secrets()), 'ERR_NGROK_5300', /could not be fetched/);
});

t.test('malformed callbacks are refused with ERR_NGROK_5301', async (t) => {
  const adapter = adapterFor();
  const { state, loginSecrets, form } = await startLogin(adapter);
  await refused(t, adapter.completeLogin(callback(form, state, loginSecrets, 'GET')), 'ERR_NGROK_5301', /POST/);
  await refused(t, adapter.completeLogin(callback({ samlResponse: '', relayState: state }, state, loginSecrets)), 'ERR_NGROK_5301');
  await refused(t, adapter.completeLogin(callback({ samlResponse: Buffer.from('<not-saml/>').toString('base64'), relayState: state }, state, loginSecrets)), 'ERR_NGROK_5301');
  await refused(t, adapter.completeLogin(callback({ samlResponse: 'bm90IHhtbA==', relayState: state }, state, loginSecrets)), 'ERR_NGROK_5301');
});
