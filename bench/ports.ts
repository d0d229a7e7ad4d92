import net from 'node:net';

// Fixed loopback ports (shifted by --port-offset), so the generated peer configs can be read as they ran.
// Origin: HTTP + TLS app1/app2/app3.example.test (the TLS ports are the SNI routing targets).
const ORIGIN_HTTP = 18080;
const ORIGIN_TLS = [18443, 18444, 18445] as const;
export const SNI_NAMES = ['app1.example.test', 'app2.example.test', 'app3.example.test'] as const;

// The breaker scenario's upstream (bench/origin/flaky-origin.ts): traffic port, and its control port.
const FLAKY_HTTP = 18090;
const FLAKY_CONTROL = 18091;

/** Ports a proxy peer listens on: `tls` = SNI passthrough, `tcp` = plain TCP forward. */
export interface ProxyPorts { tls: number; tcp: number }

const PROXY = {
  nginx: { tls: 22444, tcp: 24081 },
  haproxy: { tls: 22443, tcp: 24080 },
  edgeplane: { tls: 29443, tcp: 29080 },
} as const satisfies Record<string, ProxyPorts>;

/**
 * Ports of the HTTP jobs (peers-bench numbering where it has one): `http` = cleartext reverse proxy
 * (S1), `https` = TLS terminated at the proxy (S2a/S2b), `gzip` = cleartext with compression (S4),
 * `breaker` = cleartext to the flaky origin with a circuit breaker. edgeplane routes cleartext
 * through an https edge, so each of its jobs also has that edge's TLS port (`edge`).
 */
export interface HttpProxyPorts { http?: number; https?: number; gzip?: number; breaker?: number; edge?: number }

const HTTP_PROXY: Record<string, HttpProxyPorts> = {
  nginx: { http: 20080, https: 21443, gzip: 23080 },
  haproxy: { http: 20081, https: 21444, gzip: 23081, breaker: 25081 },
  caddy: { http: 20082, https: 21445, gzip: 23082, breaker: 25082 },
  'http-proxy': { http: 20083 },
  fastify: { http: 20084 },
  edgeplane: { http: 29180, https: 29543, gzip: 29280, breaker: 29380, edge: 29643 },
};

let offset = 0;

/** Moves every port by n (another bench or a stray process may hold the defaults). */
export function setPortOffset(n: number): void { offset = n; }
export function portOffset(): number { return offset; }
export function originHttpPort(): number { return ORIGIN_HTTP + offset; }
export function originTlsPorts(): number[] { return ORIGIN_TLS.map((p) => p + offset); }
/** Whether a peer is an L4 proxy at all (has the `tls`/`tcp` ports). */
export function hasProxyPorts(peer: string): peer is keyof typeof PROXY { return Object.hasOwn(PROXY, peer); }
export function proxyPorts(peer: keyof typeof PROXY): ProxyPorts {
  return { tls: PROXY[peer].tls + offset, tcp: PROXY[peer].tcp + offset };
}
export function httpProxyPorts(peer: string): HttpProxyPorts {
  const out: HttpProxyPorts = {};
  for (const [k, v] of Object.entries(HTTP_PROXY[peer] ?? {})) out[k as keyof HttpProxyPorts] = v + offset;
  return out;
}
export function flakyHttpPort(): number { return FLAKY_HTTP + offset; }
export function flakyControlPort(): number { return FLAKY_CONTROL + offset; }

export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.setTimeout(1000);
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('timeout', () => { sock.destroy(); resolve(false); });
    sock.once('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until the port accepts; `alive` lets a dead process end the wait early. */
export async function waitPortOpen(port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await canConnect(port)) return true;
    if (!alive()) return false;
    await sleep(100);
  }
  return false;
}

export async function waitPortClosed(port: number, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!(await canConnect(port))) return true;
    await sleep(100);
  }
  return false;
}
