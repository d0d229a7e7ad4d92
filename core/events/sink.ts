// Where NDJSON event lines go: stdout ("-") or an append-only file. Bounded: when the
// destination cannot keep up, whole batches are dropped and counted, never the acceptor blocked.
import { createWriteStream, type WriteStream } from 'node:fs';
import { log, errorFields } from '../log.js';

const MAX_PENDING_BYTES = 8 * 1024 * 1024;

export class EventSink {
  private stream: NodeJS.WritableStream | WriteStream | null;
  dropped = 0;
  written = 0;

  constructor(readonly target: string | null) {
    if (target === null) this.stream = null;
    else if (target === '-') this.stream = process.stdout;
    else {
      const file = createWriteStream(target, { flags: 'a' });
      file.on('error', (err) => log.error('event file failed; events are dropped from now on', { file: target, ...errorFields(err) }));
      this.stream = file;
    }
  }

  /** `lines` is one or more complete NDJSON lines, each ending in '\n'. */
  write(lines: string, count: number): void {
    const stream = this.stream;
    if (stream === null) return;
    const pending = (stream as { writableLength?: number }).writableLength ?? 0;
    if (pending > MAX_PENDING_BYTES || (stream as { destroyed?: boolean }).destroyed) {
      this.dropped += count;
      return;
    }
    stream.write(lines);
    this.written += count;
  }

  close(): Promise<void> {
    const stream = this.stream;
    this.stream = null;
    if (stream === null || stream === process.stdout) return Promise.resolve();
    return new Promise((resolve) => (stream as WriteStream).end(resolve));
  }
}
