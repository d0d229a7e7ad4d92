// After an attack: the daemon is alive, /metrics answers, and its open connections are back to
// the baseline (nothing leaked).
import type { DaemonHandle } from '../daemon.js';

/** Sum of every sample of `name` in Prometheus text (all label sets). */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Connections open on the workers now (edgeplane_worker_connections_active over all workers). */
export async function activeConnections(daemon: DaemonHandle): Promise<number> {
  return metricSum(await daemon.metrics(), 'edgeplane_worker_connections_active');
}

/** Waits until the workers hold at most `baseline` connections; resolves with the last count seen. */
export async function connectionsBackTo(daemon: DaemonHandle, baseline: number, timeoutMs = 10_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const now = await activeConnections(daemon);
    if (now <= baseline || Date.now() > until) return now;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Refusals counted by the acceptor for one reason (edgeplane_acceptor_refusals_total{reason}). */
export async function refusals(daemon: DaemonHandle, reason: string): Promise<number> {
  return metricSum(await daemon.metrics(), `edgeplane_acceptor_refusals_total{reason="${reason}"}`);
}
