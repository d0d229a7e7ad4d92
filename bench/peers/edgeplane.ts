import { originHttpPort, originTlsPorts, proxyPorts, SNI_NAMES } from '../ports.js';

// edgeplane's own config for the same two jobs: three TLS passthrough edges on one port
// (routed by SNI) and one TCP edge. Field names are the ngrok spec's.
export function edgeplaneConfig(): string {
  const { tls, tcp } = proxyPorts('edgeplane');
  const apps = SNI_NAMES.map((n, i) => ({ n, i: i + 1, port: originTlsPorts()[i] }));
  return `workers: 1
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
