// The small identity an OIDC login yields, taken from verified ID token claims (and userinfo,
// when fetched). Values are bounded so the session cookie that carries them stays small.
import { OidcError } from './oidc-errors.js';

export interface OidcIdentity {
  sub: string;
  name?: string;
  email?: string;
  email_verified?: boolean;
  groups?: string[];
}

/** OIDC Core §5.7: sub is at most 255 ASCII characters. */
const MAX_SUB_LENGTH = 255;
const MAX_TEXT_LENGTH = 256;
const MAX_GROUPS = 64;

type Claims = Readonly<Record<string, unknown>>;

/**
 * Builds the identity from verified ID token claims, letting userinfo claims (already checked to
 * be about the same sub) fill in or refresh the profile fields.
 */
export function identityFromClaims(idToken: Claims, userinfo?: Claims): OidcIdentity {
  const sub = idToken.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH) {
    throw new OidcError('claims_unusable', 'sub missing or too long');
  }
  const merged: Claims = { ...idToken, ...userinfo, sub };
  const identity: OidcIdentity = { sub };
  const name = text(merged.name) ?? text(merged.preferred_username);
  if (name !== undefined) identity.name = name;
  const email = text(merged.email);
  if (email !== undefined) identity.email = email;
  const verified = flag(merged.email_verified);
  if (verified !== undefined) identity.email_verified = verified;
  const groups = groupList(merged.groups);
  if (groups !== undefined) identity.groups = groups;
  return identity;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TEXT_LENGTH ? value : undefined;
}

/** Some providers send email_verified as the string "true". */
function flag(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return undefined;
}

/** groups is an array of strings by convention; a single string is taken as one group. */
function groupList(value: unknown): string[] | undefined {
  const raw = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
  if (!raw) return undefined;
  const groups = raw.map(text).filter((group): group is string => group !== undefined).slice(0, MAX_GROUPS);
  return groups;
}
