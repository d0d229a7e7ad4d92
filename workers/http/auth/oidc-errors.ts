// Typed failures of the OpenID Connect login flow. Each carries a stable reason and an
// ERR_NGROK_52xx code (spec §1.6 "OpenID Connect module": 5202-5212 cover discovery failures,
// a missing ID token, and verification or claim-extraction failures). Messages are written here,
// never copied from the library: library errors carry token bodies and claims in their causes,
// so none of that (and never the client secret) may reach a message, log or event.
import * as oidc from 'openid-client';

export const OIDC_ERRORS = {
  /** The issuer could not be reached, or did not answer in time. */
  discovery_unreachable: { code: 'ERR_NGROK_5202', message: 'The OpenID provider could not be reached for discovery.' },
  /** The issuer URL, or the discovery document it served, cannot be used. */
  discovery_invalid: { code: 'ERR_NGROK_5203', message: 'The OpenID provider discovery document is invalid or unusable.' },
  /** The discovery document names a different issuer than the one configured. */
  issuer_mismatch: { code: 'ERR_NGROK_5204', message: 'The OpenID provider discovery document is for a different issuer.' },
  /** The provider answered the login with an error, or the callback did not match the login. */
  authorization_failed: { code: 'ERR_NGROK_5205', message: 'The OpenID provider did not authorize the login.' },
  /** The token endpoint could not be reached or refused the authorization code. */
  token_request_failed: { code: 'ERR_NGROK_5206', message: 'The OpenID provider token request failed.' },
  /** The token response carried no ID token. */
  id_token_missing: { code: 'ERR_NGROK_5207', message: 'The OpenID provider returned no ID token.' },
  /** The ID token signature could not be verified against the provider keys. */
  id_token_signature_invalid: { code: 'ERR_NGROK_5208', message: 'The ID token signature could not be verified.' },
  /** The ID token names another issuer or audience, or is otherwise malformed. */
  id_token_claims_invalid: { code: 'ERR_NGROK_5209', message: 'The ID token issuer, audience or format is invalid.' },
  /** The ID token is expired, not yet valid, or issued too long ago. */
  id_token_expired: { code: 'ERR_NGROK_5210', message: 'The ID token is expired or not yet valid.' },
  /** The ID token nonce does not match the one sent with this login. */
  nonce_mismatch: { code: 'ERR_NGROK_5211', message: 'The ID token nonce does not match this login.' },
  /** No usable identity could be extracted from the verified claims or userinfo. */
  claims_unusable: { code: 'ERR_NGROK_5212', message: 'No usable identity could be extracted from the OpenID provider response.' },
} as const;

export type OidcErrorReason = keyof typeof OIDC_ERRORS;

export class OidcError extends Error {
  readonly reason: OidcErrorReason;
  readonly code: string;
  /** A short, secret-free hint: a library error code, a claim name, an HTTP status or an OAuth error code. */
  readonly detail: string | undefined;

  constructor(reason: OidcErrorReason, detail?: string) {
    const known = OIDC_ERRORS[reason];
    super(detail ? `${known.message} (${detail})` : known.message);
    this.name = 'OidcError';
    this.reason = reason;
    this.code = known.code;
    this.detail = detail;
  }
}

/** Which step of the flow failed: decides how generic library failures are reported. */
export type OidcStage = 'discovery' | 'token' | 'userinfo';

/**
 * Turns whatever openid-client (or fetch underneath it) threw into an OidcError. Only error
 * codes, claim names, statuses and OAuth error codes are kept; causes are dropped.
 */
