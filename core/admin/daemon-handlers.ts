// The admin server's answers for a running daemon, built from what the daemon exposes: health,
// a metrics snapshot read at each scrape, the redacted config, and the debug and API hooks.
import type { AdminHandlers } from './server.js';
import { renderMetrics, type MetricsSnapshot } from './metrics.js';

export interface DaemonView {
  draining(): boolean;
  generation(): number;
  degraded(): boolean;
  workers(): Array<{ index: number; ready: boolean; active: number }>;
  metricsSnapshot(): MetricsSnapshot;
  /** The config as /config shows it (secrets redacted). */
  redactedConfig(): unknown;
  /** Debug endpoints only; false when there is no such worker. */
  crashWorker: ((index: number) => boolean) | null;
  api: AdminHandlers['api'];
  inspection: AdminHandlers['inspection'];
}

const json = (status: number, body: unknown) => ({ status, contentType: 'application/json', body: JSON.stringify(body, null, 2) + '\n' });

export function daemonAdminHandlers(view: DaemonView): AdminHandlers {
  const crash = view.crashWorker;
  return {
    healthz: () => json(view.draining() ? 503 : 200, {
      status: view.draining() ? 'draining' : 'ok',
      generation: view.generation(),
      degraded: view.degraded(),
      workers: view.workers(),
    }),
    metrics: () => ({ status: 200, contentType: 'text/plain; version=0.0.4', body: renderMetrics(view.metricsSnapshot()) }),
    config: () => json(200, { generation: view.generation(), config: view.redactedConfig() }),
    crashWorker: crash === null ? undefined : (index) => (crash(index) ? json(202, { crashing: index }) : json(404, { error: `no worker ${index}` })),
    api: view.api,
    inspection: view.inspection,
  };
}
