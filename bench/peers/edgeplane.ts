import type { CertFiles } from '../fixtures.js';
import { proxyWorkers } from './workers.js';
import { flakyHttpPort, httpProxyPorts, originHttpPort, originTlsPorts, proxyPorts, SNI_NAMES } from '../ports.js';

// edgeplane's own config for the same two jobs: three TLS passthrough edges on one port
// (routed by SNI) and one TCP edge. Field names are the ngrok spec's.
export function edgeplaneConfig(): string {
  const { tls, tcp } = proxyPorts('edgeplane');
  const apps = SNI_NAMES.map((n, i) => ({ n, i: i + 1, port: originTlsPorts()[i] }));
  return `workers: ${proxyWorkers()}
listen_address: 127.0.0.1
tcp_idle_timeout: 0
tls_certificates: []
reserved_domains: [ { domain: "*.example.test" } ]
backends:
${apps.map((a) => `  - { id: bkd_app${a.i}, type: static_address, address: "127.0.0.1:${a.port}" }`).join('\n')}
  - { id: bkd_origin, type: static_address, address: "127.0.0.1:${originHttpPort()}" }
edges:
${apps.map((a) => `  - { id: edgtls_app${a.i}, type: tls, hostports: [ "${a.n}:${tls}" ], backend: { backend_id: bkd_app${a.i} }, tls_termination: { terminate_at: upstream } }`).join('\n')}
  - { id: edgtcp_origin, type: tcp, hostports: [ "127.0.0.1:${tcp}" ], backend: { backend_id: bkd_origin } }
`;
}

/** Breaker settings of the breaker job (spec §1.6 field names): one bucket = rolling_window / num_buckets s. */
export const EDGEPLANE_BREAKER = {
  error_threshold_percentage: 0.5, volume_threshold: 20, rolling_window: 10, num_buckets: 10, tripped_duration: 3,
} as const;

// The HTTP jobs: one https edge (app1.example.test) with one path_prefix route "/" to the origin's
// cleartext port, and the cleartext listener in "serve" mode, which routes by Host through the same
// routes (so every load sends Host: app1.example.test). `gzip` turns the compression module on;
// `breaker` points the route at the flaky origin behind a circuit_breaker.
export function edgeplaneHttpConfig(job: 'http' | 'gzip' | 'breaker', certs: CertFiles): string {
  const p = httpProxyPorts('edgeplane');
  const plain = { http: p.http, gzip: p.gzip, breaker: p.breaker }[job];
  const edgePort = job === 'http' ? p.https : p.edge;
  const upstream = job === 'breaker' ? flakyHttpPort() : originHttpPort();
  const module = {
    http: '',
    gzip: ', compression: { enabled: true }',
    breaker: `, circuit_breaker: { enabled: true, ${Object.entries(EDGEPLANE_BREAKER).map(([k, v]) => `${k}: ${v}`).join(', ')} }`,
  }[job];
  return `workers: ${proxyWorkers()}
listen_address: 127.0.0.1
tls_certificates:
  - { id: cert_bench, certificate_pem: { file: "${certs.cert}" }, private_key_pem: { file: "${certs.key}" } }
reserved_domains: [ { domain: "*.example.test", certificate_id: cert_bench } ]
http: { plain_listen: "127.0.0.1:${plain}", plain_mode: serve }
backends:
  - { id: bkd_upstream, type: static_address, address: "127.0.0.1:${upstream}" }
edges:
  - id: edghts_app1
    type: https
    hostports: [ "${SNI_NAMES[0]}:${edgePort}" ]
    routes:
      - { id: edghtsrt_root, match_type: path_prefix, match: "/", backend: { backend_id: bkd_upstream }${module} }
`;
}
