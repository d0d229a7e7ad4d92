// One daemon with an https edge on *.example.test in front of a loopback origin, for the
// hostile-client tests: small limits and timeouts so attacks play out in seconds.
import { makePki, type Pki } from '../pki.js';
import { startDaemon, type DaemonHandle } from '../daemon.js';
import { freePort } from '../net.js';
import { exampleTestCertificates, startOrigin, type Origin, type OriginHandler } from '../http.js';

interface Teardown { teardown(fn: () => unknown): void }

export interface HostileEdge {
  daemon: DaemonHandle;
  origin: Origin;
  pki: Pki;
  ca: string;
  port: number;
  host: string;
  /** The Host header value for raw requests (host:port). */
  authority: string;
}

export async function startHostileEdge(t: Teardown, o: { handler: OriginHandler; http: Record<string, unknown>; top?: Record<string, unknown>; env?: NodeJS.ProcessEnv }): Promise<HostileEdge> {
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const host = 'app.example.test';
  const port = await freePort();
  const origin = await startOrigin(t, o.handler);
  const daemon = await startDaemon(t, {
    workers: 2,
    listen_address: '127.0.0.1',
    ...o.top,
    ...exampleTestCertificates(pki),
    backends: [{ id: 'bkd_origin', type: 'static_address', address: origin.address }],
    edges: [{ id: 'edghts_app', type: 'https', hostports: [`${host}:${port}`], routes: [{ id: 'rt_app', match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_origin' } }] }],
    http: o.http,
  }, { env: { EDGEPLANE_LOG_LEVEL: 'info', ...o.env } });
  return { daemon, origin, pki, ca: pki.read('ca.crt'), port, host, authority: `${host}:${port}` };
}
