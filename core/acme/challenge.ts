// HTTP-01 challenge answers, shared between the main thread (the ACME manager writes them) and every
// worker (the plain HTTP listener reads them): whichever worker the CA's request lands on must answer.
// They live in the process-wide SharedStore under one key per token.
import type { SharedStore } from '../tables/shared-store.js';

/** RFC 8555 §8.3: the path the CA fetches. */
export const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
/** An answer outlives any validation; it is deleted once the order is done, this only bounds a leak. */
export const ACME_CHALLENGE_TTL_MS = 60 * 60 * 1000;
// RFC 8555 §8.1: tokens are base64url (at least 128 bits); anything else is not ours to look up.
const TOKEN = /^[A-Za-z0-9_-]{16,256}$/;

export function isAcmeToken(token: string): boolean {
  return TOKEN.test(token);
}

/** The shared store key holding the key authorization of `token`. */
export function acmeChallengeKey(token: string): string {
  return `acme-http01:${token}`;
}

export function encodeKeyAuthorization(keyAuthorization: string): Uint8Array {
  return Buffer.from(keyAuthorization, 'utf8');
}

/** Main side: publishes (or with null withdraws) the answer for `token`. False when the store refused it. */
export function writeAcmeChallenge(store: SharedStore, token: string, keyAuthorization: string | null, now = Date.now()): boolean {
  if (keyAuthorization === null) { store.delete(acmeChallengeKey(token)); return true; }
  return store.set(acmeChallengeKey(token), encodeKeyAuthorization(keyAuthorization), now + ACME_CHALLENGE_TTL_MS);
}

/** Worker side: the key authorization for a request path, or null when it is not a live challenge. */
export function acmeChallengeAnswer(store: SharedStore | null, path: string): string | null {
  if (store === null || !path.startsWith(ACME_CHALLENGE_PREFIX)) return null;
  const token = path.slice(ACME_CHALLENGE_PREFIX.length);
  if (!isAcmeToken(token)) return null;
  const found = store.get(acmeChallengeKey(token));
  return found === undefined ? null : Buffer.from(found.value).toString('utf8');
}
