// The protobuf shape of the config, derived from the zod schema (core/config/schema.ts) by walking it the
// way docs.ts does. One model feeds both the .proto text (proto-from-schema.ts) and the conversion between
// protobuf messages and config documents (convert.ts), so the two cannot drift apart.
//
// Field numbers follow schema order within each message. Adding a field at the END of a zod object keeps
// every existing number; inserting one in the middle renumbers what follows and breaks wire compatibility,
// which the unit test comparing the checked-in proto/control.proto makes visible in review.
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
}

export interface ProtoMessage {
  name: string;
  fields: ProtoField[];
  /** For a discriminated union folded into one message: the discriminator's field name. */
  discriminator: string | null;
  comment: string;
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
];

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
    for (const name of FIXED_MESSAGE_NAMES) this.bodies.set(name, '<fixed>');
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
  const config = builder.messages.get('Config')!;
  const messages = new Map<string, ProtoMessage>([['Config', config]]);
  for (const [name, message] of builder.messages) if (name !== 'Config') messages.set(name, message);
  return { messages, collections: config.fields.filter((f) => f.repeated) };
}
