// Route modules and backends of an https edge end to end, with real clients (node https and http2,
// curl): request_headers and response_headers (add, remove, host replacement, templates),
// ip_restriction by the L4 client address, user_agent_filter, mutual_tls headers to the upstream,
// and the tunnel_group, weighted and http_response backends.
import t from 'tap';
import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { makeLeaf, makePki } from '../helpers/pki.js';
import { startDaemon } from '../helpers/daemon.js';
import { freePort, run } from '../helpers/net.js';
import {
  h2Connect, h2Request, httpsRequest, rawNames, reportHandler, startOrigin, type ClientResult, type Origin,
} from '../helpers/http.js';

const pki = makePki();
t.teardown(() => pki.cleanup());
makeLeaf(pki, 'client-dns', { dns: ['device-7.example.test'], emails: ['ops@example.test'], signer: 'ca', cn: 'device-7', usage: 'client' });
const CA = pki.read('ca.crt');
const APP = 'mods.example.test';
const MTLS = 'mtls.example.test';

// The main origin reports what it saw; /hdr/resp answers with headers for the response side to edit.
const origin = await startOrigin(t, (req, res, seen) => {
  if ((req.url ?? '').startsWith('/hdr/resp')) {
    req.resume();
    res.writeHead(200, [
      'Content-Type', 'text/plain',
      'X-Origin-Secret', 'one',
      'x-ORIGIN-secret', 'two',
      'X-Kept', 'from-origin',
      'Location', 'http://upstream.internal/next?x=1',
      'Content-Length', '2',
    ]);
    res.end('ok');
    return;
  }
  reportHandler(req, res, seen);
});
// Three origins that say who they are, for the load-balancing backends.
const named = async (name: string): Promise<Origin> => startOrigin(t, (req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': name.length });
  res.end(name);
});
const originA = await named('A');
const originB = await named('B');
const originC = await named('C');

const FIXED_BODY = '<h1>back soon</h1>\n';
const port = await freePort();
const route = (id: string, match: string, extra: object, backendId = 'bkd_origin') => ({
  id, match_type: 'path_prefix', match, backend: { backend_id: backendId }, ...extra,
});
const daemon = await startDaemon(t, {
  workers: 2,
  listen_address: '127.0.0.1',
  tls_certificates: [{ id: 'cert_edge', certificate_pem: { file: pki.path('bundle.crt') }, private_key_pem: { file: pki.path('leaf.key') } }],
  certificate_authorities: [{ id: 'ca_clients', ca_pem: { file: pki.path('ca.crt') } }],
  reserved_domains: [{ domain: '*.example.test', certificate_id: 'cert_edge' }],
  ip_policies: [
    { id: 'pol_local_allow', rules: [{ cidr: '127.0.0.1/32', action: 'allow' }] },
    { id: 'pol_local_deny', rules: [{ cidr: '127.0.0.1/32', action: 'deny' }, { cidr: '0.0.0.0/0', action: 'allow' }] },
    { id: 'pol_second_loopback', rules: [{ cidr: '127.0.0.2/32', action: 'allow' }] },
    { id: 'pol_ten', rules: [{ cidr: '10.0.0.0/8', action: 'allow' }] },
  ],
  tunnels: [
    { id: 'tn_a', labels: { app: 'rr', zone: 'a' }, forwards_to: originA.address },
    { id: 'tn_b', labels: { app: 'rr', zone: 'b' }, forwards_to: originB.address },
    { id: 'tn_c', labels: { app: 'other' }, forwards_to: originC.address },
  ],
  backends: [
    { id: 'bkd_origin', type: 'static_address', address: origin.address },
    { id: 'bkd_group', type: 'tunnel_group', labels: { app: 'rr' } },
    { id: 'bkd_a', type: 'static_address', address: originA.address },
    { id: 'bkd_b', type: 'static_address', address: originB.address },
    { id: 'bkd_c', type: 'static_address', address: originC.address },
    { id: 'bkd_weighted', type: 'weighted', backends: { bkd_a: 3, bkd_b: 1, bkd_c: 0 } },
    { id: 'bkd_fixed', type: 'http_response', status_code: 418, headers: { 'content-type': 'text/html; charset=utf-8', 'x-maintenance': 'on' }, body: FIXED_BODY },
  ],
  edges: [
    {
      id: 'edghts_mods', type: 'https', hostports: [`${APP}:${port}`],
      routes: [
        route('rt_hdr', '/hdr', {
          circuit_breaker: {},
          request_headers: {
            add: {
              'X-Added': 'static-value',
              'x-client-ip': '${conn.client_ip}',
              'x-method': '${req.method}',
              host: 'upstream.internal',
              'x-summary': 'path=${req.url.path} ua=${req.headers.user-agent} cb=${.circuit_breaker.decision}',
            },
            remove: ['X-Secret-Header', 'x-drop-me'],
          },
          response_headers: {
            add: { 'x-resp-added': 'yes', 'x-resp-status': '${res.status_code}', 'x-resp-method': '${req.method}', 'X-Kept': 'from-edge' },
            remove: ['x-origin-secret'],
          },
        }),
        route('rt_ip_allowed', '/ip/allowed', { ip_restriction: { ip_policy_ids: ['pol_local_allow'] } }),
        route('rt_ip_denied', '/ip/denied', { ip_restriction: { ip_policy_ids: ['pol_local_deny'] } }),
        route('rt_ip_pooled', '/ip/pooled', { ip_restriction: { ip_policy_ids: ['pol_local_allow', 'pol_local_deny'] } }),
        route('rt_ip_second', '/ip/second', { ip_restriction: { ip_policy_ids: ['pol_second_loopback'] } }),
        route('rt_ip_ten', '/ip/ten', { ip_restriction: { ip_policy_ids: ['pol_ten'] } }),
        route('rt_ua', '/ua', { user_agent_filter: { allow: ['(?i)google-images'], deny: ['(?i)google', '^curl/'] } }),
        route('rt_ua_empty', '/ua-empty', { user_agent_filter: { allow: ['^$'], deny: ['.*'] } }),
        route('rt_group', '/group', {}, 'bkd_group'),
        route('rt_weighted', '/weighted', {}, 'bkd_weighted'),
        route('rt_fixed', '/fixed', { response_headers: { add: { 'x-via': 'edge' } } }, 'bkd_fixed'),
        route('rt_plain', '/plain', {}),
      ],
    },
    {
      id: 'edghts_mtls', type: 'https', hostports: [`${MTLS}:${port}`],
      mutual_tls: { certificate_authority_ids: ['ca_clients'] },
      routes: [route('rt_mtls', '/mtls', {})],
    },
  ],
});

