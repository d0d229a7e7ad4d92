// A fake OAuth provider on 127.0.0.1 that speaks one real provider's dialect: its authorize, token
// and user-info paths, how its token endpoint takes client credentials (form body or Basic, and only
// that way), its token answer format (GitHub: form-encoded unless Accept: application/json; errors
// with 200) and its user JSON. It issues single-use codes for the user chosen with loginAs(), checks
// client_id, client_secret, redirect_uri and PKCE S256 (and refuses a challenge from a client of a
// provider that does not take PKCE), and serves GitHub's /user/emails, /user/teams and /user/orgs
// with Link-header pages. authorize() plays the browser: it GETs the authorize URL and returns the
// callback URL the provider redirected to (not fetched).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { OAuthProviderName } from '../../core/generation/spec.js';

interface Teardown { teardown(fn: () => unknown): void }

export interface FakeGithubTeam { id: number; org: string; slug: string }

export interface FakeOAuthUser {
  /** Digits for GitHub and GitLab: served as a JSON number there. */
  id: string;
  name?: string;
  /** GitHub login, Twitch login, GitLab username. */
  login?: string;
  /** The profile email; GitHub serves null when absent (not public). */
  email?: string;
  /** OpenID userinfo email_verified (Google, LinkedIn, GitLab). Default true. */
  emailVerified?: boolean;
  /** Microsoft Graph userPrincipalName. */
  userPrincipalName?: string;
  /** GitHub /user/emails. */
  emails?: { email: string; primary: boolean; verified: boolean }[];
  teams?: FakeGithubTeam[];
  orgs?: string[];
}

export interface OAuthProviderFakeOptions {
  provider: OAuthProviderName;
  users: FakeOAuthUser[];
  clientId?: string;
  clientSecret?: string;
  /** The one callback URL registered for the client. */
  redirectUri?: string;
  /** GitHub list pages are at most this long (to exercise Link headers). Default 2. */
  pageSize?: number;
  /** GitLab: serve /api/v4/user as the user endpoint instead of /oauth/userinfo. */
  gitlabRestApi?: boolean;
}

export interface FakeRequest { method: string; path: string; headers: http.IncomingHttpHeaders }

export interface OAuthProviderFake {
  provider: OAuthProviderName;
  origin: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** The endpoints, named as the adapter config (OAuthSpec) names them. */
  authorizeUrl: string;
  tokenUrl: string;
  userinfoUrl: string;
  /** GitHub REST API base; null for other providers. */
  apiUrl: string | null;
  users: Map<string, FakeOAuthUser>;
  /** Every request served, in order. */
  requests: FakeRequest[];
  /** Which user the next login signs in as (default: the first). */
  loginAs(id: string): void;
  /** The next login is refused by the user (callback gets error=access_denied). */
  denyNext(): void;
  /** Access tokens and codes issued so far (to assert none leaks into a message). */
  issued: string[];
  /** Makes every issued access token invalid (user-info answers 401). */
  revokeAll(): void;
  /** Plays the browser: GET the authorize URL, return the callback URL it redirects to. */
  authorize(authorizeUrl: string): Promise<URL>;
}

/** Default paths: the real providers' own, so the config shape is exercised as it is in production. */
const PATHS: Record<OAuthProviderName, { authorize: string; token: string; userinfo: string }> = {
  github: { authorize: '/login/oauth/authorize', token: '/login/oauth/access_token', userinfo: '/user' },
  google: { authorize: '/o/oauth2/v2/auth', token: '/token', userinfo: '/v1/userinfo' },
  microsoft: { authorize: '/common/oauth2/v2.0/authorize', token: '/common/oauth2/v2.0/token', userinfo: '/v1.0/me' },
  facebook: { authorize: '/dialog/oauth', token: '/oauth/access_token', userinfo: '/me?fields=id,name,email' },
  linkedin: { authorize: '/oauth/v2/authorization', token: '/oauth/v2/accessToken', userinfo: '/v2/userinfo' },
  gitlab: { authorize: '/oauth/authorize', token: '/oauth/token', userinfo: '/oauth/userinfo' },
  twitch: { authorize: '/oauth2/authorize', token: '/oauth2/token', userinfo: '/helix/users' },
  amazon: { authorize: '/ap/oa', token: '/auth/o2/token', userinfo: '/user/profile' },
};

