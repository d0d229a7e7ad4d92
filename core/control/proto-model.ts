// The protobuf shape of the config, derived from the zod schema (core/config/schema.ts) by walking it the
// way docs.ts does. One model feeds both the .proto text (proto-from-schema.ts) and the conversion between
// protobuf messages and config documents (convert.ts), so the two cannot drift apart.
//
// buildProtoModel numbers fields in schema order; that is only a placeholder. The numbers on the wire come
// from numberProtoModel, which applies the checked-in registry proto/control.fields.json: a field keeps the
// number it was first given for good, wherever it moves in the zod object; a new field takes the next number
// after every number the message has used (live or retired); a removed field's number and name become
// `reserved` and are never handed out again. So inserting a field in the middle of an object or removing one
// cannot silently renumber what Go/Rust clients generated from an older proto expect.
import { z } from 'zod';

export type ScalarType = 'string' | 'double' | 'int64' | 'bool';

export type FieldType =
  | { kind: 'scalar'; scalar: ScalarType }
  | { kind: 'message'; message: string }
  /** A PEM / secret source: a string, { file } or { env } (message Source). */
  | { kind: 'source' }
  /** Anything the generator cannot map: the value as JSON text (the proto field is named *_json). */
  | { kind: 'json' }
  | { kind: 'map'; value: 'string' | 'int64' };

export interface ProtoField {
  /** The proto field name (the config name, or <config name>_json, or <variant>_<config name>). */
  name: string;
  /** The key in the config document. */
  configName: string;
  number: number;
  repeated: boolean;
  type: FieldType;
  /** In a discriminated union's message: the variants that have this field (null: every variant). */
  variants: string[] | null;
  comment: string;
  /** In a hand-written message: the `oneof` group the field belongs to. */
  oneof?: string;
}

export interface ProtoMessage {
  name: string;
  fields: ProtoField[];
  /** For a discriminated union folded into one message: the discriminator's field name. */
  discriminator: string | null;
  comment: string;
  /** Numbers and names of removed fields (proto3 `reserved`), set by numberProtoModel. */
  reserved?: ReservedFields;
  /** Hand-written (EVENT_MESSAGES): its numbers are fixed here, not taken from the registry. */
  fixed?: boolean;
}

export interface ReservedFields {
  numbers: number[];
  names: string[];
}

export interface ProtoModel {
  /** In definition order; 'Config' first. */
  messages: Map<string, ProtoMessage>;
  /** Top-level config fields that are lists (upserted/deleted by id in ConfigDelta). */
  collections: ProtoField[];
}

/** Names the hand-written part of control.proto uses: generated messages never take them. */
export const FIXED_MESSAGE_NAMES = [
  'Source', 'ConfigDelta', 'ApplyResult', 'Problem', 'GetConfigRequest', 'WatchStatusRequest', 'Status', 'WorkerLoad',
  'BreakerStatus', 'RouteStatus', 'TunnelsStatus', 'TunnelSession', 'TunnelGroup', 'StreamEventsRequest',
  'CertificateStatus', 'CertificateManagementStatus', 'ProvisioningJob',
];

// ---------------------------------------------------------------------------------------------------------
// Hand-written messages for config fields whose schema is a custom parser (z.any + transform), which the
// zod walk can only map to JSON text: event destinations and subscriptions (core/api/config-resources.ts,
// shapes in core/events/model.ts). Field names are the config/API JSON names, so the generic conversion in
// convert.ts maps them like any generated message. Numbers are fixed here (never reuse or renumber one).

const str = (name: string, number: number, comment = '', oneof?: string): ProtoField =>
  ({ name, configName: name, number, repeated: false, type: { kind: 'scalar', scalar: 'string' }, variants: null, comment, ...(oneof === undefined ? {} : { oneof }) });
const int = (name: string, number: number, comment = ''): ProtoField =>
  ({ name, configName: name, number, repeated: false, type: { kind: 'scalar', scalar: 'int64' }, variants: null, comment });
const strings = (name: string, number: number, comment = ''): ProtoField =>
  ({ name, configName: name, number, repeated: true, type: { kind: 'scalar', scalar: 'string' }, variants: null, comment });
const msg = (name: string, number: number, message: string, comment = '', opts: { repeated?: boolean; oneof?: string } = {}): ProtoField =>
  ({ name, configName: name, number, repeated: opts.repeated ?? false, type: { kind: 'message', message }, variants: null, comment, ...(opts.oneof === undefined ? {} : { oneof: opts.oneof }) });