type Report = { url: string; headers: Record<string, string>; rawHeaders: string[] };
const report = (res: { body: Buffer }): Report => JSON.parse(res.body.toString());
const get = (path: string, extra: Partial<Parameters<typeof httpsRequest>[0]> = {}): Promise<ClientResult> =>
  httpsRequest({ port, host: APP, ca: CA, path, ...extra });
/** The values a raw header list holds for `name`, in order. */
const valuesOf = (raw: string[], name: string): string[] => {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
};
const curlBase = ['-sS', '--cacert', pki.path('ca.crt'), '--resolve', `${APP}:${port}:127.0.0.1`, '--resolve', `${MTLS}:${port}:127.0.0.1`];

async function findEvent(pred: (o: Record<string, any>) => boolean, timeoutMs = 10_000): Promise<Record<string, any>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hit = daemon.events().find((e) => e.event_type === 'http_request_complete.v0' && pred(e.object));
    if (hit !== undefined) return hit.object;
    if (Date.now() > until) throw new Error('no matching http_request_complete.v0 event');
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('request_headers: add appends, remove drops every value in any case, host is replaced, templates render', async (t) => {
  const res = await get('/hdr/probe?q=1', {
    method: 'POST',
    body: Buffer.from('payload'),
    headers: {
      'user-agent': 'probe/1.0',
      'X-Added': 'from-client',
      'X-Secret-Header': ['s1', 's2'],
      'x-SECRET-header': 's3',
      'X-Drop-Me': 'gone',
      'X-Untouched': 'kept',
    },
  });
  t.equal(res.status, 200);
  const seen = report(res);
  t.same(valuesOf(seen.rawHeaders, 'x-added'), ['from-client', 'static-value'], 'add appends after the client\'s value');
  t.same(valuesOf(seen.rawHeaders, 'x-secret-header'), [], 'every X-Secret-Header is removed, whatever its case');
  t.same(valuesOf(seen.rawHeaders, 'x-drop-me'), [], 'x-drop-me removed');
  t.same(valuesOf(seen.rawHeaders, 'x-untouched'), ['kept'], 'other headers pass');
  t.same(valuesOf(seen.rawHeaders, 'host'), ['upstream.internal'], 'adding host replaces it: one Host, the configured one');
  t.same(valuesOf(seen.rawHeaders, 'x-client-ip'), ['127.0.0.1'], '${conn.client_ip}');
  t.same(valuesOf(seen.rawHeaders, 'x-method'), ['POST'], '${req.method}');
  t.same(valuesOf(seen.rawHeaders, 'x-summary'), ['path=/hdr/probe ua=probe/1.0 cb=allow'], 'path, a request header and the breaker decision in one template');
  t.equal(seen.url, '/hdr/probe?q=1');
  t.same(valuesOf(seen.rawHeaders, 'x-forwarded-host'), [`${APP}:${port}`], 'X-Forwarded-Host names the endpoint the client asked for, not the replaced Host');

  const session = await h2Connect(t, port, APP, CA);
  const h2 = await h2Request(session, { ':path': '/hdr/h2', ':method': 'GET', 'user-agent': 'h2-probe', 'x-drop-me': 'gone', 'X-Secret-Header': 'x' });
  t.equal(h2.status, 200);
  const h2seen = report(h2);
  t.same(valuesOf(h2seen.rawHeaders, 'host'), ['upstream.internal'], 'HTTP/2: :authority became Host, then was replaced');
  t.same(valuesOf(h2seen.rawHeaders, 'x-method'), ['GET']);
  t.same(valuesOf(h2seen.rawHeaders, 'x-drop-me'), [], 'HTTP/2: removed');
  t.same(valuesOf(h2seen.rawHeaders, 'x-secret-header'), []);
  t.same(valuesOf(h2seen.rawHeaders, 'x-summary'), ['path=/hdr/h2 ua=h2-probe cb=allow']);
  session.close();
});

