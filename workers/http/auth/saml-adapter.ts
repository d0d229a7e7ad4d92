// The saml module's IdentityProvider: a SAML 2.0 service provider for the Web Browser SSO profile.
// SP-initiated logins send a signed AuthnRequest (HTTP-Redirect binding, RSA-SHA256, ID "_" + the
// flow's nonce, RelayState = the flow's sealed state); the IdP posts its Response to the ACS
// (/auth/callback). IdP-initiated (unsolicited) responses are taken only with allow_idp_initiated.
//
// Library: @node-saml/node-saml (the engine under passport-saml) does the XML work: it builds and
// signs the AuthnRequest, and validates the POSTed Response: XML-DSig over the response or the
// assertion against the IdP certificates (with xml-crypto, refusing multiple or wrapped
// assertions), the audience, NotBefore/NotOnOrAfter with a clock skew, and InResponseTo through a
// cache provider. It was chosen over samlify because samlify needs a separately installed XSD
// validator (Java or a WASM libxml) to be safe against signature-wrapping, and node-saml's
// validation path is the more widely deployed one. What node-saml leaves out is here: the IdP
// metadata (saml-metadata.ts), the issuer, exactly one AuthnStatement, the bearer Recipient and
// expiry, InResponseTo bound to this browser's login rather than to a server-side cache, and replay
// of assertion ids (saml-assertion.ts, saml-replay.ts).
//
// The SP's own URLs need the endpoint's host, so the adapter is built with `baseUrl`
// (https://host[:port]): entity id = <baseUrl>/auth/saml/metadata (ngrok's convention: the entity
// id is the metadata URL), ACS = <baseUrl>/auth/callback. One adapter per route, per worker, per
// generation; its state (metadata cache) is its own, the replay cache is per worker thread.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { SAML, ValidateInResponseTo, generateServiceProviderMetadata, type CacheProvider, type Profile, type SamlConfig } from '@node-saml/node-saml';
import type { SamlSpec } from '../../../core/generation/spec.js';
import type { AuthorizationVerdict, CallbackInput, Identity, IdentityProvider, LoginResult, LoginSecrets } from './provider.js';
import { assertionFacts, checkResponseEnvelope, type AssertionFacts } from './saml-assertion.js';
import { SamlError, fromNodeSamlError } from './saml-errors.js';
import { authorizeGroups, identityFromProfile } from './saml-identity.js';
import { IdpMetadataError, IdpMetadataSource, type IdpMetadata, type MetadataFetch } from './saml-metadata.js';
import { workerReplayCache, type AssertionReplayCache } from './saml-replay.js';

export { SamlError, SAML_ERRORS, SAML_GROUP_DENIED_CODE, type SamlErrorReason } from './saml-errors.js';
export { parseIdpMetadata, IdpMetadataError } from './saml-metadata.js';

export const SAML_METADATA_PATH = '/auth/saml/metadata';
export const SAML_ACS_PATH = '/auth/callback';

/** The parts of the compiled saml module the adapter uses. */
export type SamlAdapterConfig = Pick<SamlSpec,
  'idpMetadata' | 'idpMetadataUrl' | 'forceAuthn' | 'allowIdpInitiated' | 'authorizedGroups' | 'nameIdFormat' | 'spCertificatePem' | 'spPrivateKeyPem'>;

export interface SamlAdapterOptions {
  /** The endpoint's origin, https://host[:port] (no path): the SP entity id and ACS URL are built from it. */
  baseUrl: string;
  /** Accepted clock difference with the IdP for NotBefore/NotOnOrAfter. Default 60 s. */
  clockSkewMs?: number;
  /** Assertions are refused this long after their IssueInstant, whatever NotOnOrAfter says. Default 1 hour. */
  maxAssertionAgeMs?: number;
  /** Default: the worker thread's shared cache. */
  replayCache?: AssertionReplayCache;
  /** Replaces global fetch for idp_metadata_url (tests). */
  metadataFetch?: MetadataFetch;
}

const DEFAULT_CLOCK_SKEW_MS = 60_000;
const DEFAULT_MAX_ASSERTION_AGE_MS = 3_600_000;
/** A SAMLResponse larger than this (base64) is refused before parsing. */
export const MAX_SAML_RESPONSE_CHARS = 512 * 1024;
/** The AuthnRequest ID is `_` + nonce and must be an xsd:ID; the flow's nonces are hex or base64url. */
const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

