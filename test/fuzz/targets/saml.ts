// SAML XML: the SP adapter's handling of a POSTed SAMLResponse (workers/http/auth/saml-adapter.ts
// completeLogin: the envelope check with @xmldom/xmldom, then node-saml's parse and signature check,
// then our assertion checks), IdP-initiated logins allowed so every input reaches the XML.
// Input: the XML (base64-encoded here, as the browser posts it); an input starting with '!' is used
// as the SAMLResponse text itself. The IdP is the samlify test IdP with the fixed key in
// ../assets/saml-idp.pem, so the signed responses in the corpus still verify (their times have
// passed); setup() adds two fresh, valid responses as seeds.
// Checks: completeLogin either resolves or rejects with SamlError (never a TypeError or a non-Error);
// a login that succeeds names a user the IdP signed for (a mutation never forges an identity).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SamlAdapter, SamlError, SAML_METADATA_PATH } from '../../../workers/http/auth/saml-adapter.js';
import { AssertionReplayCache } from '../../../workers/http/auth/saml-replay.js';
import { selfSignedRsa, startSamlIdp, DEFAULT_USER } from '../../helpers/saml-idp.js';
import { REPO_ROOT } from '../paths.js';
import { check, type FuzzTarget } from '../target.js';

export const SAML_IDP_ENTITY_ID = 'https://idp.fuzz.example.test/metadata';
export const SAML_SP_BASE = 'https://app.example.test';
export const SAML_IDP_KEY_FILE = join(REPO_ROOT, 'test/fuzz/assets/saml-idp.pem');
const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const SIGNED_USERS = new Set([DEFAULT_USER.nameId, 'fuzz-bob']);

export function samlIdpKeys(): { certPem: string; privateKeyPem: string } {
  const pem = readFileSync(SAML_IDP_KEY_FILE, 'utf8');
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(pem)?.[0];
  const key = /-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+?-----END (RSA )?PRIVATE KEY-----\n?/.exec(pem)?.[0];
  if (cert === undefined || key === undefined) throw new Error(`${SAML_IDP_KEY_FILE}: expected a certificate and a private key`);
  return { certPem: cert, privateKeyPem: key };
}

let adapter: SamlAdapter | null = null;
const fresh: Buffer[] = [];

const target: FuzzTarget = {
  name: 'saml',
  maxLen: 16384,
  coverageLibraries: ['@xmldom/xmldom', '@node-saml/node-saml', 'xml-crypto', 'xml2js', 'xpath'],
  dictionary: [
    '<', '>', '/>', '</', '="', '"', ' xmlns="', ' xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"', 'urn:oasis:names:tc:SAML:2.0:protocol',
    'samlp:Response', 'saml:Assertion', 'ds:Signature', 'ds:Reference URI="#', 'ID="', 'InResponseTo="', 'Destination="', 'NotOnOrAfter="',
    '<!DOCTYPE', '<!ENTITY', '&amp;', '&#x41;', '&lt;', '<![CDATA[', ']]>', '<?xml version="1.0"?>', '<!--', '-->', ':', 'xmlns:',
    'saml:Subject', 'saml:NameID', 'saml:Conditions', 'saml:AuthnStatement', 'StatusCode', 'urn:oasis:names:tc:SAML:2.0:status:Success',
  ],
  async setup() {
    const keys = samlIdpKeys();
    const idp = await startSamlIdp({ teardown() {} }, { entityId: SAML_IDP_ENTITY_ID, keys });
    const sp = await selfSignedRsa('edgeplane-fuzz-sp');
    adapter = new SamlAdapter({
      idpMetadata: idp.metadataXml, idpMetadataUrl: null, forceAuthn: false, allowIdpInitiated: true, authorizedGroups: [],
      nameIdFormat: PERSISTENT, spCertificatePem: sp.certPem, spPrivateKeyPem: sp.privateKeyPem,
    }, { baseUrl: SAML_SP_BASE, replayCache: new AssertionReplayCache() });
    idp.registerSp(adapter.extraPaths.get(SAML_METADATA_PATH)!().body);
    fresh.push(Buffer.from(await idp.unsolicited(), 'base64'));
    idp.loginAs({ nameId: 'fuzz-bob', attributes: { email: 'bob@example.test' } });
    fresh.push(Buffer.from(await idp.unsolicited(), 'base64'));
  },
  seeds: () => fresh,
  async run(data) {
    const samlResponse = data[0] === 0x21 ? data.subarray(1).toString('latin1') : data.toString('base64');
    const form = new URLSearchParams({ SAMLResponse: samlResponse });
    try {
      const result = await adapter!.completeLogin({ redirectUri: `${SAML_SP_BASE}/auth/callback`, method: 'POST', query: new URLSearchParams(), form, state: '', secrets: null });
      check(SIGNED_USERS.has(result.identity.id), `login succeeded as ${JSON.stringify(result.identity.id)}, a user the IdP never signed for`);
    } catch (err) {
      if (err instanceof SamlError) return;
      throw err;
    }
  },
};

export default target;
