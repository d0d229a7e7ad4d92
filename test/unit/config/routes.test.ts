// HTTPS routes, their modules and the `http:` block: a valid base plus one mutation each must report
// exactly the expected path, message and ngrok code; defaults and generated ids are filled in.
import t from 'tap';
import { ConfigError } from '../../../core/config/errors.js';
import { loadConfigObject } from '../../../core/config/load.js';
import { redactConfig } from '../../../core/config/redact.js';
import { makePki } from '../../helpers/pki.js';

const pki = makePki();
t.teardown(() => pki.cleanup());

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- mutations poke anywhere

function base(): Json {
  return {
    admin: { listen: '127.0.0.1:4040' },
    tls_certificates: [{ id: 'cert_demo', certificate_pem: { file: 'bundle.crt' }, private_key_pem: { file: 'leaf.key' } }],
    reserved_domains: [{ domain: '*.example.test', certificate_id: 'cert_demo' }],
    ip_policies: [{ id: 'ipp_office', rules: [{ cidr: '127.0.0.0/8', action: 'allow' }] }],
    backends: [
      { id: 'bkd_app', type: 'static_address', address: '127.0.0.1:3000' },
      { id: 'bkd_down', type: 'http_response', status_code: 503, body: 'down' },
      { id: 'bkd_f', type: 'failover', backends: ['bkd_app', 'bkd_down'] },
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
            backend: { backend_id: 'bkd_f' },
            circuit_breaker: {},
            compression: {},
            request_headers: { add: { 'X-Client': '${conn.client_ip}' }, remove: ['X-Forwarded-Host'] },
            response_headers: { add: { 'X-Served-By': 'edgeplane' }, remove: ['server'] },
          },
          {
            id: 'rt_api',
            match_type: 'exact_path',
            match: '/api',
            backend: { backend_id: 'bkd_down' },
            ip_restriction: { ip_policy_ids: ['ipp_office'] },
            user_agent_filter: { allow: ['(?i)curl'], deny: ['(?i)bot'] },
          },
        ],
      },
    ],
    http: { plain_listen: '127.0.0.1:8080' },
  };
}

