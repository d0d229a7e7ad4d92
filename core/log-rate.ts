// Warnings about floods: one line per key per interval, carrying how many were suppressed since the
// last one, so an attack cannot turn the log into a second attack (disk, CPU).
import { log, type LogFields } from './log.js';

/** Keys come from the config (edges, endpoints): a bound against surprises, not a cache size. */
const MAX_KEYS = 1024;

export class RateLimitedWarning {
  private readonly lastMs = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  /** Logs what `describe` gives at most once per interval for `key`; counts the rest. */
  note(describe: () => { msg: string; fields: LogFields }, key = ''): void {
    const now = Date.now();
    const last = this.lastMs.get(key);
    if (last !== undefined && now - last < this.intervalMs) {
      this.suppressed.set(key, (this.suppressed.get(key) ?? 0) + 1);
      return;
    }
    const { msg, fields } = describe();
    log.warn(msg, { ...fields, suppressed_since_last: this.suppressed.get(key) ?? 0 });
    if (this.lastMs.size >= MAX_KEYS && !this.lastMs.has(key)) { this.lastMs.clear(); this.suppressed.clear(); }
    this.lastMs.set(key, now);
    this.suppressed.set(key, 0);
  }
}
