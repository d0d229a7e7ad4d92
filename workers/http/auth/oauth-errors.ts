// Failures of the OAuth provider adapters, as ProviderErrors with ERR_NGROK_31xx codes (spec §1.6:
// the 3100-3167 family; the spec does not number each case, so these are edgeplane's choice, kept
// clear of 3100-3119, which the shared flow uses for state and nonce errors):
//   3120 provider_denied        the provider sent the user back with ?error= (e.g. access_denied)   403
//   3121 callback_invalid       no code, state mismatch, or no login secrets at the callback         400
//   3122 token_unreachable      the token endpoint could not be reached or timed out                 502
//   3123 token_refused          the token endpoint refused the code or the client credentials        502
//   3124 token_invalid          the token response was unreadable or had no bearer access token      502
//   3125 userinfo_unreachable   the user-info (or GitHub API) endpoint could not be reached          502
//   3126 userinfo_refused       the user-info endpoint refused the access token                      502
//   3127 userinfo_invalid       the user-info answer was unreadable or named no user id              502
//   3128 provider_throttled     the provider rate-limited edgeplane (429, GitHub's exhausted quota)  503
// Messages carry only fixed text, HTTP statuses and short provider error codes: never the client
// secret, the authorization code, tokens or response bodies.
import { ProviderError } from './provider.js';

export const OAUTH_ERRORS = {
  provider_denied: { code: 'ERR_NGROK_3120', status: 403, message: 'The OAuth provider did not authorize the login.' },
  callback_invalid: { code: 'ERR_NGROK_3121', status: 400, message: 'The OAuth callback does not belong to a login started here.' },
  token_unreachable: { code: 'ERR_NGROK_3122', status: 502, message: 'The OAuth provider token endpoint could not be reached.' },
  token_refused: { code: 'ERR_NGROK_3123', status: 502, message: 'The OAuth provider token endpoint refused the request.' },
  token_invalid: { code: 'ERR_NGROK_3124', status: 502, message: 'The OAuth provider token response is unusable.' },
  userinfo_unreachable: { code: 'ERR_NGROK_3125', status: 502, message: 'The OAuth provider user endpoint could not be reached.' },
  userinfo_refused: { code: 'ERR_NGROK_3126', status: 502, message: 'The OAuth provider user endpoint refused the access token.' },
  userinfo_invalid: { code: 'ERR_NGROK_3127', status: 502, message: 'The OAuth provider user answer is unusable.' },
  provider_throttled: { code: 'ERR_NGROK_3128', status: 503, message: 'The OAuth provider is rate-limiting requests; try again later.' },
} as const;

export type OAuthErrorReason = keyof typeof OAUTH_ERRORS;

export class OAuthError extends ProviderError {
  /** A short, secret-free hint: an HTTP status, a provider error code, a field name. */
  readonly detail: string | undefined;

  constructor(reason: OAuthErrorReason, detail?: string) {
    const known = OAUTH_ERRORS[reason];
    super(known.code, reason, detail === undefined ? known.message : `${known.message} (${detail})`, known.status);
    this.name = 'OAuthError';
    this.detail = detail;
  }
}

/** Provider-supplied error codes are echoed only when they look like codes (no free text, no tokens). */
export function safeCode(value: unknown): string {
  return typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : 'error';
}