/** Mirrors the adapter's table on purpose: the fake enforces what the real providers document. */
const BASIC_AUTH: ReadonlySet<OAuthProviderName> = new Set(['gitlab', 'amazon']);
const TAKES_PKCE: ReadonlySet<OAuthProviderName> = new Set(['github', 'google', 'microsoft', 'facebook', 'gitlab', 'amazon']);

interface CodeGrant { userId: string; redirectUri: string; challenge: string | null }

export async function startOAuthProviderFake(t: Teardown, options: OAuthProviderFakeOptions): Promise<OAuthProviderFake> {
  const provider = options.provider;
  const clientId = options.clientId ?? `client-${provider}`;
  const clientSecret = options.clientSecret ?? `secret-${provider}-${randomBytes(6).toString('hex')}`;
  const redirectUri = options.redirectUri ?? 'https://app.example.test/auth/callback';
  const pageSize = options.pageSize ?? 2;
  const users = new Map(options.users.map((u) => [u.id, u]));
  const codes = new Map<string, CodeGrant>();
  const tokens = new Map<string, string>(); // access token → user id
  const requests: FakeRequest[] = [];
  const issued: string[] = [];
  let current = options.users[0]!.id;
  let deny = false;
  const paths = { ...PATHS[provider], ...(provider === 'gitlab' && options.gitlabRestApi === true ? { userinfo: '/api/v4/user' } : {}) };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
      const url = new URL(req.url ?? '/', 'http://fake');
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
        res.end(text);
      };
      try {
        if (req.method === 'GET' && url.pathname === new URL(paths.authorize, 'http://fake').pathname) return authorizeEndpoint(url, res, send);
        if (req.method === 'POST' && url.pathname === paths.token) return tokenEndpoint(req, Buffer.concat(chunks).toString(), send);
        if (req.method === 'GET') return userEndpoints(req, url, send);
        send(404, 'not found');
      } catch (err) {
        send(500, `fake provider failure: ${(err as Error).message}`);
      }
    });
  });

  function authorizeEndpoint(url: URL, res: http.ServerResponse, send: (s: number, b: unknown) => void) {
    const q = url.searchParams;
    if (q.get('response_type') !== 'code') return send(400, 'response_type must be code');
    if (q.get('client_id') !== clientId) return send(400, 'unknown client_id');
    if (q.get('redirect_uri') !== redirectUri) return send(400, 'redirect_uri is not registered');
    if (!q.get('scope')) return send(400, 'no scope');
    const state = q.get('state');
    if (!state) return send(400, 'no state');
    const challenge = q.get('code_challenge');
    if (TAKES_PKCE.has(provider)) {
      if (challenge === null || q.get('code_challenge_method') !== 'S256') return send(400, 'PKCE S256 required');
    } else if (challenge !== null) {
      return send(400, `${provider} does not take PKCE from web apps`);
    }
    const back = new URL(redirectUri);
    if (deny) {
      deny = false;
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user denied the request');
    } else {
      const code = `code-${randomBytes(12).toString('hex')}`;
      codes.set(code, { userId: current, redirectUri: q.get('redirect_uri')!, challenge });
      issued.push(code);
      back.searchParams.set('code', code);
    }
    back.searchParams.set('state', state);
    res.writeHead(302, { location: back.href });
    res.end();
  }

  function tokenEndpoint(req: http.IncomingMessage, raw: string, send: (s: number, b: unknown, h?: Record<string, string>) => void) {
    const form = new URLSearchParams(raw);
    const wantsJson = /application\/json/.test(req.headers.accept ?? '');
    const answer = (status: number, body: Record<string, unknown>) => {
      // GitHub's token endpoint: form-encoded unless JSON is asked for, and errors with 200
      if (provider === 'github') {
        if (wantsJson) return send(200, body);
        const text = new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)])).toString();
        return send(200, text, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
      }
      send(status, body);
    };
    const refuse = (status: number, error: string) =>
      answer(status, provider === 'facebook' ? { error: { message: `Error: ${error}`, type: 'OAuthException', code: 100 } } : { error, error_description: `refused: ${error}` });

    if (!/application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) return refuse(400, 'invalid_request');
    let id: string | null;
    let secret: string | null;
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    if (BASIC_AUTH.has(provider)) {
      if (basic === null || form.has('client_secret')) return refuse(401, 'invalid_client');
      const pair = Buffer.from(basic[1]!, 'base64').toString();
      id = decodeURIComponent(pair.slice(0, pair.indexOf(':')));
      secret = decodeURIComponent(pair.slice(pair.indexOf(':') + 1));
    } else {
      if (basic !== null) return refuse(401, 'invalid_client');
      id = form.get('client_id');
      secret = form.get('client_secret');
    }
    if (id !== clientId || secret !== clientSecret) return refuse(401, provider === 'github' ? 'incorrect_client_credentials' : 'invalid_client');
    if (form.get('grant_type') !== 'authorization_code') return refuse(400, 'unsupported_grant_type');
    const code = form.get('code') ?? '';
    const grant = codes.get(code);
    codes.delete(code); // single use
    if (grant === undefined) return refuse(400, provider === 'github' ? 'bad_verification_code' : 'invalid_grant');
    if (form.get('redirect_uri') !== grant.redirectUri) return refuse(400, provider === 'github' ? 'redirect_uri_mismatch' : 'invalid_grant');
    const verifier = form.get('code_verifier');
    if (grant.challenge !== null) {
      if (verifier === null || createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) return refuse(400, 'invalid_grant');
    } else if (verifier !== null) {
      return refuse(400, 'invalid_request');
    }
    const accessToken = `at-${provider}-${randomBytes(12).toString('hex')}`;
    tokens.set(accessToken, grant.userId);
    issued.push(accessToken);
    answer(200, tokenAnswer(accessToken));
  }

  function tokenAnswer(accessToken: string): Record<string, unknown> {
    const refreshToken = `rt-${randomBytes(8).toString('hex')}`;
    switch (provider) {
      case 'github': return { access_token: accessToken, token_type: 'bearer', scope: 'read:org,user:email' };
      case 'facebook': return { access_token: accessToken, token_type: 'bearer', expires_in: 5183944 };
      case 'twitch': return { access_token: accessToken, token_type: 'bearer', expires_in: 14124, refresh_token: refreshToken, scope: ['user:read:email'] };
      case 'amazon': return { access_token: accessToken, token_type: 'bearer', expires_in: 3600, refresh_token: refreshToken };
      case 'gitlab': return { access_token: accessToken, token_type: 'Bearer', expires_in: 7200, refresh_token: refreshToken, scope: 'openid profile email', created_at: 1700000000 };
      // Google, Microsoft and LinkedIn add an ID token for the openid scope; the OAuth adapter ignores it.
      default: return { access_token: accessToken, token_type: 'Bearer', expires_in: 3599, scope: 'openid profile email', id_token: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln', ...(provider === 'microsoft' ? { refresh_token: refreshToken } : {}) };
    }
  }

  function userEndpoints(req: http.IncomingMessage, url: URL, send: (s: number, b: unknown, h?: Record<string, string>) => void) {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const userId = bearer === null ? undefined : tokens.get(bearer[1]!);
    const user = userId === undefined ? undefined : users.get(userId);
    if (user === undefined) {
      if (provider === 'github') return send(401, { message: 'Bad credentials' });
      return send(401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    if (provider === 'github') return githubApi(req, url, user, send);
    if (url.pathname !== new URL(paths.userinfo, 'http://fake').pathname) return send(404, { error: 'not_found' });
    if (provider === 'twitch' && req.headers['client-id'] !== clientId) return send(401, { error: 'Unauthorized', message: 'Client ID and OAuth token do not match' });
    if (provider === 'facebook') {
      const proof = createHmac('sha256', clientSecret).update(bearer![1]!).digest('hex');
      if (url.searchParams.get('appsecret_proof') !== proof) return send(400, { error: { message: 'Invalid appsecret_proof', type: 'GraphMethodException', code: 100 } });
      if (url.searchParams.get('fields') !== 'id,name,email') return send(400, { error: { message: 'fields', type: 'OAuthException', code: 100 } });
    }
    send(200, userJson(user));
  }

  function userJson(u: FakeOAuthUser): unknown {
    const verified = u.emailVerified ?? true;
    switch (provider) {
      case 'google':
      case 'linkedin':
        return { sub: u.id, name: u.name, given_name: u.name?.split(' ')[0], email: u.email, email_verified: verified, picture: 'https://example.test/p.png' };
      case 'gitlab':
        return options.gitlabRestApi === true
          ? { id: Number(u.id), username: u.login, name: u.name, email: u.email, state: 'active' }
          : { sub: u.id, name: u.name, nickname: u.login, email: u.email, email_verified: verified, groups: [] };
      case 'microsoft':
        return { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users/$entity', id: u.id, displayName: u.name, mail: u.email ?? null, userPrincipalName: u.userPrincipalName ?? u.email };
      case 'facebook':
        return { id: u.id, name: u.name, ...(u.email === undefined ? {} : { email: u.email }) };
      case 'twitch':
        return { data: [{ id: u.id, login: u.login, display_name: u.name, type: '', broadcaster_type: '', email: u.email, created_at: '2020-01-01T00:00:00Z' }] };
      case 'amazon':
        return { user_id: u.id, name: u.name, email: u.email };
      default:
        throw new Error(`no user JSON for ${provider}`);
    }
  }

  function githubApi(req: http.IncomingMessage, url: URL, u: FakeOAuthUser, send: (s: number, b: unknown, h?: Record<string, string>) => void) {
    if (!req.headers['user-agent']) return send(403, 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header');
    const page = (items: unknown[]) => {
      const n = Math.max(1, Number(url.searchParams.get('page') ?? '1'));
      const size = Math.min(pageSize, Number(url.searchParams.get('per_page') ?? '30'));
      const headers: Record<string, string> = {};
      if (n * size < items.length) {
        const next = new URL(url.pathname + url.search, origin);
        next.searchParams.set('page', String(n + 1));
        headers.link = `<${next.href}>; rel="next", <${origin}${url.pathname}?page=999>; rel="last"`;
      }
      send(200, items.slice((n - 1) * size, n * size), headers);
    };
    switch (url.pathname) {
      case '/user':
        return send(200, { login: u.login, id: Number(u.id), node_id: 'MDQ6VXNlcjE=', type: 'User', name: u.name ?? null, email: u.email ?? null });
      case '/user/emails':
        return page((u.emails ?? []).map((e) => ({ ...e, visibility: e.primary ? 'private' : null })));
      case '/user/teams':
        return page((u.teams ?? []).map((team) => ({ id: team.id, slug: team.slug, name: team.slug, organization: { login: team.org, id: 1000 + team.id } })));
      case '/user/orgs':
        return page((u.orgs ?? []).map((login, i) => ({ login, id: 500 + i })));
      default:
        return send(404, { message: 'Not Found' });
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    provider,
    origin,
    clientId,
    clientSecret,
    redirectUri,
    authorizeUrl: origin + paths.authorize,
    tokenUrl: origin + paths.token,
    userinfoUrl: origin + paths.userinfo,
    apiUrl: provider === 'github' ? origin : null,
    users,
    requests,
    issued,
    loginAs(id) {
      if (!users.has(id)) throw new Error(`no fake user ${id}`);
      current = id;
    },
    denyNext() {
      deny = true;
    },
    revokeAll() {
      tokens.clear();
    },
    async authorize(authorizeUrl) {
      const res = await fetch(authorizeUrl, { redirect: 'manual' });
      const location = res.headers.get('location');
      if (res.status !== 302 || location === null) throw new Error(`the fake ${provider} refused the authorization request: ${res.status} ${await res.text()}`);
      return new URL(location);
    },
  };
}