const stringMap = (name: string, number: number, comment = ''): ProtoField =>
  ({ name, configName: name, number, repeated: false, type: { kind: 'map', value: 'string' }, variants: null, comment });
const fixedMessage = (name: string, comment: string, fields: ProtoField[]): ProtoMessage =>
  ({ name, fields, discriminator: null, comment, fixed: true, reserved: { numbers: [], names: [] } });

const SECRET_NOTE = 'A secret: GetConfig shows "[redacted]".';

/** The hand-written event messages, in the order they are rendered. */
export const EVENT_MESSAGES: readonly ProtoMessage[] = [
  fixedMessage('EventDestination', 'An event destination (spec §1.8) as the config file declares it: the API body plus a required id.', [
    str('id', 1, 'ed_… (required).'),
    str('description', 2),
    str('metadata', 3),
    str('format', 4, 'json (default) or protobuf (http and file targets only).'),
    msg('target', 5, 'EventTarget', 'Exactly one target.'),
    msg('data_protection', 6, 'DataProtection'),
  ]),
  fixedMessage('EventTarget', 'Where a destination sends events: exactly one target.', [
    msg('kinesis', 1, 'KinesisTarget', '', { oneof: 'target' }),
    msg('firehose', 2, 'FirehoseTarget', '', { oneof: 'target' }),
    msg('cloudwatch_logs', 3, 'CloudwatchLogsTarget', '', { oneof: 'target' }),
    msg('datadog', 4, 'DatadogTarget', '', { oneof: 'target' }),
    msg('azure_logs_ingestion', 5, 'AzureLogsIngestionTarget', '', { oneof: 'target' }),
    msg('http', 6, 'HttpTarget', '', { oneof: 'target' }),
    msg('file', 7, 'FileTarget', '', { oneof: 'target' }),
    msg('stdout', 8, 'StdoutTarget', '', { oneof: 'target' }),
  ]),
  fixedMessage('AwsAuth', 'AWS credentials: exactly one of role or creds.', [
    msg('role', 1, 'AwsRole', '', { oneof: 'auth' }),
    msg('creds', 2, 'AwsCreds', '', { oneof: 'auth' }),
  ]),
  fixedMessage('AwsRole', '', [str('role_arn', 1)]),
  fixedMessage('AwsCreds', '', [str('aws_access_key_id', 1), str('aws_secret_access_key', 2, SECRET_NOTE)]),
  fixedMessage('KinesisTarget', '', [msg('auth', 1, 'AwsAuth'), str('stream_arn', 2), str('endpoint', 3, 'Where the API is (default: AWS).')]),
  fixedMessage('FirehoseTarget', '', [msg('auth', 1, 'AwsAuth'), str('delivery_stream_arn', 2), str('endpoint', 3, 'Where the API is (default: AWS).')]),
  fixedMessage('CloudwatchLogsTarget', '', [msg('auth', 1, 'AwsAuth'), str('log_group_arn', 2), str('endpoint', 3, 'Where the API is (default: AWS).')]),
  fixedMessage('DatadogTarget', '', [
    str('api_key', 1, SECRET_NOTE), str('ddtags', 2), str('service', 3), str('ddsite', 4), str('endpoint', 5, 'Where the API is (default: from ddsite).'),
  ]),
  fixedMessage('AzureLogsIngestionTarget', '', [
    str('tenant_id', 1), str('client_id', 2), str('client_secret', 3, SECRET_NOTE), str('logs_ingestion_uri', 4),
    str('data_collection_rule_id', 5), str('data_collection_stream_name', 6),
  ]),
  fixedMessage('HttpTarget', 'POSTs batches to url.', [
    str('url', 1),
    str('secret', 2, `Signs each body (X-Edgeplane-Signature). ${SECRET_NOTE}`),
    stringMap('headers', 3, 'Sent with every batch; values of authorization, cookie and x-api-key headers are secrets.'),
  ]),
  fixedMessage('FileTarget', 'Appends to path, rotated past max_bytes, keeping max_files.', [str('path', 1), int('max_bytes', 2), int('max_files', 3)]),
  fixedMessage('StdoutTarget', 'Writes events to the daemon\'s standard output.', []),
  fixedMessage('DataProtection', 'What personal data leaves the daemon (edgeplane extension).', [
    str('client_ip', 1, 'keep (default), truncate or hash.'),
    strings('redact_headers', 2),
    strings('allow_fields', 3),
    int('retention_seconds', 4),
    int('retention_bytes', 5),
  ]),
  fixedMessage('EventSubscription', 'An event subscription (spec §1.8) as the config file declares it: the API body plus a required id.', [
    str('id', 1, 'esb_… (required).'),
    str('description', 2),
    str('metadata', 3),
    msg('sources', 4, 'EventSource', '', { repeated: true }),
    strings('destination_ids', 5),
    msg('data_protection', 6, 'DataProtection'),
  ]),
  fixedMessage('EventSource', 'Traffic types need fields and may have a CEL filter; audit types have neither.', [
    str('type', 1),
    strings('fields', 2),
    str('filter', 3),
  ]),
];

