// The contract between the webhook_verification module and the per-provider verifiers. A verifier is
// a pure function of the request facts and the body (plus, for SNS, fetched certificates), so it runs
// the same inline on the worker or in the offload pool (offload.ts).

/** What a verifier sees of one request. Header names are lower case; values as received. */
export interface WebhookRequest {
  /** Upper case, as sent. */
  readonly method: string;
  /** The URL the provider called: scheme://host[:port]/path[?query], host and port as the client sent them. */
  readonly url: string;
  /** The request-target's path, raw (not normalised), without the query. */
  readonly rawPath: string;
  /** The raw query without '?', '' when none. */
  readonly query: string;
  /** Flat [name, value, name, value, …], names lower case, order and repeats kept. */
  readonly headers: readonly string[];
  /** The whole request body, exactly the bytes the upstream will get. */
  readonly body: Uint8Array;
  /** Wall-clock ms for timestamp checks. */
  readonly nowMs: number;
}

/** Why a request was refused; each verifier picks the closest. Never includes secrets or signatures. */
export type FailureReason =
  | 'missing_signature' // the signature header (or body field) is absent or empty
  | 'malformed_signature' // present but not in the provider's format (bad prefix, not hex/base64, …)
  | 'signature_mismatch' // well-formed, but no signature matches
  | 'missing_timestamp' // the provider signs a timestamp and it is absent
  | 'stale_timestamp' // outside the tolerance (either side)
  | 'malformed_request' // the body or URL is not what the scheme needs (not JSON, missing fields, …)
  | 'certificate_unavailable'; // asymmetric: the key or certificate could not be fetched or is not trusted

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: FailureReason; readonly detail?: string };

export const ALLOW: Verdict = Object.freeze({ ok: true });
export function refuse(reason: FailureReason, detail?: string): Verdict {
  return detail === undefined ? { ok: false, reason } : { ok: false, reason, detail };
}

/** An answer the edge gives itself to a provider's endpoint-verification handshake. */
export interface ChallengeAnswer {
  status: number;
  /** Content type of body ('' when body is empty). */
  contentType: string;
  body: string;
}

export interface ProviderVerifier {
  verify(request: WebhookRequest): Verdict | Promise<Verdict>;
  /**
   * Endpoint-verification handshakes the edge answers itself (ngrok does so for Xero and Zoom): the
   * answer, or null when `request` is an ordinary delivery. Called before verify.
   */
  challenge?(request: WebhookRequest): ChallengeAnswer | null;
}

/** Where SNS signing certificates come from (sns-certificates.ts: allowed hosts only, fetched once, cached). */
export interface SnsCertificateSource {
  /** The public key of the certificate at `url`, or why it cannot be used (host not allowed, fetch failed, …). */
  publicKey(url: string): Promise<{ ok: true; key: import('node:crypto').KeyObject } | { ok: false; detail: string }>;
}

/** Process-wide facilities a verifier may need (only SNS uses one today). */
export interface ProviderContext {
  readonly snsCertificates?: SnsCertificateSource;
}

export interface ProviderDefinition {
  /** ngrok's identifier, e.g. 'github'. */
  readonly id: string;
  /** Other identifiers ngrok's docs use for the same provider (e.g. 'autodesk' for 'autodesk_forge'). */
  readonly aliases?: readonly string[];
  /** Display name for docs. */
  readonly name: string;
  /** False where the spec could not confirm the scheme (mailchimp, orbit, vmware): docs and tests say so. */
  readonly confirmed: boolean;
  /** 'forbidden' only for sns (a secret given for SNS is a config error, spec §1.6). */
  readonly secret: 'required' | 'forbidden';
  /** Config-time check of the secret's form (e.g. SendGrid's base64 public key): a problem, or null. */
  checkSecret?(secret: string): string | null;
  /** Seconds a signed timestamp may be off (either side); null when the provider signs no timestamp. */
  readonly toleranceSeconds: number | null;
  /** True when the check is asymmetric (public key / certificate): costs a fixed ~0.1 ms, so it is offloaded. */
  readonly asymmetric?: boolean;
  /** One line for the README table: header(s), algorithm, signed bytes, encoding. */
  readonly describe: string;
  /** Builds the verifier once per route and config generation. `secret` is '' for sns. */
  create(secret: string, ctx: ProviderContext): ProviderVerifier;
}
