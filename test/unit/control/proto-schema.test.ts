// proto/control.proto is generated from the config schema: the checked-in file must be what the generator
// writes, and a rich config must survive document → protobuf Config bytes → document unchanged.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { renderControlProto } from '../../../core/control/proto-from-schema.js';
import { documentFromProto, documentToProto } from '../../../core/control/convert.js';
import { loadConfigObject } from '../../../core/config/load.js';
import { makePki } from '../../helpers/pki.js';

const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'proto');

t.test('the checked-in proto/control.proto is the generator output', async (t) => {
  const checkedIn = readFileSync(join(PROTO_DIR, 'control.proto'), 'utf8');
  t.equal(checkedIn, renderControlProto(), 'regenerate with: node dist/core/control/proto-from-schema.js > proto/control.proto');
});

const IDP_METADATA = `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.test">
  <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso"/>
  </IDPSSODescriptor>
</EntityDescriptor>`;

function richDocument(pki: ReturnType<typeof makePki>): Record<string, unknown> {
  const route = (id: string, match: string, extra: object) => ({ id, match_type: 'path_prefix', match, backend: { backend_id: 'bkd_weighted' }, ...extra });
  return {
    workers: 3,
    listen_address: '127.0.0.1',
    drain_timeout: 1.5,
    peek_timeout: 4,
    tcp_idle_timeout: 0,
    max_client_hello_bytes: 20000,
    admin: { listen: '127.0.0.1:0', debug_endpoints: true, api_keys: ['0123456789abcdef0123', { env: 'EDGEPLANE_CONTROL_TEST_KEY' }] },
    events: { file: '-' },
    event_destinations: [{ id: 'ed_file', description: 'to a file', target: { file: { path: '/tmp/edgeplane-control-test.ndjson' } } }],
    event_subscriptions: [{ id: 'esb_all', sources: [{ type: 'event_destination_created.v0' }], destination_ids: ['ed_file'] }],
    tls_certificates: [
      { id: 'cert_inline', certificate_pem: pki.read('bundle.crt'), private_key_pem: pki.read('leaf.key'), description: 'inline', metadata: '{"k":1}' },
      { id: 'cert_file', certificate_pem: { file: pki.path('bundle.crt') }, private_key_pem: { env: 'EDGEPLANE_CONTROL_TEST_PEM' } },
    ],
    certificate_authorities: [{ id: 'ca_clients', ca_pem: { file: pki.path('ca.crt') } }],
    reserved_domains: [{ domain: '*.example.test', certificate_id: 'cert_inline' }, { id: 'rd_named', domain: 'other.test', certificate_id: 'cert_file' }],
    ip_policies: [{ id: 'ipp_office', rules: [{ cidr: '10.0.0.0/8', action: 'allow', description: 'office' }, { cidr: '10.9.0.0/16', action: 'deny' }] }],
    tunnels: [{ id: 'tn_static', labels: { app: 'web', env: 'prod' }, forwards_to: '127.0.0.1:9000' }],
    backends: [
      { id: 'bkd_group', type: 'tunnel_group', labels: { app: 'web' } },
      { id: 'bkd_static', type: 'static_address', address: '127.0.0.1:9001', tls: { enabled: true } },
      { id: 'bkd_plain', type: 'static_address', address: '127.0.0.1:9002' },
      { id: 'bkd_weighted', type: 'weighted', backends: { bkd_static: 3, bkd_plain: 1 } },
      { id: 'bkd_failover', type: 'failover', backends: ['bkd_plain', 'bkd_fixed'] },
      { id: 'bkd_fixed', type: 'http_response', status_code: 503, headers: { 'retry-after': '5' }, body: 'later' },
    ],
    edges: [
      { id: 'edgtls_pass', type: 'tls', hostports: ['pass.example.test:8443'], backend: { backend_id: 'bkd_static' }, tls_termination: { terminate_at: 'upstream' } },
      {
        id: 'edgtls_term', type: 'tls', hostports: ['term.example.test:8443'], backend: { enabled: true, backend_id: 'bkd_weighted' },
        tls_termination: { terminate_at: 'edge', min_version: '1.3' }, mutual_tls: { certificate_authority_ids: ['ca_clients'] },
        ip_restriction: { ip_policy_ids: ['ipp_office'] },
      },
      { id: 'edgtcp_db', type: 'tcp', hostports: ['127.0.0.1:15432'], backend: { backend_id: 'bkd_group' }, description: 'database' },
      {
        id: 'edghts_app', type: 'https', hostports: ['app.example.test:8443'], tls_termination: { min_version: '1.2' },
        routes: [
          route('rt_modules', '/modules', {
            ip_restriction: { enabled: false, ip_policy_ids: ['ipp_office'] },
            circuit_breaker: { error_threshold_percentage: 0.25, tripped_duration: 5, rolling_window: 20, num_buckets: 4, volume_threshold: 7 },
            compression: { enabled: true },
            request_headers: { add: { 'x-from': 'edge', Authorization: 'Bearer upstream-secret' }, remove: ['x-drop'] },
            response_headers: { add: { 'x-served-by': 'edgeplane' } },
            user_agent_filter: { allow: ['^good'], deny: ['bot'] },
            max_request_body_bytes: 1048576,
          }),
          route('rt_hook', '/hook', { webhook_verification: { provider: 'github', secret: 'a-webhook-signing-secret' } }),
          route('rt_oauth', '/oauth', {
            oauth: {
              provider: { github: { client_id: 'gh-client', client_secret: 'gh-secret', teams: ['acme/devs'], scopes: ['read:user', 'read:org'] } },
              cookie_prefix: 'app.', inactivity_timeout: 3600, auth_check_interval: 600, options_passthrough: true,
            },
          }),
          route('rt_oidc', '/oidc', { oidc: { issuer: 'https://accounts.example.test', client_id: 'oidc-client', client_secret: 'oidc-secret', scopes: ['openid', 'email'] } }),
          route('rt_saml', '/saml', {
            saml: {
              idp_metadata: IDP_METADATA, force_authn: true, authorized_groups: ['admins'],
              sp_certificate_pem: { file: pki.path('rsa-leaf.crt') }, sp_private_key_pem: { file: pki.path('rsa-leaf.key') },
            },
          }),
        ],
      },
    ],
    auth_cookie_key: 'ab'.repeat(32),
    webhooks: { offload: 'never', offload_threads: 2 },
    tunnel: { heartbeat_interval: 0.5, heartbeat_tolerance: 2, max_streams: 64 },
    http: { max_header_bytes: 32768, header_timeout: 2.5, plain_mode: 'serve', plain_listen: '127.0.0.1:18081' },
  };
}

