// The identity route modules' schemas (spec §1.6 "OAuth module", "OpenID Connect module", "SAML module"):
// oauth, oidc and saml on https routes. Part of the config schema (schema.ts assembles it).
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { formatPath } from './errors.js';
import { enabled, seconds } from './schema-fields.js';
import { hostnameProblem } from './syntax.js';
import type { SourceContext } from './schema.js';

export const AUTH_MODULES = ['oauth', 'oidc', 'saml'] as const;
export type AuthModuleName = (typeof AUTH_MODULES)[number];

export const OAUTH_PROVIDERS = ['github', 'facebook', 'microsoft', 'google', 'linkedin', 'gitlab', 'twitch', 'amazon'] as const;
export type OAuthProviderName = (typeof OAUTH_PROVIDERS)[number];

export interface OAuthProviderDefaults {
  authorizeUrl: string;
  tokenUrl: string;
  /** Where the user's id, name and email are read with the access token. */
  userinfoUrl: string;
  /** Scopes asked for when the config lists none: enough to read the identity and email. */
  scopes: readonly string[];
}

/**
 * The providers' own public endpoints, used unless the config overrides them. Notes for the module code:
 * google, linkedin and gitlab userinfo are OpenID userinfo endpoints (JSON with sub, name, email);
 * microsoft is Graph /me (id, displayName, mail / userPrincipalName); twitch Helix /users needs a
 * Client-Id header besides the token; facebook and amazon return their own JSON (id, name, email / user_id).
 */
export const OAUTH_PROVIDER_DEFAULTS: Readonly<Record<OAuthProviderName, OAuthProviderDefaults>> = {
  github: {
    authorizeUrl: 'https://github.com/login/oauth/authorize',
    tokenUrl: 'https://github.com/login/oauth/access_token',
    userinfoUrl: 'https://api.github.com/user',
    scopes: ['read:user', 'user:email'],
  },
  facebook: {
    authorizeUrl: 'https://www.facebook.com/dialog/oauth',
    tokenUrl: 'https://graph.facebook.com/oauth/access_token',
    userinfoUrl: 'https://graph.facebook.com/me?fields=id,name,email',
    scopes: ['public_profile', 'email'],
  },
  microsoft: {
    authorizeUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    tokenUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
    userinfoUrl: 'https://graph.microsoft.com/v1.0/me',
    scopes: ['openid', 'profile', 'email', 'User.Read'],
  },
  google: {
    authorizeUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenUrl: 'https://oauth2.googleapis.com/token',
    userinfoUrl: 'https://openidconnect.googleapis.com/v1/userinfo',
    scopes: ['openid', 'profile', 'email'],
  },
  linkedin: {
    authorizeUrl: 'https://www.linkedin.com/oauth/v2/authorization',
    tokenUrl: 'https://www.linkedin.com/oauth/v2/accessToken',
    userinfoUrl: 'https://api.linkedin.com/v2/userinfo',
    scopes: ['openid', 'profile', 'email'],
  },
  gitlab: {
    authorizeUrl: 'https://gitlab.com/oauth/authorize',
    tokenUrl: 'https://gitlab.com/oauth/token',
    userinfoUrl: 'https://gitlab.com/oauth/userinfo',
    scopes: ['openid', 'profile', 'email'],
  },
  twitch: {
    authorizeUrl: 'https://id.twitch.tv/oauth2/authorize',
    tokenUrl: 'https://id.twitch.tv/oauth2/token',
    userinfoUrl: 'https://api.twitch.tv/helix/users',
    scopes: ['user:read:email'],
  },
  amazon: {
    authorizeUrl: 'https://www.amazon.com/ap/oa',
    tokenUrl: 'https://api.amazon.com/auth/o2/token',
    userinfoUrl: 'https://api.amazon.com/user/profile',
    scopes: ['profile'],
  },
};
/** GitHub's REST API, where teams (/user/teams) and organizations (/user/orgs) are read. */
export const GITHUB_API_URL = 'https://api.github.com';
/** GitHub can check teams and organizations only with this scope (spec §1.6, 7038). */
export const GITHUB_ORG_SCOPE = 'read:org';

