// The cleartext HTTP listener (http.plain_listen): in redirect mode every request for an https
// edge's host gets 308 to the same path on HTTPS; in serve mode (behind a TLS load balancer) it is
// routed through the same edge routes with X-Forwarded-Proto: http. Unknown hosts get 404.
import t from 'tap';
import http from 'node:http';
import WebSocket from 'ws';
import { makePki } from '../helpers/pki.js';
import { startDaemon, type DaemonHandle } from '../helpers/daemon.js';
import { freePort, run } from '../helpers/net.js';
import { lookupLoopback, startOrigin, waitForEvent, webSocketEcho, type Origin, exampleTestCertificates } from '../helpers/http.js';

const pki = makePki();
t.teardown(() => pki.cleanup());
const APP = 'app.example.test';

interface Plain { daemon: DaemonHandle; origin: Origin; httpsPort: number; plainPort: number }

async function setup(tt: { teardown(fn: () => unknown): void }, mode: 'redirect' | 'serve'): Promise<Plain> {
  const httpsPort = await freePort();
  const plainPort = await freePort();
  const origin = await startOrigin(tt);
  const daemon = await startDaemon(tt, {
    workers: 2,
    listen_address: '127.0.0.1',
    ...exampleTestCertificates(pki),
    backends: [{ id: 'bkd_origin', type: 'static_address', address: origin.address }],
    edges: [{
      id: 'edghts_app',
      type: 'https',
      hostports: [`${APP}:${httpsPort}`],
      routes: [{ id: 'rt_app', match_type: 'path_prefix', match: '/app', backend: { backend_id: 'bkd_origin' } }],
    }],
    http: { plain_listen: `127.0.0.1:${plainPort}`, plain_mode: mode },
  });
  return { daemon, origin, httpsPort, plainPort };
}

interface PlainResult { status: number; headers: http.IncomingHttpHeaders; body: string }

/** One cleartext request to the plain listener with `host` as the Host header. */
function plainRequest(port: number, host: string, path: string, opts: { method?: string; body?: string; agent?: http.Agent } = {}): Promise<PlainResult> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: { host }, agent: opts.agent ?? false, lookup: lookupLoopback }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

t.test('plain_mode: redirect', async (t) => {
  const { daemon, origin, httpsPort, plainPort } = await setup(t, 'redirect');

  const res = await plainRequest(plainPort, `${APP}:${plainPort}`, '/app/page?q=1&r=two');
  t.equal(res.status, 308, '308 Permanent Redirect');
  t.equal(res.headers.location, `https://${APP}:${httpsPort}/app/page?q=1&r=two`, 'to the https edge, same path and query');
  t.equal(res.headers['ngrok-error-code'], undefined, 'a redirect is not an error');

  const post = await plainRequest(plainPort, APP, '/app/form', { method: 'POST', body: 'a=1' });
  t.equal(post.status, 308, 'POST is redirected too (308 keeps the method)');
  t.equal(post.headers.location, `https://${APP}:${httpsPort}/app/form`);

  const noRoute = await plainRequest(plainPort, APP, '/elsewhere?x=y');
  t.equal(noRoute.status, 308, 'a path without a route is still sent to HTTPS (the https edge answers for it)');
  t.equal(noRoute.headers.location, `https://${APP}:${httpsPort}/elsewhere?x=y`);

  const unknown = await plainRequest(plainPort, 'nobody.other.test', '/app/page');
  t.equal(unknown.status, 404, 'unknown Host → 404');
  t.equal(unknown.headers['ngrok-error-code'], 'ERR_NGROK_3200');
  t.equal(origin.requests.length, 0, 'nothing was proxied in cleartext');

  // curl follows the redirect and lands on the origin over TLS.
  const curl = await run('curl', ['-sS', '-L', '--cacert', pki.path('ca.crt'),
    '--resolve', `${APP}:${plainPort}:127.0.0.1`, '--resolve', `${APP}:${httpsPort}:127.0.0.1`,
    `http://${APP}:${plainPort}/app/followed?via=curl`]);
  t.equal(curl.code, 0, curl.stderr);
  const seen = JSON.parse(curl.stdout);
  t.equal(seen.url, '/app/followed?via=curl', 'curl -L reaches the origin through the https edge');
  t.equal(seen.headers['x-forwarded-proto'], 'https');
  t.equal(daemon.proc.exitCode, null);
});

t.test('plain_mode: serve', async (t) => {
  const { daemon, origin, plainPort } = await setup(t, 'serve');

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const res = await plainRequest(plainPort, `${APP}:${plainPort}`, '/app/served?q=1', { agent });
  t.equal(res.status, 200, 'proxied in cleartext');
  const seen = JSON.parse(res.body);
  t.equal(seen.url, '/app/served?q=1');
  t.equal(seen.headers['x-forwarded-proto'], 'http', 'X-Forwarded-Proto: http');
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  t.equal(seen.headers.host, `${APP}:${plainPort}`, 'Host is kept');

  const post = await plainRequest(plainPort, APP, '/app/post', { method: 'POST', body: 'x'.repeat(5000), agent });
  t.equal(post.status, 200);
  t.equal(JSON.parse(post.body).bodyLength, 5000, 'a body goes through');
  t.equal(origin.connections(), 1, 'keep-alive on both sides: one upstream connection');

  const unknown = await plainRequest(plainPort, 'nobody.other.test', '/app/served');
  t.equal(unknown.status, 404, 'unknown Host → 404');
  t.equal(unknown.headers['ngrok-error-code'], 'ERR_NGROK_3200');
  const noRoute = await plainRequest(plainPort, APP, '/elsewhere');
  t.equal(noRoute.status, 404, 'no route → 404');
  t.equal(noRoute.headers['ngrok-error-code'], 'ERR_NGROK_3200');

  const served = await waitForEvent(daemon.events, (e) => e.event_type === 'http_request_complete.v0' && e.object.http.request.url.path === '/app/served');
  t.equal(served.object.http.request.url.scheme, 'http', 'the cleartext request has an http_request_complete.v0 event with scheme http');
  t.equal(served.object.http.request.url.raw, `http://${APP}/app/served?q=1`);
  t.equal(served.object.edge.id, 'edghts_app');
  t.equal(served.object.tls.version, '', 'no TLS on this connection');

  // Last: a WebSocket over the cleartext listener, the upgrade path on a plain (non-TLS) client socket.
  const ws = webSocketEcho(t, origin, '/app/ws');
  const client = new WebSocket(`ws://127.0.0.1:${plainPort}/app/ws`, { headers: { host: APP } });
  t.teardown(() => client.terminate());
  client.on('error', () => {});
  const echoed = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('no echo within 5 s'), 5000);
    client.once('open', () => client.send('over cleartext'));
    client.once('message', (d) => { clearTimeout(timer); resolve(String(d)); });
    client.once('close', (code) => { clearTimeout(timer); resolve(`closed (${code}) before the echo`); });
  });
  t.equal(echoed, 'over cleartext', 'a WebSocket through the cleartext listener echoes');
  t.equal(ws.upgrades.at(-1)?.headers['x-forwarded-proto'], 'http');
  client.terminate();
  const after = await plainRequest(plainPort, APP, '/app/after-ws').catch((err: Error): PlainResult => ({ status: 0, headers: {}, body: err.message }));
  t.equal(after.status, 200, `the listener still serves after the WebSocket (${after.status === 200 ? 'ok' : after.body.slice(0, 80)})`);
});
