// The field catalogue of the traffic event types (spec §1.8's two tables, the docs' example payload,
// and the fields edgeplane adds), the API's field validation (5403/5405), and field projection
// compiled once per source into a closure.
import { HTTP_REQUEST_COMPLETE, TCP_CONNECTION_CLOSED } from './types.js';
import type { TrafficEventType } from './model.js';

/** Value kinds of event fields; `headers` is map<string, list<string>>, `logs` is list<map<string,string>>. */
export type FieldKind = 'string' | 'int' | 'bool' | 'timestamp' | 'headers' | 'logs';

export interface FieldInfo {
  /** Dotted path in the event object (`conn.client_ip`). */
  path: string;
  kind: FieldKind;
  /** Usable in a source's CEL filter (spec §1.8). */
  filterable: boolean;
  /** 'spec': the spec's table; 'docs': the docs' example payload; 'edgeplane': added by this daemon. */
  origin: 'spec' | 'docs' | 'edgeplane';
}

/** A validation failure in the API's error shape: spec error code and a message for `msg`. */
export interface EventProblem {
  code: number;
  msg: string;
}

type Row = [path: string, kind: FieldKind, origin?: FieldInfo['origin']];

const FILTERABLE = new Set(['conn.client_ip', 'conn.server_ip', 'conn.server_name', 'conn.server_port']);

function catalogue(rows: Row[]): ReadonlyMap<string, FieldInfo> {
  return new Map(rows.map(([path, kind, origin = 'spec']) => [path, Object.freeze({ path, kind, filterable: FILTERABLE.has(path), origin })]));
}

const HTTP_FIELDS = catalogue([
  ['backend.connection_reused', 'bool'],
  ['basic_auth.decision', 'string'],
  ['basic_auth.username', 'string'],
  ['circuit_breaker.decision', 'string'],
  ['compression.algorithm', 'string'],
  ['compression.bytes_saved', 'int'],
  ['conn.client_ip', 'string'],
  ['conn.server_ip', 'string'],
  ['conn.server_name', 'string'],
  ['conn.server_port', 'int'],
  ['conn.start_ts', 'timestamp'],
  ['http.request.body_length', 'int'],
  ['http.request.headers', 'headers'],
  ['http.request.method', 'string'],
  ['http.request.url.host', 'string'],
  ['http.request.url.path', 'string'],
  ['http.request.url.query', 'string'],
  ['http.request.url.scheme', 'string'],
  ['http.request.url.raw', 'string'],
  ['http.request.user_agent', 'string'],
  ['http.request.version', 'string', 'docs'],
  ['http.request.first_byte_ts', 'timestamp', 'docs'],
  ['http.request.last_byte_ts', 'timestamp', 'docs'],
  ['http.response.body_length', 'int'],
  ['http.response.headers', 'headers'],
  ['http.response.status_code', 'int'],
  ['http.response.first_byte_ts', 'timestamp', 'docs'],
  ['http.response.last_byte_ts', 'timestamp', 'docs'],
  ['ip_policy.decision', 'string'],
  ['ja4_fingerprint', 'string'],
  ['oauth.app_client_id', 'string'],
  ['oauth.decision', 'string'],
  ['oauth.user.id', 'string'],
  ['oauth.user.name', 'string'],
  ['tls.cipher_suite', 'string'],
  ['tls.version', 'string'],
  ['tls.client_cert.serial_number', 'string'],
  ['tls.client_cert.subject.cn', 'string'],
  ['traffic_policy.logs', 'logs'],
  ['user_agent_filter.decision', 'string'],
  ['webhook_verification.decision', 'string'],
  ['edge.id', 'string', 'edgeplane'],
  ['route.id', 'string', 'edgeplane'],
]);

const TCP_FIELDS = catalogue([
  ['conn.bytes_in', 'int'],
  ['conn.bytes_out', 'int'],
  ['conn.client_ip', 'string'],
  ['conn.server_ip', 'string'],
  ['conn.server_name', 'string'],
  ['conn.server_port', 'int'],
  ['conn.start_ts', 'timestamp'],
  ['conn.end_ts', 'timestamp'],
  ['ip_policy.decision', 'string'],
  ['ja4_fingerprint', 'string'],
  ['traffic_policy.logs', 'logs'],
  ['edge.id', 'string', 'edgeplane'],
]);

