// The webhook_verification route module's config and the server-wide `webhooks:` settings: every provider
// id (and alias) compiles to its canonical id, secrets are checked per provider (required / forbidden /
// size / form) with the field's path and ngrok code, read from { env } or { file }, never shown in /config
// nor echoed in an error; the `webhooks:` settings refuse unsafe SNS host patterns and bad origins; and
// `edgeplane check` reports a bad module in one line without a stack trace.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError } from '../../../core/config/errors.js';
import { loadConfigObject, loadConfigText, type LoadedConfig } from '../../../core/config/load.js';
import { REDACTED, redactConfig } from '../../../core/config/redact.js';
import { MAX_WEBHOOK_SECRET_BYTES } from '../../../core/config/schema-webhook.js';
import { buildGeneration } from '../../../core/generation/build.js';
import { MAX_BREAKERS } from '../../../core/tables/breakers.js';
import { MAX_BACKENDS, MAX_EDGES, SlotMap } from '../../../core/tables/counters.js';
import { PROVIDERS } from '../../../workers/http/webhooks/providers/index.js';
import { DEFAULT_SNS_HOST_PATTERN } from '../../../workers/http/webhooks/sns-defaults.js';
import { CLI } from '../../helpers/daemon.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- mutations poke anywhere

const dir = mkdtempSync(join(tmpdir(), 'ep-webhook-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// A real SendGrid verification key: base64 DER SPKI of a P-256 public key.
const SENDGRID_KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const RSA_KEY = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
// random, so a leak is unmistakable
const GENERIC_SECRET = `S3cret${randomBytes(24).toString('base64')}`;
const SECRETS: Record<string, string | undefined> = {
  sendgrid: SENDGRID_KEY,
  brex: `whsec_${randomBytes(24).toString('base64')}`,
  microsoft_teams: randomBytes(32).toString('base64'),
  contentful: randomBytes(48).toString('base64'), // 64 characters
  vmware: 'edge-user::pa55-w0rd',
  sns: undefined,
};
const secretFor = (id: string): string | undefined => (id in SECRETS ? SECRETS[id] : GENERIC_SECRET);

const R0 = 'edges[0].routes[0]';
const WV = `${R0}.webhook_verification`;

function base(module: Json = { provider: 'github', secret: GENERIC_SECRET }): Json {
  return {
    backends: [{ id: 'bkd_ok', type: 'http_response', status_code: 200, body: 'ok' }],
    edges: [{
      id: 'edghts_app',
      type: 'https',
      hostports: [],
      routes: [{ match_type: 'path_prefix', match: '/hooks', backend: { backend_id: 'bkd_ok' }, webhook_verification: module }],
    }],
  };
}
const wv = (c: Json) => c.edges[0].routes[0].webhook_verification;
const moduleFor = (provider: string): Json => {
  const secret = secretFor(provider);
  return secret === undefined ? { provider } : { provider, secret };
};

const load = (config: Json, env: NodeJS.ProcessEnv = {}): LoadedConfig => loadConfigObject(config, { baseDir: dir, env, sourceName: 'test.yaml' });

function problemsOf(config: Json, env: NodeJS.ProcessEnv = {}): { path: string; reason: string }[] {
  try {
    load(config, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

function generation(loaded: LoadedConfig) {
  const slots = { edges: new SlotMap(MAX_EDGES, 'edge'), backends: new SlotMap(MAX_BACKENDS, 'backend'), breakers: new SlotMap(MAX_BREAKERS, 'breaker') };
  return buildGeneration(loaded, 1, slots).spec;
}
const compiledModule = (loaded: LoadedConfig) => generation(loaded).edges[0]!.routes[0]!.modules.webhook_verification;

t.test('all 58 providers are accepted with a plausible secret and compile to their canonical id', async (tt) => {
  tt.equal(PROVIDERS.length, 58);
  for (const p of PROVIDERS) {
    const problems = problemsOf(base(moduleFor(p.id)));
    tt.same(problems, [], `${p.id} is accepted`);
    if (problems.length > 0) continue;
    tt.same(compiledModule(load(base(moduleFor(p.id)))), { provider: p.id, secret: secretFor(p.id) ?? '' }, `${p.id} compiles`);
  }
});

t.test('aliases compile to the canonical provider id', async (tt) => {
  const aliases: [string, string][] = [
    ['autodesk', 'autodesk_forge'], ['signalsciences', 'signal_sciences'], ['sonatype_nexus', 'sonatype'],
    ['vmware_workspace', 'vmware'], ['instagram', 'facebook_graph_api'], ['whatsapp', 'facebook_graph_api'],
  ];
  for (const [alias, canonical] of aliases) {
    const loaded = load(base({ provider: alias, secret: secretFor(canonical) }));
    tt.same(compiledModule(loaded), { provider: canonical, secret: secretFor(canonical) }, `${alias} → ${canonical}`);
  }
});

// [title, module, expected path, reason pattern]
const refusals: [string, Json, string, RegExp][] = [
  ['an unknown provider', { provider: 'githubb', secret: GENERIC_SECRET }, `${WV}.provider`, /unknown webhook provider 'githubb': expected one of .*\bgithub\b.*\bsns\b.*\bzoom\b.*\(ERR_NGROK_7030\)/],
  ['no provider', { secret: GENERIC_SECRET }, `${WV}.provider`, /provider is required \(ERR_NGROK_7029\)/],
  ['no secret', { provider: 'stripe' }, `${WV}.secret`, /secret is required for provider stripe \(ERR_NGROK_7026\)/],
  ['an empty secret', { provider: 'stripe', secret: '' }, `${WV}.secret`, /secret is required for provider stripe \(ERR_NGROK_7026\)/],
  ['a secret for sns', { provider: 'sns', secret: GENERIC_SECRET }, `${WV}.secret`, /sns takes no secret.*\(ERR_NGROK_7026\)/],
  ['a secret over 4096 bytes', { provider: 'github', secret: `${GENERIC_SECRET}${'x'.repeat(MAX_WEBHOOK_SECRET_BYTES)}` }, `${WV}.secret`, /longer than 4096 bytes \(ERR_NGROK_7154\)/],
  ['a secret of 4096 bytes counted in UTF-8', { provider: 'github', secret: 'é'.repeat(2049) }, `${WV}.secret`, /ERR_NGROK_7154/],
  ['a sendgrid key that is not base64', { provider: 'sendgrid', secret: 'not a key!' }, `${WV}.secret`, /must be base64.*\(ERR_NGROK_7107\)/],
  ['a sendgrid key that is not DER', { provider: 'sendgrid', secret: GENERIC_SECRET.slice(6) }, `${WV}.secret`, /not a DER public key \(ERR_NGROK_7107\)/],
  ['a sendgrid RSA key', { provider: 'sendgrid', secret: RSA_KEY }, `${WV}.secret`, /ECDSA P-256 public key \(ERR_NGROK_7107\)/],
  ['a brex secret that is not base64', { provider: 'brex', secret: 'whsec_not base64!' }, `${WV}.secret`, /base64.*\(ERR_NGROK_7107\)/],
  ['a teams secret that is not base64', { provider: 'microsoft_teams', secret: 'not base64!' }, `${WV}.secret`, /base64.*\(ERR_NGROK_7107\)/],
  ['a contentful secret of 63 characters', { provider: 'contentful', secret: 'a'.repeat(63) }, `${WV}.secret`, /exactly 64 characters.*\(ERR_NGROK_7107\)/],
  ['a vmware secret without a separator', { provider: 'vmware', secret: 'userpass' }, `${WV}.secret`, /username::password.*\(ERR_NGROK_7107\)/],
  ['a secret from an unset variable', { provider: 'github', secret: { env: 'EP_NOT_SET' } }, `${WV}.secret`, /environment variable EP_NOT_SET is not set/],
  ['a secret from a missing file', { provider: 'github', secret: { file: 'nope.secret' } }, `${WV}.secret`, /cannot read file 'nope\.secret'.*ENOENT/],
  ['a secret as a number', { provider: 'github', secret: 12345 }, `${WV}.secret`, /expected a PEM string, \{ file: path \} or \{ env: VAR \}/],
  ['an unknown field', { provider: 'github', secret: GENERIC_SECRET, tolerance: 300 }, `${WV}.tolerance`, /unknown field/],
  ['enabled as a string', { provider: 'github', secret: GENERIC_SECRET, enabled: 'no' }, `${WV}.enabled`, /expected boolean/],
];

for (const [title, module, path, reason] of refusals) {
  t.test(`refused: ${title}`, async (tt) => {
    const problems = problemsOf(base(module));
    tt.same(problems.map((p) => p.path), [path], 'exactly the expected path');
    tt.match(problems[0]?.reason ?? '', reason);
    const secret = typeof module.secret === 'string' && module.secret.length >= 8 ? module.secret : GENERIC_SECRET;
    tt.notOk(problems.some((p) => p.reason.includes(secret) || p.reason.includes(secret.slice(0, 12))), 'the secret is not echoed');
  });
}

t.test('an unreadable secret is reported once (not also as missing), beside an unknown provider', async (tt) => {
  const problems = problemsOf(base({ provider: 'githubb', secret: { env: 'EP_NOT_SET' } }));
  tt.same(problems.map((p) => [p.path, p.reason.slice(0, 30)]), [
    [`${WV}.secret`, 'environment variable EP_NOT_SE'],
    [`${WV}.provider`, "unknown webhook provider 'gith"],
  ]);
});

t.test('a disabled module still has its fields checked', async (tt) => {
  tt.same(problemsOf(base({ enabled: false, provider: 'stripe' })).map((p) => p.path), [`${WV}.secret`]);
});

t.test('the secret may come from { env } or { file } (YAML), and a file\'s final newline is not part of it', async (tt) => {
  writeFileSync(join(dir, 'github.secret'), `${GENERIC_SECRET}\n`);
  writeFileSync(join(dir, 'contentful.secret'), `${SECRETS.contentful}\r\n`);
  const yaml = (secret: string, provider = 'github') => `
backends:
  - { id: bkd_ok, type: http_response, status_code: 200, body: ok }
edges:
  - id: edghts_app
    type: https
    hostports: []
    routes:
      - match_type: path_prefix
        match: /hooks
        backend: { backend_id: bkd_ok }
        webhook_verification:
          provider: ${provider}
          secret: ${secret}
`;
  const opts = (env: NodeJS.ProcessEnv) => ({ baseDir: dir, env, sourceName: 'test.yaml' });
  const fromEnv = loadConfigText(yaml('{ env: EP_GITHUB_WEBHOOK_SECRET }'), opts({ EP_GITHUB_WEBHOOK_SECRET: GENERIC_SECRET }));
  tt.same(compiledModule(fromEnv), { provider: 'github', secret: GENERIC_SECRET }, '{ env }');
  const fromFile = loadConfigText(yaml('{ file: github.secret }'), opts({}));
  tt.same(compiledModule(fromFile), { provider: 'github', secret: GENERIC_SECRET }, '{ file }, trailing newline dropped');
  const exact = loadConfigText(yaml('{ file: contentful.secret }', 'contentful'), opts({}));
  tt.same(compiledModule(exact), { provider: 'contentful', secret: SECRETS.contentful }, 'a 64-character secret file with CRLF passes the length check');
  for (const loaded of [fromEnv, fromFile]) tt.ok(loaded.secretPaths.has(`${WV}.secret`), 'registered as a secret');
});

t.test('the secret never shows in /config: string, { env } and { file } alike', async (tt) => {
  writeFileSync(join(dir, 'stripe.secret'), 'whsec_from-a-file-0123456789');
  const config = base();
  const route = (match: string, module: Json) => ({ match_type: 'path_prefix', match, backend: { backend_id: 'bkd_ok' }, webhook_verification: module });
  config.edges[0].routes.push(
    route('/env', { provider: 'slack', secret: { env: 'EP_SLACK_SECRET' } }),
    route('/file', { provider: 'stripe', secret: { file: 'stripe.secret' } }),
    route('/sendgrid', { provider: 'sendgrid', secret: SENDGRID_KEY }),
    route('/sns', { provider: 'sns' }),
  );
  const loaded = load(config, { EP_SLACK_SECRET: 'slack-signing-s3cret-abcdef' });
  const shown = redactConfig(loaded) as Json;
  const text = JSON.stringify(shown);
  for (const secret of [GENERIC_SECRET, 'slack-signing-s3cret-abcdef', 'whsec_from-a-file-0123456789', SENDGRID_KEY]) {
    tt.notOk(text.includes(secret), `${secret.slice(0, 12)}… is not shown`);
  }
  const routes = shown.edges[0].routes;
  tt.same(routes.slice(0, 4).map((r: Json) => r.webhook_verification.secret), [REDACTED, REDACTED, REDACTED, REDACTED]);
  tt.same(routes.map((r: Json) => r.webhook_verification.provider), ['github', 'slack', 'stripe', 'sendgrid', 'sns'], 'providers stay visible');
  tt.equal((loaded.config.edges[0] as Json).routes[2].webhook_verification.secret, 'whsec_from-a-file-0123456789', 'redaction copies, never mutates');
});

t.test('enabled: false compiles to no module; enabled defaults to true', async (tt) => {
  const off = base({ enabled: false, provider: 'github', secret: GENERIC_SECRET });
  tt.same(generation(load(off)).edges[0]!.routes[0]!.modules, {}, 'disabled: not in the generation');
  tt.same(compiledModule(load(base({ enabled: true, provider: 'sns' }))), { provider: 'sns', secret: '' }, 'sns compiles with an empty secret');
  const spec = generation(load(base()));
  tt.same(spec.edges[0]!.routes[0]!.modules.webhook_verification, { provider: 'github', secret: GENERIC_SECRET });
  tt.same(structuredClone(spec.edges[0]!.routes[0]!.modules), spec.edges[0]!.routes[0]!.modules, 'structured-cloneable for the workers');
});

t.test('webhooks settings: defaults, and kept as written', async (tt) => {
  tt.same(generation(load(base())).webhooks, {
    snsCertificateHostPattern: DEFAULT_SNS_HOST_PATTERN, snsCertificateFetchOrigin: null, snsCertificateCa: null, offload: 'auto', offloadThreads: 1,
  });
  tt.same(generation(load({ ...base(), webhooks: null })).webhooks.offload, 'auto', 'an empty `webhooks:` (null in YAML) takes the defaults');
  const re = new RegExp(DEFAULT_SNS_HOST_PATTERN);
  for (const host of ['sns.us-east-1.amazonaws.com', 'sns.cn-north-1.amazonaws.com.cn']) tt.ok(re.test(host), `default pattern takes ${host}`);
  for (const host of ['sns.us-east-1.amazonaws.com.evil.example', 'evil.example', 'xsns.us-east-1.amazonaws.com']) tt.notOk(re.test(host), `default pattern refuses ${host}`);

  writeFileSync(join(dir, 'mirror-ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const settings = {
    sns_certificate_host_pattern: '^sns\\.internal\\.example$',
    sns_certificate_fetch_origin: 'https://127.0.0.1:8443',
    sns_certificate_ca: { file: 'mirror-ca.pem' },
    offload: 'always',
    offload_threads: 64,
  };
  tt.same(generation(load({ ...base(), webhooks: settings })).webhooks, {
    snsCertificateHostPattern: '^sns\\.internal\\.example$', snsCertificateFetchOrigin: 'https://127.0.0.1:8443',
    snsCertificateCa: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', offload: 'always', offloadThreads: 64,
  });
  for (const origin of ['https://mirror.example', 'https://mirror.example/', 'https://[::1]:9443']) {
    tt.same(problemsOf({ ...base(), webhooks: { sns_certificate_fetch_origin: origin } }), [], `origin ${origin} is accepted`);
  }
});

const settingsRefusals: [string, Json, string, RegExp][] = [
  ['an unanchored host pattern', { sns_certificate_host_pattern: 'sns\\.[a-z0-9-]+\\.amazonaws\\.com' }, 'webhooks.sns_certificate_host_pattern', /must be anchored/],
  ['a pattern anchored at the start only', { sns_certificate_host_pattern: '^sns\\.[a-z0-9-]+\\.amazonaws\\.com' }, 'webhooks.sns_certificate_host_pattern', /must be anchored/],
  ['an invalid regular expression', { sns_certificate_host_pattern: '^sns\\.(amazonaws\\.com$' }, 'webhooks.sns_certificate_host_pattern', /not a valid regular expression/],
  ['an http fetch origin', { sns_certificate_fetch_origin: 'http://127.0.0.1:8443' }, 'webhooks.sns_certificate_fetch_origin', /https origin/],
  ['a fetch origin with a path', { sns_certificate_fetch_origin: 'https://mirror.example/certs' }, 'webhooks.sns_certificate_fetch_origin', /no path/],
  ['a fetch origin with a query', { sns_certificate_fetch_origin: 'https://mirror.example/?x=1' }, 'webhooks.sns_certificate_fetch_origin', /https origin/],
  ['a fetch origin that is no URL', { sns_certificate_fetch_origin: 'mirror.example' }, 'webhooks.sns_certificate_fetch_origin', /must be an origin such as/],
  ['an unknown offload', { offload: 'sometimes' }, 'webhooks.offload', /auto.*always.*never/],
  ['no offload threads', { offload_threads: 0 }, 'webhooks.offload_threads', /greater than or equal to 1|at least 1|>=\s*1/],
  ['too many offload threads', { offload_threads: 65 }, 'webhooks.offload_threads', /less than or equal to 64|at most 64|<=\s*64/],
  ['fractional offload threads', { offload_threads: 1.5 }, 'webhooks.offload_threads', /expected integer, got float/],
  ['an unknown settings field', { sns_host: 'x' }, 'webhooks.sns_host', /unknown field/],
];

for (const [title, settings, path, reason] of settingsRefusals) {
  t.test(`webhooks settings refused: ${title}`, async (tt) => {
    const problems = problemsOf({ ...base(), webhooks: settings });
    tt.same(problems.map((p) => p.path), [path], 'exactly the expected path');
    tt.match(problems[0]?.reason ?? '', reason);
  });
}

t.test('edgeplane check: a bad sendgrid key is one clear line, no secret and no stack trace; a good config passes', async (tt) => {
  const file = join(dir, 'webhooks.json');
  const config = base({ provider: 'sendgrid', secret: `${GENERIC_SECRET}-not-a-key` });
  writeFileSync(file, JSON.stringify(config));
  const refused = spawnSync(process.execPath, [CLI, 'check', '--config', file], { encoding: 'utf8', timeout: 20_000 });
  tt.equal(refused.status, 1, refused.stderr);
  const lines = refused.stderr.trim().split('\n');
  tt.same(lines.slice(1), ['1 problem found'], `one problem line, then the count: ${refused.stderr}`);
  tt.equal(lines[0], `${file}: ${WV}.secret: the SendGrid verification key must be base64 (as shown under Signed Event Webhook Requests) (ERR_NGROK_7107)`);
  tt.notMatch(refused.stderr + refused.stdout, GENERIC_SECRET, 'the secret is not echoed');
  tt.notMatch(refused.stderr, /at .*\.js:\d+|Error:/, 'no stack trace');

  wv(config).secret = SENDGRID_KEY;
  writeFileSync(file, JSON.stringify(config));
  const accepted = spawnSync(process.execPath, [CLI, 'check', '--config', file], { encoding: 'utf8', timeout: 20_000 });
  tt.equal(accepted.status, 0, accepted.stderr);
});
