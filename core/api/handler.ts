// The Event Subscriptions API over HTTP (spec §1.2 conventions, §1.8 resources), independent of the
// server that carries it: a request in (method, path, query, headers, body), a JSON reply out.
import type { AuditLog, ApiAuditType } from './audit.js';
import { matchKey, principalFor, type Principal } from './auth.js';
import { ApiError, E, errorBody } from './errors.js';
import type { EventResources } from './resources.js';
import { renderDestination, renderSource, renderSubscription, subscriptionUri } from './render.js';
import { isObject, type Json } from './validate.js';
import { CONFIG_RESOURCE_PATH } from './config-resources/paths.js';

export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_PAGE = 100;

export interface ApiRequest {
  /** Lower case. */
  method: string;
  path: string;
  /** Without the '?'. */
  query: string;
  authorization: string;
  ngrokVersion: string;
  contentType: string;
  host: string;
  body: Buffer | null;
}

export interface ApiReply { status: number; body: string }

/** Paths the API serves; the admin server sends these here. */
export function isApiPath(path: string): boolean {
  return /^\/event_(destinations|subscriptions|records)(\/|$)/.test(path) || CONFIG_RESOURCE_PATH.test(path);
}

/** What an extension route gets: the request's parts the core routes use, already authenticated. */
export interface ExtensionContext {
  base: string;
  /** The request path and query (without '?'): what page() needs for a list. */
  path: string;
  query: string;
  params: string[];
  /** The JSON object body (the same checks as the core routes: content type, size, object). */
  body(): Json;
  /** An empty body is allowed: then {}. */
  optionalBody(): Json;
  audit(type: ApiAuditType, object: unknown): void;
}

/**
 * edgeplane extensions served next to the spec's routes (tried first; the daemon's event router adds
 * them once it exists). A route may answer later (a test event waits on the receiver).
 */
export interface ApiExtensions {
  routes: Array<{ pattern: RegExp; method: string; run: (ctx: ExtensionContext) => ApiReply | Promise<ApiReply> }>;
  /** A read-only `stats` object added to GET /event_destinations/{id}. */
  destinationStats?(id: string): unknown;
}

export interface ApiHandlerOptions {
  resources: EventResources;
  audit: AuditLog | null;
  /** Current keys (a reload may change them); none = the API is off. */
  keys: () => readonly string[];
  extensions?: () => ApiExtensions | null;
}

type Route = (req: ApiRequest, ctx: Ctx) => ApiReply;
interface Ctx { base: string; principal: Principal; params: string[] }

export const json = (status: number, body: unknown): ApiReply => ({ status, body: JSON.stringify(body) });
const noContent: ApiReply = { status: 204, body: '' };

