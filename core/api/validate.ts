// Request bodies → model objects (core/events/model.ts), with the spec's error codes (§1.8) for every
// rule it names. Used by the API and by the config loader, so both accept exactly the same shapes.
import {
  AUDIT_EVENT_TYPES, DEFAULT_DATA_PROTECTION, TRAFFIC_EVENT_TYPES,
  type DataProtection, type EventSource, type EventSourceType, type EventTarget, type TrafficEventType,
} from '../events/model.js';
import { fieldProblem, type EventProblem } from '../events/fields.js';
import { filterProblem } from '../events/filter.js';
import { ApiError, E } from './errors.js';

export const MAX_DESCRIPTION_BYTES = 255;
export const MAX_METADATA_BYTES = 4096;
export const MAX_SOURCES = 32;
export const MAX_DESTINATIONS_PER_SUBSCRIPTION = 32;

// Audit types the spec lists (§1.8). This daemon emits only its own (AUDIT_EVENT_TYPES); the others are
// accepted so that subscriptions written for ngrok load, and simply never fire.
const SPEC_AUDIT_OBJECTS = [
  'api_key', 'certificate_authority', 'tunnel_credential', 'event_destination', 'event_subscription', 'ip_policy',
  'ip_policy_rule', 'ip_restriction', 'tcp_address', 'domain', 'ssh_certificate_authority', 'ssh_public_key',
  'ssh_host_certificate', 'ssh_user_certificate', 'secret', 'tls_certificate', 'vault',
];
const AUDIT_TYPES = new Set<string>([
  ...AUDIT_EVENT_TYPES,
  ...SPEC_AUDIT_OBJECTS.flatMap((o) => ['created', 'deleted', 'updated'].map((a) => `${o}_${a}.v0`)),
  'agent_session_start.v0', 'agent_session_stop.v0',
]);
const TRAFFIC_TYPES = new Set<string>(TRAFFIC_EVENT_TYPES);

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function onlyKeys(body: Json, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw E.badField(`${what}: unknown field '${key}' (allowed: ${allowed.join(', ')})`);
  }
}

function str(value: unknown, field: string): string {
  if (typeof value !== 'string') throw E.badField(`${field} must be a string`);
  return value;
}

function optStr(value: unknown, field: string): string | undefined {
  return value === undefined || value === null ? undefined : str(value, field);
}

function strList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw E.badField(`${field} must be a list of strings`);
  return value as string[];
}

function count(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw E.badField(`${field} must be a whole number, 0 or more`);
  return value;
}

export function description(value: unknown): string {
  const text = str(value, 'description');
  if (Buffer.byteLength(text) > MAX_DESCRIPTION_BYTES) throw E.descriptionTooLong(MAX_DESCRIPTION_BYTES);
  return text;
}

export function metadata(value: unknown): string {
  const text = str(value, 'metadata');
  if (Buffer.byteLength(text) > MAX_METADATA_BYTES) throw E.metadataTooLong(MAX_METADATA_BYTES);
  return text;
}

// ---- destinations ----------------------------------------------------------------------------------

export const TARGET_TYPES = ['kinesis', 'firehose', 'cloudwatch_logs', 'datadog', 'azure_logs_ingestion', 'http', 'file', 'stdout'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];

export function targetType(target: EventTarget): TargetType {
  return TARGET_TYPES.find((t) => target[t] !== undefined)!;
}

function arn(value: unknown, field: string): string {
  const text = str(value ?? '', field);
  if (!/^arn:[^:]+:[^:]+:[^:]*:[^:]*:.+$/.test(text)) throw E.badArn(field);
  return text;
}

function awsAuth(value: unknown): NonNullable<EventTarget['kinesis']>['auth'] {
  if (value === undefined || value === null) throw E.missingAuth();
  if (!isObject(value)) throw E.badField('auth must be an object with role or creds');
  onlyKeys(value, ['role', 'creds'], 'auth');
  const role = value.role ?? null;
  const creds = value.creds ?? null;
  if (role !== null && creds !== null) throw E.bothAuth();
  if (role === null && creds === null) throw E.emptyAuth();
  if (role !== null) {
    if (!isObject(role)) throw E.badField('auth.role must be an object { role_arn }');
    onlyKeys(role, ['role_arn'], 'auth.role');
    return { role: { role_arn: arn(role.role_arn, 'auth.role.role_arn') } };
  }
  if (!isObject(creds)) throw E.badField('auth.creds must be an object { aws_access_key_id, aws_secret_access_key }');
  onlyKeys(creds, ['aws_access_key_id', 'aws_secret_access_key'], 'auth.creds');
  return { creds: { aws_access_key_id: str(creds.aws_access_key_id, 'auth.creds.aws_access_key_id'), aws_secret_access_key: str(creds.aws_secret_access_key, 'auth.creds.aws_secret_access_key') } };
}

