// Where NDJSON event lines go: stdout ("-") or an append-only file. Bounded: when the
// destination cannot keep up, whole batches are dropped and counted, never the acceptor blocked.
import { createWriteStream, type WriteStream } from 'node:fs';
import { log, errorFields } from '../log.js';

const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** After a failed write (disk full, I/O error) the file is reopened this much later; meanwhile events are dropped and counted. */
const REOPEN_AFTER_MS = 5_000;

export class EventSink {
  private stream: NodeJS.WritableStream | WriteStream | null;
  dropped = 0;
  written = 0;
  /** Lines written while exclusive() has the file closed; they go to the file when it reopens. */
  private held: string[] | null = null;
  private heldBytes = 0;
  private closing = false;
  private reopenTimer: NodeJS.Timeout | null = null;

  constructor(readonly target: string | null, private readonly opts: { reopenAfterMs?: number } = {}) {
    if (target === null) this.stream = null;
    else if (target === '-') this.stream = process.stdout;
    else this.stream = this.openFile(target);
  }

  /** An append stream that, when a write fails, is replaced by a fresh one a little later. */
  private openFile(target: string): WriteStream {
    const file = createWriteStream(target, { flags: 'a' });
    file.on('error', (err) => {
      if (this.reopenTimer !== null || this.closing) return;
      const retryMs = this.opts.reopenAfterMs ?? REOPEN_AFTER_MS;
      log.error('event file failed; events are dropped (and counted) until it is reopened', { file: target, retry_in_ms: retryMs, ...errorFields(err) });
      this.reopenTimer = setTimeout(() => {
        this.reopenTimer = null;
        if (this.closing || this.held !== null || this.stream !== file) return;
        this.stream = this.openFile(target);
      }, retryMs);
      this.reopenTimer.unref();
    });
    return file;
  }

  /** `lines` is one or more complete NDJSON lines, each ending in '\n'. */
  write(lines: string, count: number): void {
    if (this.held !== null) {
      if (this.heldBytes > MAX_PENDING_BYTES) { this.dropped += count; return; }
      this.held.push(lines);
      this.heldBytes += lines.length;
      this.written += count;
      return;
    }
    const stream = this.stream;
    if (stream === null) return;
    const pending = (stream as { writableLength?: number }).writableLength ?? 0;
    if (pending > MAX_PENDING_BYTES || (stream as { destroyed?: boolean }).destroyed) {
      this.dropped += count;
      return;
    }
    // Counted when the write completes: a write that fails (ENOSPC, EFBIG, EIO) is a drop, not a write.
    stream.write(lines, (err?: Error | null) => { if (err) this.dropped += count; else this.written += count; });
  }

  /**
   * Runs `work(path)` with the event file closed (the deletion API rewrites it atomically), then
   * reopens it and appends the lines written meanwhile. Only for a file target.
   */
  async exclusive<T>(work: (path: string) => Promise<T>): Promise<T> {
    const target = this.target;
    if (target === null || target === '-' || this.held !== null || this.stream === null) throw new Error('event sink: no file to work on, or busy');
    const old = this.stream as WriteStream;
    this.held = [];
    this.heldBytes = 0;
    await new Promise<void>((resolve) => old.end(resolve));
    try {
      return await work(target);
    } finally {
      const held = this.held;
      this.held = null;
      const file = this.openFile(target);
      for (const lines of held) file.write(lines);
      if (this.closing) file.end(); else this.stream = file;
    }
  }

  close(): Promise<void> {
    this.closing = true;
    if (this.reopenTimer !== null) { clearTimeout(this.reopenTimer); this.reopenTimer = null; }
    const stream = this.stream;
    this.stream = null;
    if (stream === null || stream === process.stdout) return Promise.resolve();
    return new Promise((resolve) => (stream as WriteStream).end(resolve));
  }
}
