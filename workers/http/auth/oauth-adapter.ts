// The oauth module's IdentityProvider: the OAuth 2.0 authorization-code flow (RFC 6749 §4.1) with
// PKCE S256 (RFC 7636) where the provider takes it, against one of the eight providers. The endpoint
// URLs come from the config; what differs between providers (credentials style, user JSON, extra
// headers) is in oauth-providers.ts, GitHub's emails/teams/organizations in oauth-github.ts, the
// rules in oauth-rules.ts. Hand-written rather than openid-client: these are plain OAuth providers,
// and several send ID tokens the OIDC client would insist on verifying (Microsoft's 'common' issuer
// varies by tenant) or answer errors with 200 (GitHub). No secret, code or token ever reaches a message.
import { createHash } from 'node:crypto';
import type { OAuthSpec } from '../../../core/generation/spec.js';
import type { AuthorizationVerdict, CallbackInput, Identity, IdentityProvider, LoginResult, LoginSecrets, ProviderTokens } from './provider.js';
import { OAuthError, safeCode } from './oauth-errors.js';
import { githubMemberships, githubPrimaryEmail, nextPage } from './oauth-github.js';
import { asObject, endpointProblem, isThrottled, oauthRequest, type OAuthHttpOptions } from './oauth-http.js';
import { OAUTH_PROVIDER_PROFILES, type OAuthProviderProfile } from './oauth-providers.js';
import { OAuthRules } from './oauth-rules.js';

export { OAuthError, OAUTH_ERRORS, type OAuthErrorReason } from './oauth-errors.js';

/** The parts of the compiled oauth module the adapter uses. */
export type OAuthAdapterConfig = Pick<OAuthSpec,
  'provider' | 'clientId' | 'clientSecret' | 'scopes' | 'emailAddresses' | 'emailDomains' | 'teams' | 'organizations' |
  'authorizeUrl' | 'tokenUrl' | 'userinfoUrl' | 'apiUrl'>;

export interface OAuthAdapterOptions {
  /** Per-request timeout for the token, user-info and GitHub API requests. Default 10 s. */
  timeoutMs?: number;
  /** Replaces global fetch (tests). */
  fetch?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 10_000;
// GitHub's API refuses requests without a User-Agent; the others ignore it.
const USER_AGENT = 'edgeplane-oauth';

export class OAuthAdapter implements IdentityProvider {
  readonly kind: string;
  readonly clientId: string;
  private readonly clientSecret: string;
  private readonly config: OAuthAdapterConfig;
  private readonly profile: OAuthProviderProfile;
  private readonly rules: OAuthRules;
  private readonly http: OAuthHttpOptions;

  constructor(config: OAuthAdapterConfig, options: OAuthAdapterOptions = {}) {
    for (const [field, url] of [['authorize_url', config.authorizeUrl], ['token_url', config.tokenUrl], ['userinfo_url', config.userinfoUrl], ['api_url', config.apiUrl]] as const) {
      const problem = url === null ? null : endpointProblem(url);
      if (problem !== null) throw new Error(`oauth ${config.provider} ${field}: ${problem}`);
    }
    this.kind = config.provider;
    this.clientId = config.clientId;
    this.clientSecret = config.clientSecret;
    this.config = config;
    this.profile = OAUTH_PROVIDER_PROFILES[config.provider];
    this.rules = new OAuthRules(config);
    this.http = { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, ...(options.fetch === undefined ? {} : { fetch: options.fetch }) };
  }

  async beginLogin(redirectUri: string, state: string, secrets: LoginSecrets): Promise<string> {
    const url = new URL(this.config.authorizeUrl);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', this.clientId);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('scope', this.config.scopes.join(' '));
    url.searchParams.set('state', state);
    if (this.profile.pkce && secrets.pkceVerifier !== undefined) {
      url.searchParams.set('code_challenge', createHash('sha256').update(secrets.pkceVerifier).digest('base64url'));
      url.searchParams.set('code_challenge_method', 'S256');
    }
    return url.href;
  }

  async completeLogin(input: CallbackInput): Promise<LoginResult> {
    const error = input.query.get('error');
    if (error !== null) throw new OAuthError('provider_denied', safeCode(error));
    if (input.secrets === null) throw new OAuthError('callback_invalid', 'no login was started');
    if (input.state === '' || input.query.get('state') !== input.state) throw new OAuthError('callback_invalid', 'state mismatch');
    const code = input.query.get('code');
    if (code === null || code === '') throw new OAuthError('callback_invalid', 'no code');
    const verifier = this.profile.pkce ? input.secrets.pkceVerifier : undefined;
    const tokens = await this.exchangeCode(code, input.redirectUri, verifier);
    return { identity: await this.readIdentity(tokens.accessToken!), tokens };
  }

  authorize(identity: Identity): AuthorizationVerdict {
    return this.rules.authorize(identity);
  }