t.test('response_headers: remove every value in any case, add appends, templates see the response; Location follows the Host rewrite', async (t) => {
  for (const method of ['GET', 'DELETE']) {
    const res = await get('/hdr/resp', { method });
    t.equal(res.status, 200, method);
    t.same(valuesOf(res.rawHeaders, 'x-origin-secret'), [], `${method}: both X-Origin-Secret values removed`);
    t.same(valuesOf(res.rawHeaders, 'x-kept'), ['from-origin', 'from-edge'], `${method}: add appends to the origin's value`);
    t.same(valuesOf(res.rawHeaders, 'x-resp-added'), ['yes']);
    t.same(valuesOf(res.rawHeaders, 'x-resp-status'), ['200'], '${res.status_code}');
    t.same(valuesOf(res.rawHeaders, 'x-resp-method'), [method], '${req.method} on the response side');
    t.same(valuesOf(res.rawHeaders, 'location'), [`https://${APP}:${port}/next?x=1`], 'a Location naming the replaced Host points back at the endpoint');
    t.equal(res.body.toString(), 'ok');
  }
  const ev = await findEvent((o) => o.http.request.url.path === '/hdr/resp');
  t.same(ev.http.response.headers['X-Resp-Added'], ['yes'], 'the event shows the edited response headers');
  t.equal(ev.http.response.headers['X-Origin-Secret'], undefined, 'and not the removed ones');
});

