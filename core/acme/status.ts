// certificate_management_status (spec §1.3): when the certificate renews, and the provisioning job's
// last failure. A failure is DNS_ERROR when the CA could not validate the name (the user must fix DNS,
// routing or port 80) and INTERNAL_ERROR otherwise (the CA or the network: it will pass on its own).

export type ProvisioningErrorCode = 'INTERNAL_ERROR' | 'DNS_ERROR';

export interface ProvisioningJob {
  error_code: ProvisioningErrorCode | null;
  msg: string;
  started_at: string;
  retries_at: string | null;
}

export interface CertificateManagementStatus {
  renews_at: string | null;
  provisioning_job: ProvisioningJob | null;
}

// RFC 8555 §6.7 problem types that mean "the CA could not confirm this name is yours".
const VALIDATION_PROBLEMS = new Set(['dns', 'connection', 'unauthorized', 'incorrectResponse', 'caa', 'rejectedIdentifier', 'tls']);

/** A failed issuance with its spec error code (issue.ts makes these). */
export class ProvisioningError extends Error {
  constructor(readonly code: ProvisioningErrorCode, message: string) {
    super(message);
    this.name = 'ProvisioningError';
  }
}

/** The error code of an ACME problem type (urn:ietf:params:acme:error:<x>). */
export function errorCodeOfProblem(type: string | undefined): ProvisioningErrorCode {
  const prefix = 'urn:ietf:params:acme:error:';
  return type !== undefined && type.startsWith(prefix) && VALIDATION_PROBLEMS.has(type.slice(prefix.length)) ? 'DNS_ERROR' : 'INTERNAL_ERROR';
}

// After a failure: soon at first (a CA hiccup), then backing off so a broken name does not hammer the CA.
export const RETRY_DELAYS_MS = [60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000, 6 * 60 * 60_000];

/** Delay before retry number `failures` (1 = after the first failure). */
export function retryDelayMs(failures: number, delays: readonly number[] = RETRY_DELAYS_MS): number {
  return delays[Math.min(Math.max(failures, 1), delays.length) - 1]!;
}

/** When a certificate valid until `notAfter` renews: `renewBeforeDays` earlier, but not before `notBefore` + minGap. */
export function renewalTime(notBefore: number, notAfter: number, renewBeforeDays: number, minGapMs: number): number {
  return Math.max(notAfter - renewBeforeDays * 86_400_000, notBefore + minGapMs);
}
