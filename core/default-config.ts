// The embedded default: `edgeplane serve` with no --config works on a fresh machine. It makes a
// self-signed certificate for *.localhost, starts three demo upstreams on loopback (an echo server,
// a TLS server with its own certificate and an HTTP app), and serves one port with a terminating and
// a passthrough TLS edge and an HTTPS edge with two routes, plus a TCP edge and a cleartext HTTP
// listener that redirects to HTTPS.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { generate } from 'selfsigned';

export const DEFAULT_TLS_PORT = 8443;
export const DEFAULT_TCP_PORT = 9000;
export const DEFAULT_PLAIN_HTTP_PORT = 8080;
export const DEFAULT_ADMIN = '127.0.0.1:4040';
export const DEFAULT_TUNNEL_PORT = 4443;
/** The demo's agent token: the demo listens on loopback only and says so; real configs use their own secret. */
export const DEMO_AUTHTOKEN = 'edgeplane-demo-authtoken';

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
  // Answers with what it received, so that the edge's work (X-Forwarded-*, request headers) shows.
  const app = http.createServer((req, res) => {
    const body = JSON.stringify({ hello: 'from the edgeplane demo HTTP upstream', method: req.method, path: req.url, headers: req.headers }, null, 2);
    res.writeHead(200, { 'content-type': 'application/json' }).end(`${body}\n`);
  });
  const [echoPort, securePort, appPort] = await Promise.all([listenLocal(echo), listenLocal(secure), listenLocal(app)]);

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
      { id: 'bkd_app', type: 'static_address', address: `127.0.0.1:${appPort}` },
      { id: 'bkd_status', type: 'http_response', status_code: 200, headers: { 'content-type': 'text/plain' }, body: 'edgeplane demo: ok\n' },
      { id: 'bkd_agents', type: 'tunnel_group', labels: { app: 'demo' } },
      { id: 'bkd_no_agent', type: 'http_response', status_code: 503, headers: { 'content-type': 'text/plain' }, body: 'edgeplane demo: no agent with label app=demo is online (start one with `edgeplane agent`, see the hints)\n' },
      { id: 'bkd_agent_or_page', type: 'failover', backends: ['bkd_agents', 'bkd_no_agent'] },
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
      {
        id: 'edghts_app', type: 'https', hostports: [`app.localhost:${DEFAULT_TLS_PORT}`],
        routes: [
          {
            id: 'rt_app', match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_app' }, compression: {},
            response_headers: { add: { 'x-served-by': 'edgeplane on port ${conn.server_port}' } },
          },
          { id: 'rt_status', match_type: 'exact_path', match: '/status', backend: { backend_id: 'bkd_status' } },
          { id: 'rt_agent', match_type: 'path_prefix', match: '/agent/', backend: { backend_id: 'bkd_agent_or_page' } },
        ],
      },
    ],
    http: { plain_listen: `127.0.0.1:${DEFAULT_PLAIN_HTTP_PORT}`, plain_mode: 'redirect' },
    tunnel: { listen: `127.0.0.1:${DEFAULT_TUNNEL_PORT}`, certificate_id: 'cert_demo', authtokens: [{ id: 'cr_demo', token: DEMO_AUTHTOKEN, description: 'demo only' }] },
  };
  const hints = [
    'edgeplane is serving its embedded demo config. Try:',
    `  openssl s_client -connect 127.0.0.1:${DEFAULT_TLS_PORT} -servername echo.localhost -quiet     # TLS ends at the edge (self-signed *.localhost), then an echo upstream`,
    `  openssl s_client -connect 127.0.0.1:${DEFAULT_TLS_PORT} -servername secure.localhost </dev/null  # passthrough by SNI: you see the upstream's own certificate`,
    `  nc 127.0.0.1 ${DEFAULT_TCP_PORT}                                                   # TCP edge to the same echo upstream`,
    `  curl -k https://app.localhost:${DEFAULT_TLS_PORT}/ --resolve app.localhost:${DEFAULT_TLS_PORT}:127.0.0.1            # HTTPS edge, route '/': the demo app echoes what it received`,
    `  curl -k --compressed -i https://app.localhost:${DEFAULT_TLS_PORT}/hello --resolve app.localhost:${DEFAULT_TLS_PORT}:127.0.0.1  # gzip and x-served-by from the route's modules`,
    `  curl -k https://app.localhost:${DEFAULT_TLS_PORT}/status --resolve app.localhost:${DEFAULT_TLS_PORT}:127.0.0.1      # route '/status': answered by the edge itself`,
    `  curl -i http://app.localhost:${DEFAULT_PLAIN_HTTP_PORT}/ --resolve app.localhost:${DEFAULT_PLAIN_HTTP_PORT}:127.0.0.1                 # cleartext HTTP: 308 to https`,
    `  curl -k https://app.localhost:${DEFAULT_TLS_PORT}/agent/ --resolve app.localhost:${DEFAULT_TLS_PORT}:127.0.0.1      # route '/agent/': a tunnel group; 503 page until an agent is online`,
    `  node dist/core/cli.js agent --edge 127.0.0.1:${DEFAULT_TUNNEL_PORT} --authtoken ${DEMO_AUTHTOKEN} --label app=demo --forward 127.0.0.1:${appPort} --insecure-skip-verify   # an agent for that group (demo certificate is self-signed)`,
    `  curl -s http://${DEFAULT_ADMIN}/metrics | grep edgeplane_edge                  # per-edge counters`,
    `  curl -s http://${DEFAULT_ADMIN}/config                                         # the running config, secrets redacted`,
    'Events (tcp_connection_closed.v0, http_request_complete.v0) are printed to stdout as NDJSON. Ctrl-C drains and stops.',
  ];
  return { config, hints, close: () => { echo.close(); secure.close(); app.close(); } };
}
