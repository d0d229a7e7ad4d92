// Reads and writes of the running config document on behalf of the REST resources: a write edits a
// copy of the document (daemon.updateConfig), so it is checked exactly like the config file and
// installed on every worker at once, or refused whole.
import type { Daemon } from '../../daemon.js';
import type { LoadedConfig } from '../../config/load.js';
import type { CollectionName, EdgeplaneConfig } from '../../config/schema.js';
import { redactConfig } from '../../config/redact.js';
import { ApiError } from '../errors.js';
import { isObject, type Json } from '../validate.js';
import { configRefused } from './errors.js';
import type { ApiReply } from '../handler.js';

/** What the resources need from the daemon; the optional getter is for automatic certificates. */
export type ConfigDaemon = Pick<Daemon, 'updateConfig' | 'desiredConfig' | 'current'> & {
  /** A reserved domain's read-only certificate_management_status, where automatic certificates run. */
  certificateManagementStatus?(reservedDomainId: string): unknown;
};

/** One consistent view of the running config, for rendering. Secrets are already replaced. */
export interface View {
  base: string;
  loaded: LoadedConfig;
  config: EdgeplaneConfig;
  /** The parsed config with every secret redacted: modules are rendered from this, never from `config`. */
  redacted: Record<string, any>;
  deps: ConfigDaemon;
}

export interface Ref { id: string; uri: string }

export function view(deps: ConfigDaemon, base: string): View {
  const loaded = deps.current;
  return { base, loaded, config: loaded.config, redacted: redactConfig(loaded) as Record<string, any>, deps };
}

/** The document's list `name`, made an array in place when absent (YAML writes an empty list as null). */
export function rawList(doc: Json, name: string): Json[] {
  if (!Array.isArray(doc[name])) doc[name] = [];
  return doc[name] as Json[];
}

/**
 * Items whose id the config may leave out (reserved domains, routes) get it written in before any edit,
 * so that removing or adding one never renumbers another.
 */
export function pinIds(raw: Json[], parsed: ReadonlyArray<{ id: string }>): void {
  raw.forEach((item, i) => {
    if (isObject(item) && item.id === undefined && parsed[i] !== undefined) item.id = parsed[i]!.id;
  });
}

export function rawCollection(doc: Json, name: CollectionName, loaded: LoadedConfig): Json[] {
  const list = rawList(doc, name);
  pinIds(list, loaded.config[name] as Array<{ id: string }>);
  return list;
}

export function indexOfId(list: Json[], id: string): number {
  return list.findIndex((item) => isObject(item) && item.id === id);
}

/** Newest first: ids made by the API grow with time (./ids.ts), and page() reads before_id the same way. */
export function newestFirst<T extends { id: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/**
 * Applies `edit` to a copy of the running document. Null when it is live; the 400 reply when the
 * config checker refused it. An ApiError thrown by `edit` (the item vanished meanwhile) is rethrown.
 */
export async function commit(deps: ConfigDaemon, edit: (doc: Json) => void): Promise<ApiReply | null> {
  let thrown: unknown = null;
  let result;
  try {
    result = await deps.updateConfig((doc) => {
      try { edit(doc as Json); } catch (err) { thrown = err; throw err; }
    }, 'rest');
  } catch (err) {
    if (thrown instanceof ApiError) throw thrown;
    throw err;
  }
  return result.ok ? null : configRefused(result);
}
