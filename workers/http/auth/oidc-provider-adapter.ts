// The oidc module's IdentityProvider: the shared flow (flow.ts) over an OidcClient. The flow makes
// the state, nonce and PKCE verifier and seals them; this adapter hands them to the client, and maps
// the client's OidcError to the flow's ProviderError (same ERR_NGROK_52xx codes, secret-free text).
import { OidcClient, OidcError, type OidcErrorReason } from './oidc-client.js';
import { toOidcError } from './oidc-errors.js';
import {
  ProviderError, type AuthorizationVerdict, type CallbackInput, type Identity, type IdentityProvider, type LoginOptions,
  type LoginResult, type LoginSecrets,
} from './provider.js';

// The provider (or the way to it) failed, not the user's login: a gateway error.
const GATEWAY_FAILURES: ReadonlySet<OidcErrorReason> = new Set(['discovery_unreachable', 'discovery_invalid', 'issuer_mismatch', 'token_request_failed']);

export class OidcIdentityProvider implements IdentityProvider {
  readonly kind = 'oidc';
  readonly clientId: string;

  constructor(private readonly client: OidcClient) {
    this.clientId = client.clientId;
  }

  async beginLogin(redirectUri: string, state: string, secrets: LoginSecrets, options: LoginOptions = {}): Promise<string> {
    if (secrets.pkceVerifier === undefined) throw providerError(new OidcError('authorization_failed', 'no PKCE verifier for this login'));
    const extra: Record<string, string> = options.forceReauthentication === true ? { prompt: 'login' } : {};
    try {
      const start = await this.client.beginLogin(redirectUri, extra, { state, nonce: secrets.nonce, codeVerifier: secrets.pkceVerifier });
      return start.url;
    } catch (err) {
      throw providerError(toOidcError(err, 'discovery'));
    }
  }

  async completeLogin(input: CallbackInput): Promise<LoginResult> {
    // OIDC logins always start here: there is no provider-initiated login to accept.
    if (input.secrets === null || input.secrets.pkceVerifier === undefined) {
      throw providerError(new OidcError('authorization_failed', 'callback without a login of ours'));
    }
    try {
      const result = await this.client.completeLogin({
        redirectUri: input.redirectUri,
        query: input.query,
        state: input.state,
        nonce: input.secrets.nonce,
        codeVerifier: input.secrets.pkceVerifier,
      });
      const { sub, name, email, groups } = result.identity;
      const identity: Identity = { id: sub };
      if (name !== undefined) identity.name = name;
      if (email !== undefined) identity.email = email;
      if (groups !== undefined) identity.groups = groups;
      return { identity };
    } catch (err) {
      throw providerError(toOidcError(err, 'token'));
    }
  }

  /** The oidc module has no rules of its own (spec §1.6): whoever the provider signs in is let in. */
  authorize(): AuthorizationVerdict {
    return { allowed: true };
  }
}

function providerError(err: OidcError): ProviderError {
  const reason = err.detail === undefined ? err.reason : `${err.reason}: ${err.detail}`;
  return new ProviderError(err.code, reason, err.message, GATEWAY_FAILURES.has(err.reason) ? 502 : 403);
}
