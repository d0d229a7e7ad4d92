// Publishes one finished HTTP exchange as http_request_complete.v0 (spec §1.8), batched with the
// worker's other events. Skipped entirely when no event output is configured.
import type { GenerationSpec } from '../../core/generation/spec.js';
import { serializeHttpRequestComplete } from '../../core/events/serializers.js';
import type { EventBatcher } from '../event-batcher.js';
import type { Exchange } from './exchange.js';
import type { Transaction } from './forward.js';
import { httpRequestCompleteEvent } from './request-event.js';
import { log } from '../../core/log.js';

export function publishExchange(events: EventBatcher, x: Exchange, spec: GenerationSpec, scheme: 'http' | 'https', tx: Transaction): void {
  if (!spec.eventsEnabled) return;
  try {
    const end = Date.now();
    const object = httpRequestCompleteEvent(x, scheme, end, { responseFirstByteMs: tx.firstResponseByteMs || undefined });
    events.add(serializeHttpRequestComplete(object, spec.accountId));
  } catch (err) {
    log.warn('http_request_complete event dropped', { edge: x.edgeId, error: (err as Error).message });
  }
}
