// Collects serialised event lines and hands them off in batches (every FLUSH_MS or when a batch
// reaches FLUSH_BYTES). Bounded: past MAX_PENDING_EVENTS unflushed events, new ones are dropped
// and counted, so a stalled sink can never grow a worker's memory without limit.
const FLUSH_MS = 50;
const FLUSH_BYTES = 64 * 1024;
const MAX_PENDING_EVENTS = 50_000;

export class EventBatcher {
  private lines: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;
  dropped = 0;

  constructor(private readonly deliver: (data: string, count: number) => void) {}

  add(line: string): void {
    if (this.lines.length >= MAX_PENDING_EVENTS) { this.dropped++; return; }
    this.lines.push(line);
    this.bytes += line.length;
    if (this.bytes >= FLUSH_BYTES) this.flush();
    else if (this.timer === null) this.timer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  flush(): void {
    if (this.timer !== null) { clearTimeout(this.timer); this.timer = null; }
    if (this.lines.length === 0) return;
    const count = this.lines.length;
    const data = this.lines.join('\n') + '\n';
    this.lines = [];
    this.bytes = 0;
    this.deliver(data, count);
  }
}
