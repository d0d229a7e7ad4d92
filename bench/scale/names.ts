// The route-scale job, shared by every proxy: N hostnames h0.scale.test … h{N-1}.scale.test routed to
// origin A, one probe hostname routed to A before the reload and to B after it, and a name that is
// covered by nothing (it must not route).
export const SCALE_DOMAIN = 'scale.test';
export const PROBE_NAME = `probe.${SCALE_DOMAIN}`;
export const UNKNOWN_NAME = `unknown.${SCALE_DOMAIN}`;
/** The hostname count of the baseline point every N is compared with. */
export const BASELINE_HOSTS = 3;

export function hostName(i: number): string {
  return `h${i}.${SCALE_DOMAIN}`;
}

/** What the two origins write right after the handshake, so a client can tell where it was routed. */
export const MARKER = { a: 'A', b: 'B' } as const;
export type Variant = keyof typeof MARKER;

export const PROXIES = ['edgeplane', 'nginx', 'haproxy'] as const;
export type ScaleProxy = (typeof PROXIES)[number];

// Own ports (moved by --port-offset), apart from run.js's, so both benches can share a machine.
const ORIGIN_PORTS = { a: 18643, b: 18644 } as const;
const PROXY_PORTS: Record<ScaleProxy, number> = { edgeplane: 29743, nginx: 22744, haproxy: 22743 };

export interface ScalePorts { originA: number; originB: number; proxy: Record<ScaleProxy, number> }

export function scalePorts(offset: number): ScalePorts {
  return {
    originA: ORIGIN_PORTS.a + offset,
    originB: ORIGIN_PORTS.b + offset,
    proxy: { edgeplane: PROXY_PORTS.edgeplane + offset, nginx: PROXY_PORTS.nginx + offset, haproxy: PROXY_PORTS.haproxy + offset },
  };
}
