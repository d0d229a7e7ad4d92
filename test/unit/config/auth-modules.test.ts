// The oauth, oidc and saml route modules' config: a valid base (modules present but disabled, so that the
// "at most one enabled per route" rule stays out of the way) plus one mutation each must report
// exactly the expected path, message and ngrok code; defaults are filled in; secrets are redacted; an
// enabled oauth, oidc or saml module is accepted (all three are wired), by the loader and by `edgeplane check`.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError } from '../../../core/config/errors.js';
import { loadConfigObject, type LoadedConfig } from '../../../core/config/load.js';
import { REDACTED, redactConfig } from '../../../core/config/redact.js';
import { OAUTH_PROVIDERS, OAUTH_PROVIDER_DEFAULTS } from '../../../core/config/schema-auth.js';
import type { HttpsEdgeConfig } from '../../../core/config/schema.js';
import { buildGeneration } from '../../../core/generation/build.js';
import { MAX_BREAKERS } from '../../../core/tables/breakers.js';
import { MAX_BACKENDS, MAX_EDGES, SlotMap } from '../../../core/tables/counters.js';
import { CLI } from '../../helpers/daemon.js';
import { makeLeaf, makePki } from '../../helpers/pki.js';

const pki = makePki();
makeLeaf(pki, 'sp-other', { dns: [], signer: 'ca', keyType: 'rsa', cn: 'another SP' });
t.teardown(() => pki.cleanup());

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- mutations poke anywhere

