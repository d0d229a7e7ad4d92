// proto/control.proto is generated from the config schema: the checked-in file (and its field-number
// registry proto/control.fields.json) must be what the generator writes, field numbers must survive schema
// changes, and a rich config must survive document → protobuf Config bytes → document unchanged.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { z } from 'zod';
import { generateControlProto, readFieldRegistry, renderControlProto, renderFieldRegistry } from '../../../core/control/proto-from-schema.js';
import { assignFieldNumbers, buildProtoModel, numberProtoModel, type FieldRegistry } from '../../../core/control/proto-model.js';
import { configSchema } from '../../../core/config/schema.js';
import { documentFromProto, documentToProto } from '../../../core/control/convert.js';
import { loadConfigObject } from '../../../core/config/load.js';
import { makePki } from '../../helpers/pki.js';

const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'proto');

const REGENERATE = 'regenerate with: node dist/core/control/proto-from-schema.js --write';

t.test('the checked-in proto/control.proto and proto/control.fields.json are the generator output', async (t) => {
  const checkedIn = readFileSync(join(PROTO_DIR, 'control.proto'), 'utf8');
  const registryText = readFileSync(join(PROTO_DIR, 'control.fields.json'), 'utf8');
  const registry = readFieldRegistry(join(PROTO_DIR, 'control.fields.json'));
  const generated = generateControlProto(configSchema, registry);
  t.equal(checkedIn, generated.proto, REGENERATE);
  t.equal(registryText, renderFieldRegistry(generated.registry), REGENERATE);
  t.strictSame(JSON.parse(registryText), generated.registry, 'the registry is plain JSON');
  t.equal(renderControlProto(), checkedIn, 'renderControlProto() reads the checked-in registry');
  // Every generated message (and ConfigDelta) is in the registry with exactly the numbers the proto uses.
  const root = protobuf.parse(checkedIn, { keepCase: true }).root;
  for (const [name, entry] of Object.entries(registry.messages)) {
    const type = root.lookupType(`edgeplane.control.v1.${name}`);
    t.strictSame(Object.fromEntries(Object.values(type.fields).map((f) => [f.name, f.id])), entry.fields, `${name}'s numbers`);
  }
});

