// A real SAML identity provider for tests: samlify in the IdP role, with its own self-signed RSA
// key, served over HTTP on 127.0.0.1. GET /metadata returns its metadata; GET /sso takes an
// AuthnRequest in the HTTP-Redirect binding (samlify parses it and verifies its signature against
// the SP certificate from the SP metadata) and answers the browser's auto-submit form: a signed
// Response for the POST binding, built from a template the test can bend (audience, times,
// AuthnStatements, InResponseTo) to make invalid-but-signed assertions. unsolicited() makes
// IdP-initiated responses.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { generate } from 'selfsigned';

// samlify is loaded untyped, with the few shapes used here declared below: its typings pull in
// @xmldom/xmldom's, which reference TypeScript's "dom" lib and would change the whole project's
// global types (fetch's BodyInit and more).
interface SamlifySp {
  entityMeta: { getAssertionConsumerService(binding: string): string | string[]; getEntityID(): string };
}
interface SamlifyIdp {
  getMetadata(): string;
  parseLoginRequest(sp: SamlifySp, binding: 'redirect', req: { query: Record<string, string>; octetString: string }): Promise<{ samlContent: string; extract: { request?: { id?: string } } }>;
  createLoginResponse(sp: SamlifySp, requestInfo: null, binding: 'post', user: object, options: { customTagReplacement: (template: string) => { id: string; context: string } }): Promise<{ context: string }>;
}
const samlify = createRequire(import.meta.url)('samlify') as {
  IdentityProvider(settings: object): SamlifyIdp;
  ServiceProvider(settings: { metadata: string }): SamlifySp;
  setSchemaValidator(validator: { validate: (xml: string) => Promise<string> }): void;
};

interface Teardown { teardown(fn: () => unknown): void }

export interface SamlTestUser {
  nameId: string;
  attributes?: Record<string, string | string[]>;
}

/** How the next Response differs from a good one. Offsets are milliseconds from now. */
export interface ResponseOverrides {
  user?: SamlTestUser;
  audience?: string;
  recipient?: string;
  issueInstantOffsetMs?: number;
  notBeforeOffsetMs?: number;
  notOnOrAfterOffsetMs?: number;
  authnStatements?: number;
  /** null: no InResponseTo at all; default: the AuthnRequest's ID (SP-initiated) or none (unsolicited). */
  inResponseTo?: string | null;
}

export interface IdpLogin {
  /** Where the IdP's form posts (the ACS URL from the SP metadata). */
  action: string;
  samlResponse: string;
  relayState: string | null;
  /** The AuthnRequest as the IdP parsed and verified it. */
  request: { id: string; xml: string };
}

export interface SamlIdpFixture {
  entityId: string;
  baseUrl: string;
  metadataUrl: string;
  metadataXml: string;
  certPem: string;
  privateKeyPem: string;
  /** The SP the IdP knows, from its metadata document (as a real IdP is configured). */
  registerSp(spMetadataXml: string): void;
  /** Follows an AuthnRequest redirect URL to the IdP; resolves with the form it answers. Rejects on a non-200. */
  login(authnRequestUrl: string, overrides?: ResponseOverrides): Promise<IdpLogin>;
  /** An IdP-initiated (unsolicited) Response, base64. */
  unsolicited(overrides?: ResponseOverrides): Promise<string>;
  /** Sets the user the next logins return. */
  loginAs(user: SamlTestUser): void;
}

export const DEFAULT_USER: SamlTestUser = {
  nameId: 'alice-0001',
  attributes: { email: 'alice@example.test', displayName: 'Alice Example', groups: ['staff', 'admins'] },
};

const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';

// samlify refuses to parse anything until a schema validator is installed. This IdP is test
// scaffolding (the SP under test is node-saml, which does not use samlify), so accept all XML.
samlify.setSchemaValidator({ validate: async () => 'skipped' });