const IDP_METADATA = `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.test">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;

function base(): Json {
  const route = (match: string, modules: Json) => ({ match_type: 'path_prefix', match, backend: { backend_id: 'bkd_ok' }, ...modules });
  return {
    backends: [{ id: 'bkd_ok', type: 'http_response', status_code: 200, body: 'ok' }],
    edges: [{
      id: 'edghts_app',
      type: 'https',
      hostports: [],
      routes: [
        route('/gh', { oauth: { enabled: false, provider: { github: { client_id: 'gh-id', client_secret: 's3cret-github' } } } }),
        route('/oidc', { oidc: { enabled: false, issuer: 'https://accounts.example.test', client_id: 'oidc-id', client_secret: 's3cret-oidc' } }),
        route('/saml', {
          saml: {
            enabled: false,
            idp_metadata: IDP_METADATA,
            sp_certificate_pem: { file: 'rsa-leaf.crt' },
            sp_private_key_pem: { file: 'rsa-leaf.key' },
          },
        }),
      ],
    }],
  };
}

const R = 'edges[0].routes';
const oauth = (c: Json) => c.edges[0].routes[0].oauth;
const github = (c: Json) => oauth(c).provider.github;
const oidc = (c: Json) => c.edges[0].routes[1].oidc;
const saml = (c: Json) => c.edges[0].routes[2].saml;
const GH = `${R}[0].oauth.provider.github`;
const OIDC = `${R}[1].oidc`;
const SAML = `${R}[2].saml`;
const c2 = (c: Json) => c.edges[0].routes[2];

const load = (config: Json, env: NodeJS.ProcessEnv = {}): LoadedConfig => loadConfigObject(config, { baseDir: pki.dir, env, sourceName: 'test.yaml' });

function problemsOf(config: Json): { path: string; reason: string }[] {
  try {
    load(config);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

function routesOf(loaded: LoadedConfig) {
  return (loaded.config.edges[0] as HttpsEdgeConfig).routes;
}

t.test('the base config is valid, and defaults are filled in', async (tt) => {
  const routes = routesOf(load(base()));
  const o = routes[0]!.oauth!;
  tt.same(
    { ...o, provider: undefined },
    { enabled: false, options_passthrough: false, cookie_prefix: 'ngrok.', inactivity_timeout: 0, maximum_duration: 0, auth_check_interval: 0, provider: undefined },
  );
  tt.same(o.provider.github, {
    client_id: 'gh-id',
    client_secret: 's3cret-github',
    scopes: ['read:user', 'user:email'],
    email_addresses: [],
    email_domains: [],
    authorize_url: 'https://github.com/login/oauth/authorize',
    token_url: 'https://github.com/login/oauth/access_token',
    userinfo_url: 'https://api.github.com/user',
    teams: [],
    organizations: [],
    api_url: 'https://api.github.com',
  });
  const d = routes[1]!.oidc!;
  tt.same(d, {
    enabled: false, options_passthrough: false, cookie_prefix: 'ngrok.', inactivity_timeout: 0, maximum_duration: 0,
    issuer: 'https://accounts.example.test', client_id: 'oidc-id', client_secret: 's3cret-oidc', scopes: ['openid', 'profile', 'email'],
  });
  const s = routes[2]!.saml!;
  tt.equal(s.force_authn, false);
  tt.equal(s.allow_idp_initiated, false);
  tt.same(s.authorized_groups, []);
  tt.equal(s.nameid_format, 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent');
  tt.equal(s.sp_certificate_pem, pki.read('rsa-leaf.crt'), 'the PEM text is read from { file }');
  tt.equal(s.sp_private_key_pem, pki.read('rsa-leaf.key'));
});

t.test('every provider is accepted, with its own default endpoints and scopes', async (tt) => {
  for (const name of OAUTH_PROVIDERS) {
    const config = base();
    oauth(config).provider = { [name]: { client_id: 'id', client_secret: 'secret' } };
    const p = (routesOf(load(config))[0]!.oauth!.provider as Record<string, Json>)[name];
    const d = OAUTH_PROVIDER_DEFAULTS[name];
    tt.same([p.authorize_url, p.token_url, p.userinfo_url, p.scopes], [d.authorizeUrl, d.tokenUrl, d.userinfoUrl, [...d.scopes]], name);
    tt.match(d.authorizeUrl, /^https:\/\//);
  }
});

t.test('good values are kept as written', async (tt) => {
  const config = base();
  Object.assign(oauth(config), { options_passthrough: true, cookie_prefix: 'app.auth.', inactivity_timeout: 3600, maximum_duration: 31_536_000, auth_check_interval: 180 });
  Object.assign(github(config), {
    scopes: ['read:user', 'read:org'],
    email_addresses: ['alice@example.com', 'bob@sub.example.com'],
    email_domains: ['example.com', 'xn--bcher-kva.de'],
    teams: ['my-org/platform', '123456'],
    organizations: ['my-org', 'Other-Org'],
    authorize_url: 'http://127.0.0.1:9999/login/oauth/authorize',
    token_url: 'http://localhost:9999/token',
    userinfo_url: 'http://[::1]:9999/user',
    api_url: 'https://ghe.example.test/api/v3',
  });
  Object.assign(oidc(config), { issuer: 'http://127.0.0.1:8000/realms/test', scopes: ['openid', 'groups'] });
  Object.assign(saml(config), {
    idp_metadata: undefined,
    idp_metadata_url: 'https://idp.example.test/metadata',
    force_authn: true,
    allow_idp_initiated: true,
    authorized_groups: ['admins', 'Ops Team'],
    nameid_format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    sp_certificate_pem: pki.read('rsa-leaf.crt'),
  });
  delete saml(config).idp_metadata;
  const routes = routesOf(load(config));
  const o = routes[0]!.oauth!;
  tt.same([o.options_passthrough, o.cookie_prefix, o.inactivity_timeout, o.maximum_duration, o.auth_check_interval], [true, 'app.auth.', 3600, 31_536_000, 180]);
  tt.same(o.provider.github!.scopes, ['read:user', 'read:org'], 'a scopes list replaces the default');
  tt.same(o.provider.github!.organizations, ['my-org', 'Other-Org']);
  tt.equal(o.provider.github!.userinfo_url, 'http://[::1]:9999/user');
  tt.same(routes[1]!.oidc!.scopes, ['openid', 'groups']);
  tt.equal(routes[2]!.saml!.idp_metadata_url, 'https://idp.example.test/metadata');
  tt.equal(routes[2]!.saml!.nameid_format, 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
});

t.test('github teams or organizations add read:org to the default scopes', async (tt) => {
  const config = base();
  github(config).organizations = ['my-org'];
  tt.same(routesOf(load(config))[0]!.oauth!.provider.github!.scopes, ['read:user', 'user:email', 'read:org']);
});

// [title, mutation, expected paths, reason pattern (of the first)]
const cases: [string, (c: Json) => void, string[], RegExp][] = [
  // provider: exactly one
  ['no provider field', (c) => delete oauth(c).provider, [`${R}[0].oauth.provider`], /provider is required.*ERR_NGROK_7037/],
  ['an empty provider', (c) => (oauth(c).provider = {}), [`${R}[0].oauth.provider`], /exactly one of github, facebook.*\(ERR_NGROK_7037\)/],
  ['two providers', (c) => (oauth(c).provider.google = { client_id: 'g', client_secret: 'g' }), [`${R}[0].oauth.provider`], /exactly one provider, not github and google \(ERR_NGROK_7036\)/],
  ['two providers, one of them wrong too', (c) => (oauth(c).provider.google = { client_id: 'g' }), [`${R}[0].oauth.provider`, `${R}[0].oauth.provider.google.client_secret`], /ERR_NGROK_7036/],
  ['an unknown provider', (c) => (oauth(c).provider = { okta: {} }), [`${R}[0].oauth.provider`, `${R}[0].oauth.provider.okta`], /ERR_NGROK_7037/],
  // client_id / client_secret: both or neither, and neither is refused here
  ['client_id without client_secret', (c) => delete github(c).client_secret, [`${GH}.client_secret`], /required with client_id.*ERR_NGROK_383\/384\/389/],
  ['client_secret without client_id', (c) => delete github(c).client_id, [`${GH}.client_id`], /required with client_secret.*ERR_NGROK_383\/384\/389/],
  ['neither: no managed app here', (c) => (oauth(c).provider.github = {}), [GH], /own OAuth app.*self-hosted data plane has none/],
  ['an empty client_id', (c) => (github(c).client_id = ''), [`${GH}.client_id`], /must not be empty/],
  // scopes
  ['a scope with a space', (c) => (github(c).scopes = ['read:user user:email']), [`${GH}.scopes[0]`], /without spaces/],
  ['an empty scope', (c) => (github(c).scopes = ['']), [`${GH}.scopes[0]`], /non-empty/],
  ['too many scopes', (c) => (github(c).scopes = Array.from({ length: 51 }, (_, i) => `s${i}`)), [`${GH}.scopes`], /at most 50 scopes \(ERR_NGROK_7056\)/],
  ['a scope over 255 bytes', (c) => (github(c).scopes = ['s'.repeat(256)]), [`${GH}.scopes[0]`], /255 bytes \(ERR_NGROK_7141\)/],
  ['a scope twice', (c) => (github(c).scopes = ['read:user', 'read:user']), [`${GH}.scopes[1]`], /listed twice/],
  ['teams without read:org in the scopes', (c) => Object.assign(github(c), { teams: ['o/t'], scopes: ['read:user'] }), [`${GH}.scopes`], /'read:org' scope.*ERR_NGROK_7038/],
  // email_addresses / email_domains
  ['an upper-case email address', (c) => (github(c).email_addresses = ['Alice@example.com']), [`${GH}.email_addresses[0]`], /lower-case: write 'alice@example.com' \(ERR_NGROK_7067\)/],
  ['not an email address', (c) => (github(c).email_addresses = ['alice']), [`${GH}.email_addresses[0]`], /not an email address/],
  ['two @ in an address', (c) => (github(c).email_addresses = ['a@b@example.com']), [`${GH}.email_addresses[0]`], /not an email address/],
  ['an address on a bad domain', (c) => (github(c).email_addresses = ['a@exa_mple.com']), [`${GH}.email_addresses[0]`], /ERR_NGROK_355/],
  ['an address twice', (c) => (github(c).email_addresses = ['a@example.com', 'a@example.com']), [`${GH}.email_addresses[1]`], /listed twice/],
  ['too many addresses', (c) => (github(c).email_addresses = Array.from({ length: 1001 }, (_, i) => `u${i}@example.com`)), [`${GH}.email_addresses`], /at most 1000 entries \(ERR_NGROK_7060\)/],
  ['an upper-case domain', (c) => (github(c).email_domains = ['Example.com']), [`${GH}.email_domains[0]`], /lower-case.*ERR_NGROK_7068/],
  ['a wildcard domain', (c) => (github(c).email_domains = ['*.example.com']), [`${GH}.email_domains[0]`], /wildcards are not allowed/],
  ['a unicode domain', (c) => (github(c).email_domains = ['bücher.de']), [`${GH}.email_domains[0]`], /punycode/],
  ['an empty domain', (c) => (github(c).email_domains = ['']), [`${GH}.email_domains[0]`], /must not be empty/],
  ['a domain twice', (c) => (github(c).email_domains = ['example.com', 'example.com']), [`${GH}.email_domains[1]`], /listed twice/],
  ['too many domains', (c) => (github(c).email_domains = Array.from({ length: 1001 }, (_, i) => `d${i}.example.com`)), [`${GH}.email_domains`], /ERR_NGROK_7061/],
  // github teams / organizations / api_url
  ['a team without its org', (c) => (github(c).teams = ['platform']), [`${GH}.teams[0]`], /'org-slug\/team-slug' or a numeric team id \(ERR_NGROK_7040\)/],
  ['a team with a bad org', (c) => (github(c).teams = ['-org/team']), [`${GH}.teams[0]`], /ERR_NGROK_7040/],
  ['an organization with a space', (c) => (github(c).organizations = ['my org']), [`${GH}.organizations[0]`], /not a GitHub organization slug/],
  ['an organization twice, other case', (c) => (github(c).organizations = ['my-org', 'My-Org']), [`${GH}.organizations[1]`], /listed twice/],
  ['teams on google', (c) => (oauth(c).provider = { google: { client_id: 'g', client_secret: 'g', teams: ['o/t'] } }), [`${R}[0].oauth.provider.google.teams`], /unknown field/],
  ['api_url on gitlab', (c) => (oauth(c).provider = { gitlab: { client_id: 'g', client_secret: 'g', api_url: 'https://x.test' } }), [`${R}[0].oauth.provider.gitlab.api_url`], /unknown field/],
  // endpoint overrides
  ['an http authorize_url off loopback', (c) => (github(c).authorize_url = 'http://idp.example.test/authorize'), [`${GH}.authorize_url`], /must be an https URL \(http is allowed only for 127\.0\.0\.1, localhost and \[::1\]/],
  ['a relative token_url', (c) => (github(c).token_url = '/token'), [`${GH}.token_url`], /not an absolute URL/],
  ['a userinfo_url with credentials', (c) => (github(c).userinfo_url = 'https://u:p@api.example.test/user'), [`${GH}.userinfo_url`], /credentials/],
  ['an api_url with a fragment', (c) => (github(c).api_url = 'https://api.example.test/#x'), [`${GH}.api_url`], /#fragment/],
  ['an ftp token_url', (c) => (github(c).token_url = 'ftp://127.0.0.1/token'), [`${GH}.token_url`], /https URL/],
  // session fields (oauth codes)
  ['a cookie prefix with _', (c) => (oauth(c).cookie_prefix = 'my_app'), [`${R}[0].oauth.cookie_prefix`], /letters, digits and '\.' \(ERR_NGROK_7042\)/],
  ['a cookie prefix over 32', (c) => (oauth(c).cookie_prefix = 'a'.repeat(33)), [`${R}[0].oauth.cookie_prefix`], /1\.\.32 characters \(ERR_NGROK_7136\)/],
  ['an empty cookie prefix', (c) => (oauth(c).cookie_prefix = ''), [`${R}[0].oauth.cookie_prefix`], /ERR_NGROK_7136/],
  ['inactivity_timeout over a year', (c) => (oauth(c).inactivity_timeout = 31_536_001), [`${R}[0].oauth.inactivity_timeout`], /at most 31536000 seconds \(ERR_NGROK_7092\)/],
  ['inactivity_timeout negative', (c) => (oauth(c).inactivity_timeout = -1), [`${R}[0].oauth.inactivity_timeout`], /ERR_NGROK_7092/],
  ['inactivity_timeout fractional', (c) => (oauth(c).inactivity_timeout = 1.5), [`${R}[0].oauth.inactivity_timeout`], /whole number of seconds/],
  ['maximum_duration over the cap', (c) => (oauth(c).maximum_duration = 31_536_001), [`${R}[0].oauth.maximum_duration`], /ERR_NGROK_7161/],
  ['auth_check_interval under 3 minutes', (c) => (oauth(c).auth_check_interval = 60), [`${R}[0].oauth.auth_check_interval`], /0 \(check only at login\) or 180\.\.31536000 seconds \(ERR_NGROK_7035\)/],
  ['auth_check_interval over the cap', (c) => (oauth(c).auth_check_interval = 31_536_001), [`${R}[0].oauth.auth_check_interval`], /ERR_NGROK_7158/],
  ['options_passthrough as a string', (c) => (oauth(c).options_passthrough = 'yes'), [`${R}[0].oauth.options_passthrough`], /expected boolean/],
  ['an unknown oauth field', (c) => (oauth(c).client_id = 'x'), [`${R}[0].oauth.client_id`], /unknown field/],
  // oidc
  ['oidc without issuer', (c) => delete oidc(c).issuer, [`${OIDC}.issuer`], /issuer is required.*ERR_NGROK_7088/],
  ['oidc without client_id', (c) => delete oidc(c).client_id, [`${OIDC}.client_id`], /client_id is required \(ERR_NGROK_7089\)/],
  ['oidc without client_secret', (c) => delete oidc(c).client_secret, [`${OIDC}.client_secret`], /client_secret is required \(ERR_NGROK_7090\)/],
  ['an issuer over 255 bytes', (c) => (oidc(c).issuer = `https://idp.example.test/${'a'.repeat(240)}`), [`${OIDC}.issuer`], /255 bytes \(ERR_NGROK_1687\)/],
  ['an http issuer off loopback', (c) => (oidc(c).issuer = 'http://accounts.example.test'), [`${OIDC}.issuer`], /https URL/],
  ['an issuer with a query', (c) => (oidc(c).issuer = 'https://accounts.example.test/?tenant=1'), [`${OIDC}.issuer`], /\?query/],
  ['oidc scopes without openid', (c) => (oidc(c).scopes = ['email']), [`${OIDC}.scopes`], /must include 'openid'/],
  ['too many oidc scopes', (c) => (oidc(c).scopes = ['openid', ...Array.from({ length: 50 }, (_, i) => `s${i}`)]), [`${OIDC}.scopes`], /ERR_NGROK_7150/],
  ['an oidc scope over 255 bytes', (c) => (oidc(c).scopes = ['openid', 's'.repeat(256)]), [`${OIDC}.scopes[1]`], /ERR_NGROK_7151/],
  ['an oidc cookie prefix over 32', (c) => (oidc(c).cookie_prefix = 'a'.repeat(33)), [`${OIDC}.cookie_prefix`], /ERR_NGROK_7153/],
  ['oidc maximum_duration over the cap', (c) => (oidc(c).maximum_duration = 31_536_001), [`${OIDC}.maximum_duration`], /ERR_NGROK_7162/],
  ['auth_check_interval is oauth only', (c) => (oidc(c).auth_check_interval = 300), [`${OIDC}.auth_check_interval`], /unknown field/],
  // saml
  ['saml with metadata and its url', (c) => (saml(c).idp_metadata_url = 'https://idp.example.test/metadata'), [`${SAML}.idp_metadata_url`], /not both \(ERR_NGROK_7081\)/],
  ['saml without metadata', (c) => delete saml(c).idp_metadata, [SAML], /idp_metadata \(the XML\) or idp_metadata_url \(ERR_NGROK_7091\)/],
  ['metadata that is a url', (c) => (saml(c).idp_metadata = 'https://idp.example.test/metadata'), [`${SAML}.idp_metadata`], /a URL goes in idp_metadata_url \(ERR_NGROK_7083\)/],
  ['metadata with a DOCTYPE', (c) => (saml(c).idp_metadata = `<!DOCTYPE x [<!ENTITY a "b">]>${IDP_METADATA.replace(/^<\?xml[^>]*>/, '')}`), [`${SAML}.idp_metadata`], /DOCTYPE \(ERR_NGROK_7083\)/],
  ['metadata without an EntityDescriptor', (c) => (saml(c).idp_metadata = '<html></html>'), [`${SAML}.idp_metadata`], /no EntityDescriptor element \(ERR_NGROK_7083\)/],
  ['metadata of a service provider', (c) => (saml(c).idp_metadata = IDP_METADATA.replaceAll('IDPSSODescriptor', 'SPSSODescriptor')), [`${SAML}.idp_metadata`], /no IDPSSODescriptor/],
  ['metadata over 256 KiB', (c) => (saml(c).idp_metadata = IDP_METADATA + ' '.repeat(256 * 1024)), [`${SAML}.idp_metadata`], /262144 bytes \(ERR_NGROK_7080\)/],
  ['a metadata url over http', (c) => { delete saml(c).idp_metadata; saml(c).idp_metadata_url = 'http://idp.example.test/md'; }, [`${SAML}.idp_metadata_url`], /https URL/],
  ['an unknown nameid_format', (c) => (saml(c).nameid_format = 'urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos'), [`${SAML}.nameid_format`], /nameid_format must be one of .*\(ERR_NGROK_1693\)/],
  ['an empty group', (c) => (saml(c).authorized_groups = ['']), [`${SAML}.authorized_groups[0]`], /must not be empty/],
  ['a group twice', (c) => (saml(c).authorized_groups = ['admins', 'admins']), [`${SAML}.authorized_groups[1]`], /listed twice/],
  ['no SP certificate', (c) => delete saml(c).sp_certificate_pem, [`${SAML}.sp_certificate_pem`], /sp_certificate_pem is required/],
  ['no SP key', (c) => delete saml(c).sp_private_key_pem, [`${SAML}.sp_private_key_pem`], /sp_private_key_pem is required/],
  ['an SP key file that is not there', (c) => (saml(c).sp_private_key_pem = { file: 'nope.key' }), [`${SAML}.sp_private_key_pem`], /cannot read file 'nope\.key'.*ENOENT/],
  ['an SP certificate that is not one', (c) => (saml(c).sp_certificate_pem = 'hello'), [`${SAML}.sp_certificate_pem`], /not a PEM certificate/],
  ['an EC SP key', (c) => Object.assign(saml(c), { sp_certificate_pem: { file: 'leaf.crt' }, sp_private_key_pem: { file: 'leaf.key' } }), [`${SAML}.sp_private_key_pem`], /must be an RSA key.*not ec/],
  ['an SP key of another certificate', (c) => (saml(c).sp_private_key_pem = { file: 'sp-other.key' }), [`${SAML}.sp_private_key_pem`], /does not belong to sp_certificate_pem/],
  ['an encrypted SP key', (c) => Object.assign(saml(c), { sp_private_key_pem: { file: 'leaf.enc.key' } }), [`${SAML}.sp_private_key_pem`], /not an unencrypted PEM private key/],
  ['signing fields are saml only', (c) => (oidc(c).sp_certificate_pem = 'x'), [`${OIDC}.sp_certificate_pem`], /unknown field/],
  // one auth module per route
  ['oauth and oidc enabled together', (c) => {
    Object.assign(c.edges[0].routes[1], { oauth: { provider: { google: { client_id: 'g', client_secret: 'g' } } } });
    oidc(c).enabled = true;
  }, [`${R}[1]`], /route edges\[0\]\.routes\[1\] \(match '\/oidc'\) enables oauth and oidc: at most one of oauth, oidc and saml may be enabled on a route/],
];

