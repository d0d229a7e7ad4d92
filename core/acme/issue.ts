// One certificate order over ACME (RFC 8555) with HTTP-01 validation, through acme-client: account,
// order, one http-01 challenge per name (answered by our own cleartext listener via `setChallenge`),
// CSR, finalize, download. Failures come out as ProvisioningError with the spec's error code.
import https from 'node:https';
import tls from 'node:tls';
import acme from 'acme-client';
import type { Client, Order } from 'acme-client';
import { ProvisioningError, errorCodeOfProblem } from './status.js';

export interface IssueRequest {
  directoryUrl: string;
  /** Extra CA for the directory's HTTPS (a private CA, pebble); null: the system roots only. */
  directoryCa: string | null;
  accountKeyPem: string;
  email: string | null;
  /** The DNS names of the certificate; the first is its common name. */
  names: readonly string[];
  keyType: 'ecdsa' | 'rsa';
  setChallenge(token: string, keyAuthorization: string | null): void;
}

export interface Issued { certPem: string; keyPem: string }

// acme-client sends every request through its own axios instance; its agent is the only place to add a
// CA. One process talks to one directory at a time (the config has one), so a shared agent is enough.
function trustDirectory(ca: string | null): void {
  acme.axios.defaults.httpsAgent = ca === null ? undefined : new https.Agent({ ca: [...tls.rootCertificates, ca], keepAlive: true });
  // One quick retry of a network error or 5xx per request: the manager retries whole orders with its
  // own backoff, and acme-client's default (5 tries, 5 s apart and growing) would hold a job for minutes.
  Object.assign((acme.axios.defaults as { acmeSettings?: object }).acmeSettings ?? {}, { retryMaxAttempts: 1, retryDefaultDelay: 1 });
}

// acme-client 5.4 loses a network error once its retries are spent (it then reads `config` of a
// missing response); say what happened instead of echoing that.
function reason(err: Error, directoryUrl: string): string {
  return err instanceof TypeError && /reading 'config'/.test(err.message) ? `the ACME server at ${directoryUrl} cannot be reached` : err.message;
}

export async function createKey(type: 'ecdsa' | 'rsa'): Promise<string> {
  const key = type === 'rsa' ? await acme.crypto.createPrivateRsaKey(2048) : await acme.crypto.createPrivateEcdsaKey('P-256');
  return key.toString();
}

/** The ACME account key used when the config sets none. */
export function createAccountKey(): Promise<string> {
  return createKey('ecdsa');
}

export async function issueCertificate(req: IssueRequest): Promise<Issued> {
  trustDirectory(req.directoryCa);
  const client = new acme.Client({ directoryUrl: req.directoryUrl, accountKey: req.accountKeyPem, backoffAttempts: 10, backoffMin: 250, backoffMax: 5000 });
  try {
    await client.createAccount({ termsOfServiceAgreed: true, ...(req.email === null ? {} : { contact: [`mailto:${req.email}`] }) });
    const order = await client.createOrder({ identifiers: req.names.map((value) => ({ type: 'dns', value })) });
    const authorizations = await client.getAuthorizations(order);
    const published: string[] = [];
    try {
      for (const authz of authorizations) {
        if (authz.status === 'valid') continue; // reused from an earlier order
        const challenge = authz.challenges.find((c) => c.type === 'http-01');
        if (challenge === undefined) throw new ProvisioningError('INTERNAL_ERROR', `the CA offers no http-01 challenge for ${authz.identifier.value}`);
        req.setChallenge(challenge.token, await client.getChallengeKeyAuthorization(challenge));
        published.push(challenge.token);
        await client.completeChallenge(challenge);
        try {
          await client.waitForValidStatus(challenge);
        } catch (err) {
          throw await validationFailure(client, order, authz.identifier.value, err as Error);
        }
      }
    } finally {
      for (const token of published) req.setChallenge(token, null);
    }
    const keyPem = await createKey(req.keyType);
    const [, csr] = await acme.crypto.createCsr({ commonName: req.names[0], altNames: [...req.names] }, keyPem);
    const finalized = await client.finalizeOrder(order, csr);
    const certPem = await client.getCertificate(finalized);
    return { certPem, keyPem };
  } catch (err) {
    if (err instanceof ProvisioningError) throw err;
    throw new ProvisioningError('INTERNAL_ERROR', reason(err as Error, req.directoryUrl));
  }
}

/** The CA's own reason (RFC 8555 §7.1.4: the challenge's `error`), re-read since acme-client only keeps its text. */
async function validationFailure(client: Client, order: Order, name: string, err: Error): Promise<ProvisioningError> {
  try {
    for (const authz of await client.getAuthorizations(order)) {
      for (const c of authz.challenges) {
        const problem = (c as { error?: { type?: string; detail?: string } }).error;
        if (problem !== undefined) return new ProvisioningError(errorCodeOfProblem(problem.type), `${authz.identifier.value}: ${problem.detail ?? problem.type ?? 'validation failed'}`);
      }
    }
  } catch { /* fall through to what acme-client said */ }
  return new ProvisioningError('INTERNAL_ERROR', `${name}: ${err.message}`); // pending too long, or the re-read failed
}