t.test('field numbers survive a field inserted in the middle and a field removed', async (t) => {
  const item = z.object({ id: z.string(), port: z.number().int(), legacy: z.string().optional() });
  const before = z.object({
    name: z.string(),
    limits: z.object({ max: z.number().int(), min: z.number().int() }),
    items: z.array(item),
    enabled: z.boolean(),
  });
  // The registry as checked in for `before` (numbers in schema order, as a first generation gets them).
  const fixture: FieldRegistry = {
    messages: {
      ConfigDelta: { fields: { upsert_items: 1, delete_items: 2, settings: 100, clear_settings: 101 }, retired: [] },
      Config: { fields: { name: 1, limits: 2, items: 3, enabled: 4 }, retired: [] },
      LimitsSettings: { fields: { max: 1, min: 2 }, retired: [] },
      Item: { fields: { id: 1, port: 2, legacy: 3 }, retired: [{ number: 4, name: 'ancient' }] },
    },
  };
  const first = numberProtoModel(buildProtoModel(before), fixture);
  t.strictSame(first.registry.messages.Item, fixture.messages.Item, 'an unchanged schema changes nothing');
  t.strictSame(first.registry.messages.Config, fixture.messages.Config);
  t.strictSame(first.model.messages.get('Item')!.reserved, { numbers: [4], names: ['ancient'] });

  // Inserted in the middle: Config.region (and Config.hosts, a new collection); Item.weight. Removed:
  // Item.legacy and LimitsSettings.min.
  const after = z.object({
    name: z.string(),
    region: z.string(),
    limits: z.object({ max: z.number().int() }),
    hosts: z.array(z.object({ id: z.string() })),
    items: z.array(z.object({ id: z.string(), weight: z.number().int(), port: z.number().int() })),
    enabled: z.boolean(),
  });
  const { model, registry } = numberProtoModel(buildProtoModel(after), fixture);
  const numbersOf = (name: string) => Object.fromEntries(model.messages.get(name)!.fields.map((f) => [f.name, f.number]));
  t.strictSame(numbersOf('Config'), { name: 1, region: 5, limits: 2, hosts: 6, items: 3, enabled: 4 }, 'existing numbers kept; new fields appended');
  t.strictSame(numbersOf('Item'), { id: 1, weight: 5, port: 2 }, 'after the retired 4, never reusing it');
  t.strictSame(numbersOf('LimitsSettings'), { max: 1 });
  t.strictSame(model.messages.get('Item')!.reserved, { numbers: [3, 4], names: ['ancient', 'legacy'] });
  t.strictSame(model.messages.get('LimitsSettings')!.reserved, { numbers: [2], names: ['min'] });
  t.strictSame(model.messages.get('Config')!.reserved, { numbers: [], names: [] });
  t.strictSame(registry.messages.Item, { fields: { id: 1, port: 2, weight: 5 }, retired: [{ number: 3, name: 'legacy' }, { number: 4, name: 'ancient' }] });
  t.strictSame(registry.messages.LimitsSettings, { fields: { max: 1 }, retired: [{ number: 2, name: 'min' }] });
  t.strictSame(registry.messages.Host, { fields: { id: 1 }, retired: [] }, 'a new message starts at 1');
  t.strictSame(fixture.messages.Item, { fields: { id: 1, port: 2, legacy: 3 }, retired: [{ number: 4, name: 'ancient' }] }, 'the input registry is not changed');

  // The full proto for both schemas: ConfigDelta keeps its numbers too, and bytes written by a client built
  // from the old proto read the same with the new one.
  const oldGen = generateControlProto(before, fixture);
  const newGen = generateControlProto(after, fixture);
  t.match(newGen.proto, /message Item \{\n  reserved 3, 4;\n  reserved "ancient", "legacy";\n/);
  t.strictSame(newGen.registry.messages.ConfigDelta, {
    fields: { upsert_items: 1, delete_items: 2, upsert_hosts: 3, delete_hosts: 4, settings: 100, clear_settings: 101 }, retired: [],
  });
  const parse = (text: string) => {
    const root = new protobuf.Root();
    root.loadSync(join(PROTO_DIR, 'events.proto'), { keepCase: true });
    protobuf.parse(text, root, { keepCase: true });
    root.resolveAll();
    return root.lookupType('edgeplane.control.v1.Config');
  };
  const OldConfig = parse(oldGen.proto);
  const NewConfig = parse(newGen.proto);
  t.strictSame(NewConfig.lookupType('Item').reserved, [[3, 3], [4, 4], 'ancient', 'legacy'], 'reserved parses as proto3');
  const bytes = OldConfig.encode(OldConfig.fromObject({
    name: 'n', limits: { max: 9, min: 1 }, items: [{ id: 'a', port: 80, legacy: 'x' }], enabled: true,
  })).finish();
  const decoded = NewConfig.toObject(NewConfig.decode(bytes), { longs: Number });
  t.strictSame(decoded, { name: 'n', limits: { max: 9 }, items: [{ id: 'a', port: 80 }], enabled: true }, 'old bytes decode into the same fields');

  // Running again on the new registry is stable; a retired name that comes back gets a new number.
  t.strictSame(numberProtoModel(buildProtoModel(after), registry).registry, registry, 'a second run changes nothing');
  const revived = assignFieldNumbers([{ name: 'Item', fields: ['id', 'port', 'weight', 'legacy'] }], registry);
  t.equal(revived.numbers.get('Item')!.fields.get('legacy'), 6);
  t.strictSame(revived.numbers.get('Item')!.reserved, { numbers: [3, 4], names: ['ancient'] }, 'its old number stays reserved');
});

t.test('a broken registry is refused', async (t) => {
  t.throws(() => assignFieldNumbers([{ name: 'M', fields: ['a'] }], { messages: { M: { fields: { a: 1, b: 1 }, retired: [] } } }), /share the number 1/);
  t.throws(() => assignFieldNumbers([{ name: 'M', fields: ['a'] }], { messages: { M: { fields: { a: 2 }, retired: [{ number: 2, name: 'x' }] } } }), /share the number 2/);
  t.throws(() => assignFieldNumbers([{ name: 'M', fields: ['a'] }], { messages: { M: { fields: { a: 19000 }, retired: [] } } }), /invalid field number/);
  t.throws(() => assignFieldNumbers([{ name: 'M', fields: ['s'], pinned: { s: 100 } }], { messages: { M: { fields: { s: 7 }, retired: [] } } }), /fixed at 100/);
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
  t.strictSame((decoded.event_destinations as Array<Record<string, any>>)[0]!.target.file, { path: '/tmp/edgeplane-control-test.ndjson' }, 'destinations are typed messages');
  t.equal((decoded.event_destinations as Array<Record<string, any>>)[0]!.target.target, 'file', 'the target oneof names the target');
});

t.test('conversion problems name the field', async (t) => {
  const bad = documentFromProto({ tls_certificates: [{ id: 'c', certificate_pem: {} }] });
  t.same(bad.problems.map((p) => p.path), ['tls_certificates[0].certificate_pem']);
  const both = documentFromProto({ backends: [{ id: 'b', type: 'failover', backends: { a: 1 }, failover_backends: ['a'] }] });
  t.same(both.problems.map((p) => p.path), ['backends[0].backends']);
});