t.test('ip_restriction on a route: the L4 client address against allow/deny rules', async (t) => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const before = origin.requests.length;
  const denied = await get('/ip/denied', { agent });
  t.equal(denied.status, 403, 'a deny rule for 127.0.0.1/32 beats the allow-all');
  t.equal(denied.headers['ngrok-error-code'], 'ERR_NGROK_3205');
  const allowed = await get('/ip/allowed', { agent });
  t.equal(allowed.status, 200, 'an allow rule for 127.0.0.1/32 lets us in');
  t.ok(allowed.reusedSocket, 'after a 403 the connection stays open for the next request');
  t.equal(report(allowed).url, '/ip/allowed');
  const pooled = await get('/ip/pooled');
  t.equal(pooled.status, 403, 'two policies pooled: the deny wins over the other policy\'s allow');
  t.equal(pooled.headers['ngrok-error-code'], 'ERR_NGROK_3205');
  const ten = await get('/ip/ten', { headers: { 'x-forwarded-for': '10.1.2.3', forwarded: 'for=10.1.2.3' } });
  t.equal(ten.status, 403, 'X-Forwarded-For and Forwarded are never trusted');
  const second = await get('/ip/second');
  t.equal(second.status, 403, 'a rule for 127.0.0.2 does not admit 127.0.0.1');
  t.equal(origin.requests.length, before + 1, 'only the allowed request reached the origin');

  // The same route from another loopback source address is let in.
  const fromSecond = await run('curl', [...curlBase, '--interface', '127.0.0.2', '-w', '\n%{http_code}', `https://${APP}:${port}/ip/second`]);
  t.equal(fromSecond.code, 0, fromSecond.stderr);
  const nl = fromSecond.stdout.lastIndexOf('\n');
  t.equal(fromSecond.stdout.slice(nl + 1), '200', 'from 127.0.0.2 the route answers');
  t.equal(JSON.parse(fromSecond.stdout.slice(0, nl)).headers['x-forwarded-for'], '127.0.0.2', 'and the origin sees that client address');
  const deniedSecond = await run('curl', [...curlBase, '--interface', '127.0.0.2', '-o', '/dev/null', '-w', '%{http_code}', `https://${APP}:${port}/ip/allowed`]);
  t.equal(deniedSecond.stdout, '403', 'while 127.0.0.2 is refused where only 127.0.0.1 is allowed');

  const ev = await findEvent((o) => o.http.request.url.path === '/ip/denied');
  t.equal(ev.ip_policy?.decision, 'block', 'the event records the block');
  t.equal(ev.http.response.status_code, 403);
  const evOk = await findEvent((o) => o.http.request.url.path === '/ip/allowed' && o.conn.client_ip === '127.0.0.1');
  t.equal(evOk.ip_policy?.decision, 'allow');
});

t.test('user_agent_filter: allow beats deny, (?i) patterns, only the first User-Agent, none refused', async (t) => {
  const cases: Array<[string | string[] | undefined, number, string]> = [
    ['Googlebot/2.1 (+http://www.google.com/bot.html)', 403, 'deny (?i)google'],
    ['GOOGLEBOT', 403, 'case-insensitive deny'],
    ['Google-Images/1.0', 200, 'allow (?i)google-images beats deny (?i)google'],
    ['google-IMAGES', 200, 'case-insensitive allow'],
    ['Mozilla/5.0 (X11; Linux x86_64)', 200, 'matches no deny rule'],
    ['curl/8.0.1', 403, 'deny ^curl/'],
    ['CURL/8.0.1', 200, 'a pattern without (?i) is case-sensitive'],
    [undefined, 403, 'no User-Agent is refused'],
    ['', 403, 'an empty User-Agent is refused'],
    [['Mozilla/5.0', 'Googlebot'], 200, 'only the first User-Agent counts (allowed one first)'],
    [['Googlebot', 'Mozilla/5.0'], 403, 'only the first User-Agent counts (denied one first)'],
  ];
  for (const [agent, want, why] of cases) {
    const res = await get('/ua/check', { headers: agent === undefined ? {} : { 'user-agent': agent as string } }); // an array goes out as one line each
    t.equal(res.status, want, `${JSON.stringify(agent)}: ${why}`);
    if (want === 403) t.equal(res.headers['ngrok-error-code'], 'ERR_NGROK_3211', `${JSON.stringify(agent)}: ERR_NGROK_3211`);
    else t.equal(report(res).url, '/ua/check');
  }
  const curlUa = await run('curl', [...curlBase, '-o', '/dev/null', '-w', '%{http_code}', `https://${APP}:${port}/ua/check`]);
  t.equal(curlUa.stdout, '403', 'curl\'s own User-Agent is denied');
  const noneH2 = await h2Request(await h2Connect(t, port, APP, CA), { ':path': '/ua/check' });
  t.equal(noneH2.status, 403, 'HTTP/2 without a User-Agent is refused too');
  t.equal(noneH2.headers['ngrok-error-code'], 'ERR_NGROK_3211');

  t.equal((await get('/ua-empty/x')).status, 200, 'an allow rule matching "" admits clients without a User-Agent');
  t.equal((await get('/ua-empty/x', { headers: { 'user-agent': 'Mozilla/5.0' } })).status, 403, 'and the deny-all refuses the rest');

  const ev = await findEvent((o) => o.http.request.url.path === '/ua/check' && o.http.request.user_agent === 'GOOGLEBOT');
  t.equal(ev.user_agent_filter?.decision, 'block');
  t.equal(ev.http.response.status_code, 403);
});

