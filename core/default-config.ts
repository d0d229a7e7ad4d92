// The embedded default: `edgeplane serve` with no --config works on a fresh machine. It makes a
// self-signed certificate for *.localhost, starts two demo upstreams on loopback (an echo server
// and a TLS server with its own certificate), and serves one port with both a terminating and a
// passthrough TLS edge, plus a TCP edge.
import net from 'node:net';
import tls from 'node:tls';
import { generate } from 'selfsigned';

export const DEFAULT_TLS_PORT = 8443;
export const DEFAULT_TCP_PORT = 9000;
export const DEFAULT_ADMIN = '127.0.0.1:4040';

export interface DefaultSetup { config: Record<string, unknown>; hints: string[]; close(): void }

async function selfSigned(cn: string, dns: string[]): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: dns.map((value) => ({ type: 2 as const, value })) },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

function listenLocal(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

export async function createDefaultSetup(): Promise<DefaultSetup> {
  const edgeCert = await selfSigned('edgeplane demo edge', ['*.localhost', 'localhost']);
  const upstreamCert = await selfSigned('edgeplane demo upstream', ['secure.localhost']);

  const echo = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.write('edgeplane demo echo upstream: type a line\n');
    socket.pipe(socket);
  });
  const secure = tls.createServer({ cert: upstreamCert.cert, key: upstreamCert.key }, (socket) => {
    socket.on('error', () => socket.destroy());
    socket.end('hello from the demo TLS upstream (its own certificate: CN=edgeplane demo upstream)\n');
  });
  const [echoPort, securePort] = await Promise.all([listenLocal(echo), listenLocal(secure)]);

  const config = {
    admin: { listen: DEFAULT_ADMIN },
    listen_address: '127.0.0.1',
    events: { file: '-' },
    tls_certificates: [{ id: 'cert_demo', certificate_pem: edgeCert.cert, private_key_pem: edgeCert.key }],
    reserved_domains: [{ domain: '*.localhost', certificate_id: 'cert_demo' }],
    ip_policies: [{ id: 'ipp_loopback', rules: [{ cidr: '127.0.0.0/8', action: 'allow' }] }],
    tunnels: [{ labels: { app: 'echo' }, forwards_to: `127.0.0.1:${echoPort}` }],
    backends: [
      { id: 'bkd_echo', type: 'tunnel_group', labels: { app: 'echo' } },
      { id: 'bkd_secure', type: 'static_address', address: `127.0.0.1:${securePort}` },
    ],
    edges: [
      {
        id: 'edgtls_echo', type: 'tls', hostports: [`echo.localhost:${DEFAULT_TLS_PORT}`],
        backend: { backend_id: 'bkd_echo' }, tls_termination: { terminate_at: 'edge', min_version: '1.2' },
      },
      {
        id: 'edgtls_secure', type: 'tls', hostports: [`secure.localhost:${DEFAULT_TLS_PORT}`],
        backend: { backend_id: 'bkd_secure' }, tls_termination: { terminate_at: 'upstream' },
      },
      {
        id: 'edgtcp_echo', type: 'tcp', hostports: [`127.0.0.1:${DEFAULT_TCP_PORT}`],
        backend: { backend_id: 'bkd_echo' }, ip_restriction: { ip_policy_ids: ['ipp_loopback'] },
      },
    ],
  };
  const hints = [
    'edgeplane is serving its embedded demo config. Try:',
    `  openssl s_client -connect 127.0.0.1:${DEFAULT_TLS_PORT} -servername echo.localhost -quiet     # TLS ends at the edge (self-signed *.localhost), then an echo upstream`,
    `  openssl s_client -connect 127.0.0.1:${DEFAULT_TLS_PORT} -servername secure.localhost </dev/null  # passthrough by SNI: you see the upstream's own certificate`,
    `  nc 127.0.0.1 ${DEFAULT_TCP_PORT}                                                   # TCP edge to the same echo upstream`,
    `  curl -s http://${DEFAULT_ADMIN}/metrics | grep edgeplane_edge                  # per-edge counters`,
    `  curl -s http://${DEFAULT_ADMIN}/config                                         # the running config, secrets redacted`,
    'Events (tcp_connection_closed.v0) are printed to stdout as NDJSON. Ctrl-C drains and stops.',
  ];
  return { config, hints, close: () => { echo.close(); secure.close(); } };
}
