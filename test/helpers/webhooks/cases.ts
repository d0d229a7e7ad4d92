// The acceptance cases every provider must pass, run against a verifier directly (unit tests):
// a correctly signed request is admitted; a tampered body, a wrong secret, a missing signature and
// (where timestamps are signed) a stale timestamp are each refused.
import type { Test } from 'tap';
import { findProvider } from '../../../workers/http/webhooks/providers/index.js';
import type { ProviderContext, Verdict, WebhookRequest } from '../../../workers/http/webhooks/types.js';
import { tamperLastByte, withoutHeader, type SignedWebhook, type WebhookSigner } from './types.js';
import { toWebhookRequest } from './request.js';

export const TEST_ORIGIN = 'https://hooks.example.test';
export const TEST_PATH = '/webhooks/in';

export interface CaseOptions { ctx?: ProviderContext; nowMs?: number }

async function verify(signer: WebhookSigner, signed: SignedWebhook, nowMs: number, ctx: ProviderContext): Promise<Verdict> {
  const provider = findProvider(signer.provider);
  if (provider === undefined) throw new Error(`no provider '${signer.provider}'`);
  const verifier = provider.create(signer.configSecret ?? '', ctx);
  const request: WebhookRequest = toWebhookRequest(signed, TEST_ORIGIN, nowMs);
  return verifier.verify(request);
}

/** Runs the five acceptance cases as subtests of `t`. */
export async function runAcceptanceCases(t: Test, signer: WebhookSigner, options: CaseOptions = {}): Promise<void> {
  const nowMs = options.nowMs ?? Date.now();
  const ctx = options.ctx ?? {};
  const url = TEST_ORIGIN + TEST_PATH;
  const label = `${signer.provider}${signer.confirmed ? '' : ' (unconfirmed in the spec)'} [${signer.oracle}]`;
  await t.test(label, async (t) => {
    const signed = await signer.sign({ url, nowMs, secret: signer.signingSecret });
    t.same(await verify(signer, signed, nowMs, ctx), { ok: true }, 'signed as the provider signs: admitted');

    const tampered = (signer.tamper ?? tamperLastByte)(signed);
    t.equal((await verify(signer, tampered, nowMs, ctx)).ok, false, 'tampered body: refused');

    const wrong = await signer.sign({ url, nowMs, secret: signer.wrongSecret });
    t.equal((await verify(signer, wrong, nowMs, ctx)).ok, false, 'wrong secret: refused');

    const unsigned = signer.unsign !== undefined ? signer.unsign(signed) : withoutHeader(signed, signer.signatureHeader!);
    const missing = await verify(signer, unsigned, nowMs, ctx);
    t.equal(missing.ok, false, 'missing signature: refused');

    if (signer.toleranceSeconds !== null) {
      const staleAt = nowMs - (signer.toleranceSeconds + 60) * 1000;
      const stale = await signer.sign({ url, nowMs: staleAt, secret: signer.signingSecret });
      const verdict = await verify(signer, stale, nowMs, ctx);
      t.same(verdict, { ok: false, reason: 'stale_timestamp' }, `timestamp ${signer.toleranceSeconds + 60} s old: refused as stale`);
      const edge = await signer.sign({ url, nowMs: nowMs - (signer.toleranceSeconds - 5) * 1000, secret: signer.signingSecret });
      t.same(await verify(signer, edge, nowMs, ctx), { ok: true }, 'just inside the tolerance: admitted');
    }
  });
}
