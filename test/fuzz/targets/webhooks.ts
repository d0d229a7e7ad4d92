// Webhook signature headers: every provider's real verifier (workers/http/webhooks/providers), built
// with the secret its test signer uses, on fuzzed request lines, headers and bodies (format in
// ../webhook-format.ts; the corpus holds requests the test signers signed at FIXED_NOW_MS).
// Checks: verify never throws (or rejects), answers a well-formed verdict with a known reason, and a
// challenge answer (Xero, Zoom) is well-formed. Time per exec is bounded by the hang threshold.
import { createPublicKey } from 'node:crypto';
import { findProvider, PROVIDERS } from '../../../workers/http/webhooks/providers/index.js';
import type { ProviderContext, ProviderVerifier, WebhookRequest } from '../../../workers/http/webhooks/types.js';
import { ALL_SIGNERS } from '../../helpers/webhooks/signers.js';
import { SNS_SIGNING_KEY } from '../../helpers/webhooks/signers-asymmetric.js';
import { decodeWebhook } from '../webhook-format.js';
import { check, type FuzzTarget } from '../target.js';

/** The clock of the corpus: every seed was signed at this instant. */
export const FIXED_NOW_MS = Date.UTC(2026, 5, 1, 12, 0, 0);
export const WEBHOOK_ORIGIN = 'https://hooks.example.test';

const REASONS = new Set(['missing_signature', 'malformed_signature', 'signature_mismatch', 'missing_timestamp', 'stale_timestamp', 'malformed_request', 'certificate_unavailable']);

// SNS certificates: the signer's key for any URL a (fuzzed) message names, so signed seeds verify.
const snsKey = createPublicKey(SNS_SIGNING_KEY.publicKey);
const CTX: ProviderContext = {
  snsCertificates: { publicKey: async (url) => (url.startsWith('https://') ? { ok: true, key: snsKey } : { ok: false, detail: 'not https' }) },
};

const verifiers = new Map<string, ProviderVerifier>();
function verifierFor(id: string): ProviderVerifier | null {
  let v = verifiers.get(id);
  if (v !== undefined) return v;
  const definition = findProvider(id);
  if (definition === undefined) return null;
  const signer = ALL_SIGNERS.find((s) => s.provider === definition.id);
  v = definition.create(signer?.configSecret ?? '', CTX);
  verifiers.set(id, v);
  return v;
}

const target: FuzzTarget = {
  name: 'webhooks',
  maxLen: 4096,
  dictionary: [
    ...PROVIDERS.map((p) => `${p.id} POST /webhooks/in\n`),
    't=', ',v1=', 'v0=', 'v1,', 'sha256=', 'sha1=', 'hmac-sha256=', ' ', ',', ';', '=', ':', '\n', '\n\n', '0', '1717243200', '17172432000000',
    'x-hub-signature-256: ', 'stripe-signature: ', 'x-slack-signature: ', 'x-slack-request-timestamp: ', 'webhook-signature: ', 'webhook-timestamp: ',
    'webhook-id: ', 'x-twilio-signature: ', 'svix-signature: ', 'content-type: application/x-www-form-urlencoded\n', 'content-type: application/json\n',
    '{"', '":"', '"}', '[', ']', '&', '?', 'SigningCertURL', 'Signature', 'SignatureVersion', 'Type', 'Notification', 'SubscriptionConfirmation',
  ],
  async run(data) {
    const input = decodeWebhook(data);
    if (input === null) return;
    const verifier = verifierFor(input.provider);
    if (verifier === null) return;
    const q = input.pathAndQuery.indexOf('?');
    const request: WebhookRequest = {
      method: input.method,
      url: WEBHOOK_ORIGIN + input.pathAndQuery,
      rawPath: q < 0 ? input.pathAndQuery : input.pathAndQuery.slice(0, q),
      query: q < 0 ? '' : input.pathAndQuery.slice(q + 1),
      headers: input.headers,
      body: input.body,
      nowMs: FIXED_NOW_MS,
    };
    const answer = verifier.challenge?.(request) ?? null;
    if (answer !== null) {
      check(Number.isInteger(answer.status) && answer.status >= 200 && answer.status <= 599, `challenge status ${answer.status}`);
      check(typeof answer.body === 'string' && typeof answer.contentType === 'string', 'challenge answer is not text');
      check(!/[\r\n]/.test(answer.contentType), 'challenge content type carries CR/LF');
    }
    const verdict = await verifier.verify(request);
    check(typeof verdict === 'object' && verdict !== null && typeof verdict.ok === 'boolean', `verdict ${JSON.stringify(verdict)} is not a verdict`);
    if (!verdict.ok) check(REASONS.has(verdict.reason), `unknown refusal reason ${JSON.stringify(verdict.reason)}`);
  },
};

export default target;
