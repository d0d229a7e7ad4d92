// API bodies → config items: which fields a body may carry, the common description/metadata (limits
// checked here with the event API's codes), and the modules' write and read forms (spec §1.6: modules
// are written with ids, read back with refs).
import * as v from '../validate.js';
import { E } from '../errors.js';
import { unknownField, missingField } from './errors.js';
import type { Ref, View } from './store.js';

type Json = v.Json;

export function allowOnly(body: Json, allowed: readonly string[], required: readonly string[] = []): void {
  for (const key of Object.keys(body)) if (!allowed.includes(key)) throw unknownField(key, allowed);
  for (const key of required) if (body[key] === undefined || body[key] === null) throw missingField(key);
}

/** description and metadata, when the body has them (PATCH: omitted = unchanged). */
export function writeCommon(body: Json, item: Json): void {
  if (body.description !== undefined && body.description !== null) item.description = v.description(body.description);
  if (body.metadata !== undefined && body.metadata !== null) item.metadata = v.metadata(body.metadata);
}

/** Copies the given fields as they are: the config checker validates them with their codes. */
export function copyFields(body: Json, item: Json, fields: readonly string[]): void {
  for (const field of fields) if (body[field] !== undefined) item[field] = body[field];
}

export function objectBody(value: unknown, what: string): Json {
  if (!v.isObject(value)) throw E.badField(`${what} must be a JSON object`);
  return value;
}

const BACKEND_PATHS: Record<string, string> = {
  tunnel_group: 'tunnel_group', weighted: 'weighted', failover: 'failover', http_response: 'http_response', static_address: 'static',
};

export function backendRef(view: View, id: string): Ref {
  const backend = view.config.backends.find((b) => b.id === id);
  return { id, uri: `${view.base}/backends/${BACKEND_PATHS[backend?.type ?? ''] ?? 'static'}/${id}` };
}

export const ref = (view: View, collection: string, id: string): Ref => ({ id, uri: `${view.base}/${collection}/${id}` });

/** A module as the API shows it: ids become refs; anything else is the (redacted) config form. */
export type ModuleRender = (module: Json, view: View) => unknown;
/** A module body → its config form. */
export type ModuleWrite = (body: Json) => Json;

export interface ModuleSpec { write: ModuleWrite; render: ModuleRender }

const passThrough: ModuleSpec = { write: (body) => body, render: (module) => module };

function withIds(field: string, readField: string, readRef: (view: View, id: string) => Ref): ModuleSpec {
  return {
    write: (body) => body,
    render: (module, view) => {
      const { [field]: ids, ...rest } = module;
      return { ...rest, [readField]: Array.isArray(ids) ? ids.map((id) => readRef(view, String(id))) : [] };
    },
  };
}

export const MODULES: Record<string, ModuleSpec> = {
  backend: {
    write: (body) => body,
    render: (module, view) => {
      const { backend_id: id, ...rest } = module;
      return { ...rest, backend: backendRef(view, String(id)) };
    },
  },
  ip_restriction: withIds('ip_policy_ids', 'ip_policies', (view, id) => ref(view, 'ip_policies', id)),
  mutual_tls: withIds('certificate_authority_ids', 'certificate_authorities', (view, id) => ref(view, 'certificate_authorities', id)),
  tls_termination: passThrough,
  circuit_breaker: passThrough,
  compression: passThrough,
  request_headers: passThrough,
  response_headers: passThrough,
  webhook_verification: passThrough,
  oauth: passThrough,
  oidc: passThrough,
  saml: passThrough,
  user_agent_filter: passThrough,
};

/** The modules an item has set, in their read form. */
export function renderModules(item: Json, names: readonly string[], view: View): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const module = item[name];
    out[name] = v.isObject(module) ? MODULES[name]!.render(module, view) : null;
  }
  return out;
}

/** Module fields given in a create/PATCH body, written into the item in config form (null = remove). */
export function writeModules(body: Json, item: Json, names: readonly string[]): void {
  for (const name of names) {
    const value = body[name];
    if (value === undefined) continue;
    if (value === null) delete item[name];
    else item[name] = MODULES[name]!.write(objectBody(value, name));
  }
}
