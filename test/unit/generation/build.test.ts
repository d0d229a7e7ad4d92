// The generation builder turns a validated config into the plain data workers compile: https routes
// with only their enabled modules, breaker slots stable across reloads, HTTP settings in ms.
import t from 'tap';
import { loadConfigObject } from '../../../core/config/load.js';
import { buildGeneration, type SlotMaps } from '../../../core/generation/build.js';
import { MAX_BREAKERS } from '../../../core/tables/breakers.js';
import { MAX_BACKENDS, MAX_EDGES, SlotMap } from '../../../core/tables/counters.js';
import { makePki } from '../../helpers/pki.js';

const pki = makePki();
t.teardown(() => pki.cleanup());

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- configs are edited freely

function config(): Json {
  return {
    listen_address: '127.0.0.1',
    tls_certificates: [{ id: 'cert_demo', certificate_pem: { file: 'bundle.crt' }, private_key_pem: { file: 'leaf.key' } }],
    reserved_domains: [{ domain: '*.example.test', certificate_id: 'cert_demo' }],
    ip_policies: [{ id: 'ipp_a', rules: [{ cidr: '10.0.0.0/8', action: 'allow' }] }, { id: 'ipp_b', rules: [{ cidr: '127.0.0.0/8', action: 'allow' }] }],
    backends: [
      { id: 'bkd_app', type: 'static_address', address: '127.0.0.1:3000' },
      { id: 'bkd_ok', type: 'http_response', status_code: 200, body: 'ok' },
    ],
    edges: [
      { id: 'edgtls_db', type: 'tls', hostports: ['db.example.test:8443'], backend: { backend_id: 'bkd_app' } },
      {
        id: 'edghts_app',
        type: 'https',
        hostports: ['app.example.test:8443'],
        routes: [
          {
            match_type: 'path_prefix',
            match: '/',
            backend: { backend_id: 'bkd_app' },
            circuit_breaker: { error_threshold_percentage: 0.25, tripped_duration: 3, rolling_window: 2, num_buckets: 4, volume_threshold: 7 },
            compression: {},
            request_headers: { add: { 'X-Client-IP': '${conn.client_ip}' }, remove: ['X-Forwarded-Host', 'Cookie'] },
            response_headers: { add: { 'X-Served-By': 'edgeplane' }, remove: ['Server'] },
            user_agent_filter: { enabled: false, deny: ['bot'] },
          },
          {
            id: 'rt_status',
            match_type: 'exact_path',
            match: '/status',
            backend: { backend_id: 'bkd_ok' },
            ip_restriction: { ip_policy_ids: ['ipp_b', 'ipp_a'] },
            circuit_breaker: {},
            user_agent_filter: { allow: ['(?i)curl'] },
            max_request_body_bytes: 0,
          },
        ],
      },
    ],
    http: { header_timeout: 2.5, keep_alive_timeout: 0, upstream_response_header_timeout: 45, upstream_idle_timeout: 12, max_header_bytes: 8192, plain_listen: '127.0.0.1:8080', plain_mode: 'serve' },
  };
}

function slotMaps(): SlotMaps {
  return { edges: new SlotMap(MAX_EDGES, 'edge'), backends: new SlotMap(MAX_BACKENDS, 'backend'), breakers: new SlotMap(MAX_BREAKERS, 'breaker') };
}

const load = (c: Json) => loadConfigObject(c, { baseDir: pki.dir, env: {} });

t.test('https routes carry their enabled modules, lower-cased headers and ms durations', async (tt) => {
  const built = buildGeneration(load(config()), 1, slotMaps());
  const [tlsEdge, httpsEdge] = built.spec.edges;
  tt.same(tlsEdge!.routes, [], 'tls edges have no routes');
  tt.equal(tlsEdge!.backend, 0);
  tt.equal(httpsEdge!.backend, -1, 'https edges have no edge-level backend');
  tt.equal(httpsEdge!.ipPolicies, null);
  tt.ok(httpsEdge!.terminate);
  const [root, status] = httpsEdge!.routes;
  tt.same(root, {
    id: 'edghtsrt_edghts_app_0',
    matchType: 'path_prefix',
    match: '/',
    slot: 0,
    backend: 0,
    maxRequestBodyBytes: 104_857_600,
    modules: {
      circuit_breaker: { slot: 0, errorThresholdPercentage: 0.25, trippedDurationMs: 3000, rollingWindowMs: 2000, numBuckets: 4, volumeThreshold: 7 },
      compression: {},
      request_headers: { add: { 'x-client-ip': '${conn.client_ip}' }, remove: ['x-forwarded-host', 'cookie'] },
      response_headers: { add: { 'x-served-by': 'edgeplane' }, remove: ['server'] },
    },
  }, 'a disabled user_agent_filter is absent');
  tt.same(status, {
    id: 'rt_status',
    matchType: 'exact_path',
    match: '/status',
    slot: 1,
    backend: 1,
    maxRequestBodyBytes: 0,
    modules: {
      ip_restriction: { ipPolicies: [1, 0] },
      circuit_breaker: { slot: 1, errorThresholdPercentage: 0.5, trippedDurationMs: 10_000, rollingWindowMs: 10_000, numBuckets: 10, volumeThreshold: 20 },
      user_agent_filter: { allow: ['(?i)curl'], deny: [] },
    },
  });
  tt.same(Object.keys(status!.modules), ['ip_restriction', 'circuit_breaker', 'user_agent_filter']);
});

