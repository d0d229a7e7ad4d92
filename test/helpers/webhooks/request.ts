// Turns a SignedWebhook into what a verifier sees, the way the module builds it from an HTTP request:
// the tests of single verifiers use this, the e2e test sends real requests instead.
import type { WebhookRequest } from '../../../workers/http/webhooks/types.js';
import type { SignedWebhook } from './types.js';

/** `origin`: scheme://host:port the request was sent to. */
export function toWebhookRequest(signed: SignedWebhook, origin: string, nowMs: number): WebhookRequest {
  const headers: string[] = [];
  for (const [name, value] of Object.entries(signed.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) headers.push(name.toLowerCase(), v);
  }
  const q = signed.pathAndQuery.indexOf('?');
  return {
    method: signed.method.toUpperCase(),
    url: origin + signed.pathAndQuery,
    rawPath: q < 0 ? signed.pathAndQuery : signed.pathAndQuery.slice(0, q),
    query: q < 0 ? '' : signed.pathAndQuery.slice(q + 1),
    headers,
    body: signed.body,
    nowMs,
  };
}
