// The ACME parts of the config: certificate_management_policy on reserved domains (spec §1.3), the
// `acme:` settings, the checks that follow (no certificate_id needed, plain listener needed, no wildcard
// hostports), the certificates the manager will order, and the generation built with issued ones.
import t from 'tap';
import { ConfigError } from '../../../core/config/errors.js';
import { loadConfigObject } from '../../../core/config/load.js';
import { LETS_ENCRYPT_DIRECTORY } from '../../../core/config/schema-acme.js';
import { buildGeneration, managedCertificateId } from '../../../core/generation/build.js';
import { wantedCertificates } from '../../../core/acme/names.js';
import { MAX_BREAKERS } from '../../../core/tables/breakers.js';
import { MAX_BACKENDS, MAX_EDGES, SlotMap } from '../../../core/tables/counters.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- configs are edited freely

function base(): Json {
  return {
    listen_address: '127.0.0.1',
    http: { plain_listen: '127.0.0.1:8080' },
    reserved_domains: [
      { domain: 'app.example.test', certificate_management_policy: { authority: 'letsencrypt' } },
      { domain: '*.example.test', certificate_management_policy: { authority: 'letsencrypt', private_key_type: 'rsa' } },
    ],
    backends: [{ id: 'bkd_ok', type: 'http_response', status_code: 200, body: 'ok' }],
    edges: [{
      id: 'edghts_app', type: 'https', hostports: ['app.example.test:8443', 'b.example.test:8443', 'a.x.example.test:8443'],
      routes: [{ match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_ok' } }],
    }],
  };
}

function load(config: Json) {
  return loadConfigObject(config, { baseDir: process.cwd(), env: {}, sourceName: 'test.yaml' });
}

function problemsOf(config: Json): { path: string; reason: string }[] {
  try { load(config); return []; } catch (err) { if (err instanceof ConfigError) return err.problems; throw err; }
}

t.test('a managed domain needs no certificate_id; acme settings default to Let\'s Encrypt', async (t) => {
  const loaded = load(base());
  const [app, wild] = loaded.config.reserved_domains;
  t.same(app!.certificate_management_policy, { authority: 'letsencrypt', private_key_type: 'ecdsa' }, 'ecdsa by default');
  t.equal(wild!.certificate_management_policy!.private_key_type, 'rsa');
  t.equal(loaded.config.acme.directory_url, LETS_ENCRYPT_DIRECTORY);
  t.equal(loaded.config.acme.renew_before, 30);
  t.equal(loaded.config.acme.email, null);
});

t.test('problems', async (t) => {
  const both = base();
  both.tls_certificates = [];
  both.reserved_domains[0].certificate_id = 'cert_x';
  t.match(problemsOf(both), [{ path: 'reserved_domains[0].certificate_management_policy', reason: /mutually exclusive/ }], 'certificate_id and a policy exclude each other');

  const authority = base();
  authority.reserved_domains[0].certificate_management_policy = { authority: 'zerossl' };
  t.match(problemsOf(authority), [{ path: /reserved_domains\[0\]\.certificate_management_policy\.authority/, reason: /letsencrypt/ }]);

  const noPlain = base();
  delete noPlain.http;
  const p = problemsOf(noPlain);
  t.equal(p.length, 2, 'one per managed domain');
  t.match(p[0], { path: /reserved_domains\[0\]/, reason: /plain_listen/ });

  const wildcardHost = base();
  wildcardHost.edges[0].hostports.push('*.example.test:8443');
  t.match(problemsOf(wildcardHost), [{ path: 'edges[0].hostports[3]', reason: /HTTP-01.*wildcard/ }]);

  const http = base();
  http.acme = { directory_url: 'http://acme.example.test/dir' };
  t.match(problemsOf(http), [{ path: 'acme.directory_url', reason: /https/ }]);

  const unknown = base();
  unknown.acme = { directory: 'x' };
  t.equal(problemsOf(unknown).length, 1, 'unknown acme keys are refused');
});

t.test('wanted certificates: the domain itself, or the concrete names under a wildcard', async (t) => {
  const wanted = wantedCertificates(load(base()).config);
  t.same([...wanted.keys()], ['app.example.test', '*.example.test']);
  t.same(wanted.get('app.example.test'), { domain: 'app.example.test', names: ['app.example.test'], keyType: 'ecdsa' });
  t.same(wanted.get('*.example.test')!.names, ['a.x.example.test', 'b.example.test'], 'app.example.test is its own domain\'s; nested names count');

  const unused = base();
  unused.edges[0].hostports = ['app.example.test:8443'];
  t.same([...wantedCertificates(load(unused).config).keys()], ['app.example.test'], 'a wildcard no edge uses orders nothing');
});

t.test('the generation serves a managed certificate once there is one', async (t) => {
  const slots = () => ({ edges: new SlotMap(MAX_EDGES, 'edge'), backends: new SlotMap(MAX_BACKENDS, 'backend'), breakers: new SlotMap(MAX_BREAKERS, 'breaker') });
  const loaded = load(base());
  const before = buildGeneration(loaded, 1, slots());
  t.same(before.spec.hostports.map((h) => h.certificateId), [null, null, null], 'no certificate before issuance: handshakes fail');
  t.same(before.spec.certificates, {});

  const cert = { certPem: 'CERT', keyPem: 'KEY' };
  const after = buildGeneration(loaded, 2, slots(), new Map([['app.example.test', cert]]));
  t.same(after.spec.hostports.map((h) => h.certificateId), [managedCertificateId('app.example.test'), null, null], 'only the domain that has one');
  t.same(after.spec.certificates[managedCertificateId('app.example.test')], cert);
  t.notMatch(managedCertificateId('app.example.test'), /^[A-Za-z0-9_]+$/, 'never collides with a config certificate id');
});