// Limits. The spec names the error codes but not every value: where it says only "has a maximum" or
// "capped", the value below is edgeplane's choice.
export const MAX_COOKIE_PREFIX_LENGTH = 32;
export const MAX_SESSION_SECONDS = 365 * 24 * 3600; // inactivity_timeout ≤ 1 year (7092); maximum_duration uses the same cap
export const MIN_AUTH_CHECK_INTERVAL = 180; // older docs: refreshes never run more often than every 3 minutes
export const MAX_SCOPES = 50;
export const MAX_SCOPE_BYTES = 255;
export const MAX_EMAIL_ENTRIES = 1000;
export const MAX_GITHUB_ENTRIES = 1000;
export const MAX_AUTH_ID_BYTES = 1024; // client_id / client_secret
export const MAX_ISSUER_BYTES = 255; // spec: 1687
export const MAX_URL_BYTES = 2048;
export const MAX_IDP_METADATA_BYTES = 256 * 1024;
export const MAX_AUTHORIZED_GROUPS = 1000;

export const SAML_NAMEID_FORMATS = [
  'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
] as const;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const custom = z.ZodIssueCode.custom;

/** The ngrok codes that differ between the three modules for the shared session fields. */
interface SessionCodes { cookiePrefixLength?: string; maximumDuration?: string }

const withCode = (message: string, code: string | undefined) => (code === undefined ? message : `${message} (${code})`);

/**
 * A required field whose absence is reported with an ngrok code (as schema.ts does for routes);
 * docs.ts shows it as required because its description starts with "Required.".
 */
function requiredWithCode<T extends z.ZodTypeAny>(schema: T, message: string) {
  return schema
    .optional()
    .superRefine((value, ctx) => {
      if (value === undefined) ctx.addIssue({ code: custom, message });
    })
    .transform((value) => value as z.output<T>);
}

/** https, or http to a loopback host so that tests and local mock IdPs work; no credentials or fragment. */
export function endpointUrlProblem(field: string, text: string): string | null {
  if (Buffer.byteLength(text) > MAX_URL_BYTES) return `${field} is longer than ${MAX_URL_BYTES} bytes`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${field} '${text}' is not an absolute URL`;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    return `${field} '${text}' must be an https URL (http is allowed only for 127.0.0.1, localhost and [::1], for local test servers)`;
  }
  if (url.username !== '' || url.password !== '') return `${field} '${text}' must not carry credentials`;
  if (url.hash !== '') return `${field} '${text}' must not have a #fragment`;
  return null;
}

function endpointUrl(field: string) {
  return z.string().superRefine((text, ctx) => {
    const problem = endpointUrlProblem(field, text);
    if (problem !== null) ctx.addIssue({ code: custom, message: problem });
  });
}

function nonEmpty(field: string, maxBytes = MAX_AUTH_ID_BYTES) {
  return z
    .string()
    .min(1, `${field} must not be empty`)
    .refine((s) => Buffer.byteLength(s) <= maxBytes, `${field} is longer than ${maxBytes} bytes`);
}

/** A credential: recorded in sources.secretPaths so that /config shows it as [redacted]. */
function secretString(field: string, sources: SourceContext) {
  return nonEmpty(field).transform((value, ctx) => {
    sources.secretPaths.add(formatPath(ctx.path));
    return value;
  });
}

function sessionFields(codes: SessionCodes) {
  const prefixMessage = withCode(
    `cookie_prefix must be 1..${MAX_COOKIE_PREFIX_LENGTH} characters`, codes.cookiePrefixLength,
  );
  return {
    enabled,
    options_passthrough: z.boolean().default(false)
      .describe('OPTIONS requests (CORS preflight) pass without login; no identity headers are set on them.'),
    cookie_prefix: z
      .string()
      .min(1, prefixMessage)
      .max(MAX_COOKIE_PREFIX_LENGTH, prefixMessage)
      .regex(/^[A-Za-z0-9.]*$/, "cookie_prefix may contain only letters, digits and '.' (ERR_NGROK_7042)")
      .default('ngrok.')
      .describe(`Prefix of the session and nonce cookie names: letters, digits and '.', at most ${MAX_COOKIE_PREFIX_LENGTH} characters.`),
    inactivity_timeout: seconds('inactivity_timeout', { min: 'zero', max: MAX_SESSION_SECONDS, code: 'ERR_NGROK_7092', integer: true })
      .default(0)
      .describe(`Seconds without a request after which the user must log in again; 0 = no limit. At most ${MAX_SESSION_SECONDS} (1 year).`),
    maximum_duration: seconds('maximum_duration', { min: 'zero', max: MAX_SESSION_SECONDS, integer: true, ...(codes.maximumDuration === undefined ? {} : { code: codes.maximumDuration }) })
      .default(0)
      .describe(`Seconds a session lasts at most, active or not; 0 = no limit. At most ${MAX_SESSION_SECONDS} (1 year, edgeplane's cap).`),
  };
}

