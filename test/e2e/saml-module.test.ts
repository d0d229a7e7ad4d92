// The saml route module end to end: a real daemon, HTTPS edges whose routes log in at a real SAML
// IdP (samlify, test/helpers/saml-idp.ts), an origin that reports the headers it got, and a
// cookie-keeping HTTPS client. The IdP learns each SP from the metadata the edge serves at
// /auth/saml/metadata, as a real IdP is configured. Two workers: the assertion replay set lives in
// the process-wide shared store, so a replay is refused whichever worker it reaches.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { CookieBrowser } from '../helpers/cookie-browser.js';
import { makePki } from '../helpers/pki.js';
import { metricValue, startDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { exampleTestCertificates, rawNames, startOrigin, type ClientResult } from '../helpers/http.js';
import { selfSignedRsa, startSamlIdp, type IdpLogin } from '../helpers/saml-idp.js';

const pki = makePki();
t.teardown(() => pki.cleanup());
const CA = pki.read('ca.crt');
const APP = 'app.example.test';
const GROUPS = 'finance.example.test';
const UNSOLICITED = 'idpi.example.test';
const port = await freePort();
const originOf = (host: string): string => `https://${host}:${port}`;

const origin = await startOrigin(t);
const idp = await startSamlIdp(t);
const sp = await selfSignedRsa('edgeplane-sp');

const samlRoute = (id: string, extra: Record<string, unknown> = {}) => ({
  id, match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_origin' },
  saml: { idp_metadata: idp.metadataXml, sp_certificate_pem: sp.certPem, sp_private_key_pem: sp.privateKeyPem, ...extra },
});
const daemon = await startDaemon(t, {
  workers: 2,
  listen_address: '127.0.0.1',
  ...exampleTestCertificates(pki),
  backends: [{ id: 'bkd_origin', type: 'static_address', address: origin.address }],
  edges: [
    { id: 'edghts_app', type: 'https', hostports: [`${APP}:${port}`], routes: [samlRoute('rt_app')] },
    { id: 'edghts_groups', type: 'https', hostports: [`${GROUPS}:${port}`], routes: [samlRoute('rt_groups', { authorized_groups: ['finance'] })] },
    { id: 'edghts_idpi', type: 'https', hostports: [`${UNSOLICITED}:${port}`], routes: [samlRoute('rt_idpi', { allow_idp_initiated: true })] },
  ],
});

/** The test's browser: the shared cookie jar client, every cookie value it got kept for the secret grep. */
class Browser extends CookieBrowser {
  static readonly issued = new Set<string>();
  constructor(host: string) { super(host, { port, ca: CA }, Browser.issued); }
}

/** Every SAMLResponse the IdP produced, for the log grep at the end. */
const responses: string[] = [];

/** The IdP is told about the SP of `host` from the edge's own metadata document. */
async function registerSpOf(host: string): Promise<string> {
  const res = await new Browser(host).request('/auth/saml/metadata');
  if (res.status !== 200) throw new Error(`metadata: ${res.status}`);
  const xml = res.body.toString();
  idp.registerSp(xml);
  return xml;
}

/** Edge → IdP: the browser's first request, then the IdP's auto-submit form (not yet posted). */
async function idpForm(t: Test, browser: Browser, path: string): Promise<IdpLogin> {
  await registerSpOf(browser.host);
  const res = await browser.request(path);
  t.equal(res.status, 302, `${path} without a session is sent to the IdP`);
  const login = await idp.login(res.headers.location!);
  responses.push(login.samlResponse);
  return login;
}

const formOf = (login: IdpLogin, samlResponse = login.samlResponse): URLSearchParams => {
  const form = new URLSearchParams({ SAMLResponse: samlResponse });
  if (login.relayState !== null) form.set('RelayState', login.relayState.replace(/&amp;/g, '&'));
  return form;
};
const report = (res: ClientResult): { url: string; method: string; headers: Record<string, string>; rawHeaders: string[] } => JSON.parse(res.body.toString());
const sessionCookies = (b: Browser): string[] => b.names(/^ngrok\.[0-9a-f]{8}\.session$/);

t.test('the SP metadata is served per host, with its entity id and ACS', async (t) => {
  const xml = await registerSpOf(APP);
  t.match(xml, `entityID="${originOf(APP)}/auth/saml/metadata"`);
  t.match(xml, `Location="${originOf(APP)}/auth/callback"`);
  t.match(xml, /BEGIN CERTIFICATE|<ds:X509Certificate>/, 'with the SP signing certificate');
  t.notMatch(xml, /PRIVATE KEY/);
  t.match(await registerSpOf(GROUPS), `entityID="${originOf(GROUPS)}/auth/saml/metadata"`, 'another host, another entity id');
  t.same(origin.requestsTo('/auth/').map((r) => r.url), [], 'answered at the edge');
});

t.test('unauthenticated → signed AuthnRequest → POST to the ACS → the captured URI, with the identity headers', async (t) => {
  const browser = new Browser(APP);
  await registerSpOf(APP);
  const first = await browser.request('/private/page?x=1&y=two');
  t.equal(first.status, 302);
  const location = new URL(first.headers.location!);
  t.equal(`${location.origin}${location.pathname}`, `${idp.baseUrl}/sso`, 'to the IdP SSO endpoint');
  t.equal(location.searchParams.get('SigAlg'), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'signed with RSA-SHA256');
  t.ok(location.searchParams.get('Signature'), 'with a Signature');
  t.ok(location.searchParams.get('RelayState'), 'the sealed state rides as RelayState');
  t.equal(browser.names(/^ngrok\.nonce\./).length, 1, 'a nonce cookie binds the login to this browser');

  const login = await idp.login(location.toString()); // samlify verifies the AuthnRequest signature
  responses.push(login.samlResponse);
  t.equal(login.action, `${originOf(APP)}/auth/callback`);
  t.match(login.request.xml, `AssertionConsumerServiceURL="${originOf(APP)}/auth/callback"`);
  const done = await browser.request('/auth/callback', { form: formOf(login) });
  t.equal(done.status, 302, done.body.toString());
  t.equal(done.headers.location, '/private/page?x=1&y=two', 'back to the captured URI');
  t.equal(sessionCookies(browser).length, 1, 'a session cookie');
  t.same(browser.names(/nonce/), [], 'the nonce cookie is cleared');

  const res = await browser.request('/private/page?x=1&y=two', {
    headers: { 'ngrok-auth-user-id': 'forged', 'ngrok-auth-user-email': 'forged@evil.test' },
  });
  t.equal(res.status, 200);
  const seen = report(res);
  t.equal(seen.headers['ngrok-auth-user-id'], 'alice-0001', 'the NameID');
  t.equal(seen.headers['ngrok-auth-user-email'], 'alice@example.test');
  t.equal(seen.headers['ngrok-auth-user-name'], 'Alice Example');
  t.equal(rawNames(seen.rawHeaders).filter((n) => n === 'ngrok-auth-user-id').length, 1, 'the forged id header is gone');
  t.notOk(JSON.stringify(seen).includes('forged'), 'nothing forged reaches the upstream');
});

t.test('a tampered SAMLResponse is refused', async (t) => {
  const browser = new Browser(APP);
  const login = await idpForm(t, browser, '/tamper');
  const xml = Buffer.from(login.samlResponse, 'base64').toString('utf8');
  t.match(xml, 'alice-0001');
  const tampered = Buffer.from(xml.replace('alice-0001', 'mallory-01')).toString('base64');
  const res = await browser.request('/auth/callback', { form: formOf(login, tampered) });
  t.equal(res.status, 403, res.body.toString());
  t.equal(res.headers['ngrok-error-code'], 'ERR_NGROK_5305', 'the signature does not verify');
  t.same(sessionCookies(browser), [], 'no session');
  t.equal((await browser.request('/tamper')).status, 302, 'still not logged in');
});

/** Connections each worker has taken so far (which worker served a request: the one that moved). */
async function workerConnections(): Promise<number[]> {
  const text = await (await fetch(`http://${daemon.admin}/metrics`)).text();
  return [0, 1].map((w) => metricValue(text, 'edgeplane_worker_connections_total', `{worker="${w}"}`) ?? 0);
}

t.test('the same SAMLResponse posted again is refused', async (t) => {
  // SP-initiated: a thief holding the browser's cookies and the form, after the login went through
  const browser = new Browser(APP);
  const login = await idpForm(t, browser, '/replay');
  const thief = new Browser(APP);
  for (const [name, value] of browser.jar) thief.jar.set(name, value);
  t.equal((await browser.request('/auth/callback', { form: formOf(login) })).status, 302, 'the first post logs in');
  const again = await thief.request('/auth/callback', { form: formOf(login) });
  t.equal(again.status, 403, again.body.toString());
  t.same(sessionCookies(thief), [], 'no session for the replay');

  // IdP-initiated (no login state to spend): only the assertion id cache stands in the way
  await registerSpOf(UNSOLICITED);
  const unsolicited = await idp.unsolicited();
  responses.push(unsolicited);
  const once = new Browser(UNSOLICITED);
  const ok = await once.request('/auth/callback', { form: new URLSearchParams({ SAMLResponse: unsolicited }) });
  t.equal(ok.status, 302, `control: an unsolicited response is taken with allow_idp_initiated (${ok.body.toString()})`);
  t.equal((await once.request('/')).status, 200, 'and its session works');
  // replayed on new connections until both workers have refused it (one worker's cache would let it through once)
  const refusedBy = new Set<number>();
  for (let i = 0; i < 30 && refusedBy.size < 2; i++) {
    const before = await workerConnections();
    const twice = await new Browser(UNSOLICITED).request('/auth/callback', { form: new URLSearchParams({ SAMLResponse: unsolicited }) });
    const after = await workerConnections();
    t.equal(twice.status, 403);
    t.equal(twice.headers['ngrok-error-code'], 'ERR_NGROK_5308', 'the assertion was already used');
    const moved = [0, 1].filter((w) => after[w]! > before[w]!);
    if (moved.length === 1) refusedBy.add(moved[0]!);
  }
  t.same([...refusedBy].sort(), [0, 1], 'both workers refused the replay');

  // and an unsolicited response is refused where allow_idp_initiated is off
  await registerSpOf(APP);
  const refused = await new Browser(APP).request('/auth/callback', { form: new URLSearchParams({ SAMLResponse: await idp.unsolicited() }) });
  t.equal(refused.status, 403);
  t.equal(refused.headers['ngrok-error-code'], 'ERR_NGROK_5302');
});

t.test('authorized_groups refuses a user outside them', async (t) => {
  const browser = new Browser(GROUPS);
  const login = await idpForm(t, browser, '/books');
  const res = await browser.request('/auth/callback', { form: formOf(login) });
  t.equal(res.status, 403, 'alice is in staff and admins, not finance');
  t.match(res.body.toString(), /Not authorized/);
  t.equal(res.headers['ngrok-error-code'], 'ERR_NGROK_5312', 'the SAML group refusal code');
  t.same(sessionCookies(browser), [], 'no session');
  t.same(origin.requestsTo('/books').map((r) => r.url), [], 'the origin never saw the request');

  idp.loginAs({ nameId: 'bob-0002', attributes: { email: 'bob@example.test', groups: ['finance'] } });
  try {
    const bob = new Browser(GROUPS);
    const ok = await bob.request('/auth/callback', { form: formOf(await idpForm(t, bob, '/books')) });
    t.equal(ok.status, 302, 'control: a finance member gets in');
    t.equal(report(await bob.request('/books')).headers['ngrok-auth-user-id'], 'bob-0002');
  } finally {
    idp.loginAs({ nameId: 'alice-0001', attributes: { email: 'alice@example.test', displayName: 'Alice Example', groups: ['staff', 'admins'] } });
  }
});

t.test('no SAMLResponse, assertion, SP key or cookie value in the logs or events', async (t) => {
  await new Promise((r) => setTimeout(r, 300)); // let the worker flush its events
  const logs = daemon.stderr() + readFileSync(daemon.eventsPath, 'utf8');
  t.ok(logs.length > 0);
  const assertionPieces = responses.map((r) => /<ds:SignatureValue>([^<]{40})/.exec(Buffer.from(r, 'base64').toString('utf8'))?.[1] ?? '');
  const keyLines = sp.privateKeyPem.split('\n').filter((l) => l.length >= 40);
  const secrets = [...responses.map((r) => r.slice(0, 60)), ...assertionPieces, ...keyLines, ...Browser.issued].filter((s) => s.length >= 8);
  t.ok(secrets.length > 10, `${secrets.length} values to look for`);
  t.same(secrets.filter((s) => logs.includes(s)), [], 'none of them is logged');
  t.notMatch(logs, /PRIVATE KEY|SAMLResponse=|<saml:Assertion/);

  const events = daemon.events().map((e) => e.object as Record<string, any>);
  const allowed = events.find((e) => e.oauth?.decision === 'allow' && e.oauth?.user?.id === 'alice-0001' && e.oauth?.app_client_id?.includes(APP));
  t.equal(allowed?.oauth.app_client_id, `${originOf(APP)}/auth/saml/metadata`, 'events name the SP entity id of the host');
  t.ok(events.some((e) => e.oauth?.decision === 'block'), 'refused logins leave oauth.decision block');
});
