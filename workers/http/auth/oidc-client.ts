// OpenID Connect relying party for the oidc route module: discovery, the authorization URL
// (code flow with PKCE S256, state and nonce), the code exchange with the client secret, ID token
// verification (signature against the provider JWKS, iss, aud = client_id, exp/iat with a small
// clock tolerance, nonce) and optional userinfo. The protocol work is openid-client's; this file
// picks its options, maps its failures to OidcError, and reduces the claims to an OidcIdentity.
//
// One OidcClient per module config (issuer, client_id, client_secret). It is safe in any worker
// thread: all state lives on the instance (and on openid-client's per-thread caches). The JWKS is
// cached per instance and refetched by the library when a token names an unknown key; after a
// signature failure the discovery entry is dropped too, so rotated jwks_uri values are picked up.
import * as oidc from 'openid-client';
import { OidcDiscoveryCache, isLocalHttp, parseIssuer, type OidcFetch, type OidcServerMetadata } from './oidc-discovery.js';
import { OidcError, toOidcError } from './oidc-errors.js';
import { identityFromClaims, type OidcIdentity } from './oidc-identity.js';

export { OidcError, OIDC_ERRORS, type OidcErrorReason } from './oidc-errors.js';
export { OidcDiscoveryCache, type OidcFetch } from './oidc-discovery.js';
export type { OidcIdentity } from './oidc-identity.js';

export interface OidcClientOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Requested scopes; "openid" is always added. Default openid, profile, email. */
  scopes?: readonly string[];
  /** Per-request timeout for discovery, token, JWKS and userinfo requests. Default 5 s. */
  timeoutMs?: number;
  /** Accepted clock difference for exp/iat/nbf. Default 10 s. */
  clockToleranceSec?: number;
  /** Also fetch userinfo after the code exchange. Default: when the provider has a userinfo endpoint. */
  fetchUserinfo?: boolean;
  /** Share one cache between the clients of a worker; default: a cache of this client's own. */
  discovery?: OidcDiscoveryCache;
  /** Replaces global fetch for every request this client makes (tests, proxies). */
  fetch?: OidcFetch;
}

/** The per-login values sent to the provider and checked on the way back. */
export interface OidcLoginValues {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** What the module must remember (sealed, in the login-state cookie) until the callback. */
export interface OidcLoginStart extends OidcLoginValues {
  /** Where to send the browser. */
  url: string;
}

export interface OidcCallback {
  /** The redirect_uri sent with the authorization request, without query. */
  redirectUri: string;
  /** The callback's query string (with or without "?"), as the provider sent it. */
  query: string | URLSearchParams;
  /** The values from beginLogin, read back from the login-state cookie. */
  state: string;
  nonce: string;
  codeVerifier: string;
}

export interface OidcLoginResult {
  identity: OidcIdentity;
  /** The ID token's exp, in ms since the epoch. */
  idTokenExpiresAt: number;
}

const DEFAULT_SCOPES = ['openid', 'profile', 'email'] as const;
const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_CLOCK_TOLERANCE_SEC = 10;

export class OidcClient {
  readonly issuer: string;
  readonly clientId: string;
  private readonly clientSecret: string;
  private readonly scope: string;
  private readonly timeoutMs: number;
  private readonly clockToleranceSec: number;
  private readonly fetchUserinfo: boolean | undefined;
  private readonly discovery: OidcDiscoveryCache;
  private readonly fetchImpl: OidcFetch | undefined;
  /** The configuration built from the metadata object it was built for. */
  private current: { metadata: OidcServerMetadata; config: oidc.Configuration } | undefined;

  constructor(options: OidcClientOptions) {
    parseIssuer(options.issuer);
    if (!options.clientId) throw new OidcError('discovery_invalid', 'client_id is required');
    if (!options.clientSecret) throw new OidcError('discovery_invalid', 'client_secret is required');
    this.issuer = options.issuer;
    this.clientId = options.clientId;
    this.clientSecret = options.clientSecret;
    this.scope = scopeString(options.scopes ?? DEFAULT_SCOPES);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.clockToleranceSec = options.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC;
    this.fetchUserinfo = options.fetchUserinfo;
    this.fetchImpl = options.fetch;
    this.discovery = options.discovery ?? new OidcDiscoveryCache({ timeoutMs: this.timeoutMs, fetch: options.fetch });
  }

  /** The provider's discovered metadata (cached). Throws OidcError. */
  async metadata(): Promise<OidcServerMetadata> {
    return (await this.configuration()).serverMetadata();
  }