t.test('a rich config survives document → protobuf bytes → document', async (t) => {
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const document = richDocument(pki);
  const env = { EDGEPLANE_CONTROL_TEST_KEY: 'fedcba9876543210fedcba', EDGEPLANE_CONTROL_TEST_PEM: pki.read('leaf.key') };
  // A real config, not just a shape: the daemon would load it.
  t.doesNotThrow(() => loadConfigObject(document, { baseDir: pki.dir, env }), 'the rich config is valid');

  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target.replace(/^.*[\\/]/, ''));
  root.loadSync('control.proto', { keepCase: true });
  const Config = root.lookupType('edgeplane.control.v1.Config');

  const message = documentToProto(document);
  t.equal(Config.verify(message), null, 'the converted document is a valid Config message');
  const bytes = Config.encode(Config.fromObject(message)).finish();
  const decoded = Config.toObject(Config.decode(bytes), { longs: Number, oneofs: true });
  const back = documentFromProto(decoded);
  t.same(back.problems, []);
  t.strictSame(back.value, document, 'the same document comes back');

  // The fields that needed care on the wire: the union's split field, sources, maps of int64, JSON fields.
  const backends = decoded.backends as Array<Record<string, unknown>>;
  t.strictSame(backends.find((b) => b.id === 'bkd_failover')!.failover_backends, ['bkd_plain', 'bkd_fixed']);
  t.strictSame(backends.find((b) => b.id === 'bkd_weighted')!.backends, { bkd_static: 3, bkd_plain: 1 });
  const certs = decoded.tls_certificates as Array<Record<string, any>>;
  t.equal(certs[1]!.certificate_pem.value, 'file');
  t.equal(certs[1]!.private_key_pem.env, 'EDGEPLANE_CONTROL_TEST_PEM');
  t.equal(typeof (decoded.event_destinations_json as string[])[0], 'string');
});

t.test('conversion problems name the field', async (t) => {
  const bad = documentFromProto({ event_destinations_json: ['{not json'], tls_certificates: [{ id: 'c', certificate_pem: {} }] });
  t.same(bad.problems.map((p) => p.path), ['event_destinations[0]', 'tls_certificates[0].certificate_pem']);
  const both = documentFromProto({ backends: [{ id: 'b', type: 'failover', backends: { a: 1 }, failover_backends: ['a'] }] });
  t.same(both.problems.map((p) => p.path), ['backends[0].backends']);
});
