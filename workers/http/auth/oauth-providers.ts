// One entry per OAuth provider: how its token endpoint takes the client credentials, whether it does
// PKCE, what its user-info request needs, and how its user JSON maps to a user. The endpoint URLs
// themselves come from the config (core/config/schema-auth.ts holds the providers' real defaults).
import { createHmac } from 'node:crypto';
import type { OAuthProviderName } from '../../../core/generation/spec.js';
import { asObject } from './oauth-http.js';

export interface ProviderUser {
  id: string;
  name?: string;
  email?: string;
}

export interface UserinfoContext {
  clientId: string;
  clientSecret: string;
  accessToken: string;
}

export interface OAuthProviderProfile {
  /**
   * How the token endpoint takes the client credentials (RFC 6749 §2.3.1): client_id and
   * client_secret as form fields, or an HTTP Basic Authorization header.
   */
  tokenAuth: 'body' | 'basic';
  /** Whether the provider takes PKCE S256 from a confidential web client (unknown parameters are refused by some). */
  pkce: boolean;
  /** Extra headers and query parameters of the user-info request, besides `Authorization: Bearer`. */
  decorateUserinfo?(url: URL, headers: Record<string, string>, ctx: UserinfoContext): void;
  /** The user-info answer → the user; null when it names no user id. */
  parseUser(body: unknown): ProviderUser | null;
}

const MAX_ID_BYTES = 256;
const MAX_NAME_CHARS = 256;
const MAX_EMAIL_BYTES = 320;

/** A non-empty trimmed string of at most `max` characters, else undefined. */
function text(value: unknown, max = MAX_NAME_CHARS): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' || trimmed.length > max ? undefined : trimmed;
}

/** Ids are strings at some providers and numbers at others (GitHub, GitLab's REST API). */
function idOf(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  const id = text(value);
  return id !== undefined && Buffer.byteLength(id) <= MAX_ID_BYTES ? id : undefined;
}

export function emailOf(value: unknown): string | undefined {
  const email = text(value, MAX_EMAIL_BYTES);
  if (email === undefined || Buffer.byteLength(email) > MAX_EMAIL_BYTES) return undefined;
  const at = email.lastIndexOf('@');
  return at > 0 && at < email.length - 1 && !/\s/.test(email) ? email : undefined;
}

function user(id: string | undefined, name: string | undefined, email: string | undefined): ProviderUser | null {
  if (id === undefined) return null;
  return { id, ...(name === undefined ? {} : { name }), ...(email === undefined ? {} : { email }) };
}

/** OpenID userinfo (Google, LinkedIn, GitLab's /oauth/userinfo): an email the provider says is unverified is dropped. */
function parseOpenIdUserinfo(body: unknown): ProviderUser | null {
  const o = asObject(body);
  if (o === null) return null;
  const email = o.email_verified === false || o.email_verified === 'false' ? undefined : emailOf(o.email);
  return user(idOf(o.sub), text(o.name) ?? text(o.preferred_username) ?? text(o.nickname), email);
}

export const OAUTH_PROVIDER_PROFILES: Readonly<Record<OAuthProviderName, OAuthProviderProfile>> = {
  github: {
    // GitHub answers the token request form-encoded unless asked for JSON (the adapter always asks).
    tokenAuth: 'body',
    pkce: true,
    decorateUserinfo(_url, headers) {
      headers.accept = 'application/vnd.github+json';
      headers['x-github-api-version'] = '2022-11-28';
    },
    // GET /user: { id: 123, login, name, email } (email is null unless the user made one public).
    parseUser(body) {
      const o = asObject(body);
      return o === null ? null : user(idOf(o.id), text(o.name) ?? text(o.login), emailOf(o.email));
    },
  },
  google: { tokenAuth: 'body', pkce: true, parseUser: parseOpenIdUserinfo },
  microsoft: {
    tokenAuth: 'body',
    pkce: true,
    // Graph /me: { id, displayName, mail, userPrincipalName }. A guest's UPN (x_y#EXT#@tenant) is no mailbox.
    parseUser(body) {
      const o = asObject(body);
      if (o === null) return null;
      const upn = emailOf(o.userPrincipalName);
      const email = emailOf(o.mail) ?? (upn !== undefined && !upn.includes('#EXT#') ? upn : undefined);
      return user(idOf(o.id), text(o.displayName), email);
    },
  },
  facebook: {
    tokenAuth: 'body',
    pkce: true,
    // appsecret_proof: required by apps with "Require App Secret" on, accepted by all (Graph API docs).
    decorateUserinfo(url, _headers, ctx) {
      url.searchParams.set('appsecret_proof', createHmac('sha256', ctx.clientSecret).update(ctx.accessToken).digest('hex'));
    },
    // /me?fields=id,name,email: { id, name, email } (Facebook returns only a confirmed email).
    parseUser(body) {
      const o = asObject(body);
      return o === null ? null : user(idOf(o.id), text(o.name), emailOf(o.email));
    },
  },
  // LinkedIn takes PKCE only for native apps registered for it; web apps send the secret.
  linkedin: { tokenAuth: 'body', pkce: false, parseUser: parseOpenIdUserinfo },
  gitlab: {
    tokenAuth: 'basic',
    pkce: true,
    // /oauth/userinfo (OpenID, the default) or /api/v4/user ({ id: 42, username, name, email }).
    parseUser(body) {
      const o = asObject(body);
      if (o === null) return null;
      if (o.sub !== undefined) return parseOpenIdUserinfo(body);
      return user(idOf(o.id), text(o.name) ?? text(o.username), emailOf(o.email));
    },
  },
  twitch: {
    tokenAuth: 'body',
    pkce: false,
    // Helix needs the app's Client-Id besides the user's token.
    decorateUserinfo(_url, headers, ctx) {
      headers['client-id'] = ctx.clientId;
    },
    // /helix/users: { data: [{ id, login, display_name, email }] }.
    parseUser(body) {
      const data = asObject(body)?.data;
      const o = Array.isArray(data) ? asObject(data[0]) : null;
      return o === null ? null : user(idOf(o.id), text(o.display_name) ?? text(o.login), emailOf(o.email));
    },
  },
  amazon: {
    tokenAuth: 'basic',
    pkce: true,
    // /user/profile: { user_id: 'amzn1.account.…', name, email }.
    parseUser(body) {
      const o = asObject(body);
      return o === null ? null : user(idOf(o.user_id), text(o.name), emailOf(o.email));
    },
  },
};
