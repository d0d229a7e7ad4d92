// Table-driven: a valid base config plus one mutation each must report exactly the expected path.
import t from 'tap';
import { ConfigError } from '../../../core/config/errors.js';
import { loadConfigObject } from '../../../core/config/load.js';
import { makePki } from '../../helpers/pki.js';

const pki = makePki();
t.teardown(() => pki.cleanup());

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- mutations poke anywhere

function base(): Json {
  return {
    admin: { listen: '127.0.0.1:0' },
    workers: 2,
    tls_certificates: [{ id: 'cert_demo', certificate_pem: { file: 'bundle.crt' }, private_key_pem: { file: 'leaf.key' } }],
    certificate_authorities: [{ id: 'ca_clients', ca_pem: { file: 'ca.crt' } }],
    reserved_domains: [{ domain: '*.example.test', certificate_id: 'cert_demo' }, { domain: 'plain.test' }],
    ip_policies: [{ id: 'ipp_office', rules: [{ cidr: '127.0.0.0/8', action: 'allow' }, { cidr: '::1/128', action: 'allow' }] }],
    tunnels: [{ labels: { app: 'db' }, forwards_to: '127.0.0.1:5432' }],
    backends: [
      { id: 'bkd_db', type: 'tunnel_group', labels: { app: 'db' } },
      { id: 'bkd_ssh', type: 'static_address', address: '127.0.0.1:22', tls: { enabled: false } },
      { id: 'bkd_w', type: 'weighted', backends: { bkd_db: 50, bkd_ssh: 50 } },
      { id: 'bkd_f', type: 'failover', backends: ['bkd_db', 'bkd_ssh'] },
      { id: 'bkd_r', type: 'http_response', status_code: 503, headers: { 'content-type': 'text/plain' }, body: 'down' },
    ],
    edges: [
      { id: 'edgtls_db', type: 'tls', hostports: ['db.example.test:8443'], backend: { backend_id: 'bkd_db' }, tls_termination: { terminate_at: 'upstream' } },
      {
        id: 'edgtls_app',
        type: 'tls',
        hostports: ['app.example.test:8443'],
        backend: { backend_id: 'bkd_f' },
        tls_termination: { terminate_at: 'edge', min_version: '1.3' },
        mutual_tls: { certificate_authority_ids: ['ca_clients'] },
      },
      { id: 'edgtcp_ssh', type: 'tcp', hostports: ['127.0.0.1:2222'], backend: { backend_id: 'bkd_w' }, ip_restriction: { ip_policy_ids: ['ipp_office'] } },
      { id: 'edghttps_www', type: 'https', hostports: ['www.example.test:443'], routes: [{ match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_r' } }] },
    ],
  };
}

function problemsOf(config: Json, env: NodeJS.ProcessEnv = {}): { path: string; reason: string }[] {
  try {
    loadConfigObject(config, { baseDir: pki.dir, env, sourceName: 'test.yaml' });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

t.test('the base config is valid', async (tt) => {
  tt.same(problemsOf(base()), []);
});

// [title, mutation, expected path, reason pattern]
const cases: [string, (c: Json) => void, string, RegExp][] = [
  // ids
  ['duplicate edge id', (c) => (c.edges[1].id = 'edgtls_db'), 'edges[1].id', /duplicate id 'edgtls_db' \(already used by edges\[0\]\)/],
  ['duplicate backend id', (c) => c.backends.push({ id: 'bkd_db', type: 'http_response', status_code: 404 }), 'backends[5].id', /duplicate id/],
  ['generated id collides', (c) => (c.reserved_domains[1].id = 'rd_0'), 'reserved_domains[1].id', /duplicate id 'rd_0'/],
  ['bad id characters', (c) => (c.edges[0].id = 'edg-tls'), 'edges[0].id', /letters, digits and _/],
  // top level
  ['unknown top-level field', (c) => (c.workerz = 2), 'workerz', /unknown field/],
  ['unknown nested field', (c) => (c.edges[0].ip_restrictions = {}), 'edges[0].ip_restrictions', /unknown field/],
  ['workers 0', (c) => (c.workers = 0), 'workers', /1\.\.256/],
  ['workers 257', (c) => (c.workers = 257), 'workers', /1\.\.256/],
  ['workers not an integer', (c) => (c.workers = 1.5), 'workers', /integer/],
  ['max_client_hello_bytes too small', (c) => (c.max_client_hello_bytes = 100), 'max_client_hello_bytes', /1024\.\.65536/],
  ['negative drain_timeout', (c) => (c.drain_timeout = -1), 'drain_timeout', /negative/],
  ['listen_address not an IP', (c) => (c.listen_address = 'example.test'), 'listen_address', /IP address/],
  ['admin listen without port', (c) => (c.admin.listen = '127.0.0.1'), 'admin.listen', /host:port/],
  ['events file empty', (c) => (c.events = { file: '' }), 'events.file', /./],
  ['description over 255 bytes', (c) => (c.edges[0].description = 'é'.repeat(128)), 'edges[0].description', /255 bytes/],
  ['metadata over 4096 bytes', (c) => (c.backends[0].metadata = 'x'.repeat(4097)), 'backends[0].metadata', /4096 bytes/],
  // sources and certificates
  ['missing env var', (c) => (c.tls_certificates[0].private_key_pem = { env: 'EP_NOPE' }), 'tls_certificates[0].private_key_pem', /environment variable EP_NOPE is not set/],
  ['missing file', (c) => (c.tls_certificates[0].certificate_pem = { file: 'nope.crt' }), 'tls_certificates[0].certificate_pem', /cannot read file/],
  ['key does not match', (c) => (c.tls_certificates[0].private_key_pem = { file: 'rsa-leaf.pkcs1.key' }), 'tls_certificates[0].private_key_pem', /ERR_NGROK_1923/],
  ['encrypted key', (c) => (c.tls_certificates[0].private_key_pem = { file: 'leaf.enc.key' }), 'tls_certificates[0].private_key_pem', /encrypted private keys are not supported/],
  ['chain out of order', (c) => (c.tls_certificates[0].certificate_pem = pki.read('int.crt') + pki.read('leaf.crt')), 'tls_certificates[0].certificate_pem', /ERR_NGROK_1926/],
  ['CA is not a CA', (c) => (c.certificate_authorities[0].ca_pem = { file: 'leaf.crt' }), 'certificate_authorities[0].ca_pem', /ERR_NGROK_1913/],
  ['two CAs in one', (c) => (c.certificate_authorities[0].ca_pem = pki.read('ca.crt') + pki.read('other-ca.crt')), 'certificate_authorities[0].ca_pem', /ERR_NGROK_1912/],
  // reserved domains and hostnames
  ['unknown certificate_id', (c) => (c.reserved_domains[1].certificate_id = 'cert_nope'), 'reserved_domains[1].certificate_id', /unknown tls certificate 'cert_nope'/],
  ['duplicate domain', (c) => (c.reserved_domains[1].domain = '*.EXAMPLE.test'), 'reserved_domains[1].domain', /already reserved by reserved_domains\[0\]/],
  ['wildcard not first', (c) => (c.reserved_domains[1].domain = 'app.*.plain.test'), 'reserved_domains[1].domain', /ERR_NGROK_402/],
  ['partial wildcard', (c) => (c.reserved_domains[1].domain = '*-app.plain.test'), 'reserved_domains[1].domain', /ERR_NGROK_403/],
  ['bad characters', (c) => (c.reserved_domains[1].domain = 'a!b.plain.test'), 'reserved_domains[1].domain', /ERR_NGROK_326/],
  ['empty label', (c) => (c.reserved_domains[1].domain = 'a..plain.test'), 'reserved_domains[1].domain', /ERR_NGROK_327/],
  ['label starts with -', (c) => (c.reserved_domains[1].domain = '-a.plain.test'), 'reserved_domains[1].domain', /ERR_NGROK_328/],
  ['label ends with -', (c) => (c.reserved_domains[1].domain = 'a-.plain.test'), 'reserved_domains[1].domain', /ERR_NGROK_329/],
  ['-- outside xn--', (c) => (c.reserved_domains[1].domain = 'ab--c.plain.test'), 'reserved_domains[1].domain', /ERR_NGROK_330/],
  ['underscore', (c) => (c.reserved_domains[1].domain = 'a_b.plain.test'), 'reserved_domains[1].domain', /ERR_NGROK_355/],
  // ip policies
  ['CIDR without mask', (c) => (c.ip_policies[0].rules[0].cidr = '127.0.0.1'), 'ip_policies[0].rules[0].cidr', /ERR_NGROK_1413/],
  ['CIDR not lowest address', (c) => (c.ip_policies[0].rules[0].cidr = '127.0.0.1/8'), 'ip_policies[0].rules[0].cidr', /did you mean 127\.0\.0\.0\/8.*ERR_NGROK_1409/],
  ['CIDR garbage', (c) => (c.ip_policies[0].rules[0].cidr = 'banana/8'), 'ip_policies[0].rules[0].cidr', /invalid IP address/],
  ['duplicate CIDR', (c) => c.ip_policies[0].rules.push({ cidr: '0:0::1/128', action: 'deny' }), 'ip_policies[0].rules[2].cidr', /ERR_NGROK_1408/],
  ['bad action', (c) => (c.ip_policies[0].rules[0].action = 'block'), 'ip_policies[0].rules[0].action', /ERR_NGROK_1422/],
  // tunnels and backends
  ['tunnel forwards_to without port', (c) => (c.tunnels[0].forwards_to = '127.0.0.1'), 'tunnels[0].forwards_to', /host:port/],
  ['tunnel label with =', (c) => (c.tunnels[0].labels = { 'a=b': 'c' }), 'tunnels[0].labels.a=b', /ERR_NGROK_6531/],
  ['backend label empty value', (c) => (c.backends[0].labels = { app: '' }), 'backends[0].labels.app', /ERR_NGROK_6531/],
  ['tunnel_group without labels', (c) => (c.backends[0].labels = {}), 'backends[0].labels', /at least one label/],
  ['unknown backend type', (c) => (c.backends[0].type = 'lambda'), 'backends[0].type', /tunnel_group, static_address/],
  ['static address without port', (c) => (c.backends[1].address = '127.0.0.1'), 'backends[1].address', /ERR_NGROK_6505/],
  ['static address bad port', (c) => (c.backends[1].address = '127.0.0.1:0'), 'backends[1].address', /port 0/],
  ['static address bad host', (c) => (c.backends[1].address = 'no host!:80'), 'backends[1].address', /neither an IP/],
  ['weight over 10000', (c) => (c.backends[2].backends.bkd_db = 10001), 'backends[2].backends.bkd_db', /ERR_NGROK_6512/],
  ['negative weight', (c) => (c.backends[2].backends.bkd_db = -1), 'backends[2].backends.bkd_db', /ERR_NGROK_6512/],
  ['unknown weighted child', (c) => (c.backends[2].backends.bkd_nope = 1), 'backends[2].backends.bkd_nope', /unknown backend 'bkd_nope'/],
  ['unknown failover child', (c) => (c.backends[3].backends[1] = 'bkd_nope'), 'backends[3].backends[1]', /unknown backend 'bkd_nope'/],
  ['empty failover', (c) => (c.backends[3].backends = []), 'backends[3].backends', /at least one child/],
  ['failover lists a child twice', (c) => (c.backends[3].backends = ['bkd_db', 'bkd_db']), 'backends[3].backends[1]', /listed twice/],
  ['self cycle', (c) => (c.backends[3].backends = ['bkd_f']), 'backends[3].backends[0]', /cycle: bkd_f → bkd_f/],
  ['two-backend cycle', (c) => { c.backends[2].backends = { bkd_f: 1 }; c.backends[3].backends = ['bkd_w']; }, 'backends[3].backends[0]', /cycle: bkd_w → bkd_f → bkd_w/],
  ['status_code 99', (c) => (c.backends[4].status_code = 99), 'backends[4].status_code', /ERR_NGROK_6517/],
  ['status_code 600', (c) => (c.backends[4].status_code = 600), 'backends[4].status_code', /ERR_NGROK_6517/],
  // edge modules
  ['unknown edge type', (c) => (c.edges[0].type = 'udp'), 'edges[0].type', /tls, tcp, https/],
  ['unknown backend_id', (c) => (c.edges[0].backend.backend_id = 'bkd_nope'), 'edges[0].backend.backend_id', /ERR_NGROK_6501/],
  ['http_response on a tcp edge', (c) => (c.edges[2].backend.backend_id = 'bkd_r'), 'edges[2].backend.backend_id', /serves HTTP only/],
  ['http_response behind failover on a tls edge', (c) => (c.backends[3].backends = ['bkd_db', 'bkd_r']), 'edges[1].backend.backend_id', /through bkd_f → bkd_r/],
  ['unknown ip policy', (c) => (c.edges[2].ip_restriction.ip_policy_ids = ['ipp_nope']), 'edges[2].ip_restriction.ip_policy_ids[0]', /ERR_NGROK_7007/],
  ['ip_restriction without policies', (c) => (c.edges[2].ip_restriction.ip_policy_ids = []), 'edges[2].ip_restriction.ip_policy_ids', /ERR_NGROK_7025/],
  ['unknown CA', (c) => (c.edges[1].mutual_tls.certificate_authority_ids = ['ca_nope']), 'edges[1].mutual_tls.certificate_authority_ids[0]', /unknown certificate authority/],
  ['more than 10 CAs', (c) => (c.edges[1].mutual_tls.certificate_authority_ids = Array(11).fill('ca_clients')), 'edges[1].mutual_tls.certificate_authority_ids', /ERR_NGROK_7075/],
  ['mutual_tls on tcp', (c) => (c.edges[2].mutual_tls = { certificate_authority_ids: ['ca_clients'] }), 'edges[2].mutual_tls', /ERR_NGROK_7021/],
  ['tls_termination on tcp', (c) => (c.edges[2].tls_termination = { terminate_at: 'edge' }), 'edges[2].tls_termination', /ERR_NGROK_7021/],
  ['mutual_tls without termination', (c) => (c.edges[0].mutual_tls = { certificate_authority_ids: ['ca_clients'] }), 'edges[0].mutual_tls', /ERR_NGROK_1694/],
  ['mutual_tls with termination disabled', (c) => (c.edges[1].tls_termination.enabled = false), 'edges[1].mutual_tls', /ERR_NGROK_1694/],
  ['min_version with upstream', (c) => (c.edges[0].tls_termination.min_version = '1.2'), 'edges[0].tls_termination.min_version', /must be null when terminate_at is upstream/],
  ['min_version 1.1', (c) => (c.edges[1].tls_termination.min_version = '1.1'), 'edges[1].tls_termination.min_version', /'1\.2' or '1\.3'/],
  ['terminate_at agent', (c) => (c.edges[0].tls_termination.terminate_at = 'agent'), 'edges[0].tls_termination.terminate_at', /terminate_at: agent needs tunnel agents: set tunnel.listen/],
  ['terminate_at on https', (c) => (c.edges[3].tls_termination = { terminate_at: 'edge' }), 'edges[3].tls_termination.terminate_at', /ERR_NGROK_7109/],
  // hostports
  ['hostport port 0', (c) => (c.edges[0].hostports = ['db.example.test:0']), 'edges[0].hostports[0]', /ERR_NGROK_7112/],
  ['hostport port 65536', (c) => (c.edges[0].hostports = ['db.example.test:65536']), 'edges[0].hostports[0]', /ERR_NGROK_7112/],
  ['hostport without port', (c) => (c.edges[0].hostports = ['db.example.test']), 'edges[0].hostports[0]', /host:port/],
  ['tls hostport is an IP', (c) => (c.edges[0].hostports = ['127.0.0.1:8443']), 'edges[0].hostports[0]', /SNI/],
  ['tls hostport bad hostname', (c) => (c.edges[0].hostports = ['db_1.example.test:8443']), 'edges[0].hostports[0]', /ERR_NGROK_355/],
  ['tls hostport not reserved', (c) => (c.edges[0].hostports = ['db.other.test:8443']), 'edges[0].hostports[0]', /ERR_NGROK_7133/],
  ['https hostport not reserved', (c) => (c.edges[3].hostports = ['www.other.test:443']), 'edges[3].hostports[0]', /ERR_NGROK_7121/],
  ['wildcard hostport not reserved as written', (c) => (c.edges[0].hostports = ['*.db.example.test:8443']), 'edges[0].hostports[0]', /reserved exactly as written/],
  ['hostport on two edges', (c) => (c.edges[1].hostports = ['DB.example.test:8443']), 'edges[1].hostports[0]', /ERR_NGROK_7122/],
  ['hostport twice on one edge', (c) => c.edges[2].hostports.push('127.0.0.1:2222'), 'edges[2].hostports[1]', /ERR_NGROK_7122/],
  ['tcp hostport with a hostname', (c) => (c.edges[2].hostports = ['db.example.test:2222']), 'edges[2].hostports[0]', /IP or 'localhost'/],
  ['tcp port clashes with a TLS listener', (c) => (c.edges[2].hostports = ['127.0.0.1:8443']), 'edges[2].hostports[0]', /clashes with the sni listener/],
  ['tcp wildcard bind clashes with tcp', (c) => c.edges[2].hostports.push('0.0.0.0:2222'), 'edges[2].hostports[1]', /clashes with the tcp listener/],
  ['localhost is 127.0.0.1', (c) => c.edges[2].hostports.push('localhost:2222'), 'edges[2].hostports[1]', /ERR_NGROK_7122/],
  ['tcp port clashes with admin', (c) => (c.admin.listen = '127.0.0.1:2222'), 'edges[2].hostports[0]', /clashes with the admin listener of admin\.listen/],
  ['terminated hostport without certificate', (c) => (c.edges[1].hostports = ['plain.test:8443']), 'edges[1].hostports[0]', /has no certificate_id/],
  ['https hostport without certificate', (c) => (c.edges[3].hostports = ['plain.test:443']), 'edges[3].hostports[0]', /has no certificate_id/],
  ['certificate does not cover nested name', (c) => (c.edges[1].hostports = ['a.b.example.test:8443']), 'edges[1].hostports[0]', /does not cover 'a\.b\.example\.test'/],
];

for (const [title, mutate, path, reason] of cases) {
  t.test(title, async (tt) => {
    const config = base();
    mutate(config);
    const problems = problemsOf(config);
    tt.same(problems.map((p) => p.path), [path], 'exactly the expected path');
    tt.match(problems[0]?.reason ?? '', reason);
  });
}

t.test('a disabled module is kept', async (tt) => {
  const config = base();
  config.edges[2].ip_restriction.enabled = false;
  config.edges[1].mutual_tls.enabled = false;
  config.edges[1].tls_termination = { terminate_at: 'upstream' };
  const loaded = loadConfigObject(config, { baseDir: pki.dir, env: {} });
  tt.same(loaded.config.edges[2]!.ip_restriction, { enabled: false, ip_policy_ids: ['ipp_office'] });
  const app = loaded.config.edges[1]!;
  tt.same(app.type === 'tls' && app.mutual_tls, { enabled: false, certificate_authority_ids: ['ca_clients'] });
});

t.test('an invalid item does not cause follow-up reference problems', async (tt) => {
  const config = base();
  config.backends[0].labels = { app: '' }; // bkd_db is dropped, yet still referenced by edges and children
  config.tls_certificates[0].private_key_pem = { env: 'EP_NOPE' }; // cert_demo dropped, still referenced
  tt.same(problemsOf(config).map((p) => p.path), ['tls_certificates[0].private_key_pem', 'backends[0].labels.app']);
});

t.test('a bad tls_termination does not read as passthrough (no follow-up ERR_NGROK_1694)', async (tt) => {
  const config = base();
  config.edges[1].tls_termination.min_version = '1.0';
  tt.same(problemsOf(config).map((p) => p.path), ['edges[1].tls_termination.min_version']);
});

t.test('a bad field does not hide the reference problems of its item', async (tt) => {
  const config = base();
  config.edges[2].hostports = ['127.0.0.1:99999'];
  config.edges[2].typo = 1;
  config.edges[2].backend.backend_id = 'bkd_nope';
  tt.same(problemsOf(config).map((p) => p.path), ['edges[2].hostports[0]', 'edges[2].typo', 'edges[2].backend.backend_id']);
});