export class SamlAdapter implements IdentityProvider {
  readonly kind = 'saml';
  /** The SP entity id (event field oauth.app_client_id). */
  readonly clientId: string;
  readonly entityId: string;
  readonly acsUrl: string;
  readonly metadataUrl: string;
  readonly extraPaths: ReadonlyMap<string, () => { contentType: string; body: string }>;
  private readonly config: SamlAdapterConfig;
  private readonly certificatePem: string;
  private readonly privateKeyPem: string;
  private readonly clockSkewMs: number;
  private readonly maxAssertionAgeMs: number;
  private readonly replay: AssertionReplayCache;
  private readonly idp: IdpMetadataSource;
  private readonly spMetadataXml: string;

  constructor(config: SamlAdapterConfig, options: SamlAdapterOptions) {
    const base = parseBaseUrl(options.baseUrl);
    this.config = config;
    this.metadataUrl = `${base}${SAML_METADATA_PATH}`;
    this.entityId = this.metadataUrl;
    this.clientId = this.entityId;
    this.acsUrl = `${base}${SAML_ACS_PATH}`;
    // normalised once: the first certificate of the PEM, the key as PKCS#8 (node-saml wants PEM it can re-wrap)
    this.certificatePem = new X509Certificate(config.spCertificatePem).toString();
    this.privateKeyPem = createPrivateKey(config.spPrivateKeyPem).export({ type: 'pkcs8', format: 'pem' }).toString();
    this.clockSkewMs = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
    this.maxAssertionAgeMs = options.maxAssertionAgeMs ?? DEFAULT_MAX_ASSERTION_AGE_MS;
    this.replay = options.replayCache ?? workerReplayCache;
    this.idp = new IdpMetadataSource({
      xml: config.idpMetadata,
      url: config.idpMetadataUrl,
      ...(options.metadataFetch === undefined ? {} : { fetch: options.metadataFetch }),
    });
    this.spMetadataXml = generateServiceProviderMetadata({
      issuer: this.entityId,
      callbackUrl: this.acsUrl,
      identifierFormat: config.nameIdFormat,
      wantAssertionsSigned: true,
      privateKey: this.privateKeyPem,
      publicCerts: this.certificatePem,
      signatureAlgorithm: 'sha256',
    });
    const metadata = { contentType: 'application/samlmetadata+xml', body: this.spMetadataXml };
    this.extraPaths = new Map([[SAML_METADATA_PATH, () => metadata]]);
  }

  /** The SP metadata document (also served at /auth/saml/metadata). */
  get spMetadata(): string {
    return this.spMetadataXml;
  }