export function createApiHandler(opts: ApiHandlerOptions): (req: ApiRequest) => ApiReply | Promise<ApiReply> {
  const { resources } = opts;
  const audit = (type: ApiAuditType, object: unknown, ctx: Ctx) => opts.audit?.record(type, object, ctx.principal);
  const withStats = (d: ReturnType<typeof renderDestination>) => {
    const stats = opts.extensions?.()?.destinationStats?.(d.id);
    return stats === undefined ? d : { ...d, stats };
  };

  const routes: Array<[RegExp, Record<string, Route>]> = [
    [/^\/event_destinations$/, {
      get: (req, ctx) => json(200, page(req, ctx.base, 'event_destinations', resources.destinations().map((d) => renderDestination(ctx.base, d)))),
      post: (req, ctx) => {
        const out = renderDestination(ctx.base, resources.createDestination(body(req)));
        audit('event_destination_created.v0', out, ctx);
        return json(201, out);
      },
    }],
    [/^\/event_destinations\/([^/]+)$/, {
      get: (_req, ctx) => json(200, withStats(renderDestination(ctx.base, resources.destination(ctx.params[0]!)))),
      patch: (req, ctx) => {
        const out = renderDestination(ctx.base, resources.updateDestination(ctx.params[0]!, body(req)));
        audit('event_destination_updated.v0', out, ctx);
        return json(200, out);
      },
      delete: (_req, ctx) => {
        audit('event_destination_deleted.v0', renderDestination(ctx.base, resources.deleteDestination(ctx.params[0]!)), ctx);
        return noContent;
      },
    }],
    [/^\/event_subscriptions$/, {
      get: (req, ctx) => json(200, page(req, ctx.base, 'event_subscriptions', resources.subscriptions().map((s) => renderSubscription(ctx.base, s)))),
      post: (req, ctx) => {
        const out = renderSubscription(ctx.base, resources.createSubscription(body(req)));
        audit('event_subscription_created.v0', out, ctx);
        return json(201, out);
      },
    }],
    [/^\/event_subscriptions\/([^/]+)$/, {
      get: (_req, ctx) => json(200, renderSubscription(ctx.base, resources.subscription(ctx.params[0]!))),
      patch: (req, ctx) => {
        const out = renderSubscription(ctx.base, resources.updateSubscription(ctx.params[0]!, body(req)));
        audit('event_subscription_updated.v0', out, ctx);
        return json(200, out);
      },
      delete: (_req, ctx) => {
        audit('event_subscription_deleted.v0', renderSubscription(ctx.base, resources.deleteSubscription(ctx.params[0]!)), ctx);
        return noContent;
      },
    }],
    [/^\/event_subscriptions\/([^/]+)\/sources$/, {
      get: (_req, ctx) => {
        const sub = resources.subscription(ctx.params[0]!);
        return json(200, { sources: sub.sources.map((s) => renderSource(ctx.base, sub.id, s)), uri: `${subscriptionUri(ctx.base, sub.id)}/sources` });
      },
      post: (req, ctx) => {
        const { subscription, source } = resources.addSource(ctx.params[0]!, body(req));
        audit('event_subscription_updated.v0', renderSubscription(ctx.base, subscription), ctx);
        return json(201, renderSource(ctx.base, subscription.id, source));
      },
    }],
    [/^\/event_subscriptions\/([^/]+)\/sources\/([^/]+)$/, {
      get: (_req, ctx) => json(200, renderSource(ctx.base, ctx.params[0]!, resources.source(ctx.params[0]!, ctx.params[1]!))),
      patch: (req, ctx) => {
        const { subscription, source } = resources.updateSource(ctx.params[0]!, ctx.params[1]!, body(req));
        audit('event_subscription_updated.v0', renderSubscription(ctx.base, subscription), ctx);
        return json(200, renderSource(ctx.base, subscription.id, source));
      },
      delete: (_req, ctx) => {
        const { subscription } = resources.deleteSource(ctx.params[0]!, ctx.params[1]!);
        audit('event_subscription_updated.v0', renderSubscription(ctx.base, subscription), ctx);
        return noContent;
      },
    }],
  ];

  const failed = (err: unknown): ApiReply => {
    if (err instanceof ApiError) return json(err.status, errorBody(err));
    throw err;
  };

  return (req) => {
    try {
      const keys = opts.keys();
      if (keys.length === 0) throw E.apiOff();
      const key = matchKey(req.authorization, keys);
      if (key === null) throw E.unauthorized();
      if (req.ngrokVersion.trim() !== '2') throw E.versionMissing();
      const base = `http://${req.host}`;
      for (const route of opts.extensions?.()?.routes ?? []) {
        const match = route.pattern.exec(req.path);
        if (match === null || route.method !== req.method) continue;
        const principal = principalFor(key, base);
        const reply = route.run({
          base,
          path: req.path,
          query: req.query,
          params: match.slice(1).map((p) => safeDecode(p)),
          body: () => body(req),
          optionalBody: () => (req.body === null || req.body.length === 0 ? {} : body(req)),
          audit: (type, object) => opts.audit?.record(type, object, principal),
        });
        return reply instanceof Promise ? reply.catch(failed) : reply;
      }
      for (const [pattern, methods] of routes) {
        const match = pattern.exec(req.path);
        if (match === null) continue;
        const route = methods[req.method];
        if (route === undefined) throw E.methodNotAllowed(req.method, req.path);
        const params = match.slice(1).map((p) => safeDecode(p));
        return route(req, { base, principal: principalFor(key, base), params });
      }
      throw E.noRoute(req.path);
    } catch (err) {
      return failed(err);
    }
  };
}

function safeDecode(part: string): string {
  try { return decodeURIComponent(part); } catch { return part; }
}

function body(req: ApiRequest): Json {
  if (req.body === null || req.body.length === 0) throw E.badJson('the body is empty; send a JSON object');
  if (!/^application\/json\s*(;|$)/i.test(req.contentType.trim())) throw E.notJson();
  if (req.body.length > MAX_BODY_BYTES) throw E.tooLarge(MAX_BODY_BYTES);
  let parsed: unknown;
  try { parsed = JSON.parse(req.body.toString('utf8')); } catch (err) { throw E.badJson((err as Error).message); }
  if (!isObject(parsed)) throw E.badJson('the body must be a JSON object');
  return parsed;
}

/** Newest → oldest (largest id first), `limit` (1..100, default 100) after `before_id` (spec §1.2). */
export function page<T extends { id: string }>(req: Pick<ApiRequest, 'path' | 'query'>, base: string, key: string, items: T[]) {
  const params = new URLSearchParams(req.query);
  for (const name of params.keys()) {
    if (name !== 'limit' && name !== 'before_id') throw E.badPaging(`unknown query parameter '${name}' (lists take limit and before_id)`);
  }
  const limitText = params.get('limit');
  let limit = MAX_PAGE;
  if (limitText !== null && limitText !== '') {
    limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw E.badPaging(`limit must be a whole number 1..${MAX_PAGE}`);
  }
  const beforeId = params.get('before_id');
  const after = beforeId === null || beforeId === '' ? items : items.filter((item) => item.id < beforeId);
  const shown = after.slice(0, limit);
  const more = after.length > shown.length;
  return {
    [key]: shown,
    uri: `${base}${req.path}${req.query === '' ? '' : `?${req.query}`}`,
    next_page_uri: more ? `${base}${req.path}?${new URLSearchParams({ before_id: shown[shown.length - 1]!.id, limit: String(limit) })}` : null,
  };
}
