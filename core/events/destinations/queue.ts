// The part every destination shares: a bounded in-memory queue (bytes and age, from data_protection),
// a pump that sends batches in the background with at most `concurrency` in flight, retries with
// back-off, and the counters. Subclasses implement one attempt at sending one batch.
import type { DataProtection } from '../model.js';
import type { DeliveryBatch, Destination, DestinationStats, ResolvedOptions, TestEventResult } from './types.js';
import { backoffDelay } from './backoff.js';
import { NDJSON_CONTENT_TYPE, testEventRecord, toBuffer } from './framing.js';

interface Entry {
  data: Buffer;
  contentType: string;
  /** Enqueue time (ms), for retention_seconds. */
  at: number;
}

/** What one send attempt came to. */
export type AttemptResult =
  | { kind: 'ok' }
  /** Try again later; `only` lists the indices still to send (the rest were delivered). */
  | { kind: 'retry'; reason: string; retryAfterMs?: number; only?: number[] }
  | { kind: 'fail'; reason: string };

export interface BatchLimits {
  maxBatchRecords: number;
  /** Sum of recordCost() per batch; one record over it still goes, alone. */
  maxBatchBytes: number;
  concurrency: number;
  /** Records larger than this are failed at once (the receiver would refuse them). */
  maxRecordBytes?: number;
}

export abstract class QueuedDestination implements Destination {
  private queue: Entry[] = [];
  private head = 0;
  private queuedBytes = 0;
  private inFlightBytes = 0;
  /** Batches being sent or waiting for a retry. */
  private inFlight = 0;
  private delivered = 0;
  private dropped = 0;
  private retried = 0;
  private failed = 0;
  private lastError: string | null = null;
  private pumpScheduled = false;
  private closed = false;
  private aborted = false;
  private readonly retryTimers = new Map<NodeJS.Timeout, Entry[]>();
  private readonly sending = new Set<Promise<void>>();
  /** Batches whose request is on the wire right now. */
  private readonly onWire = new Set<Entry[]>();
  private idleWaiters: Array<() => void> = [];
  /** Set while exclusive() runs: nothing new is sent; retries due meanwhile wait in `deferred`. */
  private paused: Promise<void> | null = null;
  private deferred: Array<() => void> = [];
  private readonly maxBufferBytes: number;
  private readonly maxAgeMs: number;
  private readonly sweeper: NodeJS.Timeout | null = null;
  /** Aborts requests still in flight when close() runs out of time. */
  protected readonly abortController = new AbortController();

  constructor(
    readonly id: string,
    protection: DataProtection,
    protected readonly options: ResolvedOptions,
    private readonly limits: BatchLimits,
  ) {
    const retentionBytes = protection?.retention_bytes ?? 0;
    this.maxBufferBytes = retentionBytes > 0 ? Math.min(retentionBytes, options.maxBufferBytes) : options.maxBufferBytes;
    this.maxAgeMs = (protection?.retention_seconds ?? 0) * 1000;
    if (this.maxAgeMs > 0) {
      // Stalled receivers stop the pump; expired data must still leave memory on time.
      this.sweeper = setInterval(() => this.dropExpired(Date.now()), Math.max(50, Math.min(1000, this.maxAgeMs / 2)));
      this.sweeper.unref();
    }
  }

  /** One attempt at sending `records` (all of one content type). Throwing counts as a retryable error. */
  protected abstract transmit(records: Buffer[], contentType: string): Promise<AttemptResult>;

  /** Releases files and sockets once the queue is settled. */
  protected async release(): Promise<void> {}

  /** Bytes a record adds to a batch (default: its length). */
  protected recordCost(record: Buffer): number {
    return record.length;
  }

  deliver(batch: DeliveryBatch): void {
    const now = Date.now();
    const maxRecord = this.limits.maxRecordBytes ?? Infinity;
    for (const record of batch.records) {
      const data = toBuffer(record);
      if (this.closed || data.length > this.maxBufferBytes) {
        this.dropped++;
        continue;
      }
      if (data.length > maxRecord) {
        this.failed++;
        this.lastError = `record of ${data.length} bytes exceeds the target's limit of ${maxRecord}`;
        continue;
      }
      this.queue.push({ data, contentType: batch.contentType, at: now });
      this.queuedBytes += data.length;
    }
    // Oldest first, as retention_bytes says; in-flight data counts against the bound too.
    while (this.queuedBytes + this.inFlightBytes > this.maxBufferBytes && this.head < this.queue.length) this.dropHead();
    this.schedulePump();
  }