/** Top-level config collections (custom-parsed) that use a hand-written message instead of JSON text. */
export const HAND_WRITTEN_COLLECTIONS: Readonly<Record<string, string>> = { event_destinations: 'EventDestination', event_subscriptions: 'EventSubscription' };

/** Strips defaults, optional/nullable and effects (refinements, transforms, preprocess) down to the shape. */
export function unwrap(schema: z.ZodTypeAny): { base: z.ZodTypeAny; description: string } {
  let s = schema;
  let description = '';
  for (;;) {
    if (description === '' && s.description !== undefined) description = s.description;
    if (s instanceof z.ZodDefault) s = s.removeDefault();
    else if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodEffects) {
      const inner = s.innerType() as z.ZodTypeAny;
      if (inner instanceof z.ZodUnknown) break; // a PEM source (schema.ts pem())
      s = inner;
    } else break;
  }
  return { base: s, description };
}

const pascal = (name: string): string => name.split(/[_\s]+/).filter(Boolean).map((p) => p[0]!.toUpperCase() + p.slice(1)).join('');
const singular = (name: string): string => (name.endsWith('ies') ? `${name.slice(0, -3)}y` : name.endsWith('s') ? name.slice(0, -1) : name);

/** string | { file } | { env } (PEMs) or string | { env } (API keys): both are a Source. */
function isSourceUnion(s: z.ZodTypeAny): boolean {
  if (!(s instanceof z.ZodUnion)) return false;
  const options = s.options as z.ZodTypeAny[];
  return options.some((o) => o instanceof z.ZodString) && options.every((o) => o instanceof z.ZodString
    || (o instanceof z.ZodObject && Object.keys(o.shape as object).every((k) => k === 'file' || k === 'env')));
}

interface Shape { type: FieldType; repeated: boolean }

class ModelBuilder {
  readonly messages = new Map<string, ProtoMessage>();
  /** Rendered bodies, to reuse a message when the same name would be defined twice with the same fields. */
  private readonly bodies = new Map<string, string>();

  constructor() {
    for (const name of [...FIXED_MESSAGE_NAMES, ...EVENT_MESSAGES.map((m) => m.name)]) this.bodies.set(name, '<fixed>');
  }

  /** The proto shape of a field; null when the field does not exist here (z.undefined: refused on a variant). */
  shapeOf(schema: z.ZodTypeAny, configName: string, parent: string, candidates: string[]): Shape | null {
    const { base } = unwrap(schema);
    if (base instanceof z.ZodUndefined) return null;
    if (base instanceof z.ZodArray) {
      const element = unwrap(base.element as z.ZodTypeAny).base;
      if (element instanceof z.ZodArray || element instanceof z.ZodRecord) return { type: { kind: 'json' }, repeated: true };
      const inner = this.shapeOf(base.element as z.ZodTypeAny, configName, parent, candidates);
      return inner === null ? null : { type: inner.type, repeated: true };
    }
    if (base instanceof z.ZodEffects || isSourceUnion(base)) return { type: { kind: 'source' }, repeated: false };
    if (base instanceof z.ZodString || base instanceof z.ZodEnum) return { type: { kind: 'scalar', scalar: 'string' }, repeated: false };
    if (base instanceof z.ZodLiteral) return typeof base.value === 'string' ? { type: { kind: 'scalar', scalar: 'string' }, repeated: false } : { type: { kind: 'json' }, repeated: false };
    if (base instanceof z.ZodBoolean) return { type: { kind: 'scalar', scalar: 'bool' }, repeated: false };
    if (base instanceof z.ZodNumber) return { type: { kind: 'scalar', scalar: base.isInt ? 'int64' : 'double' }, repeated: false };
    if (base instanceof z.ZodRecord) {
      const value = unwrap(base.valueSchema as z.ZodTypeAny).base;
      if (value instanceof z.ZodString) return { type: { kind: 'map', value: 'string' }, repeated: false };
      if (value instanceof z.ZodNumber && value.isInt) return { type: { kind: 'map', value: 'int64' }, repeated: false };
      return { type: { kind: 'json' }, repeated: false };
    }
    if (base instanceof z.ZodObject) return { type: { kind: 'message', message: this.objectMessage([base], candidates, parent, '') }, repeated: false };
    if (base instanceof z.ZodDiscriminatedUnion) return { type: { kind: 'message', message: this.unionMessage(base, candidates, parent) }, repeated: false };
    return { type: { kind: 'json' }, repeated: false };
  }

