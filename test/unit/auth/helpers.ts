// Shared bits for the auth unit tests: a settable clock, module keys, and turning Set-Cookie into Cookie.
import { AuthKeyRing, moduleFingerprint, type ModuleKeys } from '../../../workers/http/auth/keys.js';

export const T0_MS = Date.UTC(2026, 0, 2, 3, 4, 5);

export function manualClock(startMs = T0_MS): { now: () => number; advance: (seconds: number) => void } {
  let ms = startMs;
  return { now: () => ms, advance: (seconds) => { ms += seconds * 1000; } };
}

export const ROOT_KEY = Buffer.alloc(32, 7);

export const OAUTH_CONFIG = { provider: { github: { client_id: 'abc', client_secret: 's3cr3t', email_domains: ['example.com'] } }, cookie_prefix: 'ngrok.' };

export function keysFor(config: unknown = OAUTH_CONFIG, edgeId = 'edghts_1', routeId = 'edghtsrt_1', rootKey = ROOT_KEY): ModuleKeys {
  return new AuthKeyRing(rootKey).deriveModuleKeys({ module: 'oauth', edgeId, routeId, fingerprint: moduleFingerprint(config) });
}

/** The `name=value` part of a Set-Cookie value, as a browser would send it back. */
export function cookiePair(setCookie: string): string {
  return setCookie.slice(0, setCookie.indexOf(';'));
}

export function attributes(setCookie: string): string[] {
  return setCookie.split('; ').slice(1);
}

/** The same text with the character at `i` replaced by another base64url character. */
export function flipChar(text: string, i: number): string {
  const c = text[i]!;
  return text.slice(0, i) + (c === 'A' ? 'B' : 'A') + text.slice(i + 1);
}

/** The error `fn` throws (fails loudly when it does not throw), for checks on its type and message. */
export function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to throw');
}
