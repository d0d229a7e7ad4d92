// Reload reach: from the reload signal until clients see the probe hostname's new route.
import { handshake } from './handshake.js';
import { MARKER, PROBE_NAME } from './names.js';

/** What the clients saw after the signal (ms from the signal). */
export interface ReloadReach {
  /** first handshake that reached the new origin */
  first_new_ms: number;
  /** first handshake of the final unbroken run of new-origin answers (old workers may still answer meanwhile) */
  all_new_ms: number;
  /** slowest handshake while polling: how long the proxy stopped serving, if it did */
  max_handshake_ms: number;
  polls: number;
  /** handshakes refused or closed without a route while polling */
  failed_polls: number;
  /** what the failed ones saw, with ms after the signal (first few) */
  failures: string[];
}

// After the first new answer: this many in a row, or this long, ends the poll.
const STABLE_POLLS = 20;
const STABLE_MS = 3000;
const POLL_INTERVAL_MS = 5;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Sends `signal` to `pid`, then polls handshakes with the probe hostname until it reaches origin B
 * STABLE_POLLS times in a row. `signalEpochMs` is the wall clock at the signal (for log timestamps).
 */
export async function measureReload(pid: number, signal: NodeJS.Signals, port: number, timeoutMs: number,
  alive: () => boolean): Promise<{ reach: ReloadReach; signalEpochMs: number } | { error: string; signalEpochMs: number }> {
  const t0 = performance.now();
  const signalEpochMs = Date.now();
  process.kill(pid, signal);
  let firstNew: number | undefined;
  let runStart: number | undefined;
  let run = 0;
  let maxMs = 0;
  let polls = 0;
  let failed = 0;
  let last = 'no attempt';
  const failures: string[] = [];
  while (performance.now() - t0 < timeoutMs) {
    const r = await handshake(port, PROBE_NAME, Math.max(1, timeoutMs - (performance.now() - t0)));
    const at = performance.now() - t0;
    polls++;
    maxMs = Math.max(maxMs, r.ms);
    if (r.marker === MARKER.b) {
      firstNew ??= at;
      if (run === 0) runStart = at;
      run++;
      if (run >= STABLE_POLLS || at - firstNew >= STABLE_MS) {
        return { reach: { first_new_ms: firstNew, all_new_ms: runStart ?? at, max_handshake_ms: maxMs, polls, failed_polls: failed, failures }, signalEpochMs };
      }
    } else {
      run = 0;
      if (r.marker === null) {
        failed++;
        if (failures.length < 5) failures.push(`${r.error ?? 'no answer'} at ${Math.round(at)} ms (after ${Math.round(r.ms)} ms)`);
      }
      last = r.marker !== null ? `routed to origin ${r.marker}` : r.error ?? 'no answer';
      if (!alive()) return { error: `the proxy exited during the reload (last attempt: ${last})`, signalEpochMs };
    }
    await sleep(POLL_INTERVAL_MS);
  }
  return { error: `probe not routed to the new origin within ${Math.round(timeoutMs / 1000)} s of ${signal} (last attempt: ${last})`, signalEpochMs };
}
