// webhook_verification route module (spec §1.6 "Webhook verification module"): the request is let
// through only when it carries the provider's valid signature; otherwise 403 ERR_NGROK_3204. The body
// is read once (up to MAX_WEBHOOK_BODY_BYTES), verified, and forwarded unchanged. Endpoint-verification
// handshakes (Xero, Zoom) are answered here. Large bodies and asymmetric checks are verified in the
// worker's piscina pool (webhooks/offload.ts) so the event loop keeps serving other requests.
import type { WebhookVerificationSpec } from '../../../core/generation/spec.js';
import { MAX_READ_BODY_BYTES, type EdgeResponse, type Exchange, type HttpModule } from '../exchange.js';
import type { CompileContext } from '../pipeline.js';
import { header } from '../webhooks/crypto.js';
import { findProvider } from '../webhooks/providers/index.js';
import { refuse, type ChallengeAnswer, type Verdict, type WebhookRequest } from '../webhooks/types.js';
import { webhookWorkerContext } from '../webhooks/worker-context.js';

export const WEBHOOK_ERROR_CODE = 'ERR_NGROK_3204';
/** The largest body verified; larger ones are refused (413) rather than forwarded unverified. */
export const MAX_WEBHOOK_BODY_BYTES = MAX_READ_BODY_BYTES;
/**
 * In `auto` mode, bodies from this size on are verified in the pool. A pool round trip costs the worker's
 * event loop ~60–80 µs; HMAC-SHA256 costs ~0.7 µs per KB, so below ~128 KiB inline is cheaper
 * (bench/webhook-verify.ts; break-even measured near 175 KB for SHA-256, 45 KB for SHA-512).
 */
export const OFFLOAD_MIN_BYTES = 128 * 1024;

const TOO_LARGE: EdgeResponse = {
  status: 413,
  errorCode: WEBHOOK_ERROR_CODE,
  body: `${WEBHOOK_ERROR_CODE}: the request body is larger than the ${MAX_WEBHOOK_BODY_BYTES} bytes webhook verification reads\n`,
};

function refused(verdict: Extract<Verdict, { ok: false }>): EdgeResponse {
  return { status: 403, errorCode: WEBHOOK_ERROR_CODE, body: `${WEBHOOK_ERROR_CODE}: webhook verification failed (${verdict.reason})\n` };
}

function challengeResponse(answer: ChallengeAnswer): EdgeResponse {
  return { status: answer.status, errorCode: '', body: answer.body, headers: answer.contentType === '' ? [] : ['content-type', answer.contentType] };
}

/** The request as the provider addressed it: the Host header as sent (with its port), the raw target. */
function webhookRequest(x: Exchange, body: Uint8Array): WebhookRequest {
  const scheme = x.conn.tlsVersion === '' ? 'http' : 'https';
  const authority = header(x.requestHeaders, 'host') ?? x.host;
  const q = x.rawUrl.indexOf('?');
  return {
    method: x.method.toUpperCase(),
    url: `${scheme}://${authority}${x.rawUrl}`,
    rawPath: q < 0 ? x.rawUrl : x.rawUrl.slice(0, q),
    query: q < 0 ? '' : x.rawUrl.slice(q + 1),
    headers: x.requestHeaders,
    body,
    nowMs: Date.now(),
  };
}

export function createWebhookVerification(spec: WebhookVerificationSpec, ctx: CompileContext): HttpModule {
  const provider = findProvider(spec.provider);
  if (provider === undefined) throw new Error(`webhook_verification: unknown provider '${spec.provider}'`); // the config check refuses it first
  const worker = webhookWorkerContext(ctx.webhooks);
  const verifier = provider.create(spec.secret, worker.providers);
  const mode = worker.settings.offload;
  // SNS needs this thread's certificate cache, and its RSA check is cheap (~60 µs): always inline
  const poolable = provider.secret !== 'forbidden';
  const offload = (bytes: number): boolean => poolable && mode !== 'never' && (mode === 'always' || bytes >= OFFLOAD_MIN_BYTES || provider.asymmetric === true);
  const verify = async (request: WebhookRequest): Promise<Verdict> => {
    try {
      return await (offload(request.body.byteLength) ? worker.pool.verify(provider.id, spec.secret, request) : verifier.verify(request));
    } catch {
      // hostile bytes a verifier did not expect: refuse this request, never the worker
      return refuse('malformed_request');
    }
  };

  return {
    name: 'webhook_verification',
    async onRequest(x) {
      const body = await x.readBody(MAX_WEBHOOK_BODY_BYTES, { keep: true });
      if (body === null) { x.vars.webhookDecision = 'block'; return TOO_LARGE; }
      const request = webhookRequest(x, body);
      let answer: ChallengeAnswer | null;
      try { answer = verifier.challenge?.(request) ?? null; } catch { answer = null; }
      if (answer !== null) {
        x.vars.webhookDecision = answer.status < 400 ? 'allow' : 'block';
        return challengeResponse(answer);
      }
      const verdict = await verify(request);
      x.vars.webhookDecision = verdict.ok ? 'allow' : 'block';
      return verdict.ok ? undefined : refused(verdict);
    },
  };
}