/** A request to the mutual TLS edge with node https and the given client certificate (or none). */
function mtlsRequest(certName: string | null, path: string, headers: Record<string, string> = {}): Promise<ClientResult> {
  return httpsRequest({
    port, host: MTLS, ca: CA, path, headers,
    agent: new https.Agent(certName === null ? {} : { cert: pki.read(`${certName}.crt`), key: pki.read(`${certName}.key`) }),
  });
}

t.test('mutual_tls on an https edge: a verified client certificate is required and described to the upstream', async (t) => {
  const before = origin.requests.length;
  const none = await mtlsRequest(null, '/mtls/none').then((r) => `HTTP ${r.status}`, (err: Error) => `error: ${err.message}`);
  t.match(none, /^error: /, `no client certificate: the connection fails (${none})`);
  const rogue = await mtlsRequest('rogue-client', '/mtls/rogue').then((r) => `HTTP ${r.status}`, (err: Error) => `error: ${err.message}`);
  t.match(rogue, /^error: /, `a certificate from another CA fails (${rogue})`);
  const curlNone = await run('curl', [...curlBase, `https://${MTLS}:${port}/mtls/curl`]);
  t.not(curlNone.code, 0, `curl without a certificate fails (exit ${curlNone.code})`);
  t.equal(origin.requests.length, before, 'nothing reached the origin');

  const serial = new X509Certificate(pki.read('client.crt')).serialNumber.toUpperCase();
  const res = await mtlsRequest('client', '/mtls/ok', { 'ngrok-mtls-subject-cn': 'admin', 'Ngrok-Mtls-Serial-Number': '00', 'ngrok-mtls-subject-alt-name-dns': 'evil.example' });
  t.equal(res.status, 200);
  const seen = report(res);
  t.same(valuesOf(seen.rawHeaders, 'ngrok-mtls-subject-cn'), ['client-1'], 'the verified CN, once: the client\'s own claim is dropped');
  t.same(valuesOf(seen.rawHeaders, 'ngrok-mtls-serial-number'), [serial], 'the serial number as upper-case hex');
  t.same(valuesOf(seen.rawHeaders, 'ngrok-mtls-email-addresses'), ['client-1@example.test']);
  t.same(valuesOf(seen.rawHeaders, 'ngrok-mtls-subject-alt-name-dns'), [], 'a certificate without DNS names sends no DNS header, and the forged one is gone');

  const dns = report(await mtlsRequest('client-dns', '/mtls/dns'));
  t.same(valuesOf(dns.rawHeaders, 'ngrok-mtls-subject-cn'), ['device-7']);
  t.same(valuesOf(dns.rawHeaders, 'ngrok-mtls-subject-alt-name-dns'), ['device-7.example.test']);
  t.same(valuesOf(dns.rawHeaders, 'ngrok-mtls-email-addresses'), ['ops@example.test']);

  // HTTP/2 carries the same facts.
  const session = http2.connect(`https://${MTLS}:${port}`, {
    createConnection: () => tls.connect({ host: '127.0.0.1', port, servername: MTLS, ca: CA, ALPNProtocols: ['h2'], cert: pki.read('client.crt'), key: pki.read('client.key') }),
  });
  session.on('error', () => {});
  t.teardown(() => session.destroy());
  const h2 = await h2Request(session, { ':path': '/mtls/h2', 'ngrok-mtls-subject-cn': 'admin' });
  t.equal(h2.status, 200);
  t.same(valuesOf(report(h2).rawHeaders, 'ngrok-mtls-subject-cn'), ['client-1'], 'HTTP/2: the verified CN only');

  const viaCurl = await run('curl', [...curlBase, '--cert', pki.path('client.crt'), '--key', pki.path('client.key'), `https://${MTLS}:${port}/mtls/curl-ok`]);
  t.equal(viaCurl.code, 0, viaCurl.stderr);
  t.equal(JSON.parse(viaCurl.stdout).headers['ngrok-mtls-subject-cn'], 'client-1', 'curl with the client certificate gets through');

  const ev = await findEvent((o) => o.http.request.url.path === '/mtls/ok');
  t.equal(ev.tls?.client_cert?.subject?.cn, 'client-1', 'the event names the client certificate');
  t.equal(ev.tls?.client_cert?.serial_number, serial);
});

