// /edges/https/{edge_id}/routes (spec §1.5): routes live inside their edge's config item; POST adds
// one, /{id} reads/PATCHes/deletes it, /{id}/{module} replaces one module (spec §1.2).
import { json, type ApiReply, type ExtensionContext } from '../handler.js';
import { isObject, type Json } from '../validate.js';
import { notFound } from './errors.js';
import { allowOnly, copyFields, renderModules, writeCommon, writeModules } from './fields.js';
import { createdAt, newResourceId } from './ids.js';
import { methodRoutes, moduleRoutes, type Route } from './family.js';
import { commit, indexOfId, pinIds, rawCollection, rawList, view, type ConfigDaemon, type View } from './store.js';

export const ROUTE_MODULES = [
  'backend', 'ip_restriction', 'circuit_breaker', 'compression', 'request_headers', 'response_headers',
  'webhook_verification', 'oauth', 'saml', 'oidc', 'user_agent_filter',
] as const;
// edgeplane extension on routes, copied as the config has it
const ROUTE_FIELDS = ['match_type', 'match', 'description', 'metadata', 'max_request_body_bytes'] as const;
const PREFIX = 'edghtsrt_';

export function renderRoute(edgeId: string, route: Json, v: View): Record<string, unknown> {
  const id = String(route.id);
  return {
    id,
    edge_id: edgeId,
    uri: `${v.base}/edges/https/${edgeId}/routes/${id}`,
    created_at: createdAt(id, PREFIX),
    description: route.description ?? '',
    metadata: route.metadata ?? '',
    match_type: route.match_type,
    match: route.match,
    ...(route.max_request_body_bytes === undefined ? {} : { max_request_body_bytes: route.max_request_body_bytes }),
    ...renderModules(route, ROUTE_MODULES, v),
  };
}

export function edgeRouteRoutes(deps: ConfigDaemon): Route[] {
  const findEdge = (v: View, edgeId: string): Json => {
    const edge = (v.redacted.edges as Json[]).find((e) => e.id === edgeId && e.type === 'https');
    if (edge === undefined) throw notFound('https edge', edgeId);
    return edge;
  };
  const findRoute = (v: View, edgeId: string, id: string): Json => {
    const route = ((findEdge(v, edgeId).routes ?? []) as Json[]).find((r) => r.id === id);
    if (route === undefined) throw notFound('https edge route', id);
    return route;
  };
  const show = (ctx: ExtensionContext, status = 200): ApiReply => {
    const v = view(deps, ctx.base);
    const [edgeId, id] = ctx.params as [string, string];
    return json(status, renderRoute(edgeId, findRoute(v, edgeId, id), v));
  };
  /** The raw routes list of edge `edgeId` (ids pinned), inside the serialised update. */
  const rawRoutes = (doc: Json, edgeId: string): Json[] => {
    const edges = rawCollection(doc, 'edges', deps.current);
    const edge = edges[indexOfId(edges, edgeId)];
    if (!isObject(edge) || edge.type !== 'https') throw notFound('https edge', edgeId);
    const routes = rawList(edge, 'routes');
    const parsed = deps.current.config.edges.find((e) => e.id === edgeId);
    pinIds(routes, parsed?.type === 'https' ? parsed.routes : []);
    return routes;
  };
  const editRoute = (edgeId: string, id: string, change: (route: Json, list: Json[], index: number) => void) => (doc: Json) => {
    const routes = rawRoutes(doc, edgeId);
    const index = indexOfId(routes, id);
    if (index < 0) throw notFound('https edge route', id);
    change(routes[index] as Json, routes, index);
  };
  const writeRoute = (body: Json, route: Json) => {
    writeCommon(body, route);
    copyFields(body, route, ['match_type', 'match', 'max_request_body_bytes']);
    writeModules(body, route, ROUTE_MODULES);
  };

  return [
    ...methodRoutes(/^\/edges\/https\/([^/]+)\/routes$/, {
      post: async (ctx) => {
        const edgeId = ctx.params[0]!;
        findEdge(view(deps, ctx.base), edgeId);
        const body = ctx.body();
        allowOnly(body, [...ROUTE_FIELDS, ...ROUTE_MODULES], ['match_type', 'match']);
        const route: Json = { id: newResourceId(PREFIX) };
        writeRoute(body, route);
        const refused = await commit(deps, (doc) => { rawRoutes(doc, edgeId).push(route); });
        return refused ?? show({ ...ctx, params: [edgeId, String(route.id)] }, 201);
      },
    }),
    ...methodRoutes(/^\/edges\/https\/([^/]+)\/routes\/([^/]+)$/, {
      get: (ctx) => show(ctx),
      patch: async (ctx) => {
        const [edgeId, id] = ctx.params as [string, string];
        const body = ctx.body();
        allowOnly(body, [...ROUTE_FIELDS, ...ROUTE_MODULES]);
        const refused = await commit(deps, editRoute(edgeId, id, (route) => writeRoute(body, route)));
        return refused ?? show(ctx);
      },
      delete: async (ctx) => {
        const [edgeId, id] = ctx.params as [string, string];
        findRoute(view(deps, ctx.base), edgeId, id);
        const refused = await commit(deps, editRoute(edgeId, id, (_route, list, index) => { list.splice(index, 1); }));
        return refused ?? { status: 204, body: '' };
      },
    }),
    ...moduleRoutes(deps, new RegExp(`^/edges/https/([^/]+)/routes/([^/]+)/(${ROUTE_MODULES.join('|')})$`), {
      read: (ctx) => findRoute(view(deps, ctx.base), ctx.params[0]!, ctx.params[1]!),
      edit: (ctx, change) => editRoute(ctx.params[0]!, ctx.params[1]!, change),
    }),
  ];
}