// RFC 6749 §3.3 scope-token: no spaces (scopes are sent space-separated), quotes or backslashes.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function scopeList(countCode: string, lengthCode: string) {
  return z
    .array(z.string().superRefine((scope, ctx) => {
      if (Buffer.byteLength(scope) > MAX_SCOPE_BYTES) ctx.addIssue({ code: custom, message: `scope is longer than ${MAX_SCOPE_BYTES} bytes (${lengthCode})` });
      else if (!SCOPE_TOKEN.test(scope)) ctx.addIssue({ code: custom, message: `scope '${scope}' must be non-empty printable ASCII without spaces, quotes or backslashes` });
    }))
    .max(MAX_SCOPES, `at most ${MAX_SCOPES} scopes (${countCode})`)
    .superRefine((scopes, ctx) => {
      const seen = new Set<string>();
      scopes.forEach((scope, i) => {
        if (seen.has(scope)) ctx.addIssue({ code: custom, path: [i], message: `scope '${scope}' is listed twice` });
        seen.add(scope);
      });
    });
}

/** Exact-match domains (spec §1.6): no wildcards, ASCII (punycode) only. */
export function emailDomainProblem(domain: string): string | null {
  if (domain === '') return 'must not be empty';
  if (/[^\x20-\x7E]/.test(domain)) return `'${domain}': write internationalised domains in punycode (xn--…)`;
  if (domain.includes('*')) return `'${domain}': domains match exactly, wildcards are not allowed: list every subdomain`;
  return hostnameProblem(domain);
}

function emailAddressProblem(address: string): string | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || /\s/.test(address) || address.indexOf('@') !== at) return `'${address}' is not an email address (local@domain)`;
  const problem = emailDomainProblem(address.slice(at + 1));
  return problem === null ? null : `'${address}': ${problem}`;
}

/** A list of unique, lower-case values, each checked by `problem`. */
function lowerCaseSet(field: string, max: number, codes: { count: string; lowerCase: string }, problem: (value: string) => string | null) {
  return z
    .array(z.string())
    .max(max, `${field} takes at most ${max} entries (${codes.count})`)
    .superRefine((values, ctx) => {
      const seen = new Set<string>();
      values.forEach((value, i) => {
        const reason = problem(value)
          ?? (value !== value.toLowerCase() ? `'${value}' must be lower-case: write '${value.toLowerCase()}' (${codes.lowerCase})` : null)
          ?? (seen.has(value) ? `'${value}' is listed twice` : null);
        if (reason !== null) ctx.addIssue({ code: custom, path: [i], message: reason });
        seen.add(value);
      });
    })
    .default([]);
}

// GitHub logins: letters, digits and single inner hyphens, at most 39 characters.
const GITHUB_ORG = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const GITHUB_TEAM_SLUG = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function githubTeamProblem(team: string): string | null {
  if (/^[0-9]+$/.test(team)) return null;
  const slash = team.indexOf('/');
  if (slash > 0 && GITHUB_ORG.test(team.slice(0, slash)) && GITHUB_TEAM_SLUG.test(team.slice(slash + 1))) return null;
  return `team '${team}' must be 'org-slug/team-slug' or a numeric team id (ERR_NGROK_7040)`;
}

