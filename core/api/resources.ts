// The event destinations and subscriptions: the config file's (read-only) and the API's (in the durable
// store), one namespace. Every change is validated here, stored, and only then visible.
import type { EventDestination, EventSource, EventSubscription } from '../events/model.js';
import { E, ApiError } from './errors.js';
import { newId } from './ids.js';
import { DurableStore, StoreError } from './store.js';
import * as v from './validate.js';

export const DESTINATIONS = 'event_destinations';
export const SUBSCRIPTIONS = 'event_subscriptions';

export interface ConfigResources {
  destinations: readonly EventDestination[];
  subscriptions: readonly EventSubscription[];
}

const newestFirst = (a: { id: string }, b: { id: string }) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export class EventResources {
  private readonly changeListeners = new Set<() => void>();

  constructor(private readonly store: DurableStore | null, private readonly config: () => ConfigResources) {}

  /** Called after every stored change (the event router rebuilds); returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => { this.changeListeners.delete(listener); };
  }

  private changed(): void {
    for (const listener of this.changeListeners) listener();
  }

  // ---- reads ----

  destinations(): EventDestination[] {
    const api = (this.store?.values(DESTINATIONS) ?? []) as EventDestination[];
    return [...this.config().destinations, ...api].sort(newestFirst);
  }

  subscriptions(): EventSubscription[] {
    const api = (this.store?.values(SUBSCRIPTIONS) ?? []) as EventSubscription[];
    return [...this.config().subscriptions, ...api].sort(newestFirst);
  }

  destination(id: string): EventDestination {
    const found = this.config().destinations.find((d) => d.id === id) ?? (this.store?.get(DESTINATIONS, id) as EventDestination | undefined);
    if (found === undefined) throw E.destinationNotFound(id);
    return found;
  }

  subscription(id: string): EventSubscription {
    const found = this.config().subscriptions.find((s) => s.id === id) ?? (this.store?.get(SUBSCRIPTIONS, id) as EventSubscription | undefined);
    if (found === undefined) throw E.subscriptionNotFound(id);
    return found;
  }

  // ---- destinations ----

  createDestination(body: v.Json): EventDestination {
    onlyKeys(body, ['description', 'metadata', 'format', 'target', 'data_protection']);
    const target = v.target(body.target);
    const dest: EventDestination = {
      id: newId('ed_'),
      created_at: rfc3339(new Date()),
      description: body.description === undefined ? '' : v.description(body.description),
      metadata: body.metadata === undefined ? '' : v.metadata(body.metadata),
      format: v.format(body.format, target),
      target,
      data_protection: v.dataProtection(body.data_protection),
      origin: 'api',
    };
    this.write(DESTINATIONS, dest);
    return dest;
  }

  updateDestination(id: string, body: v.Json): EventDestination {
    onlyKeys(body, ['description', 'metadata', 'format', 'target', 'data_protection', 'id']);
    const old = this.writable(this.destination(id));
    const target = body.target === undefined ? old.target : v.target(body.target);
    const [from, to] = [v.targetType(old.target), v.targetType(target)];
    if (from !== to) throw E.targetTypeChange(from, to);
    const next: EventDestination = {
      ...old,
      description: body.description === undefined ? old.description : v.description(body.description),
      metadata: body.metadata === undefined ? old.metadata : v.metadata(body.metadata),
      format: body.format === undefined ? v.format(old.format, target) : v.format(body.format, target),
      target,
      data_protection: v.dataProtection(body.data_protection, old.data_protection),
    };
    this.write(DESTINATIONS, next);
    return next;
  }

  deleteDestination(id: string): EventDestination {
    const old = this.writable(this.destination(id));
    const users = this.subscriptions().filter((s) => s.destination_ids.includes(id)).map((s) => s.id);
    if (users.length > 0) throw E.destinationInUse(id, users);
    this.remove(DESTINATIONS, id);
    return old;
  }

  // ---- subscriptions ----

  createSubscription(body: v.Json): EventSubscription {
    onlyKeys(body, ['description', 'metadata', 'sources', 'destination_ids', 'data_protection']);
    const sub: EventSubscription = {
      id: newId('esb_'),
      created_at: rfc3339(new Date()),
      description: body.description === undefined ? '' : v.description(body.description),
      metadata: body.metadata === undefined ? '' : v.metadata(body.metadata),
      sources: v.sources(body.sources),
      destination_ids: this.existingDestinations(v.destinationIds(body.destination_ids)),
      data_protection: v.dataProtection(body.data_protection),
      origin: 'api',
    };
    this.write(SUBSCRIPTIONS, sub);
    return sub;
  }

  updateSubscription(id: string, body: v.Json): EventSubscription {
    onlyKeys(body, ['description', 'metadata', 'sources', 'destination_ids', 'data_protection', 'id']);
    const old = this.writable(this.subscription(id));
    const next: EventSubscription = {
      ...old,
      description: body.description === undefined ? old.description : v.description(body.description),
      metadata: body.metadata === undefined ? old.metadata : v.metadata(body.metadata),
      sources: body.sources === undefined ? old.sources : v.sources(body.sources),
      destination_ids: body.destination_ids === undefined ? old.destination_ids : this.existingDestinations(v.destinationIds(body.destination_ids)),
      data_protection: v.dataProtection(body.data_protection, old.data_protection),
    };
    this.write(SUBSCRIPTIONS, next);
    return next;
  }

  deleteSubscription(id: string): EventSubscription {
    const old = this.writable(this.subscription(id));
    this.remove(SUBSCRIPTIONS, id);
    return old;
  }

  // ---- sources (a sub-resource: every change is an update of its subscription) ----

  source(id: string, type: string): EventSource {
    const found = this.subscription(id).sources.find((s) => s.type === type);
    if (found === undefined) throw E.sourceNotFound(id, type);
    return found;
  }

  addSource(id: string, body: v.Json): { subscription: EventSubscription; source: EventSource } {
    const old = this.writable(this.subscription(id));
    if (body.subscription_id !== undefined && body.subscription_id !== id) throw E.badField(`subscription_id '${String(body.subscription_id)}' does not match the path's ${id}`);
    const added = v.sourceBody(body);
    if (old.sources.some((s) => s.type === added.type)) throw E.duplicateSource(added.type);
    const next = { ...old, sources: [...old.sources, added] };
    this.write(SUBSCRIPTIONS, next);
    return { subscription: next, source: added };
  }

  updateSource(id: string, type: string, body: v.Json): { subscription: EventSubscription; source: EventSource } {
    onlyKeys(body, ['type', 'fields', 'filter', 'subscription_id']);
    const sub = this.subscription(id);
    const old = this.source(id, type);
    this.writable(sub);
    if (body.type !== undefined && body.type !== type) throw E.badField(`type '${String(body.type)}' does not match the path's ${type}`);
    const updated = v.source(old.type, body.fields === undefined ? old.fields : body.fields, body.filter === undefined ? old.filter : body.filter);
    const next = { ...sub, sources: sub.sources.map((s) => (s.type === type ? updated : s)) };
    this.write(SUBSCRIPTIONS, next);
    return { subscription: next, source: updated };
  }

  deleteSource(id: string, type: string): { subscription: EventSubscription; source: EventSource } {
    const sub = this.subscription(id);
    const old = this.source(id, type);
    this.writable(sub);
    const next = { ...sub, sources: sub.sources.filter((s) => s.type !== type) };
    this.write(SUBSCRIPTIONS, next);
    return { subscription: next, source: old };
  }

  // ---- helpers ----

  private existingDestinations(ids: string[]): string[] {
    for (const id of ids) {
      try { this.destination(id); } catch (err) {
        if (err instanceof ApiError) throw E.missingDestination(id);
        throw err;
      }
    }
    return ids;
  }

  private writable<T extends { id: string; origin: 'config' | 'api' }>(resource: T): T {
    if (resource.origin === 'config') throw E.readOnly(resource.id);
    return resource;
  }

  private write(collection: string, value: { id: string }): void {
    if (this.store === null) throw E.needsRestart();
    try { this.store.put(collection, value.id, value); } catch (err) {
      if (err instanceof StoreError) throw err.outOfSpace ? E.storeFull(err.message) : E.storeFailed(err.message);
      throw err;
    }
    this.changed();
  }

  private remove(collection: string, id: string): void {
    if (this.store === null) throw E.needsRestart();
    try { this.store.delete(collection, id); } catch (err) {
      if (err instanceof StoreError) throw err.outOfSpace ? E.storeFull(err.message) : E.storeFailed(err.message);
      throw err;
    }
    this.changed();
  }
}

function onlyKeys(body: v.Json, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw E.badField(`unknown field '${key}' (allowed: ${allowed.join(', ')})`);
  }
}

/** RFC 3339 in UTC without fractions, as ngrok writes created_at (2024-04-19T20:23:43Z). */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
