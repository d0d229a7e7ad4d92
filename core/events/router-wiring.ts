// How the daemon runs the event router: every hub batch is routed; the router is rebuilt when the API's
// resources change or the config is reloaded; the API gets the edgeplane extensions that need the
// router (test events, destination stats, record deletion, the third-party list).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { log } from '../log.js';
import { json, type ApiExtensions, type EventApi } from '../api/index.js';
import { E } from '../api/errors.js';
import { stateDirFor } from '../api/daemon-wiring.js';
import type { EventHub } from './hub.js';
import type { EventSink } from './sink.js';
import { EventRouter, type RouterResources, type RoutedDestinationStats } from './router.js';
import { deleteRecords, type DeletionReport } from './deletion.js';
import { thirdParties } from './third-parties.js';
import type { RecordQuery } from './protect.js';

export interface RouterWiring {
  router: EventRouter;
  /** Counters per destination (for /metrics). */
  stats(): RoutedDestinationStats[];
  deleteRecords(query: RecordQuery): Promise<DeletionReport>;
  close(): Promise<void>;
}

export interface RouterWiringOptions {
  hub: EventHub;
  api: EventApi | null;
  sink: EventSink;
  current: () => LoadedConfig;
}

const HASH_KEY_FILE = 'ip-hash.key';

/**
 * The key of client_ip: hash. Kept in the state directory when there is one, so hashes stay the same
 * across restarts (and records stored hashed can still be found for deletion); else one per run.
 */
export function ipHashKey(stateDir: string): Buffer {
  const path = join(stateDir, HASH_KEY_FILE);
  if (!existsSync(stateDir)) return randomBytes(32);
  try {
    if (existsSync(path)) return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
    const key = randomBytes(32);
    writeFileSync(path, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    return key;
  } catch (err) {
    log.warn('cannot keep the IP hash key in the state directory; hashes change at restart', { dir: stateDir, error: (err as Error).message });
    return randomBytes(32);
  }
}

function resourcesOf(api: EventApi | null, loaded: LoadedConfig): RouterResources {
  if (api !== null) return { destinations: api.resources.destinations(), subscriptions: api.resources.subscriptions() };
  return { destinations: loaded.config.event_destinations, subscriptions: loaded.config.event_subscriptions };
}

function recordQuery(body: Record<string, unknown>): RecordQuery {
  for (const key of Object.keys(body)) {
    if (key !== 'client_ip' && key !== 'user') throw E.badField(`unknown field '${key}' (allowed: client_ip, user)`);
  }
  const query: RecordQuery = {};
  for (const key of ['client_ip', 'user'] as const) {
    const value = body[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.trim() === '') throw E.badField(`${key} must be a non-empty string`);
    query[key] = value;
  }
  if (query.client_ip === undefined && query.user === undefined) throw E.badField('give client_ip or user (or both): the records of whom to delete');
  return query;
}

export function wireEventRouter(opts: RouterWiringOptions): RouterWiring {
  const hashKey = ipHashKey(stateDirFor(opts.current()));
  const router = new EventRouter({ hashKey, warn: (msg, fields) => log.warn(msg, fields), destinationOptions: { accountId: 'ac_edgeplane' } });
  let builtFrom: LoadedConfig | null = null;
  let stale = true;
  // Rebuilt lazily: on the next batch or API call after a change (a reload swaps the LoadedConfig object).
  const current = (): EventRouter => {
    const loaded = opts.current();
    if (stale || loaded !== builtFrom) {
      stale = false;
      builtFrom = loaded;
      router.rebuild(resourcesOf(opts.api, loaded));
    }
    return router;
  };
  current();
  const unlisten = opts.hub.listen((events, lines) => current().route(events, lines));
  const unwatch = opts.api?.resources.onChange(() => { stale = true; current(); }) ?? (() => {});

  let deleting: Promise<unknown> = Promise.resolve();
  const runDeletion = (query: RecordQuery): Promise<DeletionReport> => {
    const run = () => deleteRecords(query, { router: current(), sink: opts.sink, eventsFile: opts.current().config.events?.file ?? null, hashKey, subscriptions: resourcesOf(opts.api, opts.current()).subscriptions });
    const next = deleting.then(run, run); // one deletion at a time
    deleting = next.catch(() => {});
    return next;
  };

  const extensions: ApiExtensions = {
    routes: [
      {
        pattern: /^\/event_destinations\/third_parties$/, method: 'get',
        run: () => json(200, { third_parties: thirdParties(resourcesOf(opts.api, opts.current()), current()) }),
      },
      {
        pattern: /^\/event_destinations\/([^/]+)\/test$/, method: 'post',
        run: async (ctx) => {
          const id = ctx.params[0]!;
          opts.api?.resources.destination(id); // 404 for an unknown id
          const held = current().destination(id);
          if (held === undefined) return json(200, { ok: false, error: current().problem(id) ?? 'the destination is not active' });
          const result = await held.destination.sendTestEvent();
          return json(200, result.ok ? { ok: true } : { ok: false, error: result.error ?? 'failed' });
        },
      },
      {
        pattern: /^\/event_records\/delete$/, method: 'post',
        run: async (ctx) => {
          const query = recordQuery(ctx.body());
          const report = await runDeletion(query);
          ctx.audit('event_records_deleted.v0', { query, ...report });
          return json(200, report);
        },
      },
    ],
    destinationStats: (id) => {
      const held = current().destination(id);
      return held === undefined ? undefined : held.destination.stats();
    },
  };
  opts.api?.extend(extensions);

  return {
    router,
    stats: () => current().stats(),
    deleteRecords: runDeletion,
    async close() {
      unlisten();
      unwatch();
      await router.close();
    },
  };
}