function uniqueList(field: string, max: number, problem: (value: string) => string | null) {
  return z
    .array(z.string())
    .max(max, `${field} takes at most ${max} entries`)
    .superRefine((values, ctx) => {
      const seen = new Set<string>();
      values.forEach((value, i) => {
        const reason = problem(value) ?? (seen.has(value.toLowerCase()) ? `'${value}' is listed twice` : null);
        if (reason !== null) ctx.addIssue({ code: custom, path: [i], message: reason });
        seen.add(value.toLowerCase());
      });
    })
    .default([]);
}

function providerFields(name: OAuthProviderName, sources: SourceContext) {
  const d = OAUTH_PROVIDER_DEFAULTS[name];
  const orgHint = name === 'github' ? ` (+ ${GITHUB_ORG_SCOPE} when teams or organizations are set)` : '';
  return {
    client_id: nonEmpty('client_id').optional().describe('Required. Client id of your own OAuth app registered with the provider.'),
    client_secret: secretString('client_secret', sources).optional().describe('Required. Client secret of that app; shown as [redacted] in /config.'),
    scopes: scopeList('ERR_NGROK_7056', 'ERR_NGROK_7141').optional()
      .describe(`Scopes asked for. Default: ${d.scopes.join(', ')}${orgHint}. A list replaces the default.`),
    email_addresses: lowerCaseSet('email_addresses', MAX_EMAIL_ENTRIES, { count: 'ERR_NGROK_7060', lowerCase: 'ERR_NGROK_7067' }, emailAddressProblem)
      .describe('Users with one of these (lower-case) email addresses are let in. With no email and no other rule, every user of the provider is.'),
    email_domains: lowerCaseSet('email_domains', MAX_EMAIL_ENTRIES, { count: 'ERR_NGROK_7061', lowerCase: 'ERR_NGROK_7068' }, (d) => {
      const problem = emailDomainProblem(d);
      return problem === null ? null : `email domain ${problem}`;
    }).describe('Users whose email domain is exactly one of these are let in (subdomains must be listed too).'),
    authorize_url: endpointUrl('authorize_url').default(d.authorizeUrl).describe('The provider\'s authorization endpoint (https; http only to a loopback host).'),
    token_url: endpointUrl('token_url').default(d.tokenUrl).describe('The provider\'s token endpoint.'),
    userinfo_url: endpointUrl('userinfo_url').default(d.userinfoUrl).describe('Where the user\'s id, name and email are read.'),
  };
}

type ProviderInput = { client_id?: string | undefined; client_secret?: string | undefined; scopes?: string[] | undefined };

// No ngrok-managed app exists here (spec §1.6: neither id nor secret = the managed app), so both are needed.
function checkAppCredentials(name: OAuthProviderName, p: ProviderInput, ctx: z.RefinementCtx): void {
  const hasId = p.client_id !== undefined;
  const hasSecret = p.client_secret !== undefined;
  if (hasId && !hasSecret) ctx.addIssue({ code: custom, path: ['client_secret'], message: 'client_secret is required with client_id: they go together (ERR_NGROK_383/384/389)' });
  if (!hasId && hasSecret) ctx.addIssue({ code: custom, path: ['client_id'], message: 'client_id is required with client_secret: they go together (ERR_NGROK_383/384/389)' });
  if (!hasId && !hasSecret) {
    ctx.addIssue({
      code: custom,
      message: `${name} needs client_id and client_secret of your own OAuth app: ngrok would fall back to its managed app, ` +
        'but this self-hosted data plane has none (register an app with the provider and set both)',
    });
  }
}

function oauthProvider(name: Exclude<OAuthProviderName, 'github'>, sources: SourceContext) {
  return z
    .object(providerFields(name, sources))
    .strict()
    .superRefine((p, ctx) => checkAppCredentials(name, p, ctx))
    .transform((p) => ({ ...p, client_id: p.client_id!, client_secret: p.client_secret!, scopes: p.scopes ?? [...OAUTH_PROVIDER_DEFAULTS[name].scopes] }));
}

