// One REST collection backed by one config collection (spec §1.2): GET/POST on the collection,
// GET/PATCH/DELETE on an item, GET/PUT/DELETE on its modules, 405 for any other method.
import type { CollectionName, EdgeplaneConfig } from '../../config/schema.js';
import type { ApiError } from '../errors.js';
import { E } from '../errors.js';
import { json, page, type ApiExtensions, type ApiReply, type ExtensionContext } from '../handler.js';
import { isObject, type Json } from '../validate.js';
import { moduleNotSet, notFound } from './errors.js';
import { allowOnly, MODULES, objectBody, writeCommon, writeModules } from './fields.js';
import { createdAt, newResourceId } from './ids.js';
import { commit, indexOfId, newestFirst, rawCollection, view, type ConfigDaemon, type View } from './store.js';

export type Route = ApiExtensions['routes'][number];
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

export interface Family {
  /** For messages: "https edge". */
  what: string;
  /** The collection's path, e.g. /edges/https. */
  path: string;
  /** The list's key in a list reply (ngrok's: https_edges, backends, certificates, …). */
  listKey: string;
  prefix: string;
  collection: CollectionName;
  /** The config's type discriminator for collections holding several kinds (edges, backends). */
  type?: string;
  createFields: readonly string[];
  updateFields: readonly string[];
  required?: readonly string[];
  /** Edge modules served at {path}/{id}/{module}; also accepted in create/PATCH bodies. */
  modules?: readonly string[];
  /** Writes the body's own fields (not description/metadata/modules) into the config item. */
  write(body: Json, item: Json, creating: boolean): void;
  /** The fields beyond id, uri, created_at, description, metadata; `item` is redacted. */
  render(item: Json, view: View): Record<string, unknown>;
  /** Refuses a delete while something still points at the item. */
  inUse?(config: EdgeplaneConfig, id: string): ApiError | null;
}

/** Routes answering `pattern` for `allowed` methods, and 405 for the rest. */
export function methodRoutes(pattern: RegExp, allowed: Record<string, Route['run']>): Route[] {
  return METHODS.map((method) => ({
    pattern,
    method,
    run: allowed[method] ?? ((ctx: ExtensionContext) => { throw E.methodNotAllowed(method, ctx.path); }),
  }));
}

export function renderItem(family: Pick<Family, 'path' | 'prefix' | 'render' | 'modules'>, item: Json, view: View): { id: string } & Record<string, unknown> {
  const id = String(item.id);
  return {
    id,
    uri: `${view.base}${family.path}/${id}`,
    created_at: createdAt(id, family.prefix),
    description: item.description ?? '',
    metadata: item.metadata ?? '',
    ...family.render(item, view),
  };
}

export function familyRoutes(deps: ConfigDaemon, family: Family): Route[] {
  const modules = family.modules ?? [];
  const belongs = (item: unknown): item is Json => isObject(item) && (family.type === undefined || item.type === family.type);
  const parsedItems = (v: View): Json[] => (v.redacted[family.collection] as unknown[]).filter(belongs);
  const find = (v: View, id: string): Json => {
    const item = parsedItems(v).find((i) => i.id === id);
    if (item === undefined) throw notFound(family.what, id);
    return item;
  };
  const show = (ctx: ExtensionContext, id: string, status = 200): ApiReply => {
    const v = view(deps, ctx.base);
    return json(status, renderItem(family, find(v, id), v));
  };
  /** Edits the raw item `id` (inside the serialised update); throws 404 when it is not there. */
  const editItem = (id: string, edit: (item: Json, list: Json[], index: number) => void) => (doc: Json) => {
    const list = rawCollection(doc, family.collection, deps.current);
    const index = indexOfId(list, id);
    if (index < 0 || !belongs(list[index])) throw notFound(family.what, id);
    edit(list[index] as Json, list, index);
  };
  const itemPath = new RegExp(`^${family.path}/([^/]+)$`);

  const routes: Route[] = [
    ...methodRoutes(new RegExp(`^${family.path}$`), {
      get: (ctx) => {
        const v = view(deps, ctx.base);
        return json(200, page(ctx, ctx.base, family.listKey, newestFirst(parsedItems(v).map((item) => renderItem(family, item, v)))));
      },
      post: async (ctx) => {
        const body = ctx.body();
        allowOnly(body, [...family.createFields, ...modules], family.required);
        const id = newResourceId(family.prefix);
        const item: Json = { id, ...(family.type === undefined ? {} : { type: family.type }) };
        writeCommon(body, item);
        family.write(body, item, true);
        writeModules(body, item, modules);
        const refused = await commit(deps, (doc) => { rawCollection(doc, family.collection, deps.current).push(item); });
        return refused ?? show(ctx, id, 201);
      },
    }),
    ...methodRoutes(itemPath, {
      get: (ctx) => show(ctx, ctx.params[0]!),
      patch: async (ctx) => {
        const id = ctx.params[0]!;
        const body = ctx.body();
        allowOnly(body, [...family.updateFields, ...modules]);
        const refused = await commit(deps, editItem(id, (item) => {
          writeCommon(body, item);
          family.write(body, item, false);
          writeModules(body, item, modules);
        }));
        return refused ?? show(ctx, id);
      },
      delete: async (ctx) => {
        const id = ctx.params[0]!;
        find(view(deps, ctx.base), id);
        const inUse = family.inUse?.(deps.current.config, id);
        if (inUse) throw inUse;
        const refused = await commit(deps, editItem(id, (_item, list, index) => { list.splice(index, 1); }));
        return refused ?? { status: 204, body: '' };
      },
    }),
  ];
  if (modules.length > 0) routes.push(...moduleRoutes(deps, new RegExp(`^${family.path}/([^/]+)/(${modules.join('|')})$`), {
    read: (ctx) => find(view(deps, ctx.base), ctx.params[0]!),
    edit: (ctx, change) => editItem(ctx.params[0]!, change),
  }));
  return routes;
}

/** Where a module lives: its parent item (redacted, for reading) and how to edit the raw one. */
export interface ModuleParent {
  read(ctx: ExtensionContext): Json;
  edit(ctx: ExtensionContext, change: (item: Json) => void): (doc: Json) => void;
}

/** GET/PUT/DELETE {parent}/{module}: the module's last path part names it (spec §1.2: PUT replaces). */
export function moduleRoutes(deps: ConfigDaemon, pattern: RegExp, parent: ModuleParent): Route[] {
  const name = (ctx: ExtensionContext) => ctx.params[ctx.params.length - 1]!;
  const show = (ctx: ExtensionContext): ApiReply => {
    const item = parent.read(ctx);
    const module = item[name(ctx)];
    if (!isObject(module)) throw moduleNotSet(name(ctx), String(item.id));
    return json(200, MODULES[name(ctx)]!.render(module, view(deps, ctx.base)));
  };
  return methodRoutes(pattern, {
    get: show,
    put: async (ctx) => {
      const module = MODULES[name(ctx)]!.write(objectBody(ctx.body(), name(ctx)));
      const refused = await commit(deps, parent.edit(ctx, (item) => { item[name(ctx)] = module; }));
      return refused ?? show(ctx);
    },
    delete: async (ctx) => {
      parent.read(ctx);
      const refused = await commit(deps, parent.edit(ctx, (item) => { delete item[name(ctx)]; }));
      return refused ?? { status: 204, body: '' };
    },
  });
}
