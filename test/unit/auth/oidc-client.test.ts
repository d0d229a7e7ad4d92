// The OIDC relying party against a real oidc-provider on 127.0.0.1: discovery, the authorization
// URL, the full code flow, and every way the ID token or the provider can be wrong. Tokens are
// tampered with by wrapping fetch around the real token endpoint response.
import t, { type Test } from 'tap';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { OidcClient, OidcError, type OidcFetch, type OidcClientOptions } from '../../../workers/http/auth/oidc-client.js';
import { startOidcProvider, signJwt, type OidcProviderFixture } from '../../helpers/oidc-provider.js';

type TokenBody = Record<string, unknown>;

interface Recorder {
  fetch: OidcFetch;
  /** Paths requested, in order. */
  paths: string[];
  /** Headers and body of the last token endpoint request. */
  tokenRequest?: { headers: Record<string, string>; body: string };
  /** When set, rewrites the token endpoint's JSON answer. */
  tamper?: (body: TokenBody) => TokenBody;
}

function recorder(): Recorder {
  const rec: Recorder = {
    paths: [],
    fetch: async (url, init) => {
      const path = new URL(url).pathname;
      rec.paths.push(path);
      const isToken = path === '/token';
      if (isToken) rec.tokenRequest = { headers: init.headers, body: String(init.body ?? '') };
      const res = await fetch(url, init as RequestInit);
      if (!isToken || !rec.tamper) return res;
      const body = rec.tamper((await res.json()) as TokenBody);
      return new Response(JSON.stringify(body), { status: res.status, headers: { 'content-type': 'application/json' } });
    },
  };
  return rec;
}

function clientFor(provider: OidcProviderFixture, rec: Recorder, extra: Partial<OidcClientOptions> = {}): OidcClient {
  return new OidcClient({
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret,
    scopes: ['openid', 'profile', 'email', 'groups'],
    fetch: rec.fetch,
    ...extra,
  });
}

/** Runs a whole login: authorization URL, provider redirects, callback, code exchange. */
async function login(client: OidcClient, provider: OidcProviderFixture, override: { nonce?: string; state?: string; codeVerifier?: string } = {}) {
  const start = await client.beginLogin(provider.redirectUri);
  const callback = await provider.login(start.url);
  return client.completeLogin({
    redirectUri: provider.redirectUri,
    query: callback.search,
    state: override.state ?? start.state,
    nonce: override.nonce ?? start.nonce,
    codeVerifier: override.codeVerifier ?? start.codeVerifier,
  });
}

function payloadOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

/** Every failure must be a typed OidcError with the reason and code, and no secret in its message. */
async function refused(t: Test, promise: Promise<unknown>, reason: string, code: string, secrets: string[]): Promise<OidcError | undefined> {
  try {
    await promise;
    t.fail(`expected ${reason}`);
    return undefined;
  } catch (err) {
    t.type(err, OidcError);
    const failure = err as OidcError;
    t.equal(failure.reason, reason, failure.message);
    t.equal(failure.code, code);
    for (const secret of secrets) t.notOk(failure.message.includes(secret), 'message carries no secret');
    return failure;
  }
}

const provider = await startOidcProvider(t);
const alice = provider.accounts[0]!;
const bob = provider.accounts[1]!;

t.test('discovery reads the provider metadata once and caches it', async (t) => {
  const rec = recorder();
  const client = clientFor(provider, rec);
  const metadata = await client.metadata();
  t.equal(metadata.issuer, provider.issuer);
  t.equal(metadata.token_endpoint, `${provider.issuer}/token`);
  t.type(metadata.jwks_uri, 'string');
  await client.metadata();
  await client.beginLogin(provider.redirectUri);
  t.same(rec.paths, ['/.well-known/openid-configuration'], 'one discovery request for three uses');
});

t.test('the authorization URL carries PKCE S256, state and nonce', async (t) => {
  const client = clientFor(provider, recorder());
  const first = await client.beginLogin(provider.redirectUri, { prompt: 'login' });
  const second = await client.beginLogin(provider.redirectUri);
  const url = new URL(first.url);
  t.equal(`${url.origin}${url.pathname}`, `${provider.issuer}/auth`);
  const q = url.searchParams;
  t.equal(q.get('response_type'), 'code');
  t.equal(q.get('client_id'), provider.clientId);
  t.equal(q.get('redirect_uri'), provider.redirectUri);
  t.same(q.get('scope')!.split(' ').sort(), ['email', 'groups', 'openid', 'profile']);
  t.equal(q.get('code_challenge_method'), 'S256');
  t.equal(q.get('code_challenge'), createHash('sha256').update(first.codeVerifier).digest('base64url'));
  t.equal(q.get('state'), first.state);
  t.equal(q.get('nonce'), first.nonce);
  t.equal(q.get('prompt'), 'login', 'extra parameters pass through');
  t.notOk(q.has('client_secret'));
  t.ok(first.codeVerifier.length >= 43);
  t.not(first.state, second.state);
  t.not(first.nonce, second.nonce);
  t.not(first.codeVerifier, second.codeVerifier);
});