export function toOidcError(err: unknown, stage: OidcStage): OidcError {
  if (err instanceof OidcError) return err;
  if (err instanceof oidc.AuthorizationResponseError) {
    return new OidcError('authorization_failed', safeToken(err.error));
  }
  if (err instanceof oidc.ResponseBodyError) {
    const reason = stage === 'userinfo' ? 'claims_unusable' : stage === 'discovery' ? 'discovery_invalid' : 'token_request_failed';
    return new OidcError(reason, `${err.status} ${safeToken(err.error)}`);
  }
  if (err instanceof oidc.WWWAuthenticateChallengeError) {
    return new OidcError(stage === 'userinfo' ? 'claims_unusable' : 'token_request_failed', `HTTP ${err.status} challenge`);
  }
  if (err instanceof oidc.ClientError) return fromClientError(err, stage);
  // fetch itself failed (refused, reset, DNS) or was aborted by the timeout signal.
  if (isNetworkFailure(err)) return new OidcError(networkReason(stage), networkDetail(err));
  return new OidcError(stage === 'discovery' ? 'discovery_invalid' : stage === 'userinfo' ? 'claims_unusable' : 'token_request_failed');
}

function fromClientError(err: oidc.ClientError, stage: OidcStage): OidcError {
  const code = err.code ?? 'unknown';
  const claim = claimOf(err);
  switch (code) {
    case 'OAUTH_TIMEOUT':
    case 'OAUTH_ABORT':
      return new OidcError(networkReason(stage), 'timed out');
    case 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED':
      // Discovery's issuer check, the callback's state/iss check, or userinfo's sub check.
      if (stage === 'discovery') return new OidcError('issuer_mismatch');
      if (stage === 'token') return new OidcError('authorization_failed', 'callback parameter mismatch');
      return new OidcError('claims_unusable', 'userinfo sub mismatch');
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
      if (claim === 'nonce') return new OidcError('nonce_mismatch');
      return new OidcError('id_token_claims_invalid', claim ? `claim ${claim}` : code);
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
      return new OidcError('id_token_expired', claim ? `claim ${claim}` : code);
    case 'OAUTH_KEY_SELECTION_FAILED':
      return new OidcError('id_token_signature_invalid', 'no matching key');
    case 'OAUTH_INVALID_RESPONSE':
      if (/"id_token" property/.test(causeMessage(err))) return new OidcError('id_token_missing');
      if (/signature/i.test(err.message) || /signature/i.test(causeMessage(err))) {
        return new OidcError('id_token_signature_invalid', 'bad signature');
      }
      if (/id_token|ID Token|JWT/i.test(causeMessage(err))) return new OidcError('id_token_claims_invalid', code);
      break;
    case 'OAUTH_UNSUPPORTED_OPERATION':
      // An unsupported JWS algorithm on the ID token (or JWKS key) lands here.
      if (stage === 'token') return new OidcError('id_token_signature_invalid', 'unsupported algorithm');
      break;
    case 'OAUTH_HTTP_REQUEST_FORBIDDEN':
    case 'OAUTH_REQUEST_PROTOCOL_FORBIDDEN':
      return new OidcError('discovery_invalid', 'endpoint must use https');
  }
  if (stage === 'discovery') return new OidcError('discovery_invalid', code);
  if (stage === 'userinfo') return new OidcError('claims_unusable', `userinfo ${code}`);
  return new OidcError('token_request_failed', code);
}

/** oauth4webapi puts the offending claim name on its error's cause. */
function claimOf(err: Error): string | undefined {
  const inner = err.cause;
  if (inner instanceof Error && inner.cause && typeof inner.cause === 'object') {
    const claim = (inner.cause as { claim?: unknown }).claim;
    if (typeof claim === 'string') return safeToken(claim);
  }
  return undefined;
}

function causeMessage(err: Error): string {
  return err.cause instanceof Error ? err.cause.message : '';
}

function isNetworkFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return true;
  return err instanceof TypeError && /fetch failed|network|socket|ECONN|ENOTFOUND|EAI_AGAIN/i.test(`${err.message} ${causeMessage(err)}`);
}

function networkDetail(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
    const cause = err.cause as { code?: unknown } | undefined;
    if (cause && typeof cause.code === 'string') return safeToken(cause.code);
  }
  return 'network error';
}

function networkReason(stage: OidcStage): OidcErrorReason {
  return stage === 'discovery' ? 'discovery_unreachable' : stage === 'userinfo' ? 'claims_unusable' : 'token_request_failed';
}

/** Provider-supplied short codes are echoed only when they look like codes (no free text, no tokens). */
function safeToken(value: unknown): string {
  return typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : 'error';
}
