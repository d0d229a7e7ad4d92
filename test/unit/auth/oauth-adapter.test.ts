// The OAuth adapter against a fake provider on 127.0.0.1 that speaks each provider's dialect (token
// auth style, token answer format, user JSON, extra headers): the authorize URL, the whole code flow,
// refusals, the rules (emails, domains, GitHub teams and organizations) and refresh. Every error's
// message is checked for the client secret, codes and tokens.
import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { OAuthAdapter, OAuthError, type OAuthAdapterConfig } from '../../../workers/http/auth/oauth-adapter.js';
import type { LoginSecrets } from '../../../workers/http/auth/provider.js';
import { OAUTH_PROVIDER_DEFAULTS, OAUTH_PROVIDERS, type OAuthProviderName } from '../../../core/config/schema-auth.js';
import { startOAuthProviderFake, type FakeOAuthUser, type OAuthProviderFake } from '../../helpers/oauth-provider-fake.js';

const STATE = 'sealed-state-0123';
const SECRETS: LoginSecrets = { nonce: 'n-0123456789', pkceVerifier: 'v'.repeat(43) + '-_.~0123' };
const PKCE: Record<OAuthProviderName, boolean> = {
  github: true, google: true, microsoft: true, facebook: true, linkedin: false, gitlab: true, twitch: false, amazon: true,
};

function userFor(provider: OAuthProviderName): FakeOAuthUser {
  const numeric = provider === 'github' || provider === 'gitlab';
  return { id: numeric ? '583231' : `${provider}-user-1`, name: 'Alice Example', login: 'alice', email: 'Alice@Example.com' };
}

function adapterFor(fake: OAuthProviderFake, rules: Partial<OAuthAdapterConfig> = {}, timeoutMs?: number): OAuthAdapter {
  return new OAuthAdapter({
    provider: fake.provider,
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    scopes: [...OAUTH_PROVIDER_DEFAULTS[fake.provider].scopes],
    emailAddresses: [],
    emailDomains: [],
    teams: [],
    organizations: [],
    authorizeUrl: fake.authorizeUrl,
    tokenUrl: fake.tokenUrl,
    userinfoUrl: fake.userinfoUrl,
    apiUrl: fake.apiUrl,
    ...rules,
  }, timeoutMs === undefined ? {} : { timeoutMs });
}

async function login(adapter: OAuthAdapter, fake: OAuthProviderFake, secrets: LoginSecrets = SECRETS) {
  const callback = await fake.authorize(await adapter.beginLogin(fake.redirectUri, STATE, secrets));
  return adapter.completeLogin({ redirectUri: fake.redirectUri, method: 'GET', query: callback.searchParams, form: new URLSearchParams(), state: STATE, secrets });
}

/** The error the promise rejects with; fails when it resolves. Checks that no secret is in its message. */
async function refusal(t: Test, fake: OAuthProviderFake, promise: Promise<unknown>): Promise<OAuthError> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  t.type(error, OAuthError, 'refused with an OAuthError');
  const e = error as OAuthError;
  for (const secret of [fake.clientSecret, ...fake.issued]) t.notOk(e.message.includes(secret) || e.reason.includes(secret), 'no secret, code or token in the message');
  return e;
}

