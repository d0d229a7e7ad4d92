// The stdout target: NDJSON lines on the daemon's stdout (logs go to stderr, so they do not mix).
// Honours back-pressure: a slow reader of the pipe fills the bounded buffer, then drops are counted.
import type { DataProtection } from '../model.js';
import type { ResolvedOptions } from './types.js';
import { QueuedDestination, type AttemptResult } from './queue.js';
import { frameRecords } from './framing.js';

export class StdoutDestination extends QueuedDestination {
  private readonly stream: NodeJS.WritableStream;

  constructor(id: string, protection: DataProtection, options: ResolvedOptions) {
    super(id, protection, options, { maxBatchRecords: options.maxBatchRecords, maxBatchBytes: 256 * 1024, concurrency: 1 });
    this.stream = options.stdout;
  }

  protected transmit(records: Buffer[], contentType: string): Promise<AttemptResult> {
    const body = frameRecords(records, contentType);
    return new Promise((resolve) => {
      this.stream.write(body, (err) => {
        resolve(err ? { kind: 'fail', reason: `stdout: ${err.message}` } : { kind: 'ok' });
      });
    });
  }
}