for (const [title, mutate, paths, reason] of cases) {
  t.test(title, async (tt) => {
    const config = base();
    mutate(config);
    const problems = problemsOf(config);
    tt.same(problems.map((p) => p.path).sort(), [...paths].sort(), 'exactly the expected paths');
    tt.match(problems.find((p) => p.path === paths[0])?.reason ?? '', reason);
  });
}

t.test('several auth modules on one route are fine while at most one is enabled', async (tt) => {
  const config = base();
  Object.assign(config.edges[0].routes[0], { oidc: { ...oidc(config) }, saml: { ...saml(config) } });
  tt.same(problemsOf(config), []);
});

t.test('client secrets and the SP key are secrets: /config shows them redacted', async (tt) => {
  const env = { EP_SP_KEY: pki.read('rsa-leaf.key') };
  const config = base();
  saml(config).sp_private_key_pem = { env: 'EP_SP_KEY' };
  const loaded = load(config, env);
  for (const path of [`${GH}.client_secret`, `${OIDC}.client_secret`, `${SAML}.sp_private_key_pem`]) {
    tt.ok(loaded.secretPaths.has(path), `${path} is registered as a secret`);
  }
  const shown = JSON.stringify(redactConfig(loaded));
  for (const secret of ['s3cret-github', 's3cret-oidc', 'PRIVATE KEY']) tt.notMatch(shown, secret, `${secret} is not shown`);
  const routes = (redactConfig(loaded) as Json).edges[0].routes;
  tt.equal(routes[0].oauth.provider.github.client_secret, REDACTED);
  tt.equal(routes[1].oidc.client_secret, REDACTED);
  tt.equal(routes[2].saml.sp_private_key_pem, REDACTED);
  tt.equal(routes[0].oauth.provider.github.client_id, 'gh-id', 'client ids stay visible');
  tt.match(routes[2].saml.sp_certificate_pem, /BEGIN CERTIFICATE/, 'the SP certificate is public');
  tt.equal(routesOf(loaded)[0]!.oauth!.provider.github!.client_secret, 's3cret-github', 'redaction copies, never mutates');
});

