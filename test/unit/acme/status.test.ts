// certificate_management_status rules: which failures are the user's to fix, the retry backoff, and
// when a certificate renews.
import t from 'tap';
import { errorCodeOfProblem, renewalTime, retryDelayMs, RETRY_DELAYS_MS } from '../../../core/acme/status.js';

t.test('validation problems are DNS_ERROR, everything else INTERNAL_ERROR', async (t) => {
  for (const p of ['dns', 'connection', 'unauthorized', 'incorrectResponse', 'caa', 'rejectedIdentifier']) {
    t.equal(errorCodeOfProblem(`urn:ietf:params:acme:error:${p}`), 'DNS_ERROR', p);
  }
  for (const p of ['serverInternal', 'rateLimited', 'badNonce', 'malformed']) {
    t.equal(errorCodeOfProblem(`urn:ietf:params:acme:error:${p}`), 'INTERNAL_ERROR', p);
  }
  t.equal(errorCodeOfProblem(undefined), 'INTERNAL_ERROR');
  t.equal(errorCodeOfProblem('dns'), 'INTERNAL_ERROR', 'only the ACME namespace counts');
});

t.test('retries back off and stay at the last step', async (t) => {
  t.equal(retryDelayMs(1), RETRY_DELAYS_MS[0]);
  t.equal(retryDelayMs(2), RETRY_DELAYS_MS[1]);
  t.equal(retryDelayMs(100), RETRY_DELAYS_MS[RETRY_DELAYS_MS.length - 1]);
  t.equal(retryDelayMs(3, [5, 7]), 7);
});

t.test('renewal: renew_before days ahead of expiry, never sooner than the minimum gap after issuance', async (t) => {
  const day = 86_400_000;
  const issued = 0;
  t.equal(renewalTime(issued, 90 * day, 30, 3_600_000), 60 * day, 'Let\'s Encrypt: 90 days, renewed at 60');
  t.equal(renewalTime(issued, 10 * day, 30, 3_600_000), 3_600_000, 'renew_before past the validity: no loop, an hour later');
});
