// What an identity module needs from its identity provider, whatever the protocol (OIDC, one of the
// OAuth providers, SAML). The shared login flow (workers/http/auth/flow.ts) does the rest: capture the
// request, the nonce cookie and sealed state, the callback, the session cookie, the identity headers,
// the module's own paths, refreshes and logout.

/** Who the user is, as the provider proved it. Kept small: it goes into the session cookie. */
export interface Identity {
  /** Stable user id at the provider (OIDC sub, OAuth user id, SAML NameID). */
  id: string;
  name?: string;
  email?: string;
  /** Group / team / organisation names, when the provider gives them (capped by the provider adapter). */
  groups?: string[];
}

/**
 * Values the flow makes at login start and keeps in the sealed login state until the callback (the
 * nonce cookie binds them to the browser): the adapter sends them to the provider and checks them on
 * the way back.
 */
export interface LoginSecrets {
  /** OIDC nonce; SAML derives its AuthnRequest ID from it (`_` + nonce). Checked on the way back. */
  nonce: string;
  /** PKCE code verifier, when the protocol uses one. */
  pkceVerifier?: string;
}

/** How a login starts (optional: an adapter may ignore what it cannot do). */
export interface LoginOptions {
  /** /auth/authn: the provider should prompt again even with a session of its own (OIDC prompt=login, SAML ForceAuthn). */
  forceReauthentication?: boolean;
}

/** What came back to the callback (ACS) path. */
export interface CallbackInput {
  /** Absolute callback URL as registered at the provider (https://host[:port]/auth/callback). */
  redirectUri: string;
  method: string;
  /** Query parameters of the callback request. */
  query: URLSearchParams;
  /** Form fields of a POST callback (SAML POST binding), empty otherwise. */
  form: URLSearchParams;
  /** The state the flow sealed at login start; '' for IdP-initiated logins (SAML). */
  state: string;
  secrets: LoginSecrets | null;
}

/** Tokens kept server-side (never in the cookie), for the access/refresh token headers and refreshes. */
export interface ProviderTokens {
  accessToken?: string;
  refreshToken?: string;
}

export interface LoginResult {
  identity: Identity;
  tokens?: ProviderTokens;
}

/** Why a user who proved who they are is still not let in. */
export interface AuthorizationVerdict {
  allowed: boolean;
  /** Shown on the error page and in the event; never a secret. */
  reason?: string;
  /** The ERR_NGROK code of the refusal page when the protocol has its own (SAML: 5312); else the flow's. */
  code?: string;
}

/** Errors a provider adapter throws: a reason for logs/events and the ERR_NGROK code of the error page. */
export class ProviderError extends Error {
  constructor(readonly code: string, readonly reason: string, message: string, readonly status = 403) {
    super(message);
    this.name = 'ProviderError';
  }
}

/**
 * One provider adapter per compiled module (per route, per worker, per generation). Implementations hold
 * their own caches (discovery, JWKS, IdP metadata) and must not put secrets in error messages.
 */
export interface IdentityProvider {
  /** 'oidc', 'saml' or the OAuth provider name: events and logs. */
  readonly kind: string;
  /** The client / SP id (event field oauth.app_client_id). */
  readonly clientId: string;
  /**
   * Starts a login: the URL to send the browser to (302). `state` is the flow's sealed state, sent as
   * the OAuth/OIDC `state` or the SAML RelayState; `secrets` are the nonce and PKCE verifier to use.
   */
  beginLogin(redirectUri: string, state: string, secrets: LoginSecrets, options?: LoginOptions): Promise<string>;
  /** Completes a login at the callback. Throws ProviderError (or a subclass) when anything is wrong. */
  completeLogin(input: CallbackInput): Promise<LoginResult>;
  /** The module's authorization rules (emails, domains, teams, organisations, groups). */
  authorize(identity: Identity): AuthorizationVerdict;
  /** Back-channel refresh of the user's data (auth_check_interval); null when the provider cannot. */
  refresh?(tokens: ProviderTokens): Promise<LoginResult | null>;
  /** Extra paths the module answers (SAML: the SP metadata document). Keyed by path. */
  readonly extraPaths?: ReadonlyMap<string, () => { contentType: string; body: string }>;
}