t.test('HTTP settings in ms, and the plain listener in the plan', async (tt) => {
  const built = buildGeneration(load(config()), 1, slotMaps());
  tt.same(built.spec.http, {
    maxHeaderBytes: 8192, maxUrlBytes: 8192, headerTimeoutMs: 2500, keepAliveTimeoutMs: 0, maxConcurrentStreams: 100,
    upstreamResponseHeaderTimeoutMs: 45_000, upstreamIdleTimeoutMs: 12_000, maxIdleUpstreamConnections: 128, clientWriteTimeoutMs: 60_000, plainMode: 'serve',
  });
  tt.same(built.plain, { address: '127.0.0.1', port: 8080, mode: 'serve' });
  tt.same(built.listeners.find((l) => l.kind === 'http'), { key: 'http/127.0.0.1:8080', kind: 'http', address: '127.0.0.1', port: 8080, hostport: -1 });
  tt.equal(built.listeners.filter((l) => l.kind === 'sni').length, 1, 'the https and tls edges share one sni listener');
  tt.equal(built.spec.eventsEnabled, false, 'no events block: workers skip building events');

  const plainless = config();
  delete plainless.http;
  plainless.events = { file: '-' };
  const defaults = buildGeneration(load(plainless), 1, slotMaps());
  tt.equal(defaults.plain, null);
  tt.notOk(defaults.listeners.some((l) => l.kind === 'http'));
  tt.same(defaults.spec.http, {
    maxHeaderBytes: 16_384, maxUrlBytes: 8192, headerTimeoutMs: 10_000, keepAliveTimeoutMs: 60_000, maxConcurrentStreams: 100,
    upstreamResponseHeaderTimeoutMs: 60_000, upstreamIdleTimeoutMs: 30_000, maxIdleUpstreamConnections: 128, clientWriteTimeoutMs: 60_000, plainMode: 'redirect',
  });
  tt.equal(defaults.spec.eventsEnabled, true);
});

t.test('breaker slots follow edge and route ids across generations', async (tt) => {
  const slots = slotMaps();
  const first = buildGeneration(load(config()), 1, slots);
  const slotsOf = (b: typeof first) => Object.fromEntries(b.spec.edges[1]!.routes.map((r) => [r.id, r.modules.circuit_breaker?.slot]));
  tt.same(slotsOf(first), { edghtsrt_edghts_app_0: 0, rt_status: 1 });

  // Reload: the routes swap places (the generated id follows the index), and a new route appears.
  const next = config();
  const routes = next.edges[1].routes;
  routes[0].id = 'rt_root';
  next.edges[1].routes = [routes[1], routes[0], { id: 'rt_new', match_type: 'path_prefix', match: '/new', circuit_breaker: {} }];
  const second = buildGeneration(load(next), 2, slots);
  tt.same(slotsOf(second), { rt_status: 1, rt_root: 2, rt_new: 3 }, 'rt_status keeps its slot; new ids get new slots');

  const again = buildGeneration(load(next), 3, slots);
  tt.same(slotsOf(again), slotsOf(second), 'the same config builds the same slots');
  tt.same([...slots.breakers.entries()].map(([key]) => key), ['edghts_app/edghtsrt_edghts_app_0', 'edghts_app/rt_status', 'edghts_app/rt_root', 'edghts_app/rt_new']);

  const renamed = config();
  renamed.edges[1].id = 'edghts_other';
  const third = buildGeneration(load(renamed), 4, slots);
  tt.same(slotsOf(third), { edghtsrt_edghts_other_0: 4, rt_status: 5 }, 'keyed by edge id too: another edge never shares a breaker');
});

t.test('a disabled breaker takes no slot; a disabled backend reads as none', async (tt) => {
  const c = config();
  c.edges[1].routes[0].circuit_breaker.enabled = false;
  c.edges[1].routes[0].backend.enabled = false;
  const slots = slotMaps();
  const built = buildGeneration(load(c), 1, slots);
  const root = built.spec.edges[1]!.routes[0]!;
  tt.equal(root.modules.circuit_breaker, undefined);
  tt.equal(root.backend, -1);
  tt.equal(built.spec.edges[1]!.routes[1]!.modules.circuit_breaker!.slot, 0);
});

t.test('fractional seconds become whole ms, and a tiny positive timeout never reads as 0 (off)', async (tt) => {
  const c = config();
  c.http = { header_timeout: 0.0001, keep_alive_timeout: 1.1, upstream_idle_timeout: 0.0005 };
  const http = buildGeneration(load(c), 1, slotMaps()).spec.http;
  tt.equal(http.headerTimeoutMs, 1);
  tt.equal(http.keepAliveTimeoutMs, 1100);
  tt.equal(http.upstreamIdleTimeoutMs, 1);
});
