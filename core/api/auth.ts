// API keys (admin.api_keys) and who made a change. A key is identified in audit events by a stable,
// non-secret id derived from it (a hash prefix), never by the key itself.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface Principal {
  id: string;
  subject: string;
  source: 'API';
  credential: { id: string; uri: string };
}

function digest(key: string): Buffer {
  return createHash('sha256').update('edgeplane-api-key\0').update(key).digest();
}

/** `ak_` + 26 hex characters of the key's hash: stable across restarts, useless to an attacker. */
export function credentialId(key: string): string {
  return `ak_${digest(key).toString('hex').slice(0, 26)}`;
}

/** The key a request's `Authorization: Bearer <key>` names, or null when it names none of `keys`. */
export function matchKey(authorization: string, keys: readonly string[]): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (match === null) return null;
  const given = digest(match[1]!);
  let found: string | null = null;
  // Compare against every key (hashes, constant time) so timing tells nothing about which one matched.
  for (const key of keys) if (timingSafeEqual(given, digest(key))) found = key;
  return found;
}

export function principalFor(key: string, base: string): Principal {
  const id = credentialId(key);
  return {
    id: `svc_${id.slice(3)}`,
    subject: `api key ${id}`,
    source: 'API',
    credential: { id, uri: `${base}/api_keys/${id}` },
  };
}