t.test('the full code flow yields the logged-in account', async (t) => {
  const rec = recorder();
  const client = clientFor(provider, rec, { fetchUserinfo: false });
  const result = await login(client, provider);
  t.same(result.identity, { sub: alice.sub, name: alice.name, email: alice.email, email_verified: true, groups: alice.groups });
  t.ok(result.idTokenExpiresAt > Date.now() + 3000_000, 'ID token exp is about an hour out');
  const basic = rec.tokenRequest?.headers.authorization ?? '';
  t.match(basic, /^Basic /, 'client_secret_basic, as the provider advertises');
  t.notMatch(rec.tokenRequest?.body ?? '', /client_secret/);
  t.match(rec.tokenRequest?.body ?? '', /code_verifier=/);
  t.notOk(rec.paths.includes('/me'), 'no userinfo request when turned off');

  provider.loginAs(bob.sub);
  t.teardown(() => provider.loginAs(alice.sub));
  const second = await login(client, provider);
  t.same(second.identity, { sub: bob.sub, name: bob.name, email: bob.email, email_verified: false, groups: [] });
});

t.test('a login is refused when the callback or ID token does not belong to it', async (t) => {
  const rec = recorder();
  const client = clientFor(provider, rec);
  const secrets = [provider.clientSecret];
  await refused(t, login(client, provider, { nonce: 'another-login-nonce' }), 'nonce_mismatch', 'ERR_NGROK_5211', secrets);
  await refused(t, login(client, provider, { state: 'another-login-state' }), 'authorization_failed', 'ERR_NGROK_5205', secrets);
  // The provider checks PKCE: a verifier from another login is refused at the token endpoint.
  const failure = await refused(t, login(client, provider, { codeVerifier: 'x'.repeat(43) }), 'token_request_failed', 'ERR_NGROK_5206', secrets);
  t.match(failure?.detail, /invalid_grant/);

  const start = await client.beginLogin(provider.redirectUri);
  const denied = new URLSearchParams({ error: 'access_denied', state: start.state });
  await refused(t, client.completeLogin({ redirectUri: provider.redirectUri, query: denied, ...start }), 'authorization_failed', 'ERR_NGROK_5205', secrets);
});

t.test('tampered ID tokens are refused', async (t) => {
  const rec = recorder();
  const client = clientFor(provider, rec);
  const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const seen: string[] = [];
  const withToken = (rewrite: (claims: Record<string, unknown>) => string | undefined) => (body: TokenBody): TokenBody => {
    const real = body.id_token as string;
    seen.push(real, body.access_token as string);
    const replaced = rewrite(payloadOf(real));
    const { id_token: _dropped, ...rest } = body;
    return replaced === undefined ? rest : { ...rest, id_token: replaced };
  };
  const secrets = () => [provider.clientSecret, ...seen];
  const now = Math.floor(Date.now() / 1000);

  rec.tamper = withToken((claims) => signJwt(claims, attacker, provider.kid));
  await refused(t, login(client, provider), 'id_token_signature_invalid', 'ERR_NGROK_5208', secrets());

  const discoveriesBefore = rec.paths.filter((p) => p.includes('openid-configuration')).length;
  rec.tamper = withToken((claims) => signJwt(claims, attacker, 'attacker-kid'));
  const miss = await refused(t, login(client, provider), 'id_token_signature_invalid', 'ERR_NGROK_5208', secrets());
  t.equal(miss?.detail, 'no matching key');

  rec.tamper = withToken((claims) => signJwt({ ...claims, iat: now - 7200, exp: now - 3600 }, provider.signingKey, provider.kid));
  await refused(t, login(client, provider), 'id_token_expired', 'ERR_NGROK_5210', secrets());
  t.ok(rec.paths.filter((p) => p.includes('openid-configuration')).length > discoveriesBefore, 'a key miss forces rediscovery');

  rec.tamper = withToken((claims) => signJwt({ ...claims, aud: 'someone-else' }, provider.signingKey, provider.kid));
  const aud = await refused(t, login(client, provider), 'id_token_claims_invalid', 'ERR_NGROK_5209', secrets());
  t.equal(aud?.detail, 'claim aud');

  rec.tamper = withToken((claims) => signJwt({ ...claims, iss: 'https://evil.example' }, provider.signingKey, provider.kid));
  await refused(t, login(client, provider), 'id_token_claims_invalid', 'ERR_NGROK_5209', secrets());

  rec.tamper = withToken(() => undefined);
  await refused(t, login(client, provider), 'id_token_missing', 'ERR_NGROK_5207', secrets());

  // A token the provider's own key signed, with sound claims, still passes: the checks above are not vacuous.
  rec.tamper = withToken((claims) => signJwt({ ...claims, name: 'Re-signed' }, provider.signingKey, provider.kid));
  const ok = await login(client, provider);
  t.equal(ok.identity.sub, alice.sub);
});