t.test('without mutual_tls, client-sent ngrok-mtls-* headers never reach the upstream', async (t) => {
  const res = await get('/plain/forged', { headers: { 'ngrok-mtls-subject-cn': 'admin', 'NGROK-MTLS-SERIAL-NUMBER': '01', 'ngrok-mtls-email-addresses': 'root@example.test' } });
  t.equal(res.status, 200);
  const names = rawNames(report(res).rawHeaders);
  t.same(names.filter((n) => n.startsWith('ngrok-mtls-')), [], 'no ngrok-mtls-* header is forwarded');
});

t.test('tunnel_group: round-robin per request over the matching tunnels', async (t) => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const order: string[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await get(`/group/${i}`, { agent });
    t.equal(res.status, 200);
    order.push(res.body.toString());
  }
  t.ok(order.every((name, i) => i === 0 || name !== order[i - 1]), `one keep-alive connection, alternating per request: ${order.join('')}`);
  t.equal(order.filter((n) => n === 'A').length, 10);
  t.equal(order.filter((n) => n === 'B').length, 10);
  t.equal(originC.requestsTo('/group').length, 0, 'a tunnel without the label gets nothing');

  const fresh: string[] = [];
  for (let i = 0; i < 10; i++) fresh.push((await get(`/group/fresh/${i}`)).body.toString());
  const a = fresh.filter((n) => n === 'A').length;
  t.ok(a >= 4 && a <= 6, `over new connections the tunnels still share the requests (${fresh.join('')})`);
});

t.test('weighted: traffic split in proportion to the weights, none for weight 0', async (t) => {
  const TOTAL = 200;
  let sent = 0;
  const loop = async (): Promise<void> => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      while (sent < TOTAL) {
        const n = sent++;
        const res = await get(`/weighted/${n}`, { agent });
        if (res.status !== 200) throw new Error(`/weighted/${n}: ${res.status}`);
      }
    } finally { agent.destroy(); }
  };
  await Promise.all([loop(), loop(), loop(), loop()]);
  const a = originA.requestsTo('/weighted').length;
  const b = originB.requestsTo('/weighted').length;
  const c = originC.requestsTo('/weighted').length;
  t.equal(a + b + c, TOTAL, 'every request reached one origin');
  t.equal(c, 0, 'weight 0 gets nothing');
  t.ok(Math.abs(a - 150) <= 20, `weight 3 → ${a} of ${TOTAL} (about 150)`);
  t.ok(Math.abs(b - 50) <= 20, `weight 1 → ${b} of ${TOTAL} (about 50)`);
});

t.test('http_response backend: its status, headers and body, through HTTP/1.1 and HTTP/2', async (t) => {
  const before = origin.requests.length + originA.requests.length + originB.requests.length + originC.requests.length;
  const res = await get('/fixed/page');
  t.equal(res.status, 418);
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8');
  t.equal(res.headers['x-maintenance'], 'on');
  t.equal(res.headers['content-length'], String(Buffer.byteLength(FIXED_BODY)));
  t.equal(res.body.toString(), FIXED_BODY);
  t.equal(res.headers['ngrok-error-code'], undefined, 'a configured answer is not an edge error');
  t.equal(res.headers['x-via'], 'edge', 'response modules run on it too');

  const curlH2 = await run('curl', [...curlBase, '--http2', '-i', `https://${APP}:${port}/fixed/curl`]);
  t.equal(curlH2.code, 0, curlH2.stderr);
  t.match(curlH2.stdout, /^HTTP\/2 418/, 'curl over HTTP/2 gets 418');
  t.match(curlH2.stdout, /\r\nx-maintenance: on\r\n/);
  t.ok(curlH2.stdout.endsWith(`\r\n\r\n${FIXED_BODY}`), 'and the body');
  const after = origin.requests.length + originA.requests.length + originB.requests.length + originC.requests.length;
  t.equal(after, before, 'no origin was asked');
});
