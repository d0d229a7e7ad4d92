// Per worker thread: what every webhook_verification route of a generation shares — the SNS
// certificate cache and the verification pool. Kept while the settings stay the same, so a reload that
// does not touch `webhooks:` keeps the cache warm and the pool's threads.
import type { WebhookSettingsSpec } from '../../../core/generation/spec.js';
import { createSnsCertificateSource } from './sns-certificates.js';
import { DEFAULT_SNS_HOST_PATTERN } from './sns-defaults.js';
import { VerificationPool } from './offload.js';
import type { ProviderContext } from './types.js';

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettingsSpec = Object.freeze({
  snsCertificateHostPattern: DEFAULT_SNS_HOST_PATTERN,
  snsCertificateFetchOrigin: null,
  snsCertificateCa: null,
  offload: 'auto',
  offloadThreads: 1,
});

export interface WebhookWorkerContext {
  readonly settings: WebhookSettingsSpec;
  readonly providers: ProviderContext;
  readonly pool: VerificationPool;
}

let current: { key: string; context: WebhookWorkerContext } | null = null;

export function webhookWorkerContext(settings: WebhookSettingsSpec = DEFAULT_WEBHOOK_SETTINGS): WebhookWorkerContext {
  const key = JSON.stringify(settings);
  if (current !== null && current.key === key) return current.context;
  // the old pool's threads stop once idle; routes of older generations still hold it meanwhile
  current?.context.pool.retireWhenIdle();
  const snsCertificates = createSnsCertificateSource({
    hostPattern: new RegExp(settings.snsCertificateHostPattern),
    fetchOrigin: settings.snsCertificateFetchOrigin,
    ...(settings.snsCertificateCa === null ? {} : { ca: settings.snsCertificateCa }),
  });
  const context: WebhookWorkerContext = {
    settings,
    providers: { snsCertificates },
    pool: new VerificationPool(settings.offloadThreads),
  };
  current = { key, context };
  return context;
}
