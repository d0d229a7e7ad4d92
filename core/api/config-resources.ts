// `event_destinations:` and `event_subscriptions:` in the config file: the API's body shapes plus a
// required id. They are validated by the API's own rules (same codes) and are read-only through the API.
import type { EventDestination, EventSubscription } from '../events/model.js';
import { ApiError, E } from './errors.js';
import { rfc3339 } from './resources.js';
import * as v from './validate.js';

export type ConfigParse<T> = { ok: true; value: T } | { ok: false; problem: string };

function problem(err: unknown): { ok: false; problem: string } {
  if (err instanceof ApiError) return { ok: false, problem: `${err.message} (${err.code})` };
  throw err;
}

function id(raw: v.Json, prefix: string): string {
  const value = raw.id;
  if (typeof value !== 'string' || !new RegExp(`^${prefix}[A-Za-z0-9_]+$`).test(value)) {
    throw E.badField(`id is required: '${prefix}' followed by letters, digits or _`);
  }
  return value;
}

function allowOnly(raw: v.Json, keys: string[]): void {
  for (const key of Object.keys(raw)) if (!keys.includes(key)) throw E.badField(`unknown field '${key}' (allowed: ${keys.join(', ')})`);
}

/** Config resources get the config's load time as created_at. */
export function parseConfigDestination(raw: unknown, loadedAt = new Date()): ConfigParse<EventDestination> {
  try {
    if (!v.isObject(raw)) throw E.badField('an event destination is an object { id, target, format?, description?, metadata?, data_protection? }');
    allowOnly(raw, ['id', 'description', 'metadata', 'format', 'target', 'data_protection']);
    const target = v.target(raw.target);
    return {
      ok: true,
      value: {
        id: id(raw, 'ed_'),
        created_at: rfc3339(loadedAt),
        description: raw.description === undefined ? '' : v.description(raw.description),
        metadata: raw.metadata === undefined ? '' : v.metadata(raw.metadata),
        format: v.format(raw.format, target),
        target,
        data_protection: v.dataProtection(raw.data_protection),
        origin: 'config',
      },
    };
  } catch (err) {
    return problem(err);
  }
}

export function parseConfigSubscription(raw: unknown, loadedAt = new Date()): ConfigParse<EventSubscription> {
  try {
    if (!v.isObject(raw)) throw E.badField('an event subscription is an object { id, sources, destination_ids, description?, metadata?, data_protection? }');
    allowOnly(raw, ['id', 'description', 'metadata', 'sources', 'destination_ids', 'data_protection']);
    return {
      ok: true,
      value: {
        id: id(raw, 'esb_'),
        created_at: rfc3339(loadedAt),
        description: raw.description === undefined ? '' : v.description(raw.description),
        metadata: raw.metadata === undefined ? '' : v.metadata(raw.metadata),
        sources: v.sources(raw.sources),
        destination_ids: v.destinationIds(raw.destination_ids),
        data_protection: v.dataProtection(raw.data_protection),
        origin: 'config',
      },
    };
  } catch (err) {
    return problem(err);
  }
}
