// From a verified SAML assertion (node-saml's Profile) to the small Identity the session keeps:
// id = NameID, email and name from the attribute names IdPs commonly use (LDAP/eduPerson OIDs,
// ADFS/Azure claim URIs, plain names), groups from the usual group attributes. Sizes are capped so
// the session cookie stays small; groups named in authorized_groups are kept first, so capping never
// drops the group that lets a user in.
import type { AuthorizationVerdict, Identity } from './provider.js';
import { SAML_GROUP_DENIED_CODE, SamlError } from './saml-errors.js';

const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

export const EMAIL_ATTRIBUTES = [
  'email',
  'mail',
  'emailAddress',
  'urn:oid:0.9.2342.19200300.100.1.3',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  'http://schemas.xmlsoap.org/claims/EmailAddress',
] as const;

export const NAME_ATTRIBUTES = [
  'displayName',
  'name',
  'urn:oid:2.16.840.1.113730.3.1.241',
  'http://schemas.microsoft.com/identity/claims/displayname',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  'cn',
  'urn:oid:2.5.4.3',
  'http://schemas.xmlsoap.org/claims/CommonName',
] as const;

const GIVEN_NAME_ATTRIBUTES = ['givenName', 'urn:oid:2.5.4.42', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname'] as const;
const SURNAME_ATTRIBUTES = ['sn', 'surname', 'urn:oid:2.5.4.4', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname'] as const;

export const GROUP_ATTRIBUTES = [
  'groups',
  'group',
  'memberOf',
  'isMemberOf',
  'urn:oid:1.3.6.1.4.1.5923.1.5.1.1',
  'urn:oid:1.2.840.113556.1.2.102',
  'http://schemas.xmlsoap.org/claims/Group',
  'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
  'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
] as const;

export const MAX_ID_LENGTH = 512;
export const MAX_VALUE_LENGTH = 256;
export const MAX_GROUPS = 50;

/** The parts of node-saml's Profile read here. */
export interface SamlProfileLike {
  nameID?: unknown;
  nameIDFormat?: unknown;
  attributes?: unknown;
}

export function identityFromProfile(profile: SamlProfileLike, authorizedGroups: readonly string[]): Identity {
  const id = typeof profile.nameID === 'string' ? profile.nameID.trim() : '';
  if (id === '') throw new SamlError('response_invalid', 'assertion has no NameID');
  if (id.length > MAX_ID_LENGTH) throw new SamlError('response_invalid', `NameID is longer than ${MAX_ID_LENGTH} characters`);
  const attributes = isRecord(profile.attributes) ? profile.attributes : {};
  const identity: Identity = { id };
  const email = first(attributes, EMAIL_ATTRIBUTES) ?? (profile.nameIDFormat === EMAIL_FORMAT && id.includes('@') ? id : undefined);
  if (email !== undefined) identity.email = email;
  const name = first(attributes, NAME_ATTRIBUTES) ?? joinedName(attributes);
  if (name !== undefined) identity.name = name;
  const groups = groupsOf(attributes, authorizedGroups);
  if (groups.length > 0) identity.groups = groups;
  return identity;
}

/** authorized_groups: any one match lets the user in; no rule lets everyone in. */
export function authorizeGroups(identity: Identity, authorizedGroups: readonly string[]): AuthorizationVerdict {
  if (authorizedGroups.length === 0) return { allowed: true };
  const mine = new Set(identity.groups ?? []);
  if (authorizedGroups.some((g) => mine.has(g))) return { allowed: true };
  return { allowed: false, reason: 'You are not a member of a group that may use this endpoint.', code: SAML_GROUP_DENIED_CODE };
}

function groupsOf(attributes: Record<string, unknown>, authorizedGroups: readonly string[]): string[] {
  const all = new Set<string>();
  for (const name of GROUP_ATTRIBUTES) for (const v of values(attributes[name])) if (v.length <= MAX_VALUE_LENGTH) all.add(v);
  const wanted = new Set(authorizedGroups);
  const ordered = [...[...all].filter((g) => wanted.has(g)), ...[...all].filter((g) => !wanted.has(g))];
  return ordered.slice(0, MAX_GROUPS);
}

function first(attributes: Record<string, unknown>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = values(attributes[name]).find((v) => v.length <= MAX_VALUE_LENGTH);
    if (value !== undefined) return value;
  }
  return undefined;
}

function joinedName(attributes: Record<string, unknown>): string | undefined {
  const parts = [first(attributes, GIVEN_NAME_ATTRIBUTES), first(attributes, SURNAME_ATTRIBUTES)].filter((p) => p !== undefined);
  const name = parts.join(' ');
  return name === '' || name.length > MAX_VALUE_LENGTH ? undefined : name;
}

/** An attribute's non-empty string values (node-saml gives one string, or an array for several). */
function values(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.filter((v): v is string => typeof v === 'string').map((v) => v.trim()).filter((v) => v !== '');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
