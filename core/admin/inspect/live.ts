// The live feed behind /inspect/live: traffic rows batched a few times a second under a per-second
// cap, and a snapshot every snapshotIntervalMs. Every message is serialised once and published to one
// uWS topic, so N open pages cost one JSON.stringify, and each socket is held to uWS's
// maxBackpressure (closeOnBackpressureLimit): a page that stops reading is closed, the daemon never
// buffers more than that for it and never waits for it. Timers and the source subscription exist
// only while at least one page is open.
import type { InspectionSource } from './source.js';
import { trafficRow, type TrafficRow } from './summary.js';

export const LIVE_TOPIC = 'inspect';

export interface LiveOptions {
  /** Traffic rows sent per second at most (the rest are counted as `skipped`). */
  maxEventsPerSecond: number;
  flushIntervalMs: number;
  snapshotIntervalMs: number;
}

export interface LiveStats {
  clients: number;
  /** Rows sent (to all clients alike) and rows skipped by the rate cap. */
  sentRows: number;
  skippedRows: number;
  messages: number;
  bytesPublished: number;
  /** Sockets uWS closed because they passed maxBackpressure. */
  droppedClients: number;
}

export interface Publisher {
  publish(message: string): void;
}

export class LiveFeed {
  private pending: TrafficRow[] = [];
  private windowStart = 0;
  private sentInWindow = 0;
  private skipped = 0;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | null = null;
  readonly stats: LiveStats = { clients: 0, sentRows: 0, skippedRows: 0, messages: 0, bytesPublished: 0, droppedClients: 0 };

  constructor(private readonly source: InspectionSource, private readonly out: Publisher, private readonly options: LiveOptions) {}

  /** A page connected: start the feed if it is the first. Returns the message to greet it with. */
  clientOpened(): string {
    this.stats.clients += 1;
    if (this.stats.clients === 1) this.start();
    return this.snapshotMessage();
  }

  clientClosed(overBackpressure: boolean): void {
    this.stats.clients = Math.max(0, this.stats.clients - 1);
    if (overBackpressure) this.stats.droppedClients += 1;
    if (this.stats.clients === 0) this.stop();
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.pending = [];
  }

  private start(): void {
    this.windowStart = Date.now();
    this.sentInWindow = 0;
    this.unsubscribe = this.source.onEvents((events) => this.take(events));
    const flush = setInterval(() => this.flush(), this.options.flushIntervalMs);
    const snap = setInterval(() => this.send(this.snapshotMessage()), this.options.snapshotIntervalMs);
    flush.unref();
    snap.unref();
    this.timers = [flush, snap];
  }

  private take(events: object[]): void {
    const room = this.options.maxEventsPerSecond - this.sentInWindow - this.pending.length;
    for (const event of events) {
      const row = trafficRow(event);
      if (row === null) continue;
      if (this.pending.length < room) this.pending.push(row);
      else this.skipped += 1;
    }
  }

  private flush(): void {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.sentInWindow = 0;
    }
    if (this.pending.length === 0 && this.skipped === 0) return;
    const rows = this.pending;
    this.pending = [];
    this.sentInWindow += rows.length;
    this.stats.sentRows += rows.length;
    this.stats.skippedRows += this.skipped;
    this.send(JSON.stringify({ type: 'events', rows, skipped: this.skipped }));
    this.skipped = 0;
  }

  private snapshotMessage(): string {
    try {
      return JSON.stringify({ type: 'snapshot', at: new Date().toISOString(), ...this.source.snapshot() });
    } catch (err) {
      return JSON.stringify({ type: 'error', msg: `snapshot failed: ${(err as Error).message}` });
    }
  }

  private send(message: string): void {
    this.stats.messages += 1;
    this.stats.bytesPublished += message.length;
    this.out.publish(message);
  }
}