function githubProvider(sources: SourceContext) {
  return z
    .object({
      ...providerFields('github', sources),
      teams: uniqueList('teams', MAX_GITHUB_ENTRIES, githubTeamProblem)
        .describe("Members of one of these teams are let in: 'org-slug/team-slug' or a numeric team id."),
      organizations: uniqueList('organizations', MAX_GITHUB_ENTRIES, (org) => (GITHUB_ORG.test(org) ? null : `organization '${org}' is not a GitHub organization slug`))
        .describe('Members of one of these organizations (slugs) are let in.'),
      api_url: endpointUrl('api_url').default(GITHUB_API_URL).describe('GitHub REST API base, where teams and organizations are read (GitHub Enterprise: https://HOST/api/v3).'),
    })
    .strict()
    .superRefine((p, ctx) => {
      checkAppCredentials('github', p, ctx);
      const needsOrg = p.teams.length > 0 || p.organizations.length > 0;
      if (needsOrg && p.scopes !== undefined && !p.scopes.includes(GITHUB_ORG_SCOPE)) {
        ctx.addIssue({ code: custom, path: ['scopes'], message: `teams and organizations can be checked only with the '${GITHUB_ORG_SCOPE}' scope: add it to scopes (ERR_NGROK_7038)` });
      }
    })
    .transform((p) => {
      const needsOrg = p.teams.length > 0 || p.organizations.length > 0;
      const scopes = p.scopes ?? [...OAUTH_PROVIDER_DEFAULTS.github.scopes, ...(needsOrg ? [GITHUB_ORG_SCOPE] : [])];
      return { ...p, client_id: p.client_id!, client_secret: p.client_secret!, scopes };
    });
}

function oauthSchema(sources: SourceContext) {
  // Counted on the raw value, so that a mistake inside one provider does not hide a second provider.
  const countProviders = (value: unknown, ctx: z.RefinementCtx): unknown => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const named = OAUTH_PROVIDERS.filter((name) => (value as Record<string, unknown>)[name] !== undefined);
    if (named.length === 0) ctx.addIssue({ code: custom, message: `provider needs exactly one of ${OAUTH_PROVIDERS.join(', ')} (ERR_NGROK_7037)` });
    if (named.length > 1) ctx.addIssue({ code: custom, message: `provider takes exactly one provider, not ${named.join(' and ')} (ERR_NGROK_7036)` });
    return value;
  };
  const provider = z.preprocess(countProviders, z
    .object({
      github: githubProvider(sources).optional().describe('GitHub (also checks teams and organizations).'),
      facebook: oauthProvider('facebook', sources).optional().describe('Facebook.'),
      microsoft: oauthProvider('microsoft', sources).optional().describe('Microsoft (Entra ID, personal accounts).'),
      google: oauthProvider('google', sources).optional().describe('Google.'),
      linkedin: oauthProvider('linkedin', sources).optional().describe('LinkedIn (OpenID Connect sign-in).'),
      gitlab: oauthProvider('gitlab', sources).optional().describe('GitLab (gitlab.com unless the URLs say otherwise).'),
      twitch: oauthProvider('twitch', sources).optional().describe('Twitch.'),
      amazon: oauthProvider('amazon', sources).optional().describe('Login with Amazon.'),
    })
    .strict());

  const authCheckMessage = `auth_check_interval must be 0 (check only at login) or ${MIN_AUTH_CHECK_INTERVAL}..${MAX_SESSION_SECONDS} seconds`;
  return z
    .object({
      ...sessionFields({ cookiePrefixLength: 'ERR_NGROK_7136', maximumDuration: 'ERR_NGROK_7161' }),
      provider: requiredWithCode(provider, `provider is required: one of ${OAUTH_PROVIDERS.join(', ')} (ERR_NGROK_7037)`)
        .describe('Required. An object with exactly one provider key, e.g. { github: { client_id, client_secret } }.'),
      auth_check_interval: z
        .number()
        .multipleOf(1, `${authCheckMessage} (ERR_NGROK_7035)`)
        .refine((v) => v === 0 || v >= MIN_AUTH_CHECK_INTERVAL, `${authCheckMessage} (ERR_NGROK_7035)`)
        .refine((v) => v <= MAX_SESSION_SECONDS, `${authCheckMessage} (ERR_NGROK_7158)`)
        .default(0)
        .describe(`Seconds after which the next request re-reads the user from the provider and re-checks the rules; 0 = only at login, else ${MIN_AUTH_CHECK_INTERVAL}..${MAX_SESSION_SECONDS}.`),
    })
    .strict();
}