  async beginLogin(redirectUri: string, state: string, secrets: LoginSecrets): Promise<string> {
    if (!NONCE_PATTERN.test(secrets.nonce)) throw new Error('saml: the login nonce must be 16-128 characters of [A-Za-z0-9_-]');
    // node-saml signs querystring's encoding of RelayState but sends URLSearchParams' one; they differ
    // only on these characters, which would make the IdP's signature check fail
    if (/[~!'() ]/.test(state)) throw new Error("saml: the login state must not contain ~ ! ' ( ) or spaces");
    const idp = await this.metadata();
    const saml = new SAML(this.samlConfig(idp, redirectUri, { generateUniqueId: () => requestId(secrets.nonce) }));
    return saml.getAuthorizeUrlAsync(state, undefined, {});
  }

  async completeLogin(input: CallbackInput): Promise<LoginResult> {
    if (input.method !== 'POST') throw new SamlError('response_invalid', 'the SAML response must be POSTed to the ACS');
    const samlResponse = input.form.get('SAMLResponse');
    if (samlResponse === null || samlResponse === '') throw new SamlError('response_invalid', 'no SAMLResponse');
    if (samlResponse.length > MAX_SAML_RESPONSE_CHARS) throw new SamlError('response_invalid', 'SAMLResponse too large');
    checkResponseEnvelope(samlResponse);
    const expected = input.secrets === null ? null : requestId(input.secrets.nonce);
    if (expected === null && !this.config.allowIdpInitiated) throw new SamlError('idp_initiated_refused');
    if (expected !== null && (input.form.get('RelayState') ?? '') !== input.state) throw new SamlError('conditions_unmet', 'RelayState does not match this login');

    const idp = await this.metadata();
    const profile = await this.validate(idp, input.redirectUri, samlResponse, expected);
    const facts = assertionFacts(profile.getAssertionXml?.() ?? '');
    this.checkFacts(idp, facts, profile, input.redirectUri, expected);
    const identity = identityFromProfile(profile, this.config.authorizedGroups);
    // last, once everything else passed: a refused response does not burn its id
    const expiresAt = Math.min(facts.notOnOrAfterMs!, facts.issueInstantMs + this.maxAssertionAgeMs) + this.clockSkewMs;
    const claimed = this.replay.claim(`${this.entityId}\n${idp.entityId}\n${facts.id}`, expiresAt);
    if (claimed === 'present') throw new SamlError('conditions_unmet', 'assertion already used');
    if (claimed === 'refused') throw new SamlError('conditions_unmet', 'the replay check could not record the assertion; try again');
    return { identity };
  }

  authorize(identity: Identity): AuthorizationVerdict {
    return authorizeGroups(identity, this.config.authorizedGroups);
  }

  private async metadata(): Promise<IdpMetadata> {
    try {
      return await this.idp.get();
    } catch (err) {
      throw new SamlError('metadata_unavailable', err instanceof IdpMetadataError ? err.message : undefined);
    }
  }

  /** node-saml's checks: signature, audience, time window, and (SP-initiated) InResponseTo. */
  private async validate(idp: IdpMetadata, acsUrl: string, samlResponse: string, expected: string | null): Promise<Profile> {
    const saml = new SAML(this.samlConfig(idp, acsUrl, {
      validateInResponseTo: expected === null ? ValidateInResponseTo.never : ValidateInResponseTo.always,
      cacheProvider: expectedRequestCache(expected),
    }));
    let result: Awaited<ReturnType<SAML['validatePostResponseAsync']>>;
    try {
      result = await saml.validatePostResponseAsync({ SAMLResponse: samlResponse });
    } catch (err) {
      throw fromNodeSamlError(err);
    }
    if (result.profile === null || result.loggedOut) throw new SamlError('response_invalid', 'not a login response');
    return result.profile;
  }

  /** What node-saml does not check, on the verified assertion. */
  private checkFacts(idp: IdpMetadata, facts: AssertionFacts, profile: Profile, acsUrl: string, expected: string | null): void {
    if (facts.issuer !== idp.entityId) throw new SamlError('signature_invalid', 'issuer is not the configured IdP');
    if (facts.authnStatements !== 1) throw new SamlError('authn_statement_count', `found ${facts.authnStatements}`);
    // The bearer confirmation (profile §4.1.4.2) must name this ACS and expire
    if (facts.recipient !== acsUrl) throw new SamlError('conditions_unmet', 'recipient is not this ACS');
    if (facts.notOnOrAfterMs === null) throw new SamlError('conditions_unmet', 'assertion has no NotOnOrAfter');
    if (Date.now() - this.clockSkewMs >= facts.notOnOrAfterMs) throw new SamlError('conditions_unmet', 'outside its validity window');
    const responseInResponseTo = typeof profile.inResponseTo === 'string' ? profile.inResponseTo : null;
    if (expected === null) {
      // Unsolicited: an InResponseTo means it answers a login this browser did not start (or lost)
      if (facts.inResponseTo !== null || responseInResponseTo !== null) throw new SamlError('conditions_unmet', 'response answers a login this browser did not start');
    } else if (facts.inResponseTo !== expected || (responseInResponseTo !== null && responseInResponseTo !== expected)) {
      // node-saml accepts a bearer confirmation without InResponseTo; the signed one must name this login
      throw new SamlError('conditions_unmet', 'InResponseTo');
    }
  }

  private samlConfig(idp: IdpMetadata, acsUrl: string, extra: Partial<SamlConfig>): SamlConfig {
    return {
      issuer: this.entityId,
      audience: this.entityId,
      callbackUrl: acsUrl,
      entryPoint: idp.ssoRedirectUrl,
      idpCert: idp.signingCertsPem,
      privateKey: this.privateKeyPem,
      publicCert: this.certificatePem,
      signatureAlgorithm: 'sha256',
      identifierFormat: this.config.nameIdFormat,
      forceAuthn: this.config.forceAuthn,
      // A RequestedAuthnContext of "password" makes IdPs that used MFA or Kerberos refuse the login
      disableRequestedAuthnContext: true,
      // Either the Response or the Assertion must carry a valid signature (node-saml checks the
      // assertion's when the response's is missing or invalid)
      wantAssertionsSigned: false,
      wantAuthnResponseSigned: false,
      acceptedClockSkewMs: this.clockSkewMs,
      maxAssertionAgeMs: this.maxAssertionAgeMs,
      ...extra,
    };
  }
}

function requestId(nonce: string): string {
  return `_${nonce}`;
}

/**
 * node-saml checks InResponseTo against a cache of issued request ids; the id issued to this browser
 * is in the flow's sealed login state (any worker can read it), so the "cache" holds just that one.
 */
function expectedRequestCache(expected: string | null): CacheProvider {
  return {
    saveAsync: async () => null,
    getAsync: async (key) => (expected !== null && key === expected ? new Date().toISOString() : null),
    removeAsync: async () => null,
  };
}

function parseBaseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`saml: baseUrl '${text}' is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`saml: baseUrl '${text}' must be an https URL`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') throw new Error(`saml: baseUrl '${text}' must be an origin (no path, query or fragment)`);
  return url.origin;
}
