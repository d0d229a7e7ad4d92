// protobuf Config messages (as @grpc/proto-loader / protobufjs give them: keepCase, oneofs, no defaults,
// int64 as numbers) ⇄ config documents (what the YAML file gives). Driven by the same model that generated
// proto/control.proto, so every config field converts without a hand-written table.
import type { ConfigProblem } from '../config/errors.js';
import { configSchema } from '../config/schema.js';
import { buildProtoModel, type ProtoField, type ProtoMessage, type ProtoModel } from './proto-model.js';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

let cachedModel: ProtoModel | undefined;
/** The model of the running schema, built once. */
export function controlModel(): ProtoModel {
  cachedModel ??= buildProtoModel(configSchema);
  return cachedModel;
}

function messageOf(model: ProtoModel, name: string): ProtoMessage {
  const message = model.messages.get(name);
  if (message === undefined) throw new Error(`control model: no message ${name}`);
  return message;
}

const join = (path: string, key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`);

// ---- document → protobuf ----

function valueToProto(model: ProtoModel, field: ProtoField, value: unknown): unknown {
  const t = field.type;
  switch (t.kind) {
    case 'scalar':
    case 'map':
      return value;
    case 'json':
      return JSON.stringify(value);
    case 'source':
      if (typeof value === 'string') return { inline: value };
      if (isObject(value) && typeof value.file === 'string') return { file: value.file };
      if (isObject(value) && typeof value.env === 'string') return { env: value.env };
      return { inline: JSON.stringify(value) };
    case 'message':
      return isObject(value) ? messageToProto(model, messageOf(model, t.message), value) : undefined;
  }
}

/** The proto field a document key goes to (in a union message, the one of the document's variant). */
function fieldFor(message: ProtoMessage, key: string, variant: unknown): ProtoField | undefined {
  const candidates = message.fields.filter((f) => f.configName === key);
  return candidates.find((f) => f.variants === null || f.variants.includes(String(variant))) ?? candidates[0];
}

function messageToProto(model: ProtoModel, message: ProtoMessage, document: Obj): Obj {
  const out: Obj = {};
  const variant = message.discriminator === null ? undefined : document[message.discriminator];
  for (const [key, value] of Object.entries(document)) {
    if (value === null || value === undefined) continue; // null and absent mean the same in the config
    const field = fieldFor(message, key, variant);
    if (field === undefined) continue; // not in the schema: the document would not have loaded
    if (field.repeated) {
      if (!Array.isArray(value)) continue;
      out[field.name] = value.map((item) => valueToProto(model, field, item));
    } else {
      const converted = valueToProto(model, field, value);
      if (converted !== undefined) out[field.name] = converted;
    }
  }
  return out;
}

/** A config document (e.g. daemon.desiredConfig(), redacted) → a Config message object. */
// Secrets (event destination credentials included) are hidden before this, by redactConfig (GetConfig).
export function documentToProto(document: Obj, model: ProtoModel = controlModel()): Obj {
  return messageToProto(model, messageOf(model, 'Config'), document);
}

// ---- protobuf → document ----

/** Conversion problems (bad JSON in a *_json field, a field set for two variants) keep their config paths. */
class Problems {
  readonly list: ConfigProblem[] = [];
  add(path: string, reason: string): void { this.list.push({ path, reason }); }
}

function valueFromProto(model: ProtoModel, field: ProtoField, value: unknown, path: string, problems: Problems): unknown {
  const t = field.type;
  switch (t.kind) {
    case 'scalar':
      return value;
    case 'map':
      return isObject(value) ? { ...value } : {};
    case 'json':
      try {
        return JSON.parse(String(value));
      } catch (err) {
        problems.add(path, `${field.name} is not valid JSON: ${(err as Error).message}`);
        return undefined;
      }
    case 'source': {
      const source = isObject(value) ? value : {};
      if (typeof source.file === 'string') return { file: source.file };
      if (typeof source.env === 'string') return { env: source.env };
      if (typeof source.inline === 'string') return source.inline;
      problems.add(path, 'a Source needs one of inline, file or env');
      return undefined;
    }
    case 'message':
      return isObject(value) ? messageFromProto(model, messageOf(model, t.message), value, path, problems) : undefined;
  }
}

function messageFromProto(model: ProtoModel, message: ProtoMessage, proto: Obj, path: string, problems: Problems): Obj {
  const out: Obj = {};
  const setBy = new Map<string, string>();
  for (const field of message.fields) {
    const value = proto[field.name];
    if (value === undefined || value === null) continue;
    if (field.repeated && (!Array.isArray(value) || value.length === 0)) continue; // proto3: empty = absent
    if (field.type.kind === 'map' && isObject(value) && Object.keys(value).length === 0) continue;
    const here = join(path, field.configName);
    const earlier = setBy.get(field.configName);
    if (earlier !== undefined) {
      problems.add(here, `${earlier} and ${field.name} both set: they are the same config field for different ${message.discriminator ?? 'variants'}`);
      continue;
    }
    setBy.set(field.configName, field.name);
    const converted = field.repeated
      ? (value as unknown[]).map((item, i) => valueFromProto(model, field, item, join(here, i), problems))
      : valueFromProto(model, field, value, here, problems);
    if (converted !== undefined) out[field.configName] = converted;
  }
  return out;
}

export interface Converted<T> {
  value: T;
  problems: ConfigProblem[];
}

/** A Config message object → a config document, with any problems the conversion itself found. */
export function documentFromProto(proto: Obj, model: ProtoModel = controlModel()): Converted<Obj> {
  const problems = new Problems();
  const value = messageFromProto(model, messageOf(model, 'Config'), proto, '', problems);
  return { value, problems: problems.list };
}

// ---- ConfigDelta ----

export interface ConfigDeltaDocument {
  /** By collection (config name): items to replace (same id) or append. */
  upserts: Map<string, Obj[]>;
  deletes: Map<string, string[]>;
  /** Top-level settings replaced whole. */
  settings: Obj;
  clear: string[];
}

/** A ConfigDelta message object → the document changes it asks for. */
export function deltaFromProto(proto: Obj, model: ProtoModel = controlModel()): Converted<ConfigDeltaDocument> {
  const problems = new Problems();
  const delta: ConfigDeltaDocument = { upserts: new Map(), deletes: new Map(), settings: {}, clear: [] };
  for (const collection of model.collections) {
    const upserts = proto[`upsert_${collection.name}`];
    if (Array.isArray(upserts) && upserts.length > 0) {
      const items = upserts.map((item, i) => valueFromProto(model, collection, item, `upsert_${collection.name}[${i}]`, problems));
      delta.upserts.set(collection.configName, items.filter(isObject));
      items.forEach((item, i) => {
        if (item !== undefined && !isObject(item)) problems.add(`upsert_${collection.name}[${i}]`, 'expected an object');
      });
    }
    const deletes = proto[`delete_${collection.configName}`];
    if (Array.isArray(deletes) && deletes.length > 0) delta.deletes.set(collection.configName, deletes.map(String));
  }
  if (isObject(proto.settings)) {
    const settings = messageFromProto(model, messageOf(model, 'Config'), proto.settings, 'settings', problems);
    const collections = new Set(model.collections.map((c) => c.configName));
    for (const [key, value] of Object.entries(settings)) {
      if (collections.has(key)) problems.add(`settings.${key}`, `${key} is a collection: change it with upsert_${key} and delete_${key}`);
      else delta.settings[key] = value;
    }
  }
  if (Array.isArray(proto.clear_settings)) {
    const known = new Set(messageOf(model, 'Config').fields.map((f) => f.configName));
    const collections = new Set(model.collections.map((c) => c.configName));
    proto.clear_settings.forEach((key, i) => {
      const name = String(key);
      if (!known.has(name)) problems.add(`clear_settings[${i}]`, `unknown setting '${name}'`);
      else if (collections.has(name)) problems.add(`clear_settings[${i}]`, `${name} is a collection: delete its items with delete_${name}`);
      else delta.clear.push(name);
    });
  }
  return { value: delta, problems: problems.list };
}

/** Collections whose items may leave out their id (schema.ts GENERATED_ID_PREFIX): matched by the generated one. */
const GENERATED_ID: Readonly<Record<string, string>> = { reserved_domains: 'rd_', tunnels: 'tn_' };

function effectiveId(collection: string, item: unknown, index: number): string | undefined {
  if (!isObject(item)) return undefined;
  if (typeof item.id === 'string') return item.id;
  const prefix = GENERATED_ID[collection];
  return prefix === undefined ? undefined : `${prefix}${index}`;
}

/**
 * Applies a delta to a config document in place: deletes, then upserts, then settings. Returns the problems
 * (an unknown id to delete, an upsert without id where ids are required); with any, the caller must not
 * apply the document.
 */
export function applyDelta(document: Obj, delta: ConfigDeltaDocument): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const listOf = (name: string): unknown[] => {
    const current = document[name];
    if (Array.isArray(current)) return current;
    const fresh: unknown[] = [];
    document[name] = fresh;
    return fresh;
  };
  for (const [name, ids] of delta.deletes) {
    const items = listOf(name);
    // ids are resolved against the list as it was, so generated ids (rd_<index>) mean what GetConfig showed
    const doomed = new Set<number>();
    ids.forEach((id, i) => {
      const index = items.findIndex((item, at) => effectiveId(name, item, at) === id);
      if (index < 0) problems.push({ path: `delete_${name}[${i}]`, reason: `no ${name} item with id '${id}'` });
      else doomed.add(index);
    });
    document[name] = items.filter((_item, at) => !doomed.has(at));
  }
  for (const [name, upserts] of delta.upserts) {
    const items = listOf(name);
    upserts.forEach((item, i) => {
      const id = typeof item.id === 'string' ? item.id : undefined;
      if (id === undefined && GENERATED_ID[name] === undefined) {
        problems.push({ path: `upsert_${name}[${i}].id`, reason: `an upserted ${name} item needs its id` });
        return;
      }
      const index = id === undefined ? -1 : items.findIndex((existing, at) => effectiveId(name, existing, at) === id);
      if (index < 0) items.push(item);
      else items[index] = item;
    });
  }
  for (const [key, value] of Object.entries(delta.settings)) document[key] = value;
  for (const key of delta.clear) delete document[key];
  return problems;
}