function issuerUrl() {
  return z.string().superRefine((text, ctx) => {
    if (Buffer.byteLength(text) > MAX_ISSUER_BYTES) return void ctx.addIssue({ code: custom, message: `issuer is longer than ${MAX_ISSUER_BYTES} bytes (ERR_NGROK_1687)` });
    const problem = endpointUrlProblem('issuer', text);
    if (problem !== null) return void ctx.addIssue({ code: custom, message: problem });
    // OpenID Connect Discovery §3: the issuer has no query or fragment; discovery appends a path to it
    if (new URL(text).search !== '') ctx.addIssue({ code: custom, message: `issuer '${text}' must not have a ?query` });
  });
}

function oidcSchema(sources: SourceContext) {
  return z
    .object({
      ...sessionFields({ cookiePrefixLength: 'ERR_NGROK_7153', maximumDuration: 'ERR_NGROK_7162' }),
      issuer: requiredWithCode(issuerUrl(), 'issuer is required: the OpenID provider URL, as in https://accounts.example.com (ERR_NGROK_7088)')
        .describe(`Required. The OpenID provider; <issuer>/.well-known/openid-configuration is read. At most ${MAX_ISSUER_BYTES} bytes.`),
      client_id: requiredWithCode(nonEmpty('client_id'), 'client_id is required (ERR_NGROK_7089)')
        .describe('Required. Client id registered with the provider; also the ID token audience.'),
      client_secret: requiredWithCode(secretString('client_secret', sources), 'client_secret is required (ERR_NGROK_7090)')
        .describe('Required. Client secret; shown as [redacted] in /config.'),
      scopes: scopeList('ERR_NGROK_7150', 'ERR_NGROK_7151')
        .refine((scopes) => scopes.includes('openid'), "scopes must include 'openid': without it the provider sends no ID token")
        .default(['openid', 'profile', 'email'])
        .describe("Scopes asked for; must include 'openid'."),
    })
    .strict();
}

// Enough to catch a wrong file or a pasted URL; the module parses the document itself.
function idpMetadataProblem(xml: string): string | null {
  if (Buffer.byteLength(xml) > MAX_IDP_METADATA_BYTES) return `idp_metadata is longer than ${MAX_IDP_METADATA_BYTES} bytes (ERR_NGROK_7080)`;
  if (!xml.trimStart().startsWith('<')) return 'idp_metadata must be the IdP metadata XML (an EntityDescriptor); a URL goes in idp_metadata_url (ERR_NGROK_7083)';
  // entity declarations are how XML bombs and external-entity reads work: metadata never needs them
  if (/<!DOCTYPE/i.test(xml)) return 'idp_metadata must not contain a DOCTYPE (ERR_NGROK_7083)';
  if (!/<(?:[A-Za-z_][\w.-]*:)?EntityDescriptor[\s>/]/.test(xml)) return 'idp_metadata has no EntityDescriptor element (ERR_NGROK_7083)';
  if (!/<(?:[A-Za-z_][\w.-]*:)?IDPSSODescriptor[\s>/]/.test(xml)) return 'idp_metadata describes no identity provider (no IDPSSODescriptor) (ERR_NGROK_7083)';
  return null;
}

/** The SP's signing pair: an RSA key (RSA-SHA256 is what every IdP verifies) and the certificate holding its public half. */
function checkSigningPair(certPem: string, keyPem: string, ctx: z.RefinementCtx): void {
  if (certPem === '' || keyPem === '') return; // unreadable sources are reported on the field
  if (!certPem.includes('-----BEGIN CERTIFICATE-----')) {
    return void ctx.addIssue({ code: custom, path: ['sp_certificate_pem'], message: 'sp_certificate_pem is not a PEM certificate (no -----BEGIN CERTIFICATE----- line)' });
  }
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    return void ctx.addIssue({ code: custom, path: ['sp_certificate_pem'], message: `sp_certificate_pem is not a PEM certificate: ${(err as Error).message}` });
  }
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    return void ctx.addIssue({ code: custom, path: ['sp_private_key_pem'], message: `sp_private_key_pem is not an unencrypted PEM private key: ${(err as Error).message}` });
  }
  if (key.asymmetricKeyType !== 'rsa') {
    return void ctx.addIssue({ code: custom, path: ['sp_private_key_pem'], message: `sp_private_key_pem must be an RSA key (AuthnRequests are signed with RSA-SHA256), not ${key.asymmetricKeyType ?? 'unknown'}` });
  }
  if (!cert.checkPrivateKey(key)) {
    ctx.addIssue({ code: custom, path: ['sp_private_key_pem'], message: 'sp_private_key_pem does not belong to sp_certificate_pem (their public keys differ)' });
  }
}