  /**
   * The authorization URL for a login, with fresh state, nonce and PKCE verifier unless `given` holds
   * them (the route module's flow makes and seals its own, so they come back to the callback).
   */
  async beginLogin(redirectUri: string, extraParams: Readonly<Record<string, string>> = {}, given: Partial<OidcLoginValues> = {}): Promise<OidcLoginStart> {
    const config = await this.configuration();
    const state = given.state ?? oidc.randomState();
    const nonce = given.nonce ?? oidc.randomNonce();
    const codeVerifier = given.codeVerifier ?? oidc.randomPKCECodeVerifier();
    const codeChallenge = await oidc.calculatePKCECodeChallenge(codeVerifier);
    const url = oidc.buildAuthorizationUrl(config, {
      ...extraParams,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: this.scope,
      state,
      nonce,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
    });
    return { url: url.href, state, nonce, codeVerifier };
  }

  /** Exchanges the callback's code, verifies the ID token and returns the identity. Throws OidcError. */
  async completeLogin(callback: OidcCallback): Promise<OidcLoginResult> {
    const callbackUrl = callbackUrlOf(callback);
    checkCallback(callbackUrl.searchParams, callback.state);
    const config = await this.configuration();
    let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: callback.codeVerifier,
        expectedState: callback.state,
        expectedNonce: callback.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      const failure = toOidcError(err, 'token');
      if (failure.reason === 'id_token_signature_invalid') this.forgetProvider();
      throw failure;
    }
    const claims = tokens.claims();
    if (!claims) throw new OidcError('id_token_missing');
    const userinfo = this.wantsUserinfo(config) ? await this.userinfo(config, tokens.access_token, claims.sub) : undefined;
    return { identity: identityFromClaims(claims, userinfo), idTokenExpiresAt: claims.exp * 1000 };
  }

  private wantsUserinfo(config: oidc.Configuration): boolean {
    const available = typeof config.serverMetadata().userinfo_endpoint === 'string';
    return available && this.fetchUserinfo !== false;
  }

  private async userinfo(config: oidc.Configuration, accessToken: string, sub: string): Promise<Record<string, unknown>> {
    try {
      return await oidc.fetchUserInfo(config, accessToken, sub);
    } catch (err) {
      throw toOidcError(err, 'userinfo');
    }
  }

  /** The openid-client configuration for the current discovery entry, rebuilt when that changes. */
  private async configuration(): Promise<oidc.Configuration> {
    const metadata = await this.discovery.get(this.issuer);
    if (this.current?.metadata === metadata) return this.current.config;
    const clientMetadata: Partial<oidc.ClientMetadata> = {
      client_secret: this.clientSecret,
      [oidc.clockTolerance]: this.clockToleranceSec,
    };
    const config = new oidc.Configuration(metadata, this.clientId, clientMetadata, clientAuthFor(metadata, this.clientSecret));
    config.timeout = this.timeoutMs / 1000;
    if (this.fetchImpl) config[oidc.customFetch] = this.fetchImpl;
    if (isLocalHttp(new URL(metadata.issuer))) oidc.allowInsecureRequests(config);
    // Verify the ID token signature against the JWKS, not only its claims.
    oidc.enableNonRepudiationChecks(config);
    this.current = { metadata, config };
    return config;
  }

  /** Drop cached metadata and keys, so the next login rediscovers and refetches the JWKS. */
  private forgetProvider(): void {
    this.discovery.invalidate(this.issuer);
    this.current = undefined;
  }
}

/** client_secret_basic unless the provider lists only client_secret_post (the spec default is basic). */
function clientAuthFor(metadata: OidcServerMetadata, secret: string): oidc.ClientAuth {
  const supported = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  if (supported.includes('client_secret_basic')) return oidc.ClientSecretBasic(secret);
  if (supported.includes('client_secret_post')) return oidc.ClientSecretPost(secret);
  throw new OidcError('discovery_invalid', 'provider supports neither client_secret_basic nor client_secret_post');
}

function scopeString(scopes: readonly string[]): string {
  const unique = new Set(['openid', ...scopes.map((scope) => scope.trim()).filter(Boolean)]);
  return [...unique].join(' ');
}

function callbackUrlOf(callback: OidcCallback): URL {
  let url: URL;
  try {
    url = new URL(callback.redirectUri);
  } catch {
    throw new OidcError('authorization_failed', 'redirect_uri is not a URL');
  }
  url.search = typeof callback.query === 'string' ? callback.query : callback.query.toString();
  url.hash = '';
  return url;
}

/** Clear errors for a refused login or a callback that is not this login's; the library checks again. */
function checkCallback(params: URLSearchParams, expectedState: string): void {
  const error = params.get('error');
  if (error !== null) throw new OidcError('authorization_failed', safeCode(error));
  if (params.get('state') !== expectedState) throw new OidcError('authorization_failed', 'state mismatch');
  if (!params.get('code')) throw new OidcError('authorization_failed', 'code missing');
}

function safeCode(value: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : 'error';
}
