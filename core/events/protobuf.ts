// Protobuf form of events (proto/events.proto): length-delimited Envelope messages, for destinations
// with `format: protobuf`. The schema is loaded once, from the .proto file the package ships.
import protobuf from 'protobufjs';
import { protoFilePath } from '../package-files.js';
import type { EventEnvelope } from './types.js';
import { HTTP_REQUEST_COMPLETE, TCP_CONNECTION_CLOSED } from './types.js';

/** proto/events.proto at the package root. */
export function protoPath(): string {
  return protoFilePath('events.proto');
}

let envelopeType: protobuf.Type | undefined;

/** The Envelope message type; the .proto is parsed on first use (keepCase: the spec's snake_case names). */
export function envelopeMessage(): protobuf.Type {
  if (envelopeType === undefined) {
    const root = new protobuf.Root();
    root.loadSync(protoPath(), { keepCase: true });
    envelopeType = root.lookupType('edgeplane.events.v0.Envelope');
  }
  return envelopeType;
}

/** Which oneof member carries an envelope's object. */
function objectField(eventType: string): 'http_request_complete' | 'tcp_connection_closed' | 'audit_object_json' {
  if (eventType === HTTP_REQUEST_COMPLETE) return 'http_request_complete';
  if (eventType === TCP_CONNECTION_CLOSED) return 'tcp_connection_closed';
  return 'audit_object_json';
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Copies `object` with the value at `keys` mapped; absent paths are left alone. */
function mapAt(object: Obj, keys: readonly string[], map: (value: unknown) => unknown): Obj {
  const [key, ...rest] = keys as [string, ...string[]];
  const value = object[key];
  if (value === undefined || value === null) return object;
  if (rest.length === 0) return { ...object, [key]: map(value) };
  if (!isObject(value)) return object;
  return { ...object, [key]: mapAt(value, rest, map) };
}

function mapValues(value: unknown, map: (v: unknown) => unknown): unknown {
  if (!isObject(value)) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) out[k] = map(v);
  return out;
}

// JSON ↔ protobuf shapes differ where proto3 cannot nest (list values of maps, maps in lists) and
// where it has no presence (maps, lists): those are wrapped in a message.
const HEADER_PATHS = [['http', 'request', 'headers'], ['http', 'response', 'headers']] as const;
const LOGS_PATH = ['traffic_policy', 'logs'] as const;

function toProtoObject(object: Obj): Obj {
  let out = object;
  for (const path of HEADER_PATHS) out = mapAt(out, path, (h) => ({ map: mapValues(h, (values) => ({ values })) }));
  return mapAt(out, LOGS_PATH, (logs) => ({ entries: Array.isArray(logs) ? logs.map((fields) => ({ fields })) : [] }));
}

function fromProtoObject(object: Obj): Obj {
  let out = object;
  for (const path of HEADER_PATHS) {
    out = mapAt(out, path, (h) => mapValues((h as { map?: object }).map ?? {}, (list) => (list as { values?: string[] }).values ?? []));
  }
  return mapAt(out, LOGS_PATH, (logs) => ((logs as { entries?: Array<{ fields?: object }> }).entries ?? []).map((entry) => entry.fields ?? {}));
}

/** An envelope in the JSON form (spec §1.8), whatever its object. */
export type AnyEnvelope = EventEnvelope<unknown> | (Omit<EventEnvelope<unknown>, 'principal'> & { principal: object | null });

function toProtoEnvelope(envelope: AnyEnvelope): Obj {
  const field = objectField(envelope.event_type);
  const object = field === 'audit_object_json' ? JSON.stringify(envelope.object) : toProtoObject(envelope.object as Obj);
  const message: Obj = {
    event_id: envelope.event_id,
    event_type: envelope.event_type,
    event_timestamp: envelope.event_timestamp,
    account_id: envelope.account_id,
    [field]: object,
  };
  if (envelope.principal !== null) message.principal = envelope.principal;
  return message;
}

/** Envelopes → one buffer of length-delimited Envelope messages. */
export function encodeEvents(envelopes: readonly AnyEnvelope[]): Uint8Array {
  const type = envelopeMessage();
  const writer = protobuf.Writer.create();
  for (const envelope of envelopes) type.encodeDelimited(toProtoEnvelope(envelope), writer);
  return writer.finish();
}

/** The inverse of encodeEvents, back to the JSON form (int64 as numbers, absent principal as null). */
export function decodeEvents(bytes: Uint8Array): AnyEnvelope[] {
  const type = envelopeMessage();
  const reader = protobuf.Reader.create(bytes);
  const envelopes: AnyEnvelope[] = [];
  while (reader.pos < reader.len) {
    const message = type.toObject(type.decodeDelimited(reader), { longs: Number }) as Obj;
    const field = objectField(String(message.event_type));
    const raw = message[field];
    const object = field === 'audit_object_json' ? JSON.parse(String(raw)) : fromProtoObject((raw ?? {}) as Obj);
    envelopes.push({
      event_id: message.event_id as string,
      event_type: message.event_type as string,
      event_timestamp: message.event_timestamp as string,
      account_id: message.account_id as string,
      object,
      principal: (message.principal as object | undefined) ?? null,
    });
  }
  return envelopes;
}