t.test('client_secret_post is used when the provider offers only that', async (t) => {
  const postProvider = await startOidcProvider(t, { tokenAuthMethod: 'client_secret_post' });
  const rec = recorder();
  const result = await login(clientFor(postProvider, rec), postProvider);
  t.equal(result.identity.sub, alice.sub);
  t.notOk(rec.tokenRequest?.headers.authorization, 'no Basic header');
  t.match(rec.tokenRequest?.body ?? '', /client_secret=/);
});

t.test('userinfo fills in claims the ID token leaves out', async (t) => {
  const lean = await startOidcProvider(t, { claimsInIdToken: false });
  const withUserinfo = recorder();
  const full = await login(clientFor(lean, withUserinfo), lean);
  t.same(full.identity, { sub: alice.sub, name: alice.name, email: alice.email, email_verified: true, groups: alice.groups });
  t.ok(withUserinfo.paths.includes('/me'), 'userinfo endpoint was called');

  const idTokenOnly = await login(clientFor(lean, recorder(), { fetchUserinfo: false }), lean);
  t.same(idTokenOnly.identity, { sub: alice.sub }, 'a conformant provider keeps scope claims out of the ID token');
});

t.test('discovery failures are typed and quick', async (t) => {
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));

  let began = Date.now();
  const unreachable = new OidcClient({ issuer: `http://127.0.0.1:${closedPort}`, clientId: 'c', clientSecret: 's3cr3t' });
  await refused(t, unreachable.beginLogin('http://127.0.0.1/auth/callback'), 'discovery_unreachable', 'ERR_NGROK_5202', ['s3cr3t']);
  t.ok(Date.now() - began < 2000, 'refused connection fails fast');

  // A server that accepts and never answers: the timeout ends discovery.
  const silent = http.createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { silent.closeAllConnections(); silent.close(); });
  began = Date.now();
  const hanging = new OidcClient({ issuer: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, clientId: 'c', clientSecret: 's', timeoutMs: 300 });
  const timedOut = await refused(t, hanging.metadata(), 'discovery_unreachable', 'ERR_NGROK_5202', []);
  t.equal(timedOut?.detail, 'timed out');
  t.ok(Date.now() - began < 2000, 'timeout is honoured');

  // A discovery document for another issuer.
  const liar = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ issuer: provider.issuer, authorization_endpoint: `${provider.issuer}/auth`, token_endpoint: `${provider.issuer}/token`, jwks_uri: `${provider.issuer}/jwks` }));
  });
  await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { liar.closeAllConnections(); liar.close(); });
  const mismatched = new OidcClient({ issuer: `http://127.0.0.1:${(liar.address() as AddressInfo).port}`, clientId: 'c', clientSecret: 's' });
  await refused(t, mismatched.metadata(), 'issuer_mismatch', 'ERR_NGROK_5204', []);

  t.throws(() => new OidcClient({ issuer: 'http://idp.example.com', clientId: 'c', clientSecret: 's' }),
    { name: 'OidcError', reason: 'discovery_invalid', code: 'ERR_NGROK_5203' }, 'plain http only for localhost');
  t.throws(() => new OidcClient({ issuer: `https://${'a'.repeat(260)}.example`, clientId: 'c', clientSecret: 's' }),
    { name: 'OidcError', reason: 'discovery_invalid' }, 'issuer over 255 bytes');
  t.throws(() => new OidcClient({ issuer: 'not a url', clientId: 'c', clientSecret: 's' }), { name: 'OidcError', reason: 'discovery_invalid' });
});