/** An RSA key and self-signed certificate, PEM. */
export async function selfSignedRsa(cn: string): Promise<{ certPem: string; privateKeyPem: string }> {
  const pems = await generate([{ name: 'commonName', value: cn }], { keyType: 'rsa', keySize: 2048, notAfterDate: new Date(Date.now() + 30 * 86_400_000), algorithm: 'sha256' });
  return { certPem: pems.cert, privateKeyPem: pems.private };
}

export async function startSamlIdp(t: Teardown, options: { entityId?: string; keys?: { certPem: string; privateKeyPem: string } } = {}): Promise<SamlIdpFixture> {
  const keys = options.keys ?? (await selfSignedRsa('test-idp'));
  let sp: SamlifySp | null = null;
  let user = DEFAULT_USER;
  let pending: ResponseOverrides = {};

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: Error) => {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`idp refused: ${err.message}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;
  const entityId = options.entityId ?? `${baseUrl}/metadata`;

  const idp = samlify.IdentityProvider({
    entityID: entityId,
    signingCert: keys.certPem,
    privateKey: keys.privateKeyPem,
    wantAuthnRequestsSigned: true,
    nameIDFormat: [PERSISTENT],
    singleSignOnService: [{ Binding: REDIRECT, Location: `${baseUrl}/sso` }],
  });
  const metadataXml = idp.getMetadata();

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', baseUrl);
    if (url.pathname === '/metadata') {
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(metadataXml);
      return;
    }
    if (url.pathname !== '/sso' || sp === null) {
      res.writeHead(404).end();
      return;
    }
    const query = Object.fromEntries(url.searchParams);
    const parsed = await idp.parseLoginRequest(sp, 'redirect', { query, octetString: octetString(url.search.slice(1)) });
    const requestId = String(parsed.extract.request?.id ?? '');
    const overrides = pending;
    pending = {};
    const samlResponse = await buildResponse({ inResponseTo: requestId, ...overrides });
    const relayState = url.searchParams.get('RelayState');
    res.writeHead(200, { 'content-type': 'text/html', 'x-request-id': requestId, 'x-request-xml': Buffer.from(parsed.samlContent).toString('base64') });
    res.end(autoSubmitForm(sp.entityMeta.getAssertionConsumerService('post') as string, samlResponse, relayState));
  }

  async function buildResponse(overrides: ResponseOverrides): Promise<string> {
    if (sp === null) throw new Error('registerSp() first');
    const acs = sp.entityMeta.getAssertionConsumerService('post') as string;
    const xml = responseXml({
      idpEntityId: entityId,
      audience: overrides.audience ?? sp.entityMeta.getEntityID(),
      acs,
      recipient: overrides.recipient ?? acs,
      user: overrides.user ?? user,
      inResponseTo: overrides.inResponseTo ?? null,
      issueInstantOffsetMs: overrides.issueInstantOffsetMs ?? 0,
      notBeforeOffsetMs: overrides.notBeforeOffsetMs ?? 0,
      notOnOrAfterOffsetMs: overrides.notOnOrAfterOffsetMs ?? 5 * 60_000,
      authnStatements: overrides.authnStatements ?? 1,
    });
    // samlify signs what the custom template returns: the assertion (the SP metadata asks for signed assertions)
    const out = await idp.createLoginResponse(sp, null, 'post', {}, {
      customTagReplacement: () => ({ id: xml.id, context: xml.xml }),
    });
    return out.context;
  }

  return {
    entityId,
    baseUrl,
    metadataUrl: `${baseUrl}/metadata`,
    metadataXml,
    certPem: keys.certPem,
    privateKeyPem: keys.privateKeyPem,
    registerSp(spMetadataXml) {
      sp = samlify.ServiceProvider({ metadata: spMetadataXml });
    },
    async login(authnRequestUrl, overrides = {}) {
      pending = overrides;
      const res = await fetch(authnRequestUrl, { redirect: 'manual' });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`IdP answered ${res.status}: ${body}`);
      const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(body)?.[1] ?? null;
      return {
        action: /action="([^"]*)"/.exec(body)![1]!,
        samlResponse: field('SAMLResponse')!,
        relayState: field('RelayState'),
        request: { id: res.headers.get('x-request-id')!, xml: Buffer.from(res.headers.get('x-request-xml')!, 'base64').toString('utf8') },
      };
    },
    unsolicited(overrides = {}) {
      return buildResponse(overrides);
    },
    loginAs(next) {
      user = next;
    },
  };
}

/** SAML bindings §3.4.4.1: the signed string is the raw SAMLRequest, RelayState and SigAlg parameters, in that order. */
function octetString(rawQuery: string): string {
  const raw = new Map(rawQuery.split('&').map((p) => [p.slice(0, p.indexOf('=')), p] as const));
  return ['SAMLRequest', 'RelayState', 'SigAlg'].map((k) => raw.get(k)).filter((p) => p !== undefined).join('&');
}

function autoSubmitForm(action: string, samlResponse: string, relayState: string | null): string {
  const relay = relayState === null ? '' : `<input type="hidden" name="RelayState" value="${escapeXml(relayState)}"/>`;
  return `<html><body onload="document.forms[0].submit()"><form method="post" action="${escapeXml(action)}">` +
    `<input type="hidden" name="SAMLResponse" value="${samlResponse}"/>${relay}</form></body></html>`;
}

interface ResponseValues {
  idpEntityId: string;
  audience: string;
  acs: string;
  recipient: string;
  user: SamlTestUser;
  inResponseTo: string | null;
  issueInstantOffsetMs: number;
  notBeforeOffsetMs: number;
  notOnOrAfterOffsetMs: number;
  authnStatements: number;
}

function responseXml(v: ResponseValues): { id: string; xml: string } {
  const now = Date.now();
  const at = (offset: number) => new Date(now + offset).toISOString();
  const id = `_r${randomBytes(16).toString('hex')}`;
  const assertionId = `_a${randomBytes(16).toString('hex')}`;
  const inResponseTo = v.inResponseTo === null ? '' : ` InResponseTo="${escapeXml(v.inResponseTo)}"`;
  const authn = `<saml:AuthnStatement AuthnInstant="${at(v.issueInstantOffsetMs)}" SessionIndex="_s${randomBytes(8).toString('hex')}">` +
    '<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>';
  const attributes = Object.entries(v.user.attributes ?? {}).map(([name, value]) => {
    const values = (Array.isArray(value) ? value : [value]).map((x) => `<saml:AttributeValue xsi:type="xs:string">${escapeXml(x)}</saml:AttributeValue>`).join('');
    return `<saml:Attribute Name="${escapeXml(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${values}</saml:Attribute>`;
  }).join('');
  const xml =
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${at(v.issueInstantOffsetMs)}" Destination="${escapeXml(v.acs)}"${inResponseTo}>` +
    `<saml:Issuer>${escapeXml(v.idpEntityId)}</saml:Issuer>` +
    '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>' +
    `<saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="${assertionId}" Version="2.0" IssueInstant="${at(v.issueInstantOffsetMs)}">` +
    `<saml:Issuer>${escapeXml(v.idpEntityId)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="${PERSISTENT}">${escapeXml(v.user.nameId)}</saml:NameID>` +
    '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">' +
    `<saml:SubjectConfirmationData NotOnOrAfter="${at(v.notOnOrAfterOffsetMs)}" Recipient="${escapeXml(v.recipient)}"${inResponseTo}/>` +
    '</saml:SubjectConfirmation></saml:Subject>' +
    `<saml:Conditions NotBefore="${at(v.notBeforeOffsetMs)}" NotOnOrAfter="${at(v.notOnOrAfterOffsetMs)}">` +
    `<saml:AudienceRestriction><saml:Audience>${escapeXml(v.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    authn.repeat(v.authnStatements) +
    (attributes === '' ? '' : `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>`) +
    '</saml:Assertion></samlp:Response>';
  return { id, xml };
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}
