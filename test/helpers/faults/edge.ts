// One https edge with one catch-all route to a loopback origin that answers after a few milliseconds
// (so requests are in flight when a fault strikes): the daemon config the process and disk fault
// tests share, and a bounded client for it.
import { makePki } from '../pki.js';
import { exampleTestCertificates, startOrigin, type Origin } from '../http.js';
import { h1, type Outcome } from './clients.js';

interface Teardown { teardown(fn: () => unknown): void }

export const APP = 'proc.example.test';
export const EDGE = 'edghts_proc';
export const REQUEST_TIMEOUT_MS = 8000;

export interface FaultEdge {
  ca: string;
  origin: Origin;
  /** A daemon config: 2 workers, the edge on `port`, `routeExtra` merged into its route. */
  config(port: number, routeExtra?: Record<string, unknown>): Record<string, unknown>;
  /** One request on a new connection, settled within REQUEST_TIMEOUT_MS. */
  get(port: number, path: string): Promise<Outcome>;
}

export async function faultEdge(t: Teardown): Promise<FaultEdge> {
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const ca = pki.read('ca.crt');
  const origin = await startOrigin(t, (req, res) => {
    req.resume();
    setTimeout(() => { res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 }); res.end('ok\n'); }, 5);
  });
  return {
    ca,
    origin,
    config: (port, routeExtra = {}) => ({
      workers: 2,
      listen_address: '127.0.0.1',
      ...exampleTestCertificates(pki),
      backends: [{ id: 'bkd_origin', type: 'static_address', address: origin.address }],
      edges: [{
        id: EDGE, type: 'https', hostports: [`${APP}:${port}`],
        routes: [{ id: 'rt_all', match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_origin' }, ...routeExtra }],
      }],
    }),
    get: (port, path) => h1({ port, host: APP, ca, path, timeoutMs: REQUEST_TIMEOUT_MS }),
  };
}
