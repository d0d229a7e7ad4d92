// Test-only: a fake InspectionSource the test drives by hand, and a uWS app on 127.0.0.1:0 with the
// inspection endpoints registered on it (what the daemon's admin listener does).
import { loadUws } from '../../core/admin/uws.js';
import { registerInspection, type InspectionHandle, type InspectionOptions } from '../../core/admin/inspect/index.js';
import type { InspectionSnapshot, InspectionSource } from '../../core/admin/inspect/source.js';

interface Teardown { teardown(fn: () => unknown): void }

export class FakeInspectionSource implements InspectionSource {
  current: InspectionSnapshot = { routes: [], breakers: [], workers: [] };
  snapshots = 0;
  private readonly listeners = new Set<(events: object[]) => void>();

  snapshot(): InspectionSnapshot {
    this.snapshots += 1;
    return this.current;
  }

  onEvents(listener: (events: object[]) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** What the daemon's event stream would do: hand over one batch. */
  emit(events: object[]): void {
    for (const listener of this.listeners) listener(events);
  }

  get subscribers(): number { return this.listeners.size; }
}

export interface InspectionServer { port: number; base: string; handle: InspectionHandle }

export function startInspectionServer(t: Teardown, source: InspectionSource, options: InspectionOptions = {}): Promise<InspectionServer> {
  const uws = loadUws();
  const app = uws.App();
  const handle = registerInspection(app, source, options);
  app.any('/*', (res) => { res.writeStatus('404 Not Found').end('not found\n'); });
  return new Promise((resolve, reject) => {
    app.listen('127.0.0.1', 0, (token) => {
      if (!token) { reject(new Error('inspection test server: cannot listen')); return; }
      t.teardown(() => { handle.close(); uws.us_listen_socket_close(token); app.close?.(); });
      const port = uws.us_socket_local_port(token);
      resolve({ port, base: `http://127.0.0.1:${port}`, handle });
    });
  });
}