  /** One message from the merged fields of `objects` (several when variants of a union each have one). */
  objectMessage(objects: z.AnyZodObject[], candidates: string[], parent: string, comment: string): string {
    const merged: Record<string, z.ZodTypeAny> = {};
    for (const o of objects) {
      for (const [key, field] of Object.entries(o.shape as Record<string, z.ZodTypeAny>)) {
        if (merged[key] === undefined || unwrap(merged[key]!).base instanceof z.ZodUndefined) merged[key] = field;
      }
    }
    const fields: ProtoField[] = [];
    const self = candidates[0]!;
    for (const [key, field] of Object.entries(merged)) {
      const shape = this.shapeOf(field, key, self, this.childCandidates(key, field, self, parent));
      if (shape === null) continue;
      fields.push(makeField(key, shape, fields.length + 1, null, unwrap(field).description));
    }
    return this.define(candidates, { name: '', fields, discriminator: null, comment });
  }

  /** A discriminated union as one message: every variant's fields plus the discriminator. */
  unionMessage(union: z.ZodDiscriminatedUnion<string, z.AnyZodObject[]>, candidates: string[], parent: string): string {
    const key = union.discriminator;
    const self = candidates[0]!;
    const groups = new Map<string, Array<{ variant: string; schema: z.ZodTypeAny }>>();
    const variantNames: string[] = [];
    for (const option of union.options as z.AnyZodObject[]) {
      const variant = String((unwrap(option.shape[key] as z.ZodTypeAny).base as z.ZodLiteral<string>).value);
      variantNames.push(variant);
      for (const [name, field] of Object.entries(option.shape as Record<string, z.ZodTypeAny>)) {
        if (unwrap(field).base instanceof z.ZodUndefined) continue;
        if (!groups.has(name)) groups.set(name, []);
        groups.get(name)!.push({ variant, schema: field });
      }
    }
    const fields: ProtoField[] = [];
    for (const [name, members] of groups) {
      const variants = members.length === variantNames.length ? null : members.map((m) => m.variant);
      const bases = members.map((m) => unwrap(m.schema).base);
      if (bases.every((b) => b instanceof z.ZodObject)) {
        const message = this.objectMessage(bases as z.AnyZodObject[], this.childCandidates(name, members[0]!.schema, self, parent), self, '');
        fields.push(makeField(name, { type: { kind: 'message', message }, repeated: false }, fields.length + 1, variants, unwrap(members[0]!.schema).description));
        continue;
      }
      // Same name, different shapes across variants (weighted's map vs failover's list): one field per shape.
      const bySignature = new Map<string, { shape: Shape; variants: string[]; description: string }>();
      for (const m of members) {
        const shape = this.shapeOf(m.schema, name, self, this.childCandidates(name, m.schema, self, parent));
        if (shape === null) continue;
        const signature = JSON.stringify(shape);
        if (!bySignature.has(signature)) bySignature.set(signature, { shape, variants: [], description: unwrap(m.schema).description });
        bySignature.get(signature)!.variants.push(m.variant);
      }
      let first = true;
      for (const { shape, variants: those, description: text } of bySignature.values()) {
        const protoName = first ? undefined : `${those[0]}_${name}`;
        const fieldVariants = bySignature.size === 1 ? variants : those;
        fields.push(makeField(name, shape, fields.length + 1, fieldVariants, text, protoName));
        first = false;
      }
    }
    const comment = `One message for every ${key}: ${variantNames.join(', ')}; fields list the ${key}s they belong to.`;
    return this.define(candidates, { name: '', fields, discriminator: key, comment });
  }

