// The `tunnel:` config section (issue 8): its defaults and checks, authtokens from every source and their
// redaction, the terminate_at: agent rules of tls edges, and what the generation builder makes of it.
import t from 'tap';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { ConfigError } from '../../../core/config/errors.js';
import { loadConfigObject, type LoadedConfig } from '../../../core/config/load.js';
import { REDACTED, redactConfig } from '../../../core/config/redact.js';
import { buildGeneration, type SlotMaps } from '../../../core/generation/build.js';
import { MAX_BREAKERS } from '../../../core/tables/breakers.js';
import { MAX_BACKENDS, MAX_EDGES, SlotMap } from '../../../core/tables/counters.js';
import { makePki } from '../../helpers/pki.js';

const pki = makePki();
t.teardown(() => pki.cleanup());

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- configs are edited freely

const TOKEN_A = 'tok-aaaaaaaaaaaaaaaaaaaaaaaa';
const TOKEN_B = 'tok-bbbbbbbbbbbbbbbbbbbbbbbb';

/** A valid config with agents on: a tunnel listener, two tokens, tls edges of every termination. */
function base(): Json {
  return {
    listen_address: '127.0.0.1',
    admin: { listen: '127.0.0.1:0' },
    tls_certificates: [{ id: 'cert_demo', certificate_pem: { file: 'bundle.crt' }, private_key_pem: { file: 'leaf.key' } }],
    reserved_domains: [{ domain: '*.example.test', certificate_id: 'cert_demo' }],
    tunnels: [{ labels: { app: 'db' }, forwards_to: '127.0.0.1:5432' }],
    backends: [
      { id: 'bkd_group', type: 'tunnel_group', labels: { app: 'db' } },
      { id: 'bkd_static', type: 'static_address', address: '127.0.0.1:22' },
      { id: 'bkd_fo_groups', type: 'failover', backends: ['bkd_group', 'bkd_group2'] },
      { id: 'bkd_group2', type: 'tunnel_group', labels: { app: 'web' } },
      { id: 'bkd_fo_mixed', type: 'failover', backends: ['bkd_group', 'bkd_static'] },
      { id: 'bkd_w_mixed', type: 'weighted', backends: { bkd_group: 50, bkd_static: 50 } },
      { id: 'bkd_w_groups', type: 'weighted', backends: { bkd_group: 50, bkd_fo_groups: 50 } },
    ],
    edges: [
      { id: 'edgtls_agent', type: 'tls', hostports: ['a.example.test:8443'], backend: { backend_id: 'bkd_group' }, tls_termination: { terminate_at: 'agent' } },
      { id: 'edgtls_edge', type: 'tls', hostports: ['b.example.test:8443'], backend: { backend_id: 'bkd_static' }, tls_termination: { terminate_at: 'edge' } },
      { id: 'edgtls_up', type: 'tls', hostports: ['c.example.test:8443'], backend: { backend_id: 'bkd_fo_mixed' }, tls_termination: { terminate_at: 'upstream' } },
      { id: 'edgtcp_x', type: 'tcp', hostports: ['127.0.0.1:2222'], backend: { backend_id: 'bkd_static' } },
    ],
    tunnel: {
      listen: '127.0.0.1:4443',
      certificate_id: 'cert_demo',
      authtokens: [{ id: 'cr_a', token: TOKEN_A, description: 'first' }, { id: 'cr_b', token: TOKEN_B }],
    },
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

const load = (config: Json, env: NodeJS.ProcessEnv = {}): LoadedConfig => loadConfigObject(config, { baseDir: pki.dir, env });

function slotMaps(): SlotMaps {
  return { edges: new SlotMap(MAX_EDGES, 'edge'), backends: new SlotMap(MAX_BACKENDS, 'backend'), breakers: new SlotMap(MAX_BREAKERS, 'breaker') };
}

t.test('the base config (agents on) is valid', async (tt) => {
  tt.same(problemsOf(base()), []);
});

t.test('defaults: no tunnel section (or null, or listen: null) means no agents', async (tt) => {
  const none = base();
  delete none.tunnel;
  none.edges.shift(); // terminate_at: agent needs agents
  for (const tunnel of [undefined, null, {}, { listen: null }]) {
    const c = structuredClone(none);
    if (tunnel !== undefined) c.tunnel = tunnel;
    const loaded = load(c);
    tt.same(loaded.config.tunnel, {
      listen: null, certificate_id: null, authtokens: [], heartbeat_interval: 10, heartbeat_tolerance: 30, max_streams: 4096,
    }, `tunnel: ${JSON.stringify(tunnel)}`);
    const built = buildGeneration(loaded, 1, slotMaps());
    tt.equal(built.spec.tunnel, null, 'no tunnel spec');
    tt.notOk(built.listeners.some((l) => l.kind === 'tunnel'), 'no tunnel listener');
  }
  // Without listen, certificate and tokens are not required (nor are they checked for pairing).
  const c = structuredClone(none);
  c.tunnel = { listen: null, heartbeat_interval: 40 };
  tt.same(problemsOf(c), [], 'heartbeat values are not compared while agents are off');
});

/**
 * The table's base: the base config with edges[0] terminating upstream, so that a broken tunnel section
 * does not also draw the terminate_at: agent follow-up problem (see the regression test below); the terminate_at
 * cases set agent termination themselves.
 */
function tableBase(): Json {
  const c = base();
  c.edges[0].tls_termination.terminate_at = 'upstream';
  return c;
}
const agentEdge = (c: Json, backend: string): void => {
  c.edges[0].tls_termination.terminate_at = 'agent';
  c.edges[0].backend.backend_id = backend;
};

// [title, mutation, expected path, reason pattern]
const cases: [string, (c: Json) => void, string, RegExp][] = [
  ['listen without certificate_id', (c) => delete c.tunnel.certificate_id, 'tunnel.certificate_id', /tunnel\.listen needs a certificate_id/],
  ['listen with certificate_id null', (c) => (c.tunnel.certificate_id = null), 'tunnel.certificate_id', /needs a certificate_id/],
  ['listen without authtokens', (c) => delete c.tunnel.authtokens, 'tunnel.authtokens', /at least one authtoken/],
  ['listen with empty authtokens', (c) => (c.tunnel.authtokens = []), 'tunnel.authtokens', /at least one authtoken/],
  ['short token', (c) => (c.tunnel.authtokens[1].token = 'fifteen-bytes!!'), 'tunnel.authtokens[1].token', /at least 16 bytes/],
  ['token short once trimmed', (c) => (c.tunnel.authtokens[0].token = '   short-token-x    '), 'tunnel.authtokens[0].token', /at least 16 bytes/],
  ['token too long', (c) => (c.tunnel.authtokens[0].token = 'x'.repeat(513)), 'tunnel.authtokens[0].token', /at most 512 bytes/],
  ['duplicate authtoken id', (c) => (c.tunnel.authtokens[1].id = 'cr_a'), 'tunnel.authtokens[1].id', /authtoken id 'cr_a' is used twice/],
  ['duplicate token', (c) => (c.tunnel.authtokens[1].token = TOKEN_A), 'tunnel.authtokens[1].token', /the same token is listed twice/],
  ['duplicate token after trimming', (c) => (c.tunnel.authtokens[1].token = ` ${TOKEN_A}\n`), 'tunnel.authtokens[1].token', /listed twice/],
  ['bad authtoken id', (c) => (c.tunnel.authtokens[0].id = 'cr-a'), 'tunnel.authtokens[0].id', /letters, digits and _/],
  ['unknown authtoken field', (c) => (c.tunnel.authtokens[0].secret = 'x'), 'tunnel.authtokens[0].secret', /unknown field/],
  ['unknown tunnel field', (c) => (c.tunnel.lisen = '127.0.0.1:1'), 'tunnel.lisen', /unknown field/],
  ['tolerance equal to interval', (c) => Object.assign(c.tunnel, { heartbeat_interval: 5, heartbeat_tolerance: 5 }), 'tunnel.heartbeat_tolerance', /longer than heartbeat_interval/],
  ['tolerance below interval', (c) => Object.assign(c.tunnel, { heartbeat_interval: 40 }), 'tunnel.heartbeat_tolerance', /longer than heartbeat_interval/],
  ['interval too small', (c) => (c.tunnel.heartbeat_interval = 0.01), 'tunnel.heartbeat_interval', /at least 0\.05 s/],
  ['max_streams not an integer', (c) => (c.tunnel.max_streams = 2.5), 'tunnel.max_streams', /integer/],
  ['listen without port', (c) => (c.tunnel.listen = '127.0.0.1'), 'tunnel.listen', /host:port/],
  ['unknown certificate id', (c) => (c.tunnel.certificate_id = 'cert_nope'), 'tunnel.certificate_id', /unknown tls certificate 'cert_nope'/],
  ['listen on an sni edge port', (c) => (c.tunnel.listen = '127.0.0.1:8443'), 'tunnel.listen', /clashes with the sni listener of edges\[0\]\.hostports\[0\] on port 8443/],
  ['listen on 0.0.0.0 and a tcp edge port', (c) => (c.tunnel.listen = '0.0.0.0:2222'), 'tunnel.listen', /clashes with the tcp listener of edges\[3\]\.hostports\[0\] on port 2222/],
  ['listen on the admin port', (c) => { c.admin.listen = '127.0.0.1:9000'; c.tunnel.listen = 'localhost:9000'; }, 'tunnel.listen', /clashes with the admin listener of admin\.listen/],
  // Regression: an unreadable token is one problem, not also "needs at least 16 bytes" for the '' read instead.
  ['token from an unset env var', (c) => (c.tunnel.authtokens[0].token = { env: 'EP_NO_SUCH_TOKEN' }), 'tunnel.authtokens[0].token', /environment variable EP_NO_SUCH_TOKEN is not set/],
  ['token from a missing file', (c) => (c.tunnel.authtokens[0].token = { file: 'no-such-token' }), 'tunnel.authtokens[0].token', /cannot read file/],
  // terminate_at: agent
  ['terminate_at agent without tunnel.listen', (c) => { agentEdge(c, 'bkd_group'); c.tunnel = null; }, 'edges[0].tls_termination.terminate_at', /terminate_at: agent needs tunnel agents: set tunnel\.listen/],
  ['terminate_at agent to a static_address', (c) => agentEdge(c, 'bkd_static'), 'edges[0].tls_termination.terminate_at', /backend 'bkd_static' \(static_address\) is not a tunnel group/],
  ['terminate_at agent to a failover with a static child', (c) => agentEdge(c, 'bkd_fo_mixed'), 'edges[0].tls_termination.terminate_at', /backend 'bkd_static' \(static_address\) is not a tunnel group/],
  ['terminate_at agent to a weighted with a static child', (c) => agentEdge(c, 'bkd_w_mixed'), 'edges[0].tls_termination.terminate_at', /backend 'bkd_static' \(static_address\) is not a tunnel group/],
];

for (const [title, mutate, path, reason] of cases) {
  t.test(title, async (tt) => {
    const c = tableBase();
    mutate(c);
    const problems = problemsOf(c);
    const mine = problems.filter((p) => p.path === path);
    tt.equal(mine.length, 1, `one problem at ${path}; got ${JSON.stringify(problems)}`);
    tt.match(mine[0]?.reason ?? '', reason);
    tt.equal(problems.length, 1, `nothing else: ${JSON.stringify(problems)}`);
  });
}

// Regression: the loader puts a default in place of an invalid `tunnel:` section before the cross checks;
// the terminate_at: agent check must not then claim tunnel.listen is unset. Only the real problem is reported.
t.test('a bad tunnel section does not claim tunnel.listen is unset', async (tt) => {
  const c = base();
  c.tunnel.authtokens[0].token = 'short';
  tt.same(problemsOf(c).map((p) => p.path), ['tunnel.authtokens[0].token']);
});

t.test('terminate_at: agent is accepted with tunnel groups, directly or through failover/weighted', async (tt) => {
  for (const backend of ['bkd_group', 'bkd_fo_groups', 'bkd_w_groups']) {
    const c = base();
    c.edges[0].backend.backend_id = backend;
    tt.same(problemsOf(c), [], backend);
  }
  // terminate_at edge/upstream on a static backend is no business of the tunnel checks.
  const c = base();
  c.tunnel = null;
  c.edges.shift();
  tt.same(problemsOf(c), [], 'other terminations need no agents');
});

t.test('tokens from { env } and { file } are read, trimmed, and never shown', async (tt) => {
  const fileToken = 'file-token-0123456789abcdef';
  writeFileSync(pki.path('agent.token'), `${fileToken}\n`);
  const envToken = 'env-token-0123456789abcdef';
  const c = base();
  c.tunnel.authtokens = [
    { id: 'cr_inline', token: TOKEN_A },
    { id: 'cr_env', token: { env: 'EP_AGENT_TOKEN' } },
    { id: 'cr_file', token: { file: 'agent.token' } },
  ];
  const loaded = load(c, { EP_AGENT_TOKEN: envToken });
  tt.same(loaded.config.tunnel.authtokens.map((a) => [a.id, a.token, a.description]), [
    ['cr_inline', TOKEN_A, ''], ['cr_env', envToken, ''], ['cr_file', fileToken, ''],
  ], 'the file\'s trailing newline is trimmed');
  const shown = redactConfig(loaded) as typeof loaded.config;
  for (const [i, a] of shown.tunnel.authtokens.entries()) tt.equal(a.token, REDACTED, `authtokens[${i}].token redacted`);
  const text = JSON.stringify(shown);
  for (const token of [TOKEN_A, envToken, fileToken]) tt.notOk(text.includes(token), `${token.slice(0, 8)}… not in /config`);
  tt.equal(shown.tunnel.authtokens[0]!.id, 'cr_inline', 'ids stay visible');
  tt.equal(loaded.config.tunnel.authtokens[0]!.token, TOKEN_A, 'redaction copies');

  // A short token from the environment is refused at its path too.
  const short = tableBase();
  short.tunnel.authtokens[0].token = { env: 'EP_SHORT' };
  const problems = problemsOf(short, { EP_SHORT: 'shh-qwerty' });
  tt.same(problems.map((p) => p.path), ['tunnel.authtokens[0].token']);
  tt.match(problems[0]?.reason, /at least 16 bytes/);
  tt.notMatch(JSON.stringify(problems), /shh-qwerty/, 'the rejected token is not echoed');
});

t.test('the generation carries token hashes, agent flags and a tunnel listener', async (tt) => {
  const c = base();
  c.tunnel.heartbeat_interval = 2.5;
  c.tunnel.heartbeat_tolerance = 7.25;
  c.tunnel.max_streams = 100;
  c.edges.push({ id: 'edgtls_w', type: 'tls', hostports: ['d.example.test:8443'], backend: { backend_id: 'bkd_w_mixed' }, tls_termination: { terminate_at: 'upstream' } });
  c.edges.push({ id: 'edgtls_nobk', type: 'tls', hostports: ['e.example.test:8443'], tls_termination: { terminate_at: 'upstream' } });
  const loaded = load(c);
  const built = buildGeneration(loaded, 3, slotMaps());
  const tunnel = built.spec.tunnel;
  tt.ok(tunnel !== null, 'a tunnel spec');
  const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
  tt.same(tunnel!.tokens, [{ id: 'cr_a', sha256: sha(TOKEN_A) }, { id: 'cr_b', sha256: sha(TOKEN_B) }]);
  tt.equal(tunnel!.heartbeatMs, 2500);
  tt.equal(tunnel!.toleranceMs, 7250);
  tt.equal(tunnel!.maxStreams, 100);
  tt.match(tunnel!.certificate.certPem, /BEGIN CERTIFICATE/);
  tt.match(tunnel!.certificate.keyPem, /PRIVATE KEY/);
  const specText = JSON.stringify(built.spec);
  tt.notOk(specText.includes(TOKEN_A) || specText.includes(TOKEN_B), 'no cleartext token anywhere in the spec');

  const byId = new Map(built.spec.edges.map((e) => [e.id, e]));
  const flags = (id: string) => ({ terminate: byId.get(id)!.terminate, terminateAtAgent: byId.get(id)!.terminateAtAgent, viaAgents: byId.get(id)!.viaAgents });
  tt.same(flags('edgtls_agent'), { terminate: false, terminateAtAgent: true, viaAgents: true }, 'terminate_at agent: agents terminate, the edge does not');
  tt.same(flags('edgtls_edge'), { terminate: true, terminateAtAgent: false, viaAgents: false }, 'static backend: never via agents');
  tt.same(flags('edgtls_up'), { terminate: false, terminateAtAgent: false, viaAgents: true }, 'failover with a tunnel group child may go via agents');
  tt.same(flags('edgtcp_x'), { terminate: false, terminateAtAgent: false, viaAgents: false });
  tt.same(flags('edgtls_w'), { terminate: false, terminateAtAgent: false, viaAgents: true }, 'weighted with a tunnel group child');
  tt.same(flags('edgtls_nobk'), { terminate: false, terminateAtAgent: false, viaAgents: false }, 'no backend: not via agents');

  const plans = built.listeners.filter((l) => l.kind === 'tunnel');
  tt.same(plans, [{ key: 'tunnel/127.0.0.1:4443', kind: 'tunnel', address: '127.0.0.1', port: 4443, hostport: -1 }]);
  tt.ok(built.listeners.some((l) => l.kind === 'sni' && l.port === 8443), 'the edges keep their own listener');
});