for (const provider of OAUTH_PROVIDERS) {
  t.test(`${provider}: authorize URL, code flow, identity; a wrong client secret is refused`, async (t) => {
    const fake = await startOAuthProviderFake(t, { provider, users: [userFor(provider)] });
    const adapter = adapterFor(fake);
    t.equal(adapter.kind, provider);
    t.equal(adapter.clientId, fake.clientId);

    const url = new URL(await adapter.beginLogin(fake.redirectUri, STATE, SECRETS));
    t.equal(url.origin + url.pathname, new URL(fake.authorizeUrl).origin + new URL(fake.authorizeUrl).pathname);
    t.equal(url.searchParams.get('response_type'), 'code');
    t.equal(url.searchParams.get('client_id'), fake.clientId);
    t.equal(url.searchParams.get('redirect_uri'), fake.redirectUri);
    t.equal(url.searchParams.get('scope'), OAUTH_PROVIDER_DEFAULTS[provider].scopes.join(' '));
    t.equal(url.searchParams.get('state'), STATE);
    if (PKCE[provider]) {
      t.equal(url.searchParams.get('code_challenge'), createHash('sha256').update(SECRETS.pkceVerifier!).digest('base64url'));
      t.equal(url.searchParams.get('code_challenge_method'), 'S256');
    } else {
      t.notOk(url.searchParams.has('code_challenge'), `${provider} gets no PKCE challenge`);
    }
    t.notOk(url.href.includes(fake.clientSecret), 'the secret is not in the URL');

    const result = await login(adapter, fake);
    const expected = userFor(provider);
    t.same(result.identity, { id: expected.id, name: 'Alice Example', email: 'Alice@Example.com' });
    t.ok(result.tokens?.accessToken?.startsWith(`at-${provider}-`), 'the access token is kept for refreshes');
    t.ok(adapter.authorize(result.identity).allowed, 'no rule: any authenticated user');

    const userRequest = fake.requests.find((r) => r.method === 'GET' && r.headers.authorization?.startsWith('Bearer '));
    if (provider === 'twitch') t.equal(userRequest?.headers['client-id'], fake.clientId, 'Helix gets the Client-Id header');

    const wrong = adapterFor({ ...fake, clientSecret: `${fake.clientSecret}-wrong` });
    const e = await refusal(t, fake, login(wrong, fake));
    t.equal(e.code, 'ERR_NGROK_3123');
    t.equal(e.reason, 'token_refused');
    t.notOk(e.message.includes(`${fake.clientSecret}-wrong`), 'not the wrong secret either');
    t.match(e.message, provider === 'github' ? /incorrect_client_credentials/ : provider === 'facebook' ? /OAuthException/ : /invalid_client/);
  });
}

t.test('the callback: provider errors, state, code replay, PKCE verifier', async (t) => {
  const fake = await startOAuthProviderFake(t, { provider: 'google', users: [userFor('google')] });
  const adapter = adapterFor(fake);
  const complete = (query: URLSearchParams, state = STATE, secrets: LoginSecrets | null = SECRETS) =>
    adapter.completeLogin({ redirectUri: fake.redirectUri, method: 'GET', query, form: new URLSearchParams(), state, secrets });

  fake.denyNext();
  const denied = await fake.authorize(await adapter.beginLogin(fake.redirectUri, STATE, SECRETS));
  t.match(await refusal(t, fake, complete(denied.searchParams)), { code: 'ERR_NGROK_3120', reason: 'provider_denied', status: 403, message: /access_denied/ });

  const callback = await fake.authorize(await adapter.beginLogin(fake.redirectUri, STATE, SECRETS));
  t.match(await refusal(t, fake, complete(callback.searchParams, 'another-state')), { code: 'ERR_NGROK_3121', status: 400, message: /state mismatch/ });
  t.match(await refusal(t, fake, complete(callback.searchParams, STATE, null)), { code: 'ERR_NGROK_3121' });
  const noCode = new URLSearchParams(callback.searchParams);
  noCode.delete('code');
  t.match(await refusal(t, fake, complete(noCode)), { code: 'ERR_NGROK_3121', message: /no code/ });
  t.match(await refusal(t, fake, complete(callback.searchParams, STATE, { nonce: 'n', pkceVerifier: 'w'.repeat(43) })), { code: 'ERR_NGROK_3123', message: /invalid_grant/ }, 'another PKCE verifier is refused');

  const fresh = await fake.authorize(await adapter.beginLogin(fake.redirectUri, STATE, SECRETS));
  t.equal((await complete(fresh.searchParams)).identity.id, 'google-user-1', 'a fresh login works');
  // the fake, like real providers, takes a code once
  t.match(await refusal(t, fake, complete(fresh.searchParams)), { code: 'ERR_NGROK_3123', message: /invalid_grant/ }, 'a used code is refused');
});

t.test('github: the token answer is form-encoded without Accept: application/json; the adapter asks for JSON', async (t) => {
  const fake = await startOAuthProviderFake(t, { provider: 'github', users: [userFor('github')] });
  await login(adapterFor(fake), fake);
  const tokenRequest = fake.requests.find((r) => r.method === 'POST');
  t.equal(tokenRequest?.headers.accept, 'application/json');
  const asForm = await fetch(fake.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'client_id=x' });
  t.match(asForm.headers.get('content-type'), /x-www-form-urlencoded/, 'the fake speaks GitHub\'s default');
  t.equal(new URLSearchParams(await asForm.text()).get('error'), 'incorrect_client_credentials');
});