  /** Message names for the field `key` of message `self`: list items are named in the singular. */
  private childCandidates(key: string, field: z.ZodTypeAny, self: string, parent: string): string[] {
    const isList = unwrap(field).base instanceof z.ZodArray;
    const name = pascal(isList ? singular(key) : key);
    // Top-level settings objects read better as …Settings (and keep clear of collection item names).
    if (self === 'Config' && !isList) return [`${name}Settings`, `Config${name}`];
    return [name, `${self}${name}`, `${parent}${self}${name}`];
  }

  /** The first candidate name that is free, or already holds the same fields. */
  private define(candidates: string[], message: ProtoMessage): string {
    const body = JSON.stringify({ fields: message.fields, discriminator: message.discriminator });
    for (const name of candidates) {
      const existing = this.bodies.get(name);
      if (existing === body) return name;
      if (existing !== undefined) continue;
      this.bodies.set(name, body);
      this.messages.set(name, { ...message, name });
      return name;
    }
    throw new Error(`proto model: no free message name among ${candidates.join(', ')}`);
  }
}

function makeField(configName: string, shape: Shape, number: number, variants: string[] | null, comment: string, protoName?: string): ProtoField {
  const name = protoName ?? (shape.type.kind === 'json' ? `${configName}_json` : configName);
  return { name, configName, number, repeated: shape.repeated, type: shape.type, variants, comment };
}

/** The model of a config schema (createConfigSchema's output). */
export function buildProtoModel(schema: z.AnyZodObject): ProtoModel {
  const builder = new ModelBuilder();
  builder.objectMessage([schema], ['Config'], '', 'The whole configuration: what the YAML file holds.');
  // 'Config' is defined last (after its children); put it first for readers.
  const built = builder.messages.get('Config')!;
  // Custom-parsed collections with a hand-written message: that message instead of JSON text.
  const config: ProtoMessage = {
    ...built,
    fields: built.fields.map((f) => {
      const message = HAND_WRITTEN_COLLECTIONS[f.configName];
      return message === undefined || f.type.kind !== 'json' ? f : { ...f, name: f.configName, type: { kind: 'message', message } };
    }),
  };
  const messages = new Map<string, ProtoMessage>([['Config', config]]);
  for (const [name, message] of builder.messages) if (name !== 'Config') messages.set(name, message);
  if (config.fields.some((f) => f.type.kind === 'message' && Object.values(HAND_WRITTEN_COLLECTIONS).includes(f.type.message))) {
    for (const message of EVENT_MESSAGES) messages.set(message.name, message);
  }
  return { messages, collections: config.fields.filter((f) => f.repeated) };
}

// ---------------------------------------------------------------------------------------------------------
// Stable field numbers: the registry (proto/control.fields.json).

/** One message's numbers: every live field's, and those of fields that were removed (never reused). */
export interface FieldRegistryMessage {
  /** Proto field name → number. */
  fields: Record<string, number>;
  /** Removed fields, by number: reserved in the message for good. */
  retired: Array<{ number: number; name: string }>;
}

export interface FieldRegistry {
  messages: Record<string, FieldRegistryMessage>;
}

/** A message to number: its proto field names in the order they are rendered. */
export interface MessageToNumber {
  name: string;
  fields: string[];
  /** Hand-written fields with fixed numbers (ConfigDelta's settings): kept out of the "next number" count. */
  pinned?: Record<string, number>;
}

export interface MessageNumbers {
  /** Proto field name → number. */
  fields: Map<string, number>;
  reserved: ReservedFields;
}

/** Field numbers protobuf keeps for itself. */
const PROTOBUF_RESERVED_FROM = 19000;
const PROTOBUF_RESERVED_TO = 19999;
const MAX_FIELD_NUMBER = 536870911;

function checkEntry(message: string, entry: FieldRegistryMessage): void {
  const seen = new Map<number, string>();
  const check = (number: number, what: string): void => {
    if (!Number.isInteger(number) || number < 1 || number > MAX_FIELD_NUMBER || (number >= PROTOBUF_RESERVED_FROM && number <= PROTOBUF_RESERVED_TO)) {
      throw new Error(`field registry: ${message}.${what} has the invalid field number ${number}`);
    }
    const other = seen.get(number);
    if (other !== undefined) throw new Error(`field registry: ${message}.${what} and ${message}.${other} share the number ${number}`);
    seen.set(number, what);
  };
  for (const [name, number] of Object.entries(entry.fields)) check(number, name);
  for (const { number, name } of entry.retired) check(number, `${name} (retired)`);
}

