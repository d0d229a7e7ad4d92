import { closeSync, openSync, writeSync } from 'node:fs';

// A million-line config is written in ~1 MB blocks: one string per line would cost a syscall each,
// one string for the whole file would hold ~100 MB of text at once.
const BLOCK_CHARS = 1 << 20;

/** Appends text to a new file in large blocks; `close()` flushes. Returns the bytes written. */
export class TextWriter {
  private readonly fd: number;
  private buffer = '';
  private bytes = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  write(text: string): void {
    this.buffer += text;
    if (this.buffer.length >= BLOCK_CHARS) this.flush();
  }

  close(): number {
    this.flush();
    closeSync(this.fd);
    return this.bytes;
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    this.bytes += writeSync(this.fd, this.buffer);
    this.buffer = '';
  }
}
