// The oidc route module end to end: a real daemon (two workers, so a session made by one is read by
// the other), an HTTPS edge whose route logs in at a real OpenID provider (panva's oidc-provider),
// an origin that reports the headers it got, and a cookie-keeping HTTPS client that walks the
// redirects like a browser. A second hostname logs in through a tampering front of the same provider
// (it acts as the issuer and re-signs the ID tokens it passes on), for expired and forged ID tokens.
import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CookieBrowser } from '../helpers/cookie-browser.js';
import { makePki } from '../helpers/pki.js';
import { startDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { exampleTestCertificates, rawNames, startOrigin, type ClientResult } from '../helpers/http.js';
import { signJwt, startOidcProvider, type OidcProviderFixture } from '../helpers/oidc-provider.js';

interface Teardown { teardown(fn: () => unknown): void }

const pki = makePki();
t.teardown(() => pki.cleanup());
const CA = pki.read('ca.crt');
const APP = 'app.example.test';
const TAMPER = 'tamper.example.test';
const port = await freePort();
const callbackOf = (host: string): string => `https://${host}:${port}/auth/callback`;

const origin = await startOrigin(t);
const provider = await startOidcProvider(t, { redirectUris: [callbackOf(APP), callbackOf(TAMPER)] });
const front = await startTamperingIssuer(t, provider);

const oidcFor = (issuer: string) => ({ issuer, client_id: provider.clientId, client_secret: provider.clientSecret });
const daemon = await startDaemon(t, {
  workers: 2,
  listen_address: '127.0.0.1',
  ...exampleTestCertificates(pki),
  backends: [{ id: 'bkd_origin', type: 'static_address', address: origin.address }],
  edges: [
    {
      id: 'edghts_app', type: 'https', hostports: [`${APP}:${port}`],
      routes: [{ id: 'rt_app', match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_origin' }, oidc: oidcFor(provider.issuer) }],
    },
    {
      id: 'edghts_tamper', type: 'https', hostports: [`${TAMPER}:${port}`],
      routes: [{ id: 'rt_tamper', match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_origin' }, oidc: oidcFor(front.issuer) }],
    },
  ],
});

/** The test's browser: the shared cookie jar client, every cookie value it got kept for the secret grep. */
class Browser extends CookieBrowser {
  static readonly issued = new Set<string>();
  constructor(host: string) { super(host, { port, ca: CA }, Browser.issued); }
}

/** Starts a login at `path`: the edge's redirect to the provider. */
async function startLogin(t: Test, browser: Browser, path: string, method = 'GET'): Promise<string> {
  const res = await browser.request(path, { method });
  t.equal(res.status, 302, `${method} ${path} without a session is sent to log in`);
  return res.headers.location ?? '';
}

/** The whole login: edge → provider → the callback URL the provider sends the browser to (not yet fetched). */
async function providerCallback(browser: Browser, path: string, method = 'GET'): Promise<URL> {
  const res = await browser.request(path, { method });
  if (res.status !== 302) throw new Error(`expected a redirect to the provider, got ${res.status}`);
  return provider.login(res.headers.location!);
}

const callbackPath = (url: URL): string => `${url.pathname}${url.search}`;
type Report = { url: string; method: string; headers: Record<string, string>; rawHeaders: string[] };
const report = (res: ClientResult): Report => JSON.parse(res.body.toString());
const sessionCookies = (b: Browser): string[] => b.names(/^ngrok\.[0-9a-f]{8}\.session$/);

t.test('unauthenticated → provider → callback → the captured URI, with the identity headers upstream', async (t) => {
  const browser = new Browser(APP);
  const location = await startLogin(t, browser, '/private/page?x=1&y=two');
  const authorize = new URL(location);
  t.equal(`${authorize.origin}${authorize.pathname}`, `${provider.issuer}/auth`, 'to the provider authorization endpoint');
  t.equal(authorize.searchParams.get('redirect_uri'), callbackOf(APP), 'the callback is on the Host the client used, port included');
  t.equal(authorize.searchParams.get('client_id'), provider.clientId);
  t.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  t.ok(authorize.searchParams.get('nonce'), 'a nonce is sent');
  t.same(browser.names(/^ngrok\.nonce\.[0-9a-f]{16}$/).length, 1, 'a nonce cookie binds the login to this browser');

  const callback = await provider.login(location);
  const done = await browser.request(callbackPath(callback));
  t.equal(done.status, 302, done.body.toString());
  t.equal(done.headers.location, '/private/page?x=1&y=two', 'back to the captured URI');
  t.equal(sessionCookies(browser).length, 1, 'a session cookie tagged with the route');
  t.same(browser.names(/nonce/), [], 'the nonce cookie is cleared');
  const setCookie = (done.headers['set-cookie'] ?? []).find((line) => /\.session=/.test(line)) ?? '';
  t.match(setCookie, /HttpOnly/);
  t.match(setCookie, /Secure/);
  t.match(setCookie, /SameSite=Lax/);

  // Several requests: with two workers and a new connection each, both workers read the session.
  for (let i = 0; i < 4; i++) {
    const res = await browser.request('/private/page?x=1&y=two', {
      headers: { 'ngrok-auth-user-email': 'forged@evil.test', 'ngrok-auth-user-id': 'forged', 'ngrok-auth-email': 'old@evil.test' },
    });
    t.equal(res.status, 200);
    const seen = report(res);
    t.equal(seen.url, '/private/page?x=1&y=two');
    t.equal(seen.headers['ngrok-auth-user-email'], 'alice@example.test', 'the verified email');
    t.equal(seen.headers['ngrok-auth-user-id'], 'alice-0001');
    t.equal(seen.headers['ngrok-auth-user-name'], 'Alice Example');
    t.equal(rawNames(seen.rawHeaders).filter((n) => n === 'ngrok-auth-user-email').length, 1, 'the forged email header is gone');
    t.notOk('ngrok-auth-email' in seen.headers, 'older identity header names are stripped too');
    t.notOk(JSON.stringify(seen).includes('forged'), 'nothing forged reaches the upstream');
  }
});

t.test('a non-GET first request returns as a GET of its URI', async (t) => {
  const browser = new Browser(APP);
  const callback = await providerCallback(browser, '/form/submit?id=7', 'POST');
  const done = await browser.request(callbackPath(callback));
  t.equal(done.status, 302);
  t.equal(done.headers.location, '/form/submit?id=7');
  const res = await browser.request(done.headers.location!);
  t.equal(report(res).method, 'GET');
});

t.test('logout clears the session; the next request logs in again', async (t) => {
  const browser = new Browser(APP);
  const callback = await providerCallback(browser, '/');
  t.equal((await browser.request(callbackPath(callback))).status, 302);
  t.equal((await browser.request('/still-in')).status, 200);
  const out = await browser.request('/auth/logout');
  t.equal(out.status, 200);
  t.match(out.body.toString(), /logged out/);
  t.same(sessionCookies(browser), [], 'the session cookie is cleared');
  const again = await browser.request('/still-in');
  t.equal(again.status, 302);
  t.match(again.headers.location ?? '', `${provider.issuer}/auth`);
});

t.test('/auth/authn starts a new login that asks the provider to prompt again', async (t) => {
  const browser = new Browser(APP);
  const res = await browser.request('/auth/authn');
  t.equal(res.status, 302);
  const url = new URL(res.headers.location!);
  t.equal(url.searchParams.get('prompt'), 'login');
  t.match((res.headers['set-cookie'] ?? []).join('\n'), /\.session=; .*Max-Age=0/, 'any session cookie is cleared');
});

t.test('a forged or tampered session cookie means logging in again', async (t) => {
  const browser = new Browser(APP);
  const callback = await providerCallback(browser, '/mine');
  t.equal((await browser.request(callbackPath(callback))).status, 302);
  const [name] = sessionCookies(browser);
  const good = browser.jar.get(name!)!;
  const flipped = good.slice(0, 20) + (good[20] === 'A' ? 'B' : 'A') + good.slice(21);
  browser.jar.set(name!, flipped);
  t.equal((await browser.request('/mine')).status, 302, 'one changed character: login');
  browser.jar.set(name!, 'AQ' + 'x'.repeat(120));
  t.equal((await browser.request('/mine')).status, 302, 'a made-up value: login');
  // A cookie sealed for another route (edge) does not open here either.
  const other = new Browser(TAMPER);
  const otherCallback = await providerCallback(other, '/');
  otherCallback.searchParams.delete('iss');
  t.equal((await other.request(callbackPath(otherCallback))).status, 302);
  const otherValue = other.jar.get(sessionCookies(other)[0]!)!;
  browser.jar.set(name!, otherValue);
  t.equal((await browser.request('/mine')).status, 302, "another route's session: login");
  browser.jar.set(name!, good);
  t.equal((await browser.request('/mine')).status, 200, 'the untouched cookie still works');
});

t.test('the callback needs this browser’s nonce cookie', async (t) => {
  const browser = new Browser(APP);
  const callback = await providerCallback(browser, '/nonce');
  const [nonceName] = browser.names(/^ngrok\.nonce\./);
  browser.jar.set(nonceName!, 'not-the-right-value');
  const wrong = await browser.request(callbackPath(callback));
  t.equal(wrong.status, 400, 'a wrong nonce cookie');
  t.equal(wrong.headers['ngrok-error-code'], 'ERR_NGROK_3100');
  t.same(sessionCookies(browser), [], 'no session');

  const thief = new Browser(APP); // another browser replays the callback URL
  const replay = await thief.request(callbackPath(callback));
  t.equal(replay.status, 400, 'no nonce cookie at all');
  t.match(replay.body.toString(), /nonce cookie is missing/);
});

t.test('expired or forged ID tokens are refused', async (t) => {
  const login = async (): Promise<ClientResult> => {
    const browser = new Browser(TAMPER);
    const callback = await providerCallback(browser, '/t');
    callback.searchParams.delete('iss'); // the provider names itself; the front is the issuer here
    const res = await browser.request(callbackPath(callback));
    if (res.status === 302) t.equal((await browser.request('/t')).status, 200, 'and the session works');
    return res;
  };
  front.mode = 'honest';
  t.equal((await login()).status, 302, 'control: a token the front re-signs with the provider key is accepted');
  front.mode = 'expired';
  const expired = await login();
  t.equal(expired.status, 403, 'an expired ID token');
  t.equal(expired.headers['ngrok-error-code'], 'ERR_NGROK_5210');
  t.match(expired.body.toString(), /Try again/);
  front.mode = 'forged';
  const forged = await login();
  t.equal(forged.status, 403, 'an ID token signed by another key');
  t.equal(forged.headers['ngrok-error-code'], 'ERR_NGROK_5208');
  front.mode = 'honest';
});

t.test('module paths never reach the upstream; events carry oauth.*; no secret in logs or events', async (t) => {
  const browser = new Browser(APP);
  await browser.request('/auth/callback?state=bogus&code=bogus');
  await browser.request('/auth/logout');
  await browser.request('/auth/authn');
  t.same(origin.requestsTo('/auth/').map((r) => r.url), [], 'no /auth/* request reached the origin');

  await daemon.waitForEvents(20);
  await new Promise((r) => setTimeout(r, 300)); // let the workers flush
  const events = daemon.events().map((e) => e.object as Record<string, any>);
  const allowed = events.find((e) => e.oauth?.decision === 'allow' && e.oauth?.user?.id === 'alice-0001');
  t.ok(allowed, 'an event with oauth.decision allow and the user id');
  t.equal(allowed?.oauth.app_client_id, provider.clientId);
  t.equal(allowed?.oauth.user.name, 'Alice Example');
  t.ok(events.some((e) => e.oauth?.decision === 'block'), 'refused logins leave oauth.decision block');

  const logs = daemon.stderr() + readFileSync(daemon.eventsPath, 'utf8');
  const secrets = [provider.clientSecret, ...front.tokens, ...Browser.issued].filter((s) => s.length >= 8);
  t.ok(secrets.length > 10, `${secrets.length} secret values to look for`);
  const leaked = secrets.filter((s) => logs.includes(s));
  t.same(leaked, [], 'no client secret, token or cookie value in the logs or events');
  t.notMatch(logs, /code=[A-Za-z0-9_-]{20,}/, 'no authorization code in the events');
});

/**
 * An issuer in front of the fixture provider: it proxies everything, names itself as the issuer in the
 * discovery document, routes the token endpoint through itself, and re-signs the ID token it passes on:
 * with the provider key ('honest'), expired, or with a key the provider never published ('forged').
 */
async function startTamperingIssuer(tt: Teardown, upstream: OidcProviderFixture) {
  const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const state = { mode: 'honest' as 'honest' | 'expired' | 'forged', tokens: [] as string[], issuer: '' };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void relay(req, Buffer.concat(chunks)).then(
        ({ status, type, body }) => res.writeHead(status, { 'content-type': type }).end(body),
        (err: Error) => res.writeHead(502).end(err.message),
      );
    });
  });
  async function relay(req: http.IncomingMessage, body: Buffer): Promise<{ status: number; type: string; body: string }> {
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'accept', 'dpop']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const init: RequestInit = { method: req.method ?? 'GET', headers, redirect: 'manual' };
    if (req.method === 'POST') init.body = new Uint8Array(body);
    const answer = await fetch(new URL(req.url ?? '/', upstream.issuer), init);
    let text = await answer.text();
    const path = (req.url ?? '').split('?')[0];
    if (path === '/.well-known/openid-configuration' && answer.ok) {
      const doc = JSON.parse(text) as Record<string, unknown>;
      doc.issuer = state.issuer;
      doc.token_endpoint = `${state.issuer}/token`;
      delete doc.authorization_response_iss_parameter_supported;
      text = JSON.stringify(doc);
    } else if (path === '/token' && answer.ok) {
      const tokens = JSON.parse(text) as Record<string, string>;
      state.tokens.push(tokens.access_token!, tokens.id_token!);
      const claims = JSON.parse(Buffer.from(tokens.id_token!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
      const now = Math.floor(Date.now() / 1000);
      const mine = { ...claims, iss: state.issuer };
      tokens.id_token = state.mode === 'expired'
        ? signJwt({ ...mine, iat: now - 7200, exp: now - 3600 }, upstream.signingKey, upstream.kid)
        : signJwt(mine, state.mode === 'forged' ? attacker : upstream.signingKey, upstream.kid);
      state.tokens.push(tokens.id_token);
      text = JSON.stringify(tokens);
    }
    return { status: answer.status, type: answer.headers.get('content-type') ?? 'application/json', body: text };
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tt.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  state.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    get issuer() { return state.issuer; },
    get tokens() { return state.tokens; },
    get mode() { return state.mode; },
    set mode(mode: 'honest' | 'expired' | 'forged') { state.mode = mode; },
  };
}
