// The oauth route module end to end: a real daemon (two workers, so a session made by one is read by
// the other), two HTTPS edges whose routes log in through fake OAuth providers speaking GitHub's and
// Google's dialects (GitHub with team and organization rules, Google with an email-domain rule), an
// origin that reports the headers it got, and a cookie-keeping HTTPS client that walks the redirects
// like a browser.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { CookieBrowser } from '../helpers/cookie-browser.js';
import { makePki } from '../helpers/pki.js';
import { metricValue, startDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { exampleTestCertificates, rawNames, startOrigin, type ClientResult } from '../helpers/http.js';
import { startOAuthProviderFake, type OAuthProviderFake } from '../helpers/oauth-provider-fake.js';

const pki = makePki();
t.teardown(() => pki.cleanup());
const CA = pki.read('ca.crt');
const HUB = 'hub.example.test';
const GOO = 'goo.example.test';
const port = await freePort();
const callbackOf = (host: string): string => `https://${host}:${port}/auth/callback`;

const origin = await startOrigin(t);
const github = await startOAuthProviderFake(t, {
  provider: 'github',
  redirectUri: callbackOf(HUB),
  users: [
    // in the team acme/core; no public email: the primary one is read from /user/emails
    { id: '1001', login: 'alice', name: 'Alice Hub', emails: [{ email: 'old@hub.test', primary: false, verified: true }, { email: 'alice@hub.test', primary: true, verified: true }], teams: [{ id: 7, org: 'acme', slug: 'core' }] },
    // in the organization acme-labs (on the second page of /user/orgs)
    { id: '1002', login: 'bob', name: 'Bob Labs', email: 'bob@labs.test', orgs: ['one', 'two', 'acme-labs'] },
    // neither: another team, other organizations
    { id: '1003', login: 'carol', name: 'Carol Out', email: 'carol@out.test', teams: [{ id: 9, org: 'acme', slug: 'sales' }], orgs: ['one', 'two', 'three'] },
  ],
});
const google = await startOAuthProviderFake(t, {
  provider: 'google',
  redirectUri: callbackOf(GOO),
  users: [
    { id: 'g-dave', name: 'Dave Goo', email: 'dave@example.com' },
    { id: 'g-eve', name: 'Eve Else', email: 'eve@other.test' },
  ],
});

const endpoints = (fake: OAuthProviderFake) => ({
  client_id: fake.clientId, client_secret: fake.clientSecret,
  authorize_url: fake.authorizeUrl, token_url: fake.tokenUrl, userinfo_url: fake.userinfoUrl,
});
const daemon = await startDaemon(t, {
  workers: 2,
  listen_address: '127.0.0.1',
  ...exampleTestCertificates(pki),
  backends: [{ id: 'bkd_origin', type: 'static_address', address: origin.address }],
  edges: [
    {
      id: 'edghts_hub', type: 'https', hostports: [`${HUB}:${port}`],
      routes: [{
        id: 'rt_hub', match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_origin' },
        oauth: { provider: { github: { ...endpoints(github), api_url: github.apiUrl, teams: ['acme/core'], organizations: ['acme-labs'] } } },
      }],
    },
    {
      id: 'edghts_goo', type: 'https', hostports: [`${GOO}:${port}`],
      routes: [{
        id: 'rt_goo', match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_origin' },
        oauth: { provider: { google: { ...endpoints(google), email_domains: ['example.com'] } } },
      }],
    },
  ],
});

/** The test's browser: the shared cookie jar client, every cookie value it got kept for the secret grep. */
class Browser extends CookieBrowser {
  static readonly issued = new Set<string>();
  constructor(host: string) { super(host, { port, ca: CA }, Browser.issued); }
}

type Report = { url: string; method: string; headers: Record<string, string>; rawHeaders: string[] };
const report = (res: ClientResult): Report => JSON.parse(res.body.toString());
const sessionCookies = (b: Browser): string[] => b.names(/^ngrok\.[0-9a-f]{8}\.session$/);
const FORGED = { 'ngrok-auth-user-email': 'forged@evil.test', 'ngrok-auth-user-id': 'forged', 'ngrok-auth-user-name': 'forged' };

/** Requests `path` without a session, lets `fake` log in `userId`, and fetches the callback. */
async function login(t: Test, browser: Browser, fake: OAuthProviderFake, userId: string, path: string): Promise<ClientResult> {
  const start = await browser.request(path);
  t.equal(start.status, 302, `${path} without a session is sent to log in`);
  const location = new URL(start.headers.location ?? 'about:blank');
  t.equal(`${location.origin}${location.pathname}`, fake.authorizeUrl, `to the ${fake.provider} authorize URL`);
  t.equal(location.searchParams.get('redirect_uri'), callbackOf(browser.host), 'the callback is on the Host the client used');
  t.equal(browser.names(/^ngrok\.nonce\.[0-9a-f]{16}$/).length, 1, 'a nonce cookie binds the login to this browser');
  fake.loginAs(userId);
  const callback = await fake.authorize(location.href);
  return browser.request(`${callback.pathname}${callback.search}`);
}

async function expectIdentity(t: Test, browser: Browser, path: string, want: { id: string; name: string; email: string }): Promise<void> {
  // Several requests: with two workers and a new connection each, both workers read the session.
  for (let i = 0; i < 3; i++) {
    const res = await browser.request(path, { headers: FORGED });
    t.equal(res.status, 200);
    const seen = report(res);
    t.equal(seen.url, path);
    t.equal(seen.headers['ngrok-auth-user-id'], want.id);
    t.equal(seen.headers['ngrok-auth-user-name'], want.name);
    t.equal(seen.headers['ngrok-auth-user-email'], want.email);
    t.equal(rawNames(seen.rawHeaders).filter((n) => n === 'ngrok-auth-user-email').length, 1, 'one email header: the forged one is gone');
    t.notOk(JSON.stringify(seen).includes('forged'), 'nothing forged reaches the upstream');
  }
}

t.test('github: a team member logs in and the origin sees the verified identity', async (t) => {
  const browser = new Browser(HUB);
  const done = await login(t, browser, github, '1001', '/private/page?x=1');
  t.equal(done.status, 302, done.body.toString());
  t.equal(done.headers.location, '/private/page?x=1', 'back to the captured URI');
  t.equal(sessionCookies(browser).length, 1, 'a session cookie tagged with the route');
  t.same(browser.names(/nonce/), [], 'the nonce cookie is cleared');
  const setCookie = (done.headers['set-cookie'] ?? []).find((line) => /\.session=/.test(line)) ?? '';
  t.match(setCookie, /HttpOnly/);
  t.match(setCookie, /Secure/);
  t.match(setCookie, /SameSite=Lax/);
  await expectIdentity(t, browser, '/private/page?x=1', { id: '1001', name: 'Alice Hub', email: 'alice@hub.test' });
  t.ok(github.requests.some((r) => r.path.startsWith('/user/teams')), 'the teams were read');
});

/** Which worker served the last request: the one whose connection count moved. */
async function workerCounts(): Promise<number[]> {
  const text = await (await fetch(`http://${daemon.admin}/metrics`)).text();
  return [0, 1].map((w) => metricValue(text, 'edgeplane_worker_connections_total', `{worker="${w}"}`) ?? 0);
}

t.test('the access token reaches the origin from both workers (tokens live in the shared store)', async (t) => {
  const browser = new Browser(HUB);
  t.equal((await login(t, browser, github, '1001', '/tokens')).status, 302);
  const servedBy = new Set<number>();
  const seenTokens = new Set<string>();
  for (let i = 0; i < 40 && (servedBy.size < 2 || i < 6); i++) {
    const before = await workerCounts();
    const res = await browser.request('/tokens', { headers: { 'ngrok-auth-oauth-access-token': 'forged', 'ngrok-auth-oauth-refresh-token': 'forged' } });
    const after = await workerCounts();
    t.equal(res.status, 200);
    const moved = [0, 1].filter((w) => after[w]! > before[w]!);
    if (moved.length === 1) servedBy.add(moved[0]!);
    const seen = report(res);
    seenTokens.add(seen.headers['ngrok-auth-oauth-access-token'] ?? '(none)');
    t.notOk('ngrok-auth-oauth-refresh-token' in seen.headers, 'github issues no refresh token, so none is sent (the forged one is gone)');
  }
  t.same([...servedBy].sort(), [0, 1], 'requests were served by both workers');
  t.equal(seenTokens.size, 1, 'one token, on every request');
  const token = [...seenTokens][0]!;
  t.match(token, /^at-github-[0-9a-f]{24}$/, 'the token the provider issued, not the forged one');
  t.ok(github.issued.includes(token));
});

t.test('github: an organization member found on a later page is let in', async (t) => {
  const browser = new Browser(HUB);
  const done = await login(t, browser, github, '1002', '/org');
  t.equal(done.status, 302, done.body.toString());
  await expectIdentity(t, browser, '/org', { id: '1002', name: 'Bob Labs', email: 'bob@labs.test' });
});

t.test('github: a user outside the teams and organizations gets the 403 page with a way to try again', async (t) => {
  const browser = new Browser(HUB);
  const done = await login(t, browser, github, '1003', '/org');
  t.equal(done.status, 403);
  t.equal(done.headers['ngrok-error-code'], 'ERR_NGROK_3101');
  t.match(done.body.toString(), /<a href="\/auth\/authn">Try again<\/a>/);
  t.same(sessionCookies(browser), [], 'no session');
  t.equal((await browser.request('/org')).status, 302, 'the next request is sent to log in again');
});

t.test('google: the email domain rule lets one user in and keeps the other out', async (t) => {
  const dave = new Browser(GOO);
  const ok = await login(t, dave, google, 'g-dave', '/g?q=1');
  t.equal(ok.status, 302, ok.body.toString());
  t.equal(ok.headers.location, '/g?q=1');
  await expectIdentity(t, dave, '/g?q=1', { id: 'g-dave', name: 'Dave Goo', email: 'dave@example.com' });
  const eve = new Browser(GOO);
  const refused = await login(t, eve, google, 'g-eve', '/g');
  t.equal(refused.status, 403);
  t.match(refused.body.toString(), /Try again/);
  t.same(sessionCookies(eve), []);
  // A session of one route does not open the other.
  const cross = new Browser(HUB);
  cross.jar.set(sessionCookies(dave)[0]!, dave.jar.get(sessionCookies(dave)[0]!)!);
  t.equal((await cross.request('/')).status, 302, "the google route's session means logging in on the github route");
});

t.test('a denied login at the provider is an error page, not a session', async (t) => {
  const browser = new Browser(GOO);
  const start = await browser.request('/denied');
  google.denyNext();
  const callback = await google.authorize(start.headers.location!);
  const res = await browser.request(`${callback.pathname}${callback.search}`);
  t.ok(res.status >= 400 && res.status < 500, `refused (${res.status})`);
  t.match(res.body.toString(), /Try again/);
  t.same(sessionCookies(browser), []);
});

t.test('logout clears the session; the next request logs in again', async (t) => {
  const browser = new Browser(HUB);
  t.equal((await login(t, browser, github, '1001', '/')).status, 302);
  t.equal((await browser.request('/still-in')).status, 200);
  const out = await browser.request('/auth/logout');
  t.equal(out.status, 200);
  t.match(out.body.toString(), /logged out/);
  t.same(sessionCookies(browser), [], 'the session cookie is cleared');
  const again = await browser.request('/still-in');
  t.equal(again.status, 302);
  t.match(again.headers.location ?? '', github.authorizeUrl);
});

t.test('module paths never reach the upstream; events carry oauth.*; no secret in logs or events', async (t) => {
  const browser = new Browser(HUB);
  await browser.request('/auth/callback?state=bogus&code=bogus');
  t.same(origin.requestsTo('/auth/').map((r) => r.url), [], 'no /auth/* request reached the origin');

  await daemon.waitForEvents(20);
  await new Promise((r) => setTimeout(r, 300)); // let the workers flush
  const events = daemon.events().map((e) => e.object as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
  const allowed = events.find((e) => e.oauth?.decision === 'allow' && e.oauth?.user?.id === '1001');
  t.ok(allowed, 'an event with oauth.decision allow and the user id');
  t.equal(allowed?.oauth.app_client_id, github.clientId);
  t.ok(events.some((e) => e.oauth?.decision === 'block'), 'refused logins leave oauth.decision block');

  const logs = daemon.stderr() + readFileSync(daemon.eventsPath, 'utf8');
  const secrets = [github.clientSecret, google.clientSecret, ...github.issued, ...google.issued, ...Browser.issued].filter((s) => s.length >= 8);
  t.ok(secrets.length > 10, `${secrets.length} secret values to look for`);
  t.same(secrets.filter((s) => logs.includes(s)), [], 'no client secret, code, token or cookie value in the logs or events');
});