const CATALOGUES: Readonly<Record<TrafficEventType, ReadonlyMap<string, FieldInfo>>> = {
  [HTTP_REQUEST_COMPLETE]: HTTP_FIELDS,
  [TCP_CONNECTION_CLOSED]: TCP_FIELDS,
} as Record<TrafficEventType, ReadonlyMap<string, FieldInfo>>;

/** Every field of a traffic event type, in catalogue order. */
export function eventFields(type: TrafficEventType): FieldInfo[] {
  return [...CATALOGUES[type].values()];
}

/** One field of a type, or undefined when the type has no such field. */
export function fieldInfo(type: TrafficEventType, path: string): FieldInfo | undefined {
  return CATALOGUES[type].get(path);
}

function knownToAnyType(path: string): boolean {
  return Object.values(CATALOGUES).some((fields) => fields.has(path));
}

/**
 * Why a source may not select `field`, or null when it may. 5403: the field belongs to another
 * traffic type, not this one; 5405: no event type has such a field.
 */
export function fieldProblem(type: TrafficEventType, field: string): EventProblem | null {
  if (CATALOGUES[type].has(field)) return null;
  if (knownToAnyType(field)) {
    return { code: 5403, msg: `The field '${field}' does not belong to the event type '${type}'.` };
  }
  return { code: 5405, msg: `Unknown field '${field}' for the event type '${type}'.` };
}

/** A tree of dotted paths: a leaf is `true`, an inner node maps keys to subtrees. */
export type PathTree = { [key: string]: PathTree | true };

/** Dotted paths to a tree; a path that covers another (`conn` and `conn.client_ip`) wins. */
export function pathTree(paths: readonly string[]): PathTree {
  const root: PathTree = {};
  for (const path of paths) {
    const keys = path.split('.');
    let node = root;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const existing = node[key];
      if (existing === true) break; // already selected whole
      if (i === keys.length - 1) { node[key] = true; break; }
      const child: PathTree = existing ?? {};
      node[key] = child;
      node = child;
    }
  }
  return root;
}

export type Projection = (object: object) => Record<string, unknown>;

type Source = Record<string, unknown>;
const isObject = (v: unknown): v is Source => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Compiles a tree into a projector; keys are resolved once, each event only walks the chosen paths. */
function compileTree(tree: PathTree): (source: Source) => Record<string, unknown> | undefined {
  const steps = Object.entries(tree).map(([key, sub]) => ({ key, child: sub === true ? null : compileTree(sub) }));
  return (source) => {
    let out: Record<string, unknown> | undefined;
    for (const { key, child } of steps) {
      const value = source[key];
      if (value === undefined) continue;
      const projected = child === null ? value : isObject(value) ? child(value) : undefined;
      if (projected === undefined) continue;
      (out ??= {})[key] = projected;
    }
    return out;
  };
}

/**
 * A projector for arbitrary dotted paths (no catalogue check; data-protection allow-lists use it).
 * Returns a new object with only those paths, nesting kept; absent fields stay absent, and an inner
 * object none of whose chosen fields is present is left out. Leaf values (header maps, log lists)
 * are shared with the source, not copied: callers must not mutate them.
 */
export function compileDottedProjection(paths: readonly string[]): Projection {
  const project = compileTree(pathTree(paths));
  return (object) => project(object as Source) ?? {};
}

/** A validated projection for a source's `fields`; throws with the API's problem on a bad field. */
export function compileProjection(type: TrafficEventType, fields: readonly string[]): Projection {
  for (const field of fields) {
    const problem = fieldProblem(type, field);
    if (problem) throw new EventFieldError(problem);
  }
  return compileDottedProjection(fields);
}

/** A user mistake in a source's fields or filter, carrying the spec's error code. */
export class EventFieldError extends Error {
  readonly code: number;
  constructor(problem: EventProblem) {
    super(problem.msg);
    this.name = 'EventFieldError';
    this.code = problem.code;
  }
}
