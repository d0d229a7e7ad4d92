// The Event Subscriptions API's resources (spec §1.8, §1.2) as the daemon keeps them: what the API
// stores and returns, what the config file may declare, and what the event router compiles. One
// model shared by core/api (the REST API and its store) and core/events (routing, destinations).

/** Traffic event types: fields selectable, CEL filter allowed (spec §1.8). */
export const TRAFFIC_EVENT_TYPES = ['http_request_complete.v0', 'tcp_connection_closed.v0'] as const;
export type TrafficEventType = (typeof TRAFFIC_EVENT_TYPES)[number];

/** Audit events this daemon emits for its own API resources (no fields, no filter). */
export const AUDIT_EVENT_TYPES = [
  'event_destination_created.v0', 'event_destination_updated.v0', 'event_destination_deleted.v0',
  'event_subscription_created.v0', 'event_subscription_updated.v0', 'event_subscription_deleted.v0',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export type EventSourceType = TrafficEventType | AuditEventType;

/** One source of a subscription: a type, and for traffic types the fields captured and a CEL filter. */
export interface EventSource {
  type: EventSourceType;
  /** Dotted field names of the event object (`conn.client_ip`); required for traffic types (5400). */
  fields: string[];
  /** CEL boolean expression over `ev` (the event object); '' = every event. */
  filter: string;
}

/**
 * edgeplane extension, per destination or subscription: what personal data leaves the daemon.
 * Applied after field selection, before serialisation.
 */
export interface DataProtection {
  /** 'truncate': IPv4 to /24, IPv6 to /48; 'hash': keyed SHA-256 (stable per daemon key); 'keep'. */
  client_ip: 'keep' | 'truncate' | 'hash';
  /** Header names (case-insensitive) whose values are replaced by "[redacted]"; Authorization and Cookie always are. */
  redact_headers: string[];
  /** When non-empty, only these dotted fields leave (an allow-list on top of the source's fields). */
  allow_fields: string[];
  /** Buffered/stored event data older than this many seconds is dropped (0 = no limit). */
  retention_seconds: number;
  /** Buffered/stored event data beyond this many bytes is dropped, oldest first (0 = no limit). */
  retention_bytes: number;
}

export const DEFAULT_DATA_PROTECTION: DataProtection = Object.freeze({
  client_ip: 'keep',
  redact_headers: [],
  allow_fields: [],
  retention_seconds: 0,
  retention_bytes: 0,
}) as DataProtection;

/** AWS credentials of the spec's AWS targets: exactly one of role or creds. */
export interface AwsAuth {
  role?: { role_arn: string };
  creds?: { aws_access_key_id: string; aws_secret_access_key: string };
}

/**
 * Exactly one target (spec: none → 5100, several → 5115). The spec's cloud targets, plus edgeplane's
 * `http`, `file` and `stdout`. `endpoint` on cloud targets is an edgeplane extension: where the API is
 * (a local emulator in tests, a VPC endpoint in production).
 */
export interface EventTarget {
  kinesis?: { auth: AwsAuth; stream_arn: string; endpoint?: string };
  firehose?: { auth: AwsAuth; delivery_stream_arn: string; endpoint?: string };
  cloudwatch_logs?: { auth: AwsAuth; log_group_arn: string; endpoint?: string };
  datadog?: { api_key: string; ddtags?: string; service?: string; ddsite?: string; endpoint?: string };
  azure_logs_ingestion?: {
    tenant_id: string; client_id: string; client_secret: string; logs_ingestion_uri: string;
    data_collection_rule_id: string; data_collection_stream_name: string;
  };
  /** POSTs batches; `secret` signs each body (header `X-Edgeplane-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`). */
  http?: { url: string; secret?: string; headers?: Record<string, string> };
  /** NDJSON (or length-delimited protobuf) appended to `path`, rotated past max_bytes, keeping max_files. */
  file?: { path: string; max_bytes?: number; max_files?: number };
  stdout?: Record<string, never>;
}

export interface EventDestination {
  id: string; // ed_…
  created_at: string; // RFC 3339 UTC
  description: string;
  metadata: string;
  /** Spec: only 'json'; 'protobuf' is an edgeplane extension (proto/events.proto), for http and file targets. */
  format: 'json' | 'protobuf';
  target: EventTarget;
  data_protection: DataProtection;
  /** 'config' when declared in the config file (read-only through the API), 'api' otherwise. */
  origin: 'config' | 'api';
}

export interface EventSubscription {
  id: string; // esb_…
  created_at: string;
  description: string;
  metadata: string;
  sources: EventSource[];
  destination_ids: string[];
  data_protection: DataProtection;
  origin: 'config' | 'api';
}