/** `pem(secret)` is schema.ts's PEM source reader: a string, { file } or { env }. */
function samlSchema(pem: (secret: boolean) => z.ZodType<string, z.ZodTypeDef, unknown>) {
  return z
    .object({
      ...sessionFields({}),
      idp_metadata: z.string().superRefine((xml, ctx) => {
        const problem = idpMetadataProblem(xml);
        if (problem !== null) ctx.addIssue({ code: custom, message: problem });
      }).optional().describe('The IdP metadata XML (its EntityDescriptor). This or idp_metadata_url, not both.'),
      idp_metadata_url: endpointUrl('idp_metadata_url').optional().describe('Where the IdP metadata is fetched from (https). This or idp_metadata, not both.'),
      force_authn: z.boolean().default(false).describe('Ask the IdP to prompt again even when it already has a session.'),
      allow_idp_initiated: z.boolean().default(false)
        .describe('Accept logins the IdP starts (unsolicited responses; RelayState names the target URL). Off by default: they are not bound to a browser.'),
      authorized_groups: uniqueList('authorized_groups', MAX_AUTHORIZED_GROUPS, (g) => (g === '' ? 'group names must not be empty' : null))
        .describe('If set, only members of at least one of these groups (from the assertion) are let in.'),
      nameid_format: z
        .enum(SAML_NAMEID_FORMATS, { errorMap: () => ({ message: `nameid_format must be one of ${SAML_NAMEID_FORMATS.join(', ')} (ERR_NGROK_1693)` }) })
        .default(SAML_NAMEID_FORMATS[0])
        .describe('NameID format asked of the IdP.'),
      sp_certificate_pem: requiredWithCode(pem(false), 'sp_certificate_pem is required: the certificate the IdP verifies signed AuthnRequests with')
        .describe('Required. Certificate of the SP signing key; give it to the IdP. A string, { file } or { env }.'),
      sp_private_key_pem: requiredWithCode(pem(true), 'sp_private_key_pem is required: AuthnRequests are signed')
        .describe('Required. RSA key AuthnRequests are signed with (matching sp_certificate_pem); always a secret.'),
    })
    .strict()
    .superRefine((m, ctx) => {
      if (m.idp_metadata !== undefined && m.idp_metadata_url !== undefined) {
        ctx.addIssue({ code: custom, path: ['idp_metadata_url'], message: 'set idp_metadata or idp_metadata_url, not both (ERR_NGROK_7081)' });
      }
      if (m.idp_metadata === undefined && m.idp_metadata_url === undefined) {
        ctx.addIssue({ code: custom, message: 'saml needs idp_metadata (the XML) or idp_metadata_url (ERR_NGROK_7091)' });
      }
      checkSigningPair(m.sp_certificate_pem, m.sp_private_key_pem, ctx);
    });
}

/** The oauth, oidc and saml schemas; `pem` reads PEM sources the way tls_certificates do. */
export function authModuleSchemas(sources: SourceContext, pem: (secret: boolean) => z.ZodType<string, z.ZodTypeDef, unknown>) {
  return { oauth: oauthSchema(sources), oidc: oidcSchema(sources), saml: samlSchema(pem) };
}

/** Keys of the auth modules enabled on a route, in AUTH_MODULES order. */
export function enabledAuthModules(route: Partial<Record<AuthModuleName, { enabled: boolean } | undefined>>): AuthModuleName[] {
  return AUTH_MODULES.filter((key) => route[key]?.enabled === true);
}