t.test('an enabled oauth, oidc or saml module is accepted: this build has the code of all three', async (tt) => {
  for (const [key, module] of [['oauth', oauth], ['oidc', oidc], ['saml', saml]] as const) {
    for (const enabled of [true, undefined]) {
      const config = base();
      if (enabled === undefined) delete module(config).enabled; // enabled defaults to true
      else module(config).enabled = enabled;
      tt.same(problemsOf(config), [], `${key}, enabled: ${String(enabled)}`);
    }
  }
});

t.test('edgeplane check accepts each auth module, and refuses two enabled on one route without a secret or a stack trace', async (tt) => {
  const config = base();
  const file = join(pki.dir, 'auth.json');
  for (const module of [oauth, oidc, saml]) {
    for (const m of [oauth, oidc, saml]) m(config).enabled = m === module;
    writeFileSync(file, JSON.stringify(config));
    const accepted = spawnSync(process.execPath, [CLI, 'check', '--config', file], { encoding: 'utf8', timeout: 20_000 });
    tt.equal(accepted.status, 0, accepted.stderr);
  }

  Object.assign(c2(config), { oidc: { ...oidc(config), enabled: true } });
  writeFileSync(file, JSON.stringify(config));
  const refused = spawnSync(process.execPath, [CLI, 'check', '--config', file], { encoding: 'utf8', timeout: 20_000 });
  tt.equal(refused.status, 1, refused.stderr);
  tt.match(refused.stderr, `${R}[2]: route edges[0].routes[2] (match '/saml') enables oidc and saml`);
  tt.notMatch(refused.stderr, /s3cret|PRIVATE KEY|at .*\.js:\d+/, 'no secret and no stack trace');
});