t.test('github: the primary verified email from /user/emails when the profile email is not public', async (t) => {
  const fake = await startOAuthProviderFake(t, {
    provider: 'github',
    users: [
      { id: '1', login: 'hidden', emails: [{ email: 'old@other.org', primary: false, verified: true }, { email: 'x@spare.org', primary: false, verified: false }, { email: 'Main@Corp.example', primary: true, verified: true }] },
      { id: '2', login: 'unverified', emails: [{ email: 'main@corp.example', primary: true, verified: false }] },
    ],
  });
  const adapter = adapterFor(fake, { emailDomains: ['corp.example'] });
  const hidden = await login(adapter, fake);
  t.same(hidden.identity, { id: '1', name: 'hidden', email: 'Main@Corp.example' }, 'login stands in for the missing name');
  t.ok(adapter.authorize(hidden.identity).allowed, 'the primary email admits');
  t.ok(fake.requests.some((r) => r.path.startsWith('/user/emails')), '/user/emails was read');

  fake.loginAs('2');
  const unverified = await login(adapter, fake);
  t.equal(unverified.identity.email, undefined, 'an unverified primary email is not used');
  t.match(adapter.authorize(unverified.identity), { allowed: false, reason: /no verified email/ });
});

t.test('github: teams by slug and by numeric id, organizations; refresh sees a removed team', async (t) => {
  const teams = [
    { id: 11, org: 'Acme', slug: 'design' },
    { id: 12, org: 'acme', slug: 'ops' },
    { id: 13, org: 'other', slug: 'misc' },
    { id: 4242, org: 'acme', slug: 'platform' }, // on the second page (the fake pages by 2)
    { id: 15, org: 'third', slug: 'x' },
  ];
  const fake = await startOAuthProviderFake(t, {
    provider: 'github',
    users: [{ id: '7', login: 'alice', email: 'alice@example.com', teams, orgs: ['Acme', 'other', 'third', 'solo-org'] }, { id: '8', login: 'bob', email: 'bob@example.com' }],
  });
  const cases: [string, Partial<OAuthAdapterConfig>, boolean][] = [
    ['team slug (case-insensitive org)', { teams: ['acme/platform'] }, true],
    ['team slug not held', { teams: ['acme/security'] }, false],
    ['numeric team id', { teams: ['4242'] }, true],
    ['numeric team id not held', { teams: ['9999'] }, false],
    ['organization (from /user/orgs, on a later page)', { organizations: ['solo-org'] }, true],
    ['organization not held', { organizations: ['globex'] }, false],
  ];
  for (const [what, rules, admitted] of cases) {
    fake.loginAs('7');
    const adapter = adapterFor(fake, { scopes: ['read:user', 'user:email', 'read:org'], ...rules });
    const { identity } = await login(adapter, fake);
    t.equal(adapter.authorize(identity).allowed, admitted, `${what}: ${admitted ? 'admitted' : 'refused'}`);
    if (!admitted) t.match(adapter.authorize(identity).reason, /GitHub team or organization/);
    fake.loginAs('8');
    t.equal(adapter.authorize((await login(adapter, fake)).identity).allowed, false, `${what}: a user in no team or org is refused`);
  }

  fake.users.set('9', { id: '9', login: 'mallory', orgs: ['4242'] });
  fake.loginAs('9');
  const strict = adapterFor(fake, { teams: ['4242'], organizations: ['acme'] });
  t.equal(strict.authorize((await login(strict, fake)).identity).allowed, false, 'a numeric organization slug does not pass for a team id');

  fake.loginAs('7');
  const adapter = adapterFor(fake, { teams: ['acme/platform', '11'] });
  const first = await login(adapter, fake);
  t.ok(first.identity.groups?.includes('acme/platform'), 'groups hold the team slugs');
  t.ok(first.identity.groups?.includes('team-id:11'), 'and the ids the rules name');
  t.ok(adapter.authorize(first.identity).allowed);
  fake.users.get('7')!.teams = teams.filter((team) => team.id !== 4242 && team.id !== 11);
  const refreshed = await adapter.refresh(first.tokens!);
  t.ok(refreshed, 'refresh re-read the user');
  t.notOk(refreshed!.identity.groups?.includes('acme/platform'));
  t.equal(adapter.authorize(refreshed!.identity).allowed, false, 'the removed team no longer admits');
});