  /**
   * Re-reads the user with the access token (auth_check_interval) for the flow to re-check the rules.
   * Null when no access token is held; throws userinfo_refused when the provider no longer takes it.
   */
  async refresh(tokens: ProviderTokens): Promise<LoginResult | null> {
    if (tokens.accessToken === undefined || tokens.accessToken === '') return null;
    return { identity: await this.readIdentity(tokens.accessToken), tokens };
  }

  private async exchangeCode(code: string, redirectUri: string, verifier: string | undefined): Promise<ProviderTokens> {
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    if (verifier !== undefined) form.set('code_verifier', verifier);
    const headers: Record<string, string> = {
      // GitHub answers form-encoded without it; the others answer JSON either way.
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': USER_AGENT,
    };
    if (this.profile.tokenAuth === 'basic') {
      // RFC 6749 §2.3.1: both parts form-encoded before base64
      const pair = `${encodeURIComponent(this.clientId)}:${encodeURIComponent(this.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    } else {
      form.set('client_id', this.clientId);
      form.set('client_secret', this.clientSecret);
    }
    const answer = await oauthRequest(this.config.tokenUrl, { method: 'POST', headers, body: form.toString() }, 'token', this.http);
    if (isThrottled(answer)) throw new OAuthError('provider_throttled', `HTTP ${answer.status}`);
    const body = asObject(answer.body);
    // GitHub refuses a bad code or secret with 200 and { error }; Facebook's error is an object.
    if (body !== null && body.error !== undefined && body.error !== null) throw new OAuthError('token_refused', errorCode(body.error));
    if (answer.status < 200 || answer.status > 299) throw new OAuthError('token_refused', `HTTP ${answer.status}`);
    if (body === null) throw new OAuthError('token_invalid', 'not JSON');
    if (typeof body.access_token !== 'string' || body.access_token === '') throw new OAuthError('token_invalid', 'no access_token');
    if (body.token_type !== undefined && (typeof body.token_type !== 'string' || body.token_type.toLowerCase() !== 'bearer')) {
      throw new OAuthError('token_invalid', 'token_type is not bearer');
    }
    const refreshToken = typeof body.refresh_token === 'string' && body.refresh_token !== '' ? body.refresh_token : undefined;
    return { accessToken: body.access_token, ...(refreshToken === undefined ? {} : { refreshToken }) };
  }

  private async readIdentity(accessToken: string): Promise<Identity> {
    const url = new URL(this.config.userinfoUrl);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': USER_AGENT };
    this.profile.decorateUserinfo?.(url, headers, { clientId: this.clientId, clientSecret: this.clientSecret, accessToken });
    const user = this.profile.parseUser((await this.getJson(url.href, headers, accessToken)).body);
    if (user === null) throw new OAuthError('userinfo_invalid', 'no user id');
    const identity: Identity = { ...user };
    if (this.config.provider === 'github' && this.config.apiUrl !== null) await this.addGithubDetails(identity, this.config.apiUrl, headers, accessToken);
    return identity;
  }

  private async addGithubDetails(identity: Identity, apiUrl: string, headers: Record<string, string>, accessToken: string): Promise<void> {
    const get = async (url: string) => {
      const answer = await this.getJson(url, headers, accessToken);
      return { body: answer.body, next: nextPage(answer.headers.get('link'), url) };
    };
    if (identity.email === undefined) {
      try {
        const email = await githubPrimaryEmail(apiUrl, get);
        if (email !== undefined) identity.email = email;
      } catch (err) {
        // Without the user:email scope GitHub answers 404/403: the user simply has no known email.
        if (!(err instanceof OAuthError && err.reason === 'userinfo_refused')) throw err;
      }
    }
    if (this.rules.needsTeams || this.rules.needsOrganizations) {
      const memberships = await githubMemberships(apiUrl, get, { teams: this.rules.needsTeams, organizations: this.rules.needsOrganizations });
      identity.groups = this.rules.githubGroups(memberships);
    }
  }

  /** A GET with the bearer token; anything but a 2xx JSON answer becomes an OAuthError. */
  private async getJson(url: string, headers: Record<string, string>, accessToken: string) {
    const answer = await oauthRequest(url, { method: 'GET', headers: { ...headers, authorization: `Bearer ${accessToken}` } }, 'userinfo', this.http);
    if (isThrottled(answer)) throw new OAuthError('provider_throttled', `HTTP ${answer.status}`);
    if (answer.status >= 500) throw new OAuthError('userinfo_unreachable', `HTTP ${answer.status}`);
    if (answer.status >= 300 && answer.status < 400) throw new OAuthError('userinfo_unreachable', `HTTP ${answer.status} redirect`);
    if (answer.status >= 400) throw new OAuthError('userinfo_refused', `HTTP ${answer.status}`);
    if (answer.body === undefined) throw new OAuthError('userinfo_invalid', 'not JSON');
    return answer;
  }
}

/** An OAuth error code (string) or Facebook's { type, code } object, reduced to a safe code. */
function errorCode(error: unknown): string {
  if (typeof error === 'string') return safeCode(error);
  const o = asObject(error);
  return o === null ? 'error' : safeCode(o.type ?? o.code);
}
