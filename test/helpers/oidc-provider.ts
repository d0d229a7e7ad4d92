// A real OpenID provider (panva's oidc-provider) on 127.0.0.1 for tests: one confidential client,
// a few accounts, RS256 ID tokens signed with a key the test can also use, and a programmatic
// login (no HTML forms): /interaction/<uid> logs in the account chosen with loginAs() and the
// consent is granted up front. login() walks the browser's redirects with a cookie jar and
// returns the callback URL the provider sent the browser to (it is not fetched).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

interface Teardown { teardown(fn: () => unknown): void }

export interface OidcTestAccount {
  sub: string;
  name?: string;
  email?: string;
  email_verified?: boolean;
  groups?: string[];
}

export interface OidcProviderOptions {
  clientId?: string;
  clientSecret?: string;
  /** Callback URLs the client may use. Default: http://127.0.0.1:<provider port>/auth/callback. */
  redirectUris?: string[];
  accounts?: OidcTestAccount[];
  /** How the client authenticates at the token endpoint; the provider advertises only this one. */
  tokenAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** ID token lifetime. Default 1 hour. */
  idTokenTtlSec?: number;
  /** Put scope claims (email, profile, groups) in the ID token too, not only in userinfo. Default true. */
  claimsInIdToken?: boolean;
}

export interface OidcProviderFixture {
  issuer: string;
  port: number;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  accounts: OidcTestAccount[];
  /** The provider's ID token signing key and its kid, to sign tokens the provider "could have" issued. */
  signingKey: KeyObject;
  kid: string;
  /** Which account the next login signs in as (default: the first). */
  loginAs(sub: string): void;
  /** Follows the authorization URL through the provider's redirects; resolves with the callback URL. */
  login(authorizationUrl: string): Promise<URL>;
}

const DEFAULT_ACCOUNTS: OidcTestAccount[] = [
  { sub: 'alice-0001', name: 'Alice Example', email: 'alice@example.test', email_verified: true, groups: ['admins', 'staff'] },
  { sub: 'bob-0002', name: 'Bob Example', email: 'bob@example.test', email_verified: false, groups: [] },
];

const KID = 'fixture-rs256';
const MAX_HOPS = 12;

export async function startOidcProvider(t: Teardown, options: OidcProviderOptions = {}): Promise<OidcProviderFixture> {
  const accounts = options.accounts ?? DEFAULT_ACCOUNTS;
  const clientId = options.clientId ?? 'edgeplane-test';
  const clientSecret = options.clientSecret ?? 'test-secret-0123456789abcdef';
  const tokenAuthMethod = options.tokenAuthMethod ?? 'client_secret_basic';
  let currentSub = accounts[0]!.sub;

  // Listen first: the issuer URL needs the port.
  let handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const issuer = `http://127.0.0.1:${port}`;
  const redirectUris = options.redirectUris ?? [`${issuer}/auth/callback`];

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk: JsonWebKey = { ...privateKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' };

  const configuration: Configuration = {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: tokenAuthMethod,
    }],
    clientAuthMethods: [tokenAuthMethod],
    jwks: { keys: [jwk as never] },
    cookies: { keys: ['oidc-fixture-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    conformIdTokenClaims: options.claimsInIdToken === false,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    ttl: { IdToken: options.idTokenTtlSec ?? 3600, AccessToken: 600, Grant: 600, Interaction: 600, Session: 600 },
    findAccount: (_ctx, sub) => {
      const account = accounts.find((candidate) => candidate.sub === sub);
      if (!account) return undefined;
      return { accountId: sub, claims: () => ({ ...account }) };
    },
    // First-party client: consent is granted for whatever was asked, so the login is one interaction.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const accountId = ctx.oidc.session?.accountId;
      const client = ctx.oidc.client;
      if (!accountId || !client) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId });
      grant.addOIDCScope(String(ctx.oidc.params?.scope ?? 'openid'));
      await grant.save();
      return grant;
    },
  };

  const provider = new Provider(issuer, configuration);
  const providerCallback = provider.callback();
  handler = (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      provider.interactionFinished(req, res, { login: { accountId: currentSub } }, { mergeWithLastSubmission: false })
        .catch((err: unknown) => res.writeHead(500).end(String(err)));
      return;
    }
    void providerCallback(req, res);
  };

  return {
    issuer,
    port,
    clientId,
    clientSecret,
    redirectUri: redirectUris[0]!,
    accounts,
    signingKey: privateKey,
    kid: KID,
    loginAs(sub) {
      if (!accounts.some((account) => account.sub === sub)) throw new Error(`no test account ${sub}`);
      currentSub = sub;
    },
    login: (authorizationUrl) => followLogin(authorizationUrl, redirectUris),
  };
}

/** A browser in miniature: manual redirects, a name → value cookie jar (paths ignored). */
async function followLogin(start: string, redirectUris: string[]): Promise<URL> {
  const jar = new Map<string, string>();
  let url = new URL(start);
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const line of res.headers.getSetCookie()) keepCookie(jar, line);
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) {
      const body = (await res.text()).slice(0, 300);
      throw new Error(`login stopped at ${url.pathname} with HTTP ${res.status}: ${body}`);
    }
    await res.arrayBuffer().catch(() => undefined);
    url = new URL(location, url);
    const target = `${url.origin}${url.pathname}`;
    if (redirectUris.includes(target)) return url;
  }
  throw new Error(`login did not reach a redirect URI in ${MAX_HOPS} redirects`);
}

function keepCookie(jar: Map<string, string>, line: string): void {
  const [pair = '', ...attributes] = line.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  const expired = attributes.some((attribute) => {
    const [key = '', val = ''] = attribute.trim().split('=');
    if (key.toLowerCase() === 'max-age') return Number(val) <= 0;
    if (key.toLowerCase() === 'expires') return Date.parse(val) <= Date.now();
    return false;
  });
  if (expired || value === '') jar.delete(name);
  else jar.set(name, value);
}

/** Signs an RS256 JWT (compact JWS) with node:crypto, for forged or hand-made ID tokens. */
export function signJwt(payload: Record<string, unknown>, key: KeyObject, kid: string): string {
  const encode = (part: object): string => Buffer.from(JSON.stringify(part)).toString('base64url');
  const signingInput = `${encode({ alg: 'RS256', typ: 'JWT', kid })}.${encode(payload)}`;
  const signature = sign('sha256', Buffer.from(signingInput), key).toString('base64url');
  return `${signingInput}.${signature}`;
}