  stats(): DestinationStats {
    return {
      delivered: this.delivered,
      dropped: this.dropped,
      retried: this.retried,
      failed: this.failed,
      buffered_bytes: this.queuedBytes + this.inFlightBytes,
      last_error: this.lastError,
    };
  }

  flush(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    this.schedulePump();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return this.flush();
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), this.options.closeTimeoutMs); });
    const outcome = await Promise.race([this.flush().then(() => 'idle' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') await this.abandon();
    await this.release();
  }

  async sendTestEvent(record?: { data: Uint8Array | string; contentType: string }): Promise<TestEventResult> {
    const data = record ? toBuffer(record.data) : testEventRecord(this.id, this.options.accountId);
    try {
      const result = await this.transmit([data], record?.contentType ?? NDJSON_CONTENT_TYPE);
      return result.kind === 'ok' ? { ok: true } : { ok: false, error: result.reason };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  /**
   * Removes every record still held here (queued, or waiting for a retry) that `matches`; the
   * deletion API uses it. Records on the wire right now are not touched. Returns how many.
   */
  purge(matches: (record: Buffer, contentType: string) => boolean): number {
    let removed = 0;
    const kept: Entry[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const entry = this.queue[i];
      if (matches(entry.data, entry.contentType)) { removed++; this.queuedBytes -= entry.data.length; } else kept.push(entry);
    }
    this.queue = kept;
    this.head = 0;
    // Retry batches: filtered in place (the timer holds the same array); an emptied one finishes as a no-op.
    for (const entries of this.retryTimers.values()) {
      for (let i = entries.length - 1; i >= 0; i--) {
        if (!matches(entries[i].data, entries[i].contentType)) continue;
        this.inFlightBytes -= entries[i].data.length;
        entries.splice(i, 1);
        removed++;
      }
    }
    this.notifyIfIdle();
    return removed;
  }

  /**
   * Runs `work` while nothing is being sent: sends on the wire finish first, no new one starts until
   * `work` settles. With `releaseResources`, release() runs before `work` (only for targets that
   * reopen lazily, like the file target, so its files can be rewritten under it).
   */
  async exclusive<T>(work: () => Promise<T>, releaseResources = false): Promise<T> {
    while (this.paused !== null) await this.paused;
    let resume!: () => void;
    this.paused = new Promise((resolve) => { resume = resolve; });
    try {
      while (this.sending.size > 0) await Promise.allSettled([...this.sending]);
      if (releaseResources) await this.release();
      return await work();
    } finally {
      this.paused = null;
      resume();
      const deferred = this.deferred;
      this.deferred = [];
      for (const run of deferred) run();
      if (this.head < this.queue.length) this.schedulePump();
    }
  }

  private dropHead(): void {
    const entry = this.queue[this.head++];
    this.queuedBytes -= entry.data.length;
    this.dropped++;
  }

  private dropExpired(now: number): void {
    if (this.maxAgeMs <= 0) return;
    const oldest = now - this.maxAgeMs;
    while (this.head < this.queue.length && this.queue[this.head].at < oldest) this.dropHead();
    this.compact();
    this.notifyIfIdle();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.aborted) return;
    this.pumpScheduled = true;
    // setImmediate, not a microtask: many deliver() calls in one tick coalesce into full batches.
    setImmediate(() => this.pump());
  }

  private pump(): void {
    this.pumpScheduled = false;
    if (this.paused !== null) return; // exclusive() schedules a pump when it ends
    this.dropExpired(Date.now());
    while (!this.aborted && this.inFlight < this.limits.concurrency && this.head < this.queue.length) {
      const batch = this.takeBatch();
      this.inFlight++;
      this.inFlightBytes += byteSum(batch);
      this.track(this.send(batch, 1));
    }
    this.compact();
    this.notifyIfIdle();
  }

  private takeBatch(): Entry[] {
    const first = this.queue[this.head];
    const batch: Entry[] = [];
    let cost = 0;
    while (this.head < this.queue.length && batch.length < this.limits.maxBatchRecords) {
      const entry = this.queue[this.head];
      if (entry.contentType !== first.contentType) break;
      const entryCost = this.recordCost(entry.data);
      if (batch.length > 0 && cost + entryCost > this.limits.maxBatchBytes) break;
      batch.push(entry);
      cost += entryCost;
      this.queuedBytes -= entry.data.length;
      this.head++;
    }
    return batch;
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private track(promise: Promise<void>): void {
    this.sending.add(promise);
    void promise.finally(() => this.sending.delete(promise));
  }

  private async send(batch: Entry[], attempt: number): Promise<void> {
    let result: AttemptResult;
    this.onWire.add(batch);
    try {
      result = await this.transmit(batch.map((entry) => entry.data), batch[0].contentType);
    } catch (err) {
      result = { kind: 'retry', reason: err instanceof Error ? err.message : String(err) };
    } finally {
      this.onWire.delete(batch);
    }
    if (this.aborted) {
      // close() ran out of time and already counted this batch as dropped.
      return;
    }
    if (result.kind === 'ok') {
      this.delivered += batch.length;
      this.finish(batch);
      return;
    }
    this.lastError = result.reason;
    if (result.kind === 'fail') {
      this.failed += batch.length;
      this.finish(batch);
      return;
    }
    const pending = result.only ? result.only.map((index) => batch[index]).filter((entry) => entry !== undefined) : batch;
    const done = batch.length - pending.length;
    if (done > 0) {
      this.delivered += done;
      this.inFlightBytes -= byteSum(batch) - byteSum(pending);
    }
    if (pending.length === 0) {
      this.finish([]);
      return;
    }
    if (attempt >= this.options.maxAttempts) {
      this.failed += pending.length;
      this.finish(pending);
      return;
    }
    const delay = Math.min(this.options.maxDelayMs,
      result.retryAfterMs ?? backoffDelay(attempt, this.options.baseDelayMs, this.options.maxDelayMs, this.options.random));
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.retryLater(pending, attempt + 1);
    }, delay);
    this.retryTimers.set(timer, pending);
  }

  private retryLater(pending: Entry[], attempt: number): void {
    if (this.paused !== null) {
      this.deferred.push(() => this.retryLater(pending, attempt));
      return;
    }
    // Data that outlived retention_seconds while waiting is dropped, not re-sent.
    const oldest = this.maxAgeMs > 0 ? Date.now() - this.maxAgeMs : -Infinity;
    const fresh = pending.filter((entry) => entry.at >= oldest);
    const expired = pending.length - fresh.length;
    if (expired > 0) {
      this.dropped += expired;
      this.inFlightBytes -= byteSum(pending) - byteSum(fresh);
    }
    if (fresh.length === 0) {
      this.finish([]);
      return;
    }
    this.retried += fresh.length;
    this.track(this.send(fresh, attempt));
  }

  /** A batch leaves the in-flight set; `remaining` are its entries whose bytes are still counted. */
  private finish(remaining: Entry[]): void {
    this.inFlightBytes -= byteSum(remaining);
    this.inFlight--;
    if (this.head < this.queue.length) this.schedulePump();
    this.notifyIfIdle();
  }

  /** close() ran out of time: everything not yet acknowledged is dropped and counted. */
  private async abandon(): Promise<void> {
    this.aborted = true;
    for (const [timer, entries] of this.retryTimers) {
      clearTimeout(timer);
      this.dropped += entries.length;
    }
    this.retryTimers.clear();
    this.dropped += this.queue.length - this.head;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    // Requests on the wire: abort them and count their records as dropped.
    for (const entries of this.onWire) this.dropped += entries.length;
    this.abortController.abort();
    // A write to a wedged pipe cannot be aborted; do not let it hold close() forever.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.sending]), new Promise((resolve) => { timer = setTimeout(resolve, 1000); })]);
    clearTimeout(timer);
    this.inFlight = 0;
    this.inFlightBytes = 0;
    this.notifyIfIdle();
  }

  private isIdle(): boolean {
    return this.inFlight === 0 && this.head === this.queue.length;
  }

  private notifyIfIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function byteSum(entries: Entry[]): number {
  let total = 0;
  for (const entry of entries) total += entry.data.length;
  return total;
}