/**
 * Numbers each message's fields against `registry` (left unchanged) and returns the numbers with the
 * registry to check in. Names in the registry keep their numbers; a new name takes max(every number the
 * message has used, live or retired, pinned ones aside) + 1; a name that is gone moves to the message's
 * retired list, and every retired number (and retired name no field uses again) is reserved. A retired name
 * that comes back gets a NEW number: its old one may have had another type. Registry entries of messages
 * not in `messages` are kept as they are, so a message that comes back keeps its numbers.
 */
export function assignFieldNumbers(messages: MessageToNumber[], registry: FieldRegistry): { numbers: Map<string, MessageNumbers>; registry: FieldRegistry } {
  const numbers = new Map<string, MessageNumbers>();
  const next: FieldRegistry = { messages: {} };
  for (const message of messages) {
    const previous: FieldRegistryMessage = registry.messages[message.name] ?? { fields: {}, retired: [] };
    checkEntry(message.name, previous);
    const pinned = message.pinned ?? {};
    const pinnedNumbers = new Set(Object.values(pinned));
    const fields = new Map<string, number>();
    for (const [name, number] of Object.entries(pinned)) {
      const registered = previous.fields[name];
      if (registered !== undefined && registered !== number) {
        throw new Error(`field registry: ${message.name}.${name} is registered as ${registered} but is fixed at ${number}`);
      }
    }
    for (const name of message.fields) {
      if (fields.has(name)) throw new Error(`proto model: ${message.name} has two fields named ${name}`);
      const number = pinned[name] ?? previous.fields[name];
      if (number !== undefined) fields.set(name, number);
    }
    const used = [...Object.values(previous.fields), ...previous.retired.map((r) => r.number), ...fields.values()];
    const taken = new Set(used);
    let last = Math.max(0, ...used.filter((n) => !pinnedNumbers.has(n)));
    for (const name of message.fields) {
      if (fields.has(name)) continue;
      let number = last + 1;
      while (taken.has(number) || pinnedNumbers.has(number) || (number >= PROTOBUF_RESERVED_FROM && number <= PROTOBUF_RESERVED_TO)) number++;
      if (number > MAX_FIELD_NUMBER) throw new Error(`proto model: ${message.name} has run out of field numbers`);
      fields.set(name, number);
      taken.add(number);
      last = number;
    }
    const retired = [...previous.retired];
    for (const [name, number] of Object.entries(previous.fields)) if (!fields.has(name)) retired.push({ number, name });
    retired.sort((a, b) => a.number - b.number);
    const reservedNames = [...new Set(retired.map((r) => r.name))].filter((name) => !fields.has(name)).sort();
    checkEntry(message.name, { fields: Object.fromEntries(fields), retired });
    numbers.set(message.name, { fields, reserved: { numbers: retired.map((r) => r.number), names: reservedNames } });
    next.messages[message.name] = {
      fields: Object.fromEntries([...fields].sort((a, b) => a[1] - b[1])),
      retired,
    };
  }
  for (const [name, entry] of Object.entries(registry.messages).sort((a, b) => a[0].localeCompare(b[0]))) {
    if (next.messages[name] === undefined) next.messages[name] = entry;
  }
  return { numbers, registry: next };
}

/**
 * The model with its wire numbers and reserved fields from `registry`, and the registry to check in.
 * `extra` numbers messages the model does not hold (ConfigDelta) in the same registry.
 */
export function numberProtoModel(model: ProtoModel, registry: FieldRegistry, extra: MessageToNumber[] = []): { model: ProtoModel; registry: FieldRegistry; extra: Map<string, MessageNumbers> } {
  const toNumber: MessageToNumber[] = [...extra, ...[...model.messages.values()].filter((m) => m.fixed !== true).map((m) => ({ name: m.name, fields: m.fields.map((f) => f.name) }))];
  const { numbers, registry: next } = assignFieldNumbers(toNumber, registry);
  const messages = new Map<string, ProtoMessage>();
  for (const [name, message] of model.messages) {
    if (message.fixed === true) { messages.set(name, message); continue; }
    const assigned = numbers.get(name)!;
    messages.set(name, {
      ...message,
      fields: message.fields.map((f) => ({ ...f, number: assigned.fields.get(f.name)! })),
      reserved: assigned.reserved,
    });
  }
  const extraNumbers = new Map<string, MessageNumbers>();
  for (const m of extra) extraNumbers.set(m.name, numbers.get(m.name)!);
  return { model: { messages, collections: messages.get('Config')!.fields.filter((f) => f.repeated) }, registry: next, extra: extraNumbers };
}
