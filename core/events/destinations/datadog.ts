// The datadog target: the Datadog logs intake, POST /api/v2/logs with the DD-API-KEY header and a
// gzipped JSON array of log objects {ddsource, ddtags, hostname, service, message}, one per event
// (message is the event's JSON text). Payload limits per Datadog's docs: 5 MB uncompressed and 1000
// entries per request. `ddsite` (e.g. datadoghq.eu, us3.datadoghq.com) picks
// https://http-intake.logs.<site>; `endpoint` overrides the base URL (a local receiver, a proxy).
import type http from 'node:http';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { DataProtection, EventTarget } from '../model.js';
import type { ResolvedOptions } from './types.js';
import { DestinationConfigError } from './config-error.js';
import { QueuedDestination, type AttemptResult } from './queue.js';
import { jsonText } from './framing.js';
import { agentFor, parseHttpUrl, post } from './post.js';
import { classifyHttpAnswer } from './http.js';

type DatadogTarget = NonNullable<EventTarget['datadog']>;

export const DATADOG_MAX_ENTRIES = 1000;
export const DATADOG_MAX_PAYLOAD_BYTES = 5 * 1000 * 1000;
export const DATADOG_SOURCE = 'edgeplane';
const gzipAsync = promisify(gzip);

/** The intake URL for a Datadog site ("datadoghq.com", "app.datadoghq.eu", "us3.datadoghq.com"...). */
export function datadogIntakeUrl(site: string | undefined): string {
  const bare = (site ?? 'datadoghq.com').trim().replace(/^https?:\/\//, '').replace(/\/.*$/, '').replace(/^app\./, '');
  return `https://http-intake.logs.${bare}/api/v2/logs`;
}

interface LogItem {
  ddsource: string;
  ddtags?: string;
  hostname: string;
  service?: string;
  message: string;
}

export class DatadogDestination extends QueuedDestination {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly host = hostname();
  // Per-item JSON around the message: keys, tags, service, hostname, separators.
  private readonly itemOverhead: number;

  constructor(id: string, private readonly target: DatadogTarget, protection: DataProtection, options: ResolvedOptions) {
    const overhead = Buffer.byteLength(JSON.stringify({ ddsource: DATADOG_SOURCE, ddtags: target.ddtags, hostname: hostname(), service: target.service, message: '' })) + 1;
    super(id, protection, options, {
      maxBatchRecords: Math.min(DATADOG_MAX_ENTRIES, options.maxBatchRecords),
      maxBatchBytes: DATADOG_MAX_PAYLOAD_BYTES - 2,
      concurrency: options.concurrency,
    });
    this.itemOverhead = overhead;
    const where = `event destination ${id}: datadog`;
    if (typeof target.api_key !== 'string' || target.api_key.length === 0) throw new DestinationConfigError(`${where}.api_key is required`);
    let base = target.endpoint ?? datadogIntakeUrl(target.ddsite);
    const parsed = parseHttpUrl(base, target.endpoint ? `${where}.endpoint` : `${where}.ddsite`);
    if (typeof parsed === 'string') throw new DestinationConfigError(parsed);
    // An endpoint given as a bare origin gets the intake path.
    if (parsed.pathname === '/' || parsed.pathname === '') base = new URL('/api/v2/logs', parsed).toString();
    this.url = new URL(base);
    this.agent = agentFor(this.url, options.concurrency);
  }

  /** The exact uncompressed size the record adds to the JSON array (messages are escaped strings). */
  protected override recordCost(record: Buffer): number {
    return Buffer.byteLength(JSON.stringify(jsonText(record))) + (this.itemOverhead ?? 0);
  }

  protected async transmit(records: Buffer[]): Promise<AttemptResult> {
    const items: LogItem[] = records.map((record) => ({
      ddsource: DATADOG_SOURCE,
      ...(this.target.ddtags ? { ddtags: this.target.ddtags } : {}),
      hostname: this.host,
      ...(this.target.service ? { service: this.target.service } : {}),
      message: jsonText(record),
    }));
    const body = await gzipAsync(Buffer.from(JSON.stringify(items), 'utf8'));
    const answer = await post(this.url, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      'dd-api-key': this.target.api_key,
      'user-agent': 'edgeplane-events',
    }, body, { agent: this.agent, timeoutMs: this.options.requestTimeoutMs, signal: this.abortController.signal });
    return classifyHttpAnswer(answer.status, answer.headers['retry-after'], `datadog ${this.url.host}`);
  }

  protected override async release(): Promise<void> {
    this.agent.destroy();
  }
}
