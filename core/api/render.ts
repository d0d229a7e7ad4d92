// Read shapes (spec §1.8): `uri` on every resource, subscriptions with `sources: [{type, uri}]` and
// `destinations: [{id, uri}]`. Secrets in targets are never read back (nor put in audit events).
import type { EventDestination, EventSource, EventSubscription, EventTarget } from '../events/model.js';
import { isTrafficType } from './validate.js';

export const REDACTED = '[redacted]';

const SECRET_KEYS = new Set(['aws_secret_access_key', 'api_key', 'client_secret', 'secret']);
/** Request headers an http target sends that carry credentials. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']);

function redact(value: unknown, inHeaders = false): unknown {
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const secret = typeof v === 'string' && (SECRET_KEYS.has(k) || (inHeaders && SECRET_HEADERS.has(k.toLowerCase())));
    out[k] = secret ? REDACTED : redact(v, k === 'headers');
  }
  return out;
}

export function renderTarget(target: EventTarget): unknown {
  return redact(target);
}

export function destinationUri(base: string, id: string): string {
  return `${base}/event_destinations/${id}`;
}

export function subscriptionUri(base: string, id: string): string {
  return `${base}/event_subscriptions/${id}`;
}

export function renderDestination(base: string, d: EventDestination) {
  return {
    id: d.id,
    uri: destinationUri(base, d.id),
    created_at: d.created_at,
    metadata: d.metadata,
    description: d.description,
    format: d.format,
    target: renderTarget(d.target),
    data_protection: d.data_protection,
    origin: d.origin,
  };
}

/** `{type, uri}`; traffic sources add the fields and filter they were written with (additive fields). */
export function renderSource(base: string, subscriptionId: string, s: EventSource) {
  const ref = { type: s.type, uri: `${subscriptionUri(base, subscriptionId)}/sources/${s.type}` };
  return isTrafficType(s.type) ? { ...ref, fields: s.fields, filter: s.filter } : ref;
}

export function renderSubscription(base: string, s: EventSubscription) {
  return {
    id: s.id,
    uri: subscriptionUri(base, s.id),
    created_at: s.created_at,
    metadata: s.metadata,
    description: s.description,
    sources: s.sources.map((src) => renderSource(base, s.id, src)),
    destinations: s.destination_ids.map((id) => ({ id, uri: destinationUri(base, id) })),
    data_protection: s.data_protection,
    origin: s.origin,
  };
}
