// Typed failures of the SAML service-provider adapter. The spec (§1.6 "SAML module") names the codes:
// 5302 IdP-initiated login refused, 5311 not exactly one AuthnStatement, 5312 not in an authorized
// group, and 5301/5305/5308 for invalid assertions; this file pins which of those three means what.
// Messages are written here, never copied from the library: node-saml's messages can echo values
// from the response (audiences, status messages), and the page and events only get these.
import { ProviderError } from './provider.js';

export const SAML_ERRORS = {
  /** The IdP metadata (inline or fetched) is missing, unreachable or unusable. */
  metadata_unavailable: { code: 'ERR_NGROK_5300', status: 502, message: 'The SAML identity provider metadata is unavailable or invalid.' },
  /** No SAMLResponse, not a Response, unparseable, no assertion or NameID, or an IdP error status. */
  response_invalid: { code: 'ERR_NGROK_5301', status: 400, message: 'The SAML response is missing or invalid.' },
  /** An unsolicited (IdP-initiated) response while allow_idp_initiated is off. */
  idp_initiated_refused: { code: 'ERR_NGROK_5302', status: 403, message: 'IdP-initiated SAML logins are not allowed for this endpoint.' },
  /** The assertion is unsigned, its signature does not verify against the IdP certificate, or another issuer sent it. */
  signature_invalid: { code: 'ERR_NGROK_5305', status: 403, message: 'The SAML assertion signature or issuer could not be verified.' },
  /** Signed, but not for this login: audience, time window, InResponseTo, recipient, or replayed. */
  conditions_unmet: { code: 'ERR_NGROK_5308', status: 403, message: 'The SAML assertion is not valid for this login.' },
  /** The assertion must carry exactly one AuthnStatement. */
  authn_statement_count: { code: 'ERR_NGROK_5311', status: 403, message: 'The SAML assertion must contain exactly one AuthnStatement.' },
} as const;

export type SamlErrorReason = keyof typeof SAML_ERRORS;

/** authorize() refuses with a verdict, not an error; the flow shows this code on its page. */
export const SAML_GROUP_DENIED_CODE = 'ERR_NGROK_5312';

export class SamlError extends ProviderError {
  readonly samlReason: SamlErrorReason;
  /** A short, secret-free hint (which check failed); part of the message. */
  readonly detail: string | undefined;

  constructor(reason: SamlErrorReason, detail?: string) {
    const known = SAML_ERRORS[reason];
    super(known.code, `saml_${reason}`, detail ? `${known.message} (${detail})` : known.message, known.status);
    this.name = 'SamlError';
    this.samlReason = reason;
    this.detail = detail;
  }
}

/**
 * Turns what node-saml threw into a SamlError. node-saml throws plain Errors, so the message is the
 * only handle; it is matched, never echoed.
 */
export function fromNodeSamlError(err: unknown): SamlError {
  if (err instanceof SamlError) return err;
  const name = err instanceof Error ? err.name : '';
  const message = err instanceof Error ? err.message : '';
  if (name === 'SamlStatusError') return new SamlError('response_invalid', `IdP returned status ${statusName(message)}`);
  if (/signature|signed data/i.test(message)) return new SamlError('signature_invalid', 'signature');
  // "No valid subject confirmation": every bearer confirmation is outside its time window
  if (/subject confirmation/i.test(message)) return new SamlError('conditions_unmet', 'subject confirmation outside its validity window');
  if (/InResponseTo/i.test(message)) return new SamlError('conditions_unmet', 'InResponseTo');
  if (/not yet valid|expired/i.test(message)) return new SamlError('conditions_unmet', 'outside its validity window');
  if (/audience/i.test(message)) return new SamlError('conditions_unmet', 'audience');
  if (/multiple conditions/i.test(message)) return new SamlError('conditions_unmet', 'conditions');
  return new SamlError('response_invalid');
}

/** "SAML provider returned Responder error: …" → "Responder"; nothing else of the IdP's text. */
function statusName(message: string): string {
  const match = /returned ([A-Za-z]{1,40}) error/.exec(message);
  return match ? match[1]! : 'error';
}
