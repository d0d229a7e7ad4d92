// auth_check_interval end to end: a real daemon, a github route that admits only the team acme/core
// and re-checks every 180 s (the smallest interval the config takes), and the fake GitHub provider.
//
// Waiting 180 s is not an option, so the test moves the session's clock instead of the daemon's: the
// daemon runs with a configured auth_cookie_key, which the test also knows, so it derives the route's
// session key the same way the workers do (the same config → the same generation spec → the same
// fingerprint), opens the real session cookie the login produced and seals it again with its
// next-check time in the past. The session id inside is kept, so the worker still holds the access
// token for it (one worker: the token store is per worker).
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { loadConfigFile } from '../../core/config/load.js';
import { buildGeneration } from '../../core/generation/build.js';
import type { OAuthSpec } from '../../core/generation/spec.js';
import { MAX_BREAKERS } from '../../core/tables/breakers.js';
import { MAX_BACKENDS, MAX_EDGES, SlotMap } from '../../core/tables/counters.js';
import { AuthKeyRing, moduleFingerprint } from '../../workers/http/auth/keys.js';
import { open, seal } from '../../workers/http/auth/seal.js';
import { CookieBrowser } from '../helpers/cookie-browser.js';
import { makePki } from '../helpers/pki.js';
import { startDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { exampleTestCertificates, startOrigin } from '../helpers/http.js';
import { startOAuthProviderFake } from '../helpers/oauth-provider-fake.js';

const pki = makePki();
t.teardown(() => pki.cleanup());
const CA = pki.read('ca.crt');
const HOST = 'hub.example.test';
const EDGE_ID = 'edghts_recheck';
const ROUTE_ID = 'rt_recheck';
const INTERVAL_S = 180;
const COOKIE_KEY = randomBytes(32).toString('hex');
const port = await freePort();

const origin = await startOrigin(t);
const github = await startOAuthProviderFake(t, {
  provider: 'github',
  redirectUri: `https://${HOST}:${port}/auth/callback`,
  users: [{ id: '1001', login: 'alice', name: 'Alice Hub', email: 'alice@hub.test', teams: [{ id: 7, org: 'acme', slug: 'core' }] }],
});

const daemon = await startDaemon(t, {
  workers: 1,
  listen_address: '127.0.0.1',
  auth_cookie_key: COOKIE_KEY,
  ...exampleTestCertificates(pki),
  backends: [{ id: 'bkd_origin', type: 'static_address', address: origin.address }],
  edges: [{
    id: EDGE_ID, type: 'https', hostports: [`${HOST}:${port}`],
    routes: [{
      id: ROUTE_ID, match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_origin' },
      oauth: {
        auth_check_interval: INTERVAL_S,
        provider: { github: {
          client_id: github.clientId, client_secret: github.clientSecret,
          authorize_url: github.authorizeUrl, token_url: github.tokenUrl, userinfo_url: github.userinfoUrl,
          api_url: github.apiUrl, teams: ['acme/core'],
        } },
      },
    }],
  }],
});

/** The route's session key, derived as the workers derive it: root key + the oauth spec's fingerprint + ids. */
function sessionKey(): Buffer {
  const slots = { edges: new SlotMap(MAX_EDGES, 'edge'), backends: new SlotMap(MAX_BACKENDS, 'backend'), breakers: new SlotMap(MAX_BREAKERS, 'breaker') };
  const built = buildGeneration(loadConfigFile(daemon.configPath, {}), 1, slots);
  const spec: OAuthSpec | undefined = built.spec.edges.find((e) => e.id === EDGE_ID)?.routes.find((r) => r.id === ROUTE_ID)?.modules.oauth;
  if (spec === undefined) throw new Error('the oauth route is missing from the built generation');
  const ring = new AuthKeyRing(Buffer.from(COOKIE_KEY, 'hex'));
  return ring.deriveModuleKeys({ module: 'oauth', edgeId: EDGE_ID, routeId: ROUTE_ID, fingerprint: moduleFingerprint(spec) }).session;
}
const KEY = sessionKey();

/** The sealed session record; one-letter keys as session.ts writes them (k = next check, seconds). */
type Sealed = { i: string; u: string; k: number; l: number } & Record<string, unknown>;

/** The shared cookie-jar client, plus access to this route's sealed session cookie. */
class Browser extends CookieBrowser {
  constructor() { super(HOST, { port, ca: CA }); }

  sessionName(): string | undefined {
    return [...this.jar.keys()].find((name) => /^ngrok\.[0-9a-f]{8}\.session$/.test(name));
  }

  session(): Sealed {
    const name = this.sessionName();
    if (name === undefined) throw new Error('no session cookie in the jar');
    const record = open(KEY, name, this.jar.get(name)!);
    if (record === null) throw new Error('the session cookie does not open with the derived key');
    return record as Sealed;
  }

  /** Re-seals the session as if the check interval had passed: next check a second ago. */
  makeCheckDue(): void {
    const name = this.sessionName()!;
    const nowS = Math.floor(Date.now() / 1000);
    this.jar.set(name, seal(KEY, name, { ...this.session(), k: nowS - 1 }));
  }
}

const providerCalls = (path: string, since: number): number => github.requests.slice(since).filter((r) => r.path.startsWith(path)).length;

async function login(t: Test, browser: Browser): Promise<void> {
  const start = await browser.request('/app');
  t.equal(start.status, 302, 'no session: sent to log in');
  const callback = await github.authorize(start.headers.location ?? '');
  const done = await browser.request(`${callback.pathname}${callback.search}`);
  t.equal(done.status, 302, done.body.toString());
  t.ok(browser.sessionName(), 'a session cookie');
}

t.test('auth_check_interval re-reads the user: still in the team passes and is re-stamped, removed gets 403', async (t) => {
  const browser = new Browser();
  await login(t, browser);
  const first = browser.session();
  const nowS = Math.floor(Date.now() / 1000);
  t.equal(first.u, '1001');
  t.ok(first.k >= nowS + INTERVAL_S - 5 && first.k <= nowS + INTERVAL_S + 5, 'the login stamps the next check one interval ahead');

  // Before the interval: the session alone admits, the provider is not asked.
  let mark = github.requests.length;
  const early = await browser.request('/app');
  t.equal(early.status, 200);
  t.equal(providerCalls('/user', mark), 0, 'no re-check before the interval');

  // Interval passed, still in acme/core: the edge re-reads the user and teams, lets the request through
  // and sends a new cookie for the same session with the next check an interval later.
  browser.makeCheckDue();
  mark = github.requests.length;
  const due = await browser.request('/app');
  t.equal(due.status, 200, due.body.toString());
  t.equal(JSON.parse(due.body.toString()).headers['ngrok-auth-user-id'], '1001', 'the origin sees the user');
  t.ok(providerCalls('/user/teams', mark) >= 1, 'the teams were read again');
  t.ok((due.headers['set-cookie'] ?? []).some((line) => /\.session=/.test(line) && !/max-age=0/i.test(line)), 'a new session cookie');
  const restamped = browser.session();
  const afterS = Math.floor(Date.now() / 1000);
  t.equal(restamped.i, first.i, 'the same session');
  t.ok(restamped.k >= afterS + INTERVAL_S - 5, 'the next check is one interval from now again');

  // The re-stamped session admits without asking the provider.
  mark = github.requests.length;
  t.equal((await browser.request('/app')).status, 200);
  t.equal(providerCalls('/user', mark), 0, 'no re-check right after a re-check');

  // Removed from the team: the next request after the interval gets the 403 page and loses its session.
  github.users.get('1001')!.teams = [{ id: 9, org: 'acme', slug: 'sales' }];
  browser.makeCheckDue();
  mark = github.requests.length;
  const refused = await browser.request('/app');
  t.equal(refused.status, 403, 'the 403 page');
  t.match(refused.body.toString(), /Not authorized/);
  t.ok(providerCalls('/user/teams', mark) >= 1, 'the teams were read again');
  t.ok((refused.headers['set-cookie'] ?? []).some((line) => /\.session=/.test(line) && /max-age=0/i.test(line)), 'the session cookie is cleared');
  t.equal(browser.sessionName(), undefined, 'the browser holds no session');
  const after = await browser.request('/app');
  t.equal(after.status, 302, 'the next request is sent to log in');
});

t.test('a token the provider no longer takes means a new login at the next check', async (t) => {
  github.users.get('1001')!.teams = [{ id: 7, org: 'acme', slug: 'core' }];
  const browser = new Browser();
  await login(t, browser);
  t.equal((await browser.request('/app')).status, 200);
  github.revokeAll();
  browser.makeCheckDue();
  const due = await browser.request('/app');
  t.equal(due.status, 302, 'sent to log in again');
  t.match(due.headers.location ?? '', github.authorizeUrl);
});