t.test('auth_cookie_key: 64 hex characters, a secret', async (tt) => {
  const key = 'ab'.repeat(32);
  const loaded = load({ ...base(), auth_cookie_key: key });
  tt.equal(loaded.config.auth_cookie_key, key);
  tt.ok(loaded.secretPaths.has('auth_cookie_key'));
  tt.equal((redactConfig(loaded) as Json).auth_cookie_key, REDACTED);
  tt.notMatch(JSON.stringify(redactConfig(loaded)), key);
  const problems = problemsOf({ ...base(), auth_cookie_key: 'not-a-key-0123' });
  tt.same(problems.map((p) => p.path), ['auth_cookie_key']);
  tt.match(problems[0]!.reason, /64 hex characters/);
  tt.notMatch(problems[0]!.reason, /not-a-key-0123/, 'the bad value is not echoed');
});

t.test('the generation carries enabled auth modules as plain data, PEM text included', async (tt) => {
  const slots = () => ({ edges: new SlotMap(MAX_EDGES, 'edge'), backends: new SlotMap(MAX_BACKENDS, 'backend'), breakers: new SlotMap(MAX_BREAKERS, 'breaker') });
  const config = base();
  Object.assign(oauth(config), { inactivity_timeout: 600, maximum_duration: 7200, auth_check_interval: 300, options_passthrough: true });
  Object.assign(github(config), { teams: ['o/t'], email_domains: ['example.com'] });
  const loaded = load(config);
  const off = buildGeneration(loaded, 1, slots()).spec.edges[0]!.routes.map((r) => r.modules);
  tt.same(off, [{}, {}, {}], 'disabled modules are not in the generation');

  // As once the lead has wired the modules and dropped the refusal: the schema-checked config, enabled.
  for (const route of routesOf(loaded)) for (const m of [route.oauth, route.oidc, route.saml]) if (m !== undefined) m.enabled = true;
  const [gh, od, sm] = buildGeneration(loaded, 2, slots()).spec.edges[0]!.routes.map((r) => r.modules);
  tt.same(gh!.oauth, {
    optionsPassthrough: true, cookiePrefix: 'ngrok.', inactivityTimeoutMs: 600_000, maximumDurationMs: 7_200_000,
    provider: 'github', clientId: 'gh-id', clientSecret: 's3cret-github', scopes: ['read:user', 'user:email', 'read:org'],
    emailAddresses: [], emailDomains: ['example.com'], teams: ['o/t'], organizations: [],
    authorizeUrl: 'https://github.com/login/oauth/authorize', tokenUrl: 'https://github.com/login/oauth/access_token',
    userinfoUrl: 'https://api.github.com/user', apiUrl: 'https://api.github.com', authCheckIntervalMs: 300_000,
  });
  tt.same(od!.oidc, {
    optionsPassthrough: false, cookiePrefix: 'ngrok.', inactivityTimeoutMs: 0, maximumDurationMs: 0,
    issuer: 'https://accounts.example.test', clientId: 'oidc-id', clientSecret: 's3cret-oidc', scopes: ['openid', 'profile', 'email'],
  });
  tt.same(sm!.saml, {
    optionsPassthrough: false, cookiePrefix: 'ngrok.', inactivityTimeoutMs: 0, maximumDurationMs: 0,
    idpMetadata: IDP_METADATA, idpMetadataUrl: null, forceAuthn: false, allowIdpInitiated: false, authorizedGroups: [],
    nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    spCertificatePem: pki.read('rsa-leaf.crt'), spPrivateKeyPem: pki.read('rsa-leaf.key'),
  });
  tt.same(structuredClone(sm!.saml), sm!.saml, 'structured-cloneable for the workers');
});
