// Opens the Event Subscriptions API: its store in admin.state_dir, its audit log, and the HTTP handler
// the admin server serves at /event_destinations and /event_subscriptions.
import { existsSync } from 'node:fs';
import type { EventDestination, EventSubscription } from '../events/model.js';
import { AuditLog, type AuditEnvelope } from './audit.js';
import { createApiHandler, type ApiExtensions, type ApiReply, type ApiRequest } from './handler.js';
import { EventResources, type ConfigResources } from './resources.js';
import { DurableStore, type StoreOptions } from './store.js';

export { isApiPath, json, MAX_BODY_BYTES, type ApiRequest, type ApiReply, type ApiExtensions, type ExtensionContext } from './handler.js';
export type { AuditEnvelope } from './audit.js';

export interface EventApiOptions {
  stateDir: string;
  /** The current config's keys and resources (getters: a reload changes them). */
  keys: () => readonly string[];
  config: () => ConfigResources;
  /** Each audit event as one JSON line (no newline), for the daemon's event output. */
  onAudit: (line: string, event: AuditEnvelope) => void;
  warn: (msg: string, fields: Record<string, unknown>) => void;
  snapshotEvery?: StoreOptions['snapshotEvery'];
}

export interface EventApi {
  /** Core routes answer at once; extension routes may answer later. */
  handle(req: ApiRequest): ApiReply | Promise<ApiReply>;
  /** Adds (replaces) the event router's extension set; sets added with addExtensions stay. */
  extend(extensions: ApiExtensions): void;
  /** Adds one more extension set (e.g. configResourceRoutes(daemon)); the returned function removes it. */
  addExtensions(extensions: ApiExtensions): () => void;
  resources: EventResources;
  /** Null when the API is off and no state directory exists yet. */
  store: DurableStore | null;
  close(): void;
}

/**
 * The store opens when API keys are configured or a state directory already exists (resources made
 * earlier keep flowing to their destinations even while the API itself is switched off).
 */
export function openEventApi(opts: EventApiOptions): EventApi {
  const open = opts.keys().length > 0 || existsSync(opts.stateDir);
  const store = open ? DurableStore.open(opts.stateDir, { snapshotEvery: opts.snapshotEvery ?? 1000, warn: opts.warn }) : null;
  const audit = store === null ? null : new AuditLog(opts.stateDir, opts.onAudit, opts.warn);
  const resources = new EventResources(store, opts.config);
  checkConfigReferences(opts.config(), resources.destinations(), opts.warn);
  // extend()'s set first, then added sets in order; merged once per change, not per request
  let routerSet: ApiExtensions | null = null;
  const added = new Set<ApiExtensions>();
  let merged: ApiExtensions | null = null;
  const merge = () => {
    const sets = [...(routerSet === null ? [] : [routerSet]), ...added];
    merged = sets.length === 0 ? null : {
      routes: sets.flatMap((set) => set.routes),
      destinationStats: (id) => {
        for (const set of sets) if (set.destinationStats !== undefined) return set.destinationStats(id);
        return undefined;
      },
    };
  };
  return {
    handle: createApiHandler({ resources, audit, keys: opts.keys, extensions: () => merged }),
    extend(next) { routerSet = next; merge(); },
    addExtensions(next) {
      added.add(next);
      merge();
      return () => { added.delete(next); merge(); };
    },
    resources,
    store,
    close() { audit?.close(); store?.close(); },
  };
}

/** A config subscription may name config or API destinations; one that names neither is reported. */
function checkConfigReferences(config: ConfigResources, destinations: EventDestination[], warn: EventApiOptions['warn']): void {
  const known = new Set(destinations.map((d) => d.id));
  for (const sub of config.subscriptions as EventSubscription[]) {
    const missing = sub.destination_ids.filter((id) => !known.has(id));
    if (missing.length > 0) warn('config event subscription names unknown event destinations (ERR_NGROK_6006); it sends nothing to them', { subscription: sub.id, missing });
  }
}
