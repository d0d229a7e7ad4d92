// The http target: POSTs batches (NDJSON, or length-delimited protobuf) to target.http.url,
// signed with X-Edgeplane-Signature when a secret is set. 2xx is delivered; 429, 5xx and network
// errors are retried with back-off; any other 4xx fails the batch (the receiver will not change its mind).
import type http from 'node:http';
import type { DataProtection, EventTarget } from '../model.js';
import type { ResolvedOptions } from './types.js';
import { DestinationConfigError } from './config-error.js';
import { QueuedDestination, type AttemptResult } from './queue.js';
import { frameRecords } from './framing.js';
import { agentFor, parseHttpUrl, post } from './post.js';
import { parseRetryAfter } from './backoff.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';

export { verifyEdgeplaneSignature, SIGNATURE_HEADER } from './signature.js';

type HttpTarget = NonNullable<EventTarget['http']>;

const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;

export class HttpDestination extends QueuedDestination {
  private readonly url: URL;
  private readonly agent: http.Agent;

  constructor(id: string, private readonly target: HttpTarget, protection: DataProtection, options: ResolvedOptions) {
    super(id, protection, options, {
      maxBatchRecords: options.maxBatchRecords,
      maxBatchBytes: DEFAULT_MAX_BATCH_BYTES,
      concurrency: options.concurrency,
    });
    const url = parseHttpUrl(target.url, `event destination ${id}: http.url`);
    if (typeof url === 'string') throw new DestinationConfigError(url);
    if (target.secret !== undefined && target.secret.length === 0) {
      throw new DestinationConfigError(`event destination ${id}: http.secret must not be empty (leave it out to send unsigned)`);
    }
    this.url = url;
    this.agent = agentFor(url, options.concurrency);
  }

  protected async transmit(records: Buffer[], contentType: string): Promise<AttemptResult> {
    const body = frameRecords(records, contentType);
    const headers: Record<string, string> = {
      'user-agent': 'edgeplane-events',
      ...this.target.headers,
      'content-type': contentType,
    };
    // Signed per attempt, so a retry carries a fresh timestamp inside the receiver's window.
    if (this.target.secret) headers[SIGNATURE_HEADER] = signatureHeader(this.target.secret, body);
    const answer = await post(this.url, headers, body, {
      agent: this.agent, timeoutMs: this.options.requestTimeoutMs, signal: this.abortController.signal,
    });
    return classifyHttpAnswer(answer.status, answer.headers['retry-after'], `POST ${this.url.host}${this.url.pathname}`);
  }

  protected override async release(): Promise<void> {
    this.agent.destroy();
  }
}

/** Shared by the HTTP-based targets: 2xx ok, 429/5xx retry (honouring Retry-After), other statuses fail. */
export function classifyHttpAnswer(status: number, retryAfter: string | string[] | undefined, what: string): AttemptResult {
  if (status >= 200 && status < 300) return { kind: 'ok' };
  const reason = `${what} answered ${status}`;
  if (status === 429 || status >= 500) return { kind: 'retry', reason, retryAfterMs: parseRetryAfter(retryAfter) };
  return { kind: 'fail', reason };
}
