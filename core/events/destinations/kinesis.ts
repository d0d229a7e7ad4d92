// The kinesis target: Kinesis Data Streams PutRecords (AWS JSON 1.1, SigV4 with the target's creds)
// against `endpoint` or https://kinesis.<region>.amazonaws.com. Batches hold at most 500 records
// and 5 MiB (data plus partition keys); records a stream refuses (throttling, internal failure)
// are re-sent alone on the next attempt. Assume-role auth needs AWS STS, which this daemon does not call.
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { DataProtection, EventTarget } from '../model.js';
import type { ResolvedOptions } from './types.js';
import { DestinationConfigError } from './config-error.js';
import { QueuedDestination, type AttemptResult } from './queue.js';
import { agentFor, parseHttpUrl, post } from './post.js';
import { parseRetryAfter } from './backoff.js';
import { signV4, type AwsCredentials } from './sigv4.js';

type KinesisTarget = NonNullable<EventTarget['kinesis']>;

export const KINESIS_MAX_RECORDS = 500;
export const KINESIS_MAX_REQUEST_BYTES = 5 * 1024 * 1024;
export const KINESIS_MAX_RECORD_BYTES = 1024 * 1024;
const PARTITION_KEY_BYTES = 32; // hex of 16 random bytes

/** Errors Kinesis documents as retryable, request-wide. */
const RETRYABLE_ERRORS = new Set(['ProvisionedThroughputExceededException', 'LimitExceededException', 'ThrottlingException',
  'InternalFailure', 'ServiceUnavailable', 'KMSThrottlingException']);

const STREAM_ARN = /^arn:aws[a-z-]*:kinesis:([a-z0-9-]+):(\d{12}):stream\/([A-Za-z0-9_.-]{1,128})$/;

export function parseStreamArn(arn: string): { region: string; account: string; streamName: string } | null {
  const match = STREAM_ARN.exec(arn);
  return match ? { region: match[1], account: match[2], streamName: match[3] } : null;
}

interface PutRecordsAnswer {
  FailedRecordCount?: number;
  Records?: Array<{ SequenceNumber?: string; ShardId?: string; ErrorCode?: string; ErrorMessage?: string }>;
}

export class KinesisDestination extends QueuedDestination {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly region: string;
  private readonly streamName: string;
  private readonly credentials: AwsCredentials;

  constructor(id: string, target: KinesisTarget, protection: DataProtection, options: ResolvedOptions) {
    super(id, protection, options, {
      maxBatchRecords: Math.min(KINESIS_MAX_RECORDS, options.maxBatchRecords),
      maxBatchBytes: KINESIS_MAX_REQUEST_BYTES,
      concurrency: options.concurrency,
      maxRecordBytes: KINESIS_MAX_RECORD_BYTES - PARTITION_KEY_BYTES,
    });
    const where = `event destination ${id}: kinesis`;
    const stream = parseStreamArn(target.stream_arn ?? '');
    if (!stream) throw new DestinationConfigError(`${where}.stream_arn must look like arn:aws:kinesis:<region>:<account>:stream/<name>, got ${JSON.stringify(target.stream_arn)}`);
    if (target.auth?.role) {
      throw new DestinationConfigError(`${where}: auth.role (assume-role) is not supported here, it needs AWS STS; use auth.creds {aws_access_key_id, aws_secret_access_key}`);
    }
    const creds = target.auth?.creds;
    if (!creds?.aws_access_key_id || !creds.aws_secret_access_key) {
      throw new DestinationConfigError(`${where}: auth.creds with aws_access_key_id and aws_secret_access_key is required`);
    }
    const url = parseHttpUrl(target.endpoint ?? `https://kinesis.${stream.region}.amazonaws.com/`, `${where}.endpoint`);
    if (typeof url === 'string') throw new DestinationConfigError(url);
    this.url = url;
    this.agent = agentFor(url, options.concurrency);
    this.region = stream.region;
    this.streamName = stream.streamName;
    this.credentials = { accessKeyId: creds.aws_access_key_id, secretAccessKey: creds.aws_secret_access_key };
  }

  protected override recordCost(record: Buffer): number {
    return record.length + PARTITION_KEY_BYTES;
  }

  protected async transmit(records: Buffer[]): Promise<AttemptResult> {
    const body = JSON.stringify({
      StreamName: this.streamName,
      // Random keys spread events over every shard; events carry their own timestamps for ordering.
      Records: records.map((data) => ({ Data: data.toString('base64'), PartitionKey: randomBytes(16).toString('hex') })),
    });
    const headers = signV4({
      method: 'POST',
      url: this.url,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.PutRecords' },
      body,
    }, this.credentials, this.region, 'kinesis');
    const answer = await post(this.url, headers, Buffer.from(body), {
      agent: this.agent, timeoutMs: this.options.requestTimeoutMs, signal: this.abortController.signal,
    });
    if (answer.status === 200) return this.partialResult(answer.body, records.length);
    const type = errorType(answer.body);
    const reason = `kinesis PutRecords answered ${answer.status}${type ? ` ${type}` : ''}`;
    if (answer.status >= 500 || RETRYABLE_ERRORS.has(type)) return { kind: 'retry', reason, retryAfterMs: parseRetryAfter(answer.headers['retry-after']) };
    return { kind: 'fail', reason };
  }

  private partialResult(text: string, count: number): AttemptResult {
    let answer: PutRecordsAnswer;
    try {
      answer = JSON.parse(text) as PutRecordsAnswer;
    } catch {
      return { kind: 'retry', reason: 'kinesis PutRecords answered 200 with a body that is not JSON' };
    }
    if (!answer.FailedRecordCount) return { kind: 'ok' };
    const only: number[] = [];
    let firstError = '';
    (answer.Records ?? []).forEach((record, index) => {
      if (record.ErrorCode) {
        only.push(index);
        firstError ||= `${record.ErrorCode}: ${record.ErrorMessage ?? ''}`;
      }
    });
    if (only.length === 0) for (let index = 0; index < count; index++) only.push(index);
    return { kind: 'retry', reason: `kinesis refused ${only.length} of ${count} records (${firstError})`, only };
  }

  protected override async release(): Promise<void> {
    this.agent.destroy();
  }
}

function errorType(body: string): string {
  try {
    const parsed = JSON.parse(body) as { __type?: string };
    // "__type" may be "com.amazonaws.kinesis#Name" or just "Name".
    return (parsed.__type ?? '').split('#').pop() ?? '';
  } catch {
    return '';
  }
}