function problemsOf(config: Json): { path: string; reason: string }[] {
  try {
    loadConfigObject(config, { baseDir: pki.dir, env: {}, sourceName: 'test.yaml' });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const R0 = 'edges[1].routes[0]';
const R1 = 'edges[1].routes[1]';
const route0 = (c: Json) => c.edges[1].routes[0];
const route1 = (c: Json) => c.edges[1].routes[1];

t.test('the base config is valid', async (tt) => {
  tt.same(problemsOf(base()), []);
});

// [title, mutation, expected path, reason pattern]
const cases: [string, (c: Json) => void, string, RegExp][] = [
  // the availability matrix (spec §1.5)
  ['edge-level backend on https', (c) => (c.edges[1].backend = { backend_id: 'bkd_app' }), 'edges[1].backend', /set per route on https edges: move it to routes\[\]\.backend \(ERR_NGROK_7021\)/],
  ['edge-level ip_restriction on https', (c) => (c.edges[1].ip_restriction = { ip_policy_ids: ['ipp_office'] }), 'edges[1].ip_restriction', /routes\[\]\.ip_restriction \(ERR_NGROK_7021\)/],
  ['routes on a tls edge', (c) => (c.edges[0].routes = []), 'edges[0].routes', /https edges only \(ERR_NGROK_7021\)/],
  ['routes on a tcp edge', (c) => c.edges.push({ id: 'edgtcp', type: 'tcp', hostports: ['127.0.0.1:2222'], routes: [] }), 'edges[2].routes', /https edges only \(ERR_NGROK_7021\)/],
  ['mutual_tls not on routes', (c) => (route0(c).mutual_tls = { certificate_authority_ids: ['x'] }), `${R0}.mutual_tls`, /unknown field/],
  ['http_response stays refused on tls edges', (c) => (c.edges[0].backend.backend_id = 'bkd_f'), 'edges[0].backend.backend_id', /through bkd_f → bkd_down.*serves HTTP only/],
  // match_type and match
  ['match_type missing', (c) => delete route0(c).match_type, `${R0}.match_type`, /required.*ERR_NGROK_7130/],
  ['match_type unknown', (c) => (route0(c).match_type = 'regex'), `${R0}.match_type`, /'exact_path' or 'path_prefix' \(ERR_NGROK_7130\)/],
  ['match missing', (c) => delete route0(c).match, `${R0}.match`, /match is required \(ERR_NGROK_7123\)/],
  ['match empty', (c) => (route0(c).match = ''), `${R0}.match`, /ERR_NGROK_7123/],
  ['match a hostname', (c) => (route0(c).match = 'example.com/blog'), `${R0}.match`, /\/foo or \/foo\/bar \(ERR_NGROK_7131\)/],
  ['match with a query', (c) => (route0(c).match = '/a?b=1'), `${R0}.match`, /"\?".*ERR_NGROK_7131/],
  ['match with a space', (c) => (route0(c).match = '/a b'), `${R0}.match`, /ERR_NGROK_7131/],
  ['match with a bad escape', (c) => (route0(c).match = '/a%zz'), `${R0}.match`, /two hex digits \(ERR_NGROK_7131\)/],
  ['match not in normal form', (c) => (route0(c).match = '/a//b/../c'), `${R0}.match`, /write '\/a\/c' \(ERR_NGROK_7131\)/],
  ['match with an encoded letter', (c) => (route0(c).match = '/%61pi'), `${R0}.match`, /write '\/api' \(ERR_NGROK_7131\)/],
  ['match over 1024 bytes', (c) => (route0(c).match = '/' + 'a'.repeat(1024)), `${R0}.match`, /1024 bytes \(ERR_NGROK_7135\)/],
  ['duplicate match, other match_type', (c) => (route1(c).match = '/'), `${R1}.match`, /'\/' is already used by edges\[1\]\.routes\[0\].*ERR_NGROK_7126/],
  ['duplicate route id', (c) => (route0(c).id = 'rt_api'), `${R1}.id`, /duplicate route id 'rt_api' \(already used by edges\[1\]\.routes\[0\]\)/],
  ['generated route id collides', (c) => (route1(c).id = 'edghtsrt_edghts_app_0'), `${R1}.id`, /duplicate route id/],
  ['bad route id characters', (c) => (route1(c).id = 'rt-api'), `${R1}.id`, /letters, digits and _/],
  ['route description over 255 bytes', (c) => (route1(c).description = 'x'.repeat(256)), `${R1}.description`, /255 bytes/],
  ['unknown route field', (c) => (route1(c).no_such_module = {}), `${R1}.no_such_module`, /unknown field/],
  // references
  ['unknown route backend', (c) => (route1(c).backend.backend_id = 'bkd_nope'), `${R1}.backend.backend_id`, /unknown backend 'bkd_nope' \(ERR_NGROK_6501\)/],
  ['unknown route ip policy', (c) => (route1(c).ip_restriction.ip_policy_ids = ['ipp_office', 'ipp_nope']), `${R1}.ip_restriction.ip_policy_ids[1]`, /ERR_NGROK_7007/],
  ['route ip_restriction without policies', (c) => (route1(c).ip_restriction.ip_policy_ids = []), `${R1}.ip_restriction.ip_policy_ids`, /ERR_NGROK_7025/],
  // max_request_body_bytes
  ['negative body limit', (c) => (route1(c).max_request_body_bytes = -1), `${R1}.max_request_body_bytes`, /must not be negative/],
  ['fractional body limit', (c) => (route1(c).max_request_body_bytes = 1.5), `${R1}.max_request_body_bytes`, /integer/],
  // circuit_breaker
  ['threshold written as a percentage', (c) => (route0(c).circuit_breaker.error_threshold_percentage = 50), `${R0}.circuit_breaker.error_threshold_percentage`, /fraction 0\.\.1.*ERR_NGROK_7011/],
  ['negative threshold', (c) => (route0(c).circuit_breaker.error_threshold_percentage = -0.1), `${R0}.circuit_breaker.error_threshold_percentage`, /ERR_NGROK_7011/],
  ['tripped_duration 0', (c) => (route0(c).circuit_breaker.tripped_duration = 0), `${R0}.circuit_breaker.tripped_duration`, /more than 0.*ERR_NGROK_7016/],
  ['tripped_duration over 120', (c) => (route0(c).circuit_breaker.tripped_duration = 121), `${R0}.circuit_breaker.tripped_duration`, /at most 120 seconds \(ERR_NGROK_7016\)/],
  ['tripped_duration fractional', (c) => (route0(c).circuit_breaker.tripped_duration = 1.5), `${R0}.circuit_breaker.tripped_duration`, /whole number of seconds \(ERR_NGROK_7016\)/],
  ['rolling_window 0', (c) => (route0(c).circuit_breaker.rolling_window = 0), `${R0}.circuit_breaker.rolling_window`, /ERR_NGROK_7017/],
  ['rolling_window over 120', (c) => (route0(c).circuit_breaker.rolling_window = 600), `${R0}.circuit_breaker.rolling_window`, /ERR_NGROK_7017/],
  ['num_buckets 0', (c) => (route0(c).circuit_breaker.num_buckets = 0), `${R0}.circuit_breaker.num_buckets`, /1\.\.128 \(ERR_NGROK_7018\)/],
  ['num_buckets 129', (c) => (route0(c).circuit_breaker.num_buckets = 129), `${R0}.circuit_breaker.num_buckets`, /1\.\.128 \(ERR_NGROK_7018\)/],
  ['buckets shorter than 10 ms', (c) => Object.assign(route0(c).circuit_breaker, { rolling_window: 1, num_buckets: 128 }), `${R0}.circuit_breaker.num_buckets`, /7\.81 ms each; a bucket must be at least 10 ms.*ERR_NGROK_7018/],
  ['volume_threshold 0', (c) => (route0(c).circuit_breaker.volume_threshold = 0), `${R0}.circuit_breaker.volume_threshold`, /1\.\.2000000000/],
  ['volume_threshold too big', (c) => (route0(c).circuit_breaker.volume_threshold = 2_000_000_001), `${R0}.circuit_breaker.volume_threshold`, /1\.\.2000000000/],
  ['compression has only enabled', (c) => (route0(c).compression = { level: 9 }), `${R0}.compression.level`, /unknown field/],
  // request_headers / response_headers
  ['six headers added', (c) => (route0(c).request_headers.add = Object.fromEntries([1, 2, 3, 4, 5, 6].map((i) => [`x-h${i}`, 'v']))), `${R0}.request_headers.add`, /at most 5 headers may be added, got 6 \(ERR_NGROK_7015\)/],
  ['six headers removed', (c) => (route0(c).response_headers.remove = ['a', 'b', 'c', 'd', 'e', 'f']), `${R0}.response_headers.remove`, /at most 5 headers may be removed.*ERR_NGROK_7015/],
  ['empty header name', (c) => (route0(c).request_headers.add = { '': 'v' }), `${R0}.request_headers.add.`, /must not be empty \(ERR_NGROK_7023\)/],
  ['header name with a space', (c) => (route0(c).response_headers.add = { 'x bad': 'v' }), `${R0}.response_headers.add.x bad`, /ERR_NGROK_7023/],
  ['header name with a colon', (c) => (route0(c).request_headers.remove = [':path']), `${R0}.request_headers.remove[0]`, /ERR_NGROK_7023/],
  ['header name over 256 bytes', (c) => (route0(c).request_headers.remove = ['x'.repeat(257)]), `${R0}.request_headers.remove[0]`, /256 bytes \(ERR_NGROK_7105\)/],
  ['empty header value', (c) => (route0(c).response_headers.add = { 'x-a': ' ' }), `${R0}.response_headers.add.x-a`, /must not be empty \(ERR_NGROK_7024\)/],
  ['header value with CR LF', (c) => (route0(c).response_headers.add = { 'x-a': 'a\r\nset-cookie: x' }), `${R0}.response_headers.add.x-a`, /control character U\+000D.*ERR_NGROK_7024/],
  ['header value with NUL', (c) => (route0(c).request_headers.add = { 'x-a': 'a\u0000' }), `${R0}.request_headers.add.x-a`, /U\+0000.*ERR_NGROK_7024/],
  ['header value beyond Latin-1', (c) => (route0(c).request_headers.add = { 'x-a': 'snow ☃' }), `${R0}.request_headers.add.x-a`, /outside Latin-1.*ERR_NGROK_7024/],
  ['header value over 4096 bytes', (c) => (route0(c).request_headers.add = { 'x-a': 'v'.repeat(4097) }), `${R0}.request_headers.add.x-a`, /4096 bytes \(ERR_NGROK_7106\)/],
  ['same header added in two cases', (c) => (route0(c).response_headers.add = { 'X-A': '1', 'x-a': '2' }), `${R0}.response_headers.add.x-a`, /already added as 'X-A'.*ERR_NGROK_7069/],
  ['bad template', (c) => (route0(c).request_headers.add = { 'x-a': '${no.such.variable}' }), `${R0}.request_headers.add.x-a`, /\(ERR_NGROK_2213\)$/],
  ['unclosed template', (c) => (route0(c).response_headers.add = { 'x-a': 'ip ${conn.client_ip' }), `${R0}.response_headers.add.x-a`, /\(ERR_NGROK_2213\)$/],
  ['user-agent added', (c) => (route0(c).request_headers.add = { 'User-Agent': 'x' }), `${R0}.request_headers.add.User-Agent`, /may not add 'user-agent'/],
  ['user-agent removed', (c) => (route0(c).request_headers.remove = ['user-agent']), `${R0}.request_headers.remove[0]`, /may not remove 'user-agent'/],
  ['host removed without a replacement', (c) => (route0(c).request_headers.remove = ['Host']), `${R0}.request_headers.remove[0]`, /also adds one.*ERR_NGROK_7164/],
  ['ngrok-skip-browser-warning added', (c) => (route0(c).request_headers.add = { 'ngrok-skip-browser-warning': '1' }), `${R0}.request_headers.add.ngrok-skip-browser-warning`, /may not add 'ngrok-skip-browser-warning'/],
  ['ngrok-error-code added upstream', (c) => (route0(c).request_headers.add = { 'ngrok-error-code': 'x' }), `${R0}.request_headers.add.ngrok-error-code`, /set only by the edge/],
  ['ngrok-error-code added downstream', (c) => (route0(c).response_headers.add = { 'Ngrok-Error-Code': 'x' }), `${R0}.response_headers.add.Ngrok-Error-Code`, /set only by the edge/],
  ['content-length added', (c) => (route0(c).request_headers.add = { 'content-length': '0' }), `${R0}.request_headers.add.content-length`, /managed by the edge/],
  ['transfer-encoding removed', (c) => (route0(c).response_headers.remove = ['Transfer-Encoding']), `${R0}.response_headers.remove[0]`, /managed by the edge/],
  ['header value not a string', (c) => (route0(c).request_headers.add = { 'x-port': 8080 }), `${R0}.request_headers.add.x-port`, /expected string, got number/],
  // user_agent_filter
  ['bad user agent regex', (c) => (route1(c).user_agent_filter.deny = ['(unclosed']), `${R1}.user_agent_filter.deny[0]`, /\(unclosed/],
  ['exponential user agent regex', (c) => (route1(c).user_agent_filter.allow = ['(a+)+$']), `${R1}.user_agent_filter.allow[0]`, /./],
  ['user agent regex over 1024 characters', (c) => (route1(c).user_agent_filter.allow = ['a'.repeat(1025)]), `${R1}.user_agent_filter.allow[0]`, /at most 1024 characters/],
  ['51 user agent patterns', (c) => (route1(c).user_agent_filter.deny = Array.from({ length: 51 }, (_, i) => `bot${i}`)), `${R1}.user_agent_filter.deny`, /at most 50 patterns/],
  // the http block
  ['unknown http field', (c) => (c.http.max_headers = 1), 'http.max_headers', /unknown field/],
  ['max_header_bytes too small', (c) => (c.http.max_header_bytes = 1023), 'http.max_header_bytes', /1024\.\.1048576/],
  ['max_url_bytes too big', (c) => (c.http.max_url_bytes = 1_048_577), 'http.max_url_bytes', /256\.\.1048576/],
  ['header_timeout 0', (c) => (c.http.header_timeout = 0), 'http.header_timeout', /more than 0/],
  ['keep_alive_timeout negative', (c) => (c.http.keep_alive_timeout = -1), 'http.keep_alive_timeout', /0 or more/],
  ['timeout beyond what timers hold', (c) => (c.http.upstream_response_header_timeout = 3_000_000), 'http.upstream_response_header_timeout', /at most 86400 seconds/],
  ['upstream_idle_timeout 0', (c) => (c.http.upstream_idle_timeout = 0), 'http.upstream_idle_timeout', /more than 0/],
  ['max_concurrent_streams 0', (c) => (c.http.max_concurrent_streams = 0), 'http.max_concurrent_streams', /1\.\.10000/],
  ['max_idle_upstream_connections too many', (c) => (c.http.max_idle_upstream_connections = 65_537), 'http.max_idle_upstream_connections', /0\.\.65536/],
  ['plain_mode unknown', (c) => (c.http.plain_mode = 'proxy'), 'http.plain_mode', /'redirect' or 'serve'/],
  ['plain_listen without port', (c) => (c.http.plain_listen = '127.0.0.1'), 'http.plain_listen', /host:port/],
  ['plain_listen on a hostname', (c) => (c.http.plain_listen = 'app.example.test:8080'), 'http.plain_listen', /IP or 'localhost'/],
  ['plain_listen on the https port', (c) => (c.http.plain_listen = '0.0.0.0:8443'), 'http.plain_listen', /clashes with the sni listener of edges\[0\]\.hostports\[0\] on port 8443/],
  ['plain_listen on the admin port', (c) => (c.http.plain_listen = 'localhost:4040'), 'http.plain_listen', /clashes with the admin listener of admin\.listen/],
  ['plain_listen on a tcp edge port', (c) => c.edges.push({ id: 'edgtcp', type: 'tcp', hostports: ['127.0.0.1:8080'] }), 'http.plain_listen', /clashes with the tcp listener of edges\[2\]\.hostports\[0\]/],
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

t.test('defaults are filled in and route ids generated', async (tt) => {
  const config = base();
  delete config.http;
  const loaded = loadConfigObject(config, { baseDir: pki.dir, env: {} });
  const edge = loaded.config.edges[1]!;
  if (edge.type !== 'https') throw new Error('expected the https edge');
  const [r0, r1] = edge.routes;
  tt.equal(r0!.id, 'edghtsrt_edghts_app_0', 'generated from the edge id and the index');
  tt.equal(r1!.id, 'rt_api', 'a given id is kept');
  tt.same(r0!.circuit_breaker, { enabled: true, error_threshold_percentage: 0.5, tripped_duration: 10, rolling_window: 10, num_buckets: 10, volume_threshold: 20 });
  tt.same(r0!.compression, { enabled: true });
  tt.equal(r0!.max_request_body_bytes, 104_857_600);
  tt.equal(r0!.description, '');
  tt.same(r1!.user_agent_filter, { enabled: true, allow: ['(?i)curl'], deny: ['(?i)bot'] });
  tt.same(loaded.config.http, {
    max_header_bytes: 16_384, max_url_bytes: 8192, header_timeout: 10, keep_alive_timeout: 60, max_concurrent_streams: 100, client_write_timeout: 60,
    upstream_response_header_timeout: 60, upstream_idle_timeout: 30, max_idle_upstream_connections: 128, plain_listen: null, plain_mode: 'redirect',
  });
  const nullHttp = base();
  nullHttp.http = null;
  tt.equal(loadConfigObject(nullHttp, { baseDir: pki.dir, env: {} }).config.http.plain_listen, null, 'http: null reads as absent');
});

t.test('an https edge without routes is valid; disabled modules are kept', async (tt) => {
  const config = base();
  config.edges[1].routes = null;
  tt.same(problemsOf(config), []);
  const disabled = base();
  route0(disabled).circuit_breaker = { enabled: false, num_buckets: 5 };
  route0(disabled).backend.enabled = false;
  const edge = loadConfigObject(disabled, { baseDir: pki.dir, env: {} }).config.edges[1]!;
  tt.same(edge.type === 'https' && edge.routes[0]!.circuit_breaker, { enabled: false, error_threshold_percentage: 0.5, tripped_duration: 10, rolling_window: 10, num_buckets: 5, volume_threshold: 20 });
});

t.test('host may be removed when it is also added; the same rules allow it on responses', async (tt) => {
  const config = base();
  route0(config).request_headers = { add: { host: 'internal.example.test' }, remove: ['host'] };
  route0(config).response_headers = { add: { 'user-agent': 'x' }, remove: ['host', 'user-agent'] };
  tt.same(problemsOf(config), []);
});

t.test('problems in two routes are all reported', async (tt) => {
  const config = base();
  route0(config).match = 'nope';
  route1(config).backend.backend_id = 'bkd_nope';
  route1(config).circuit_breaker = { num_buckets: 0 };
  const paths = problemsOf(config).map((p) => p.path);
  tt.ok(paths.includes(`${R0}.match`), paths.join(', '));
  tt.ok(paths.includes(`${R1}.circuit_breaker.num_buckets`), paths.join(', '));
});

t.test('credential headers added upstream are redacted from /config', async (tt) => {
  const config = base();
  route0(config).request_headers.add = { Authorization: 'Bearer s3cret-token', 'X-Trace': 'on' };
  const shown = JSON.stringify(redactConfig(loadConfigObject(config, { baseDir: pki.dir, env: {} })));
  tt.notMatch(shown, 's3cret-token');
  tt.match(shown, '"Authorization":"[redacted]"');
  tt.match(shown, '"X-Trace":"on"', 'other header values stay visible');
});
