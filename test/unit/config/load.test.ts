import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError } from '../../../core/config/errors.js';
import { loadConfigFile, loadConfigObject, loadConfigText } from '../../../core/config/load.js';
import { REDACTED, redactConfig } from '../../../core/config/redact.js';
import { makePki } from '../../helpers/pki.js';

const SAMPLE = new URL('../../../../test/fixtures/configs/sample.yaml', import.meta.url);

const pki = makePki();
t.teardown(() => pki.cleanup());

function problemsOf(fn: () => unknown): { path: string; reason: string }[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

function writeSample(): string {
  const dir = join(pki.dir, 'sample');
  mkdirSync(join(dir, 'certs'), { recursive: true });
  copyFileSync(pki.path('bundle.crt'), join(dir, 'certs/demo.crt'));
  copyFileSync(pki.path('leaf.key'), join(dir, 'certs/demo.key'));
  copyFileSync(pki.path('ca.crt'), join(dir, 'certs/clients-ca.crt'));
  const file = join(dir, 'edgeplane.yaml');
  writeFileSync(file, readFileSync(SAMPLE));
  return file;
}

t.test('the sample config loads with defaults applied', async (tt) => {
  const file = writeSample();
  const loaded = loadConfigFile(file, {});
  const c = loaded.config;
  tt.equal(loaded.sourcePath, file);
  tt.same(c.admin, { listen: '127.0.0.1:4040', debug_endpoints: false });
  tt.equal(c.workers, 2);
  tt.equal(c.listen_address, '0.0.0.0');
  tt.equal(c.drain_timeout, 30);
  tt.equal(c.peek_timeout, 10);
  tt.equal(c.tcp_idle_timeout, 300);
  tt.equal(c.max_client_hello_bytes, 16384);
  tt.equal(c.events, null);
  tt.equal(c.reserved_domains[0]!.id, 'rd_0', 'reserved domain id generated');
  tt.equal(c.tunnels[0]!.id, 'tn_0', 'tunnel id generated');
  tt.match(c.tls_certificates[0]!.certificate_pem, /BEGIN CERTIFICATE/, '{ file } resolved relative to the config');
  const tlsEdge = c.edges[0]!;
  tt.equal(tlsEdge.type, 'tls');
  tt.same(tlsEdge.type === 'tls' && tlsEdge.tls_termination, { enabled: true, terminate_at: 'upstream', min_version: null });
  tt.same(tlsEdge.backend, { enabled: true, backend_id: 'bkd_db' });
  tt.same(c.edges[1]!.ip_restriction, { enabled: true, ip_policy_ids: ['ipp_office'] });
  tt.same([...loaded.certificates.keys()], ['cert_demo']);
  tt.same(loaded.certificates.get('cert_demo')!.dnsNames, ['*.example.test', 'example.test', 'localhost']);
  tt.equal(loaded.authorities.get('ca_clients')!.subjectCommonName, 'edgeplane test root CA');
  tt.ok(loaded.secretPaths.has('tls_certificates[0].private_key_pem'));
});

t.test('JSON text is YAML too; defaults for an empty document', async (tt) => {
  const loaded = loadConfigText('{"workers": 3, "edges": []}', { baseDir: pki.dir });
  tt.equal(loaded.config.workers, 3);
  tt.equal(loaded.sourcePath, null);
  const empty = loadConfigText('', { baseDir: pki.dir });
  tt.ok(empty.config.workers >= 1 && empty.config.workers <= 256);
  tt.same(empty.config.edges, []);
  const nullLists = loadConfigText('edges:\nbackends:\n', { baseDir: pki.dir });
  tt.same(nullLists.config.backends, []);
});

t.test('tls edges default to passthrough; terminating edges default to TLS 1.2', async (tt) => {
  const loaded = loadConfigObject(
    {
      tls_certificates: [{ id: 'c', certificate_pem: { file: 'bundle.crt' }, private_key_pem: { file: 'leaf.pkcs8.key' } }],
      reserved_domains: [{ domain: '*.example.test', certificate_id: 'c' }],
      edges: [
        { id: 'a', type: 'tls', hostports: ['a.example.test:443'] },
        { id: 'b', type: 'tls', hostports: ['b.example.test:443'], tls_termination: { terminate_at: 'edge' } },
        { id: 'c', type: 'https', hostports: ['c.example.test:443'] },
      ],
    },
    { baseDir: pki.dir },
  );
  const [a, b, c] = loaded.config.edges;
  tt.same(a!.tls_termination, { enabled: true, terminate_at: 'upstream', min_version: null });
  tt.same(b!.tls_termination, { enabled: true, terminate_at: 'edge', min_version: '1.2' });
  tt.same(c!.tls_termination, { enabled: true, terminate_at: 'edge', min_version: '1.2' });
});

t.test('a YAML syntax error reports its line', async (tt) => {
  const problems = problemsOf(() => loadConfigText('workers: 2\nedges:\n  - id: a\n    hostports: [x\n  - id: b\n', { baseDir: pki.dir, sourceName: 'bad.yaml' }));
  tt.ok(problems.length >= 1);
  tt.match(problems[0]!.reason, /syntax error at line \d+, column \d+/);
  const dup = problemsOf(() => loadConfigText('workers: 2\nworkers: 3\n', { baseDir: pki.dir }));
  tt.match(dup[0]!.reason, /line 2, column 1/, 'duplicate keys are syntax errors too');
  let message = '';
  try {
    loadConfigText('a: [', { baseDir: pki.dir, sourceName: 'bad.yaml' });
  } catch (err) {
    message = (err as Error).message;
  }
  tt.match(message, /^bad\.yaml: syntax error at line 1/);
});

t.test('every problem is reported at once, across layers', async (tt) => {
  const problems = problemsOf(() =>
    loadConfigObject(
      {
        workers: 0,
        bogus: true,
        tls_certificates: [{ id: 'c', certificate_pem: { file: 'leaf.key' }, private_key_pem: { file: 'leaf.key' } }],
        backends: [{ id: 'b', type: 'http_response', status_code: 42 }],
        edges: [
          { id: 'e1', type: 'tcp', hostports: ['127.0.0.1:99999'], backend: { backend_id: 'gone' } },
          { id: 'e2', type: 'tls', hostports: ['x.example.test:443'], backend: { backend_id: 'missing' } },
        ],
      },
      { baseDir: pki.dir, sourceName: 'multi.yaml' },
    ),
  );
  tt.same(problems.map((p) => p.path).sort(), [
    'backends[0].status_code',
    'bogus',
    'edges[0].backend.backend_id',
    'edges[0].hostports[0]',
    'edges[1].backend.backend_id',
    'edges[1].hostports[0]',
    'tls_certificates[0].certificate_pem',
    'workers',
  ]);
  let message = '';
  try {
    loadConfigObject({ workers: 0, bogus: 1 }, { baseDir: pki.dir, sourceName: 'multi.yaml' });
  } catch (err) {
    message = (err as Error).message;
  }
  tt.same(message.split('\n').sort(), ["multi.yaml: bogus: unknown field 'bogus'", 'multi.yaml: workers: workers must be 1..256']);
});

t.test('secrets from the environment are resolved and redacted', async (tt) => {
  const env = { EP_KEY: pki.read('leaf.key'), EP_CERT: pki.read('bundle.crt'), EP_CA: pki.read('ca.crt') };
  const loaded = loadConfigObject(
    {
      tls_certificates: [{ id: 'c', certificate_pem: { env: 'EP_CERT' }, private_key_pem: { env: 'EP_KEY' } }],
      certificate_authorities: [{ id: 'ca', ca_pem: { env: 'EP_CA' } }, { id: 'ca2', ca_pem: pki.read('other-ca.crt') }],
    },
    { baseDir: pki.dir, env },
  );
  tt.equal(loaded.config.tls_certificates[0]!.private_key_pem, env.EP_KEY);
  tt.equal(loaded.config.certificate_authorities[0]!.ca_pem, env.EP_CA);
  const shown = redactConfig(loaded) as typeof loaded.config;
  tt.equal(shown.tls_certificates[0]!.private_key_pem, REDACTED);
  tt.equal(shown.tls_certificates[0]!.certificate_pem, REDACTED, 'anything from { env } is a secret');
  tt.equal(shown.certificate_authorities[0]!.ca_pem, REDACTED);
  tt.equal(shown.certificate_authorities[1]!.ca_pem, pki.read('other-ca.crt'), 'an inline CA is not a secret');
  tt.notMatch(JSON.stringify(shown), /PRIVATE KEY/);
  tt.equal(loaded.config.tls_certificates[0]!.private_key_pem, env.EP_KEY, 'redaction copies, never mutates');

  const inline = loadConfigObject(
    { tls_certificates: [{ id: 'c', certificate_pem: pki.read('bundle.crt'), private_key_pem: pki.read('leaf.key') }] },
    { baseDir: pki.dir, env: {} },
  );
  const inlineShown = redactConfig(inline) as typeof inline.config;
  tt.equal(inlineShown.tls_certificates[0]!.private_key_pem, REDACTED, 'private keys are always secret');
  tt.match(inlineShown.tls_certificates[0]!.certificate_pem, /BEGIN CERTIFICATE/);
});

t.test('missing env var and unreadable files are problems at their path', async (tt) => {
  const problems = problemsOf(() =>
    loadConfigObject(
      {
        tls_certificates: [{ id: 'c', certificate_pem: { file: 'nope.crt' }, private_key_pem: { env: 'EP_NOT_SET' } }],
        certificate_authorities: [{ id: 'ca', ca_pem: { path: 'x' } }],
      },
      { baseDir: pki.dir, env: {} },
    ),
  );
  tt.same(problems.map((p) => p.path), ['tls_certificates[0].certificate_pem', 'tls_certificates[0].private_key_pem', 'certificate_authorities[0].ca_pem']);
  tt.match(problems[0]!.reason, /cannot read file 'nope\.crt'.*ENOENT/);
  tt.equal(problems[1]!.reason, 'environment variable EP_NOT_SET is not set');
  tt.match(problems[2]!.reason, /\{ file: path \} or \{ env: VAR \}/);
});

t.test('a config file that cannot be read, or is not a mapping', async (tt) => {
  const missing = problemsOf(() => loadConfigFile(join(pki.dir, 'nope.yaml'), {}));
  tt.match(missing[0]!.reason, /cannot read config file: ENOENT/);
  const list = problemsOf(() => loadConfigText('- a\n- b\n', { baseDir: pki.dir }));
  tt.match(list[0]!.reason, /must be a mapping/);
  const bomb = problemsOf(() => loadConfigText('a: &a [x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n', { baseDir: pki.dir }));
  tt.match(bomb[0]!.reason, /alias/i, 'alias bombs are refused');
});