function endpoint(value: unknown, field: string): { endpoint?: string } {
  const text = optStr(value, field);
  if (text === undefined) return {};
  if (!/^https?:\/\//.test(text)) throw E.badField(`${field} must be an http:// or https:// URL`);
  return { endpoint: text };
}

function oneTarget(type: TargetType, body: Json): EventTarget {
  const at = `target.${type}`;
  switch (type) {
    case 'kinesis':
      onlyKeys(body, ['auth', 'stream_arn', 'endpoint'], at);
      return { kinesis: { auth: awsAuth(body.auth), stream_arn: arn(body.stream_arn, `${at}.stream_arn`), ...endpoint(body.endpoint, `${at}.endpoint`) } };
    case 'firehose':
      onlyKeys(body, ['auth', 'delivery_stream_arn', 'endpoint'], at);
      return { firehose: { auth: awsAuth(body.auth), delivery_stream_arn: arn(body.delivery_stream_arn, `${at}.delivery_stream_arn`), ...endpoint(body.endpoint, `${at}.endpoint`) } };
    case 'cloudwatch_logs':
      onlyKeys(body, ['auth', 'log_group_arn', 'endpoint'], at);
      return { cloudwatch_logs: { auth: awsAuth(body.auth), log_group_arn: arn(body.log_group_arn, `${at}.log_group_arn`), ...endpoint(body.endpoint, `${at}.endpoint`) } };
    case 'datadog': {
      onlyKeys(body, ['api_key', 'ddtags', 'service', 'ddsite', 'endpoint'], at);
      const apiKey = optStr(body.api_key, `${at}.api_key`);
      if (apiKey === undefined || apiKey === '') throw E.datadogKeyMissing();
      const out: NonNullable<EventTarget['datadog']> = { api_key: apiKey, ...endpoint(body.endpoint, `${at}.endpoint`) };
      for (const key of ['ddtags', 'service', 'ddsite'] as const) {
        const v = optStr(body[key], `${at}.${key}`);
        if (v !== undefined) out[key] = v;
      }
      return { datadog: out };
    }
    case 'azure_logs_ingestion': {
      const keys = ['tenant_id', 'client_id', 'client_secret', 'logs_ingestion_uri', 'data_collection_rule_id', 'data_collection_stream_name'] as const;
      onlyKeys(body, keys, at);
      const out = {} as NonNullable<EventTarget['azure_logs_ingestion']>;
      for (const key of keys) out[key] = str(body[key], `${at}.${key}`);
      return { azure_logs_ingestion: out };
    }
    case 'http': {
      onlyKeys(body, ['url', 'secret', 'headers'], at);
      const url = str(body.url, `${at}.url`);
      if (!/^https?:\/\/[^/]/.test(url)) throw E.badField(`${at}.url must be an http:// or https:// URL`);
      const out: NonNullable<EventTarget['http']> = { url };
      const secret = optStr(body.secret, `${at}.secret`);
      if (secret !== undefined) out.secret = secret;
      if (body.headers !== undefined && body.headers !== null) {
        if (!isObject(body.headers) || Object.values(body.headers).some((v) => typeof v !== 'string')) throw E.badField(`${at}.headers must be a map of header name to string`);
        out.headers = body.headers as Record<string, string>;
      }
      return { http: out };
    }
    case 'file': {
      onlyKeys(body, ['path', 'max_bytes', 'max_files'], at);
      const path = str(body.path, `${at}.path`);
      if (path === '') throw E.badField(`${at}.path must not be empty`);
      const out: NonNullable<EventTarget['file']> = { path };
      if (body.max_bytes !== undefined && body.max_bytes !== null) out.max_bytes = count(body.max_bytes, `${at}.max_bytes`);
      if (body.max_files !== undefined && body.max_files !== null) out.max_files = count(body.max_files, `${at}.max_files`);
      return { file: out };
    }
    case 'stdout':
      onlyKeys(body, [], at);
      return { stdout: {} };
  }
}

export function target(value: unknown): EventTarget {
  if (value === undefined || value === null) throw E.noTarget();
  if (!isObject(value)) throw E.badField('target must be an object with exactly one target type');
  // ngrok's read shape lists every target type with null for the unset ones: null counts as absent.
  const set = Object.keys(value).filter((k) => value[k] !== null && value[k] !== undefined);
  for (const key of set) if (!(TARGET_TYPES as readonly string[]).includes(key)) throw E.badField(`unknown target type '${key}' (known: ${TARGET_TYPES.join(', ')})`);
  if (set.length === 0) throw E.noTarget();
  if (set.length > 1) throw E.severalTargets(set);
  const type = set[0] as TargetType;
  const body = value[type];
  if (!isObject(body)) throw E.badField(`target.${type} must be an object`);
  return oneTarget(type, body);
}

export function format(value: unknown, tgt: EventTarget): 'json' | 'protobuf' {
  const text = value === undefined || value === null ? 'json' : str(value, 'format');
  if (text === 'json') return 'json';
  if (text === 'protobuf' && (tgt.http !== undefined || tgt.file !== undefined)) return 'protobuf';
  throw E.badFormat(text);
}

export function dataProtection(value: unknown, base: DataProtection = DEFAULT_DATA_PROTECTION): DataProtection {
  if (value === undefined || value === null) return base;
  if (!isObject(value)) throw E.badField('data_protection must be an object');
  onlyKeys(value, ['client_ip', 'redact_headers', 'allow_fields', 'retention_seconds', 'retention_bytes'], 'data_protection');
  const out: DataProtection = { ...base };
  if (value.client_ip !== undefined) {
    if (value.client_ip !== 'keep' && value.client_ip !== 'truncate' && value.client_ip !== 'hash') throw E.badField("data_protection.client_ip must be 'keep', 'truncate' or 'hash'");
    out.client_ip = value.client_ip;
  }
  if (value.redact_headers !== undefined) out.redact_headers = strList(value.redact_headers, 'data_protection.redact_headers');
  if (value.allow_fields !== undefined) {
    out.allow_fields = strList(value.allow_fields, 'data_protection.allow_fields');
    for (const f of out.allow_fields) {
      if (TRAFFIC_EVENT_TYPES.every((t) => fieldProblem(t, f)?.code === 5405)) throw E.unknownField(f);
    }
  }
  if (value.retention_seconds !== undefined) out.retention_seconds = count(value.retention_seconds, 'data_protection.retention_seconds');
  if (value.retention_bytes !== undefined) out.retention_bytes = count(value.retention_bytes, 'data_protection.retention_bytes');
  return out;
}

// ---- subscriptions and sources ---------------------------------------------------------------------

export function sourceType(value: unknown): EventSourceType {
  const type = str(value, 'sources[].type');
  if (!TRAFFIC_TYPES.has(type) && !AUDIT_TYPES.has(type)) throw E.unknownType(type);
  return type as EventSourceType;
}

export function isTrafficType(type: string): type is TrafficEventType {
  return TRAFFIC_TYPES.has(type);
}

/** One source, with its fields and filter checked against its type (5400–5406). */
export function source(type: EventSourceType, fieldsValue: unknown, filterValue: unknown): EventSource {
  const hasFields = fieldsValue !== undefined && fieldsValue !== null && !(Array.isArray(fieldsValue) && fieldsValue.length === 0);
  const filter = filterValue === undefined || filterValue === null ? '' : str(filterValue, 'filter');
  if (!isTrafficType(type)) {
    if (hasFields) throw E.auditFields(type);
    if (filter !== '') throw E.auditFilter(type);
    return { type, fields: [], filter: '' };
  }
  if (!hasFields) throw E.fieldsRequired(type);
  const fields = strList(fieldsValue, 'fields');
  for (const field of fields) {
    const problem = fieldProblem(type, field);
    if (problem !== null) throw fromProblem(problem);
  }
  const problem = filterProblem(type, filter);
  if (problem !== null) throw fromProblem(problem);
  return { type, fields: [...new Set(fields)], filter };
}

/** core/events reports field and filter problems with the spec's code; the API answers 400 with it. */
function fromProblem(problem: EventProblem): ApiError {
  return new ApiError(400, `ERR_NGROK_${problem.code}`, problem.msg);
}

export function sourceBody(value: unknown): EventSource {
  if (!isObject(value)) throw E.badField('each source must be an object { type, fields?, filter? }');
  onlyKeys(value, ['type', 'fields', 'filter', 'subscription_id'], 'source');
  return source(sourceType(value.type), value.fields, value.filter);
}

export function sources(value: unknown): EventSource[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw E.badField('sources must be a list of { type, fields?, filter? }');
  if (value.length > MAX_SOURCES) throw E.badField(`at most ${MAX_SOURCES} sources per subscription`);
  const out: EventSource[] = [];
  const seen = new Set<string>();
  for (const item of value) {
    const parsed = sourceBody(item);
    if (seen.has(parsed.type)) throw E.duplicateSource(parsed.type);
    seen.add(parsed.type);
    out.push(parsed);
  }
  return out;
}

export function destinationIds(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const ids = strList(value, 'destination_ids');
  if (ids.length > MAX_DESTINATIONS_PER_SUBSCRIPTION) throw E.badField(`at most ${MAX_DESTINATIONS_PER_SUBSCRIPTION} destinations per subscription`);
  return [...new Set(ids)];
}
