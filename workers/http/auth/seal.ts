// Seals a small JSON payload for a cookie or a URL parameter: AES-256-GCM with a random 96-bit IV,
// the cookie (or parameter) name as associated data so a value cannot be moved to another name,
// and a version byte so the format can change later. Layout, base64url: version | iv | ciphertext | tag.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const OVERHEAD = 1 + IV_BYTES + TAG_BYTES;

/**
 * Default cap on the sealed text. A browser keeps at most 4096 bytes of name, value and attributes
 * per cookie; ~3800 leaves room for the name and `; Max-Age=…; Path=/; Secure; HttpOnly; SameSite=Lax`.
 */
export const DEFAULT_MAX_SEALED_CHARS = 3800;
// Anything longer than this cannot be ours: refuse before decoding (cheap bound on attacker input).
const MAX_OPEN_CHARS = 8192;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export class SealTooLargeError extends Error {
  constructor(readonly sealedChars: number, readonly maxChars: number, what: string) {
    super(`${what} is too large once sealed (${sealedChars} characters, limit ${maxChars}); keep large data out of it`);
    this.name = 'SealTooLargeError';
  }
}

export interface SealOptions {
  maxChars?: number;
}

/** Seals `payload` (JSON-serialisable) bound to `name`. Throws SealTooLargeError (sizes only, no content). */
export function seal(key: Buffer, name: string, payload: unknown, options: SealOptions = {}): string {
  checkKey(key);
  const plain = Buffer.from(JSON.stringify(payload), 'utf8');
  const maxChars = options.maxChars ?? DEFAULT_MAX_SEALED_CHARS;
  const sealedChars = Math.ceil(((OVERHEAD + plain.length) * 4) / 3);
  if (sealedChars > maxChars) throw new SealTooLargeError(sealedChars, maxChars, `the "${name}" value`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(associatedData(name));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** The payload, or null when the text was not sealed by this key for this name, or was changed at all. */
export function open(key: Buffer, name: string, sealed: string): unknown {
  checkKey(key);
  if (typeof sealed !== 'string' || sealed.length > MAX_OPEN_CHARS || !BASE64URL.test(sealed)) return null;
  const raw = Buffer.from(sealed, 'base64url');
  // Non-canonical base64 (changed padding bits) decodes to the same bytes; refuse it so any edit fails.
  if (raw.toString('base64url') !== sealed) return null;
  if (raw.length <= OVERHEAD || raw[0] !== VERSION) return null;
  const iv = raw.subarray(1, 1 + IV_BYTES);
  const tag = raw.subarray(raw.length - TAG_BYTES);
  const body = raw.subarray(1 + IV_BYTES, raw.length - TAG_BYTES);
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(name));
    decipher.setAuthTag(tag);
    plain = Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return null;
  }
  try {
    return JSON.parse(plain.toString('utf8')) as unknown;
  } catch {
    return null; // authentic but unparsable: only a bug could do this; treat as absent
  }
}

function associatedData(name: string): Buffer {
  return Buffer.from(`v${VERSION}:${name}`, 'utf8');
}

function checkKey(key: Buffer): void {
  if (key.length !== 32) throw new Error(`sealing key must be 32 bytes, got ${key.length}`);
}