t.test('email_addresses and email_domains admit and refuse (any provider)', async (t) => {
  const fake = await startOAuthProviderFake(t, {
    provider: 'microsoft',
    users: [
      { id: 'u1', name: 'Alice', email: 'Alice@Example.com' },
      { id: 'u2', name: 'Sub', email: 'sub@eng.example.com' },
      { id: 'u3', name: 'Guest', userPrincipalName: 'guest_other.org#EXT#@tenant.onmicrosoft.com' },
      { id: 'u4', name: 'Upn', userPrincipalName: 'upn@example.com' },
    ],
  });
  const check = async (rules: Partial<OAuthAdapterConfig>, user: string) => {
    fake.loginAs(user);
    const adapter = adapterFor(fake, rules);
    return adapter.authorize((await login(adapter, fake)).identity);
  };
  t.ok((await check({ emailAddresses: ['alice@example.com'] }, 'u1')).allowed, 'address, case-insensitive');
  t.match(await check({ emailAddresses: ['bob@example.com'] }, 'u1'), { allowed: false, reason: /alice@example.com is not allowed/ });
  t.ok((await check({ emailDomains: ['example.com'] }, 'u1')).allowed, 'domain');
  t.notOk((await check({ emailDomains: ['example.com'] }, 'u2')).allowed, 'a subdomain does not match its parent');
  t.ok((await check({ emailDomains: ['eng.example.com'] }, 'u2')).allowed, 'the subdomain listed itself');
  t.notOk((await check({ emailDomains: ['example.com'] }, 'u3')).allowed, 'a guest UPN is not an email');
  t.ok((await check({ emailDomains: ['example.com'] }, 'u4')).allowed, 'userPrincipalName when mail is empty');
  t.ok((await check({ emailAddresses: ['x@y.org'], emailDomains: ['example.com'] }, 'u1')).allowed, 'any rule admits');
});

t.test('OpenID userinfo: an email marked unverified is dropped (google, linkedin, gitlab)', async (t) => {
  for (const provider of ['google', 'linkedin', 'gitlab'] as const) {
    const fake = await startOAuthProviderFake(t, { provider, users: [{ ...userFor(provider), emailVerified: false }] });
    const adapter = adapterFor(fake, { emailDomains: ['example.com'] });
    const { identity } = await login(adapter, fake);
    t.equal(identity.email, undefined, provider);
    t.notOk(adapter.authorize(identity).allowed, `${provider}: refused`);
  }
});

t.test('gitlab: the REST /api/v4/user endpoint works as userinfo_url too', async (t) => {
  const fake = await startOAuthProviderFake(t, { provider: 'gitlab', users: [userFor('gitlab')], gitlabRestApi: true });
  t.same((await login(adapterFor(fake), fake)).identity, { id: '583231', name: 'Alice Example', email: 'Alice@Example.com' });
});

t.test('refresh: null without a token, refused once the token is revoked', async (t) => {
  const fake = await startOAuthProviderFake(t, { provider: 'amazon', users: [userFor('amazon')] });
  const adapter = adapterFor(fake);
  const { tokens } = await login(adapter, fake);
  t.equal(await adapter.refresh({}), null);
  t.same((await adapter.refresh(tokens!))?.identity, { id: 'amazon-user-1', name: 'Alice Example', email: 'Alice@Example.com' });
  fake.revokeAll();
  t.match(await refusal(t, fake, adapter.refresh(tokens!)), { code: 'ERR_NGROK_3126', reason: 'userinfo_refused', message: /401/ });
});

t.test('unreachable and slow providers; non-loopback http endpoints are refused up front', async (t) => {
  const hanging = http.createServer(() => { /* never answers */ });
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { hanging.closeAllConnections(); hanging.close(); });
  const fake = await startOAuthProviderFake(t, { provider: 'facebook', users: [userFor('facebook')] });
  const slowToken = adapterFor({ ...fake, tokenUrl: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/token` }, {}, 300);
  t.match(await refusal(t, fake, login(slowToken, fake)), { code: 'ERR_NGROK_3122', message: /timed out/ });

  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const down = adapterFor({ ...fake, userinfoUrl: `http://127.0.0.1:${closedPort}/me` });
  t.match(await refusal(t, fake, login(down, fake)), { code: 'ERR_NGROK_3125', message: /ECONNREFUSED/ });

  t.throws(() => adapterFor({ ...fake, tokenUrl: 'http://idp.example.com/token' }), /token_url: .* must be an https URL/);
});
