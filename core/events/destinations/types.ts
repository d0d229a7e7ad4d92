// The destination contract the event router delivers to, and the factory that builds one from an
// EventDestination (core/events/model.ts). Every destination queues in a bounded buffer and sends
// in the background: deliver() never waits on the network or the disk.
import type { EventDestination } from '../model.js';
import { DestinationConfigError } from './config-error.js';
import { HttpDestination } from './http.js';
import { FileDestination } from './file.js';
import { StdoutDestination } from './stdout.js';
import { DatadogDestination } from './datadog.js';
import { KinesisDestination } from './kinesis.js';

/**
 * One call's worth of serialised events. Each record is one event: JSON text (a trailing newline is
 * optional) for `application/x-ndjson`, or one protobuf message (not length-prefixed) for
 * `application/x-protobuf`; destinations add the framing. Byte records are kept without copying:
 * do not reuse their memory after deliver().
 */
export interface DeliveryBatch {
  records: Uint8Array[] | string[];
  contentType: string;
}

/** Counters are in records (events), bytes are what sits in memory (queued plus in flight). */
export interface DestinationStats {
  /** Acknowledged by the receiver (2xx, written, PutRecords success). */
  delivered: number;
  /** Discarded before sending: buffer over its byte bound, older than retention, or closed. */
  dropped: number;
  /** Re-sent after a retryable failure (5xx, 429, network error, failed Kinesis record). */
  retried: number;
  /** Given up on: a non-retryable answer (4xx), or the attempt cap reached. */
  failed: number;
  buffered_bytes: number;
  /** The most recent send error, for operators; null when none yet. */
  last_error: string | null;
}

export interface TestEventResult {
  ok: boolean;
  error?: string;
}

export interface Destination {
  readonly id: string;
  /** Enqueue and return at once; a full buffer drops its oldest records (counted). */
  deliver(batch: DeliveryBatch): void;
  stats(): DestinationStats;
  /** Resolves when everything queued so far has been delivered, failed or dropped. */
  flush(): Promise<void>;
  /** Stops accepting, flushes within a deadline, drops what is left (counted), releases resources. */
  close(): Promise<void>;
  /**
   * Sends one event now, outside the queue and without retries, and reports the receiver's answer
   * (the dashboard's "Send Test Event"). Default: a JSON `test_event.v0` envelope; a protobuf
   * destination is given its own encoded record.
   */
  sendTestEvent(record?: { data: Uint8Array | string; contentType: string }): Promise<TestEventResult>;
}

export interface DestinationOptions {
  /** Upper bound on buffered bytes; data_protection.retention_bytes lowers it (default 16 MiB). */
  maxBufferBytes?: number;
  /** Sends per batch before it counts as failed (default 6). */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt, with jitter (default 200 ms). */
  baseDelayMs?: number;
  /** Longest retry delay, Retry-After included (default 30 s). */
  maxDelayMs?: number;
  /** Requests in flight at once for network targets (default 4). */
  concurrency?: number;
  /** Per request (default 10 s); a timeout is a network error, so it is retried. */
  requestTimeoutMs?: number;
  /** How long close() keeps flushing before dropping the rest (default 5 s). */
  closeTimeoutMs?: number;
  /** Records per HTTP batch (default 1000; Datadog and Kinesis have their own lower caps). */
  maxBatchRecords?: number;
  /** For the stdout target (tests); default process.stdout. */
  stdout?: NodeJS.WritableStream;
  /** account_id of the test event envelope. */
  accountId?: string;
  /** Jitter source (tests). */
  random?: () => number;
}

export type ResolvedOptions = Required<Omit<DestinationOptions, 'stdout'>> & { stdout: NodeJS.WritableStream };

export function resolveOptions(options: DestinationOptions = {}): ResolvedOptions {
  return {
    maxBufferBytes: options.maxBufferBytes ?? 16 * 1024 * 1024,
    maxAttempts: Math.max(1, options.maxAttempts ?? 6),
    baseDelayMs: options.baseDelayMs ?? 200,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    concurrency: Math.max(1, options.concurrency ?? 4),
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
    maxBatchRecords: Math.max(1, options.maxBatchRecords ?? 1000),
    stdout: options.stdout ?? process.stdout,
    accountId: options.accountId ?? '',
    random: options.random ?? Math.random,
  };
}

const UNSUPPORTED = ['firehose', 'cloudwatch_logs', 'azure_logs_ingestion'] as const;

/** Builds the destination for the target set on `dest`; throws DestinationConfigError for user mistakes. */
export function createDestination(dest: EventDestination, options?: DestinationOptions): Destination {
  const target = dest.target ?? {};
  const set = Object.keys(target).filter((key) => (target as Record<string, unknown>)[key] !== undefined);
  if (set.length !== 1) {
    throw new DestinationConfigError(`event destination ${dest.id}: exactly one target is required, got ${set.length === 0 ? 'none' : set.join(', ')}`);
  }
  const resolved = resolveOptions(options);
  const protobufAllowed = target.http !== undefined || target.file !== undefined;
  if (dest.format === 'protobuf' && !protobufAllowed) {
    throw new DestinationConfigError(`event destination ${dest.id}: format "protobuf" is only supported for http and file targets`);
  }
  if (target.http) return new HttpDestination(dest.id, target.http, dest.data_protection, resolved);
  if (target.file) return new FileDestination(dest.id, target.file, dest.data_protection, resolved);
  if (target.stdout) return new StdoutDestination(dest.id, dest.data_protection, resolved);
  if (target.datadog) return new DatadogDestination(dest.id, target.datadog, dest.data_protection, resolved);
  if (target.kinesis) return new KinesisDestination(dest.id, target.kinesis, dest.data_protection, resolved);
  const name = UNSUPPORTED.find((key) => target[key] !== undefined) ?? set[0];
  throw new DestinationConfigError(`event destination ${dest.id}: the ${name} target is not supported by this daemon (supported: http, file, stdout, datadog, kinesis)`);
}
