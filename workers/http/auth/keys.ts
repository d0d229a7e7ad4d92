// Key derivation for the identity modules (oauth, oidc, saml). One random root key per daemon; every
// module instance derives its own AES-256-GCM keys from it with HKDF-SHA256, mixing in a fingerprint
// of the module's config and the edge/route ids. So: a config change makes old cookies and states
// unreadable (forced re-auth), and a cookie from one route or domain never opens on another.
import { createHash, hkdfSync, randomBytes } from 'node:crypto';

export const ROOT_KEY_BYTES = 32;
export const DERIVED_KEY_BYTES = 32;
const HKDF_LABEL = 'edgeplane-auth-v1';

/** What a derived key is for; each purpose gets an independent key. */
export type KeyPurpose = 'session' | 'state';

export interface ModuleScope {
  /** Module kind: 'oauth' | 'oidc' | 'saml'. */
  module: string;
  edgeId: string;
  routeId: string;
  /** moduleFingerprint(config). Never log it: it is a hash over config that holds client secrets. */
  fingerprint: Buffer;
}

export interface ModuleKeys {
  session: Buffer;
  state: Buffer;
}

/** 32 random bytes; generated in the main thread at start unless the config names one. */
export function generateRootKey(): Buffer {
  return randomBytes(ROOT_KEY_BYTES);
}

/** Reads a configured root key: 32 bytes as hex (64 chars) or base64/base64url. The error never echoes the text. */
export function parseRootKey(text: string): Buffer {
  const trimmed = text.trim();
  let bytes: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) bytes = Buffer.from(trimmed, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(trimmed)) bytes = Buffer.from(trimmed.replace(/=+$/, ''), 'base64url');
  if (bytes === null || bytes.length !== ROOT_KEY_BYTES) {
    throw new Error(`auth root key must be ${ROOT_KEY_BYTES} bytes written as 64 hex characters or 43 base64 characters`);
  }
  return bytes;
}

/**
 * A stable hash of a module's config: object keys sorted, undefined dropped, arrays kept in order.
 * Equal configs give equal fingerprints whatever the key order in the YAML.
 */
export function moduleFingerprint(config: unknown): Buffer {
  return createHash('sha256').update(canonicalJson(config)).digest();
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('module config for the fingerprint holds a non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new Error(`module config for the fingerprint holds a ${typeof value}, which has no JSON form`);
}

/** Holds the daemon's root key (in a private field, so it never shows in inspect or JSON) and derives module keys. */
export class AuthKeyRing {
  readonly #rootKey: Buffer;

  constructor(rootKey: Uint8Array) {
    if (rootKey.length !== ROOT_KEY_BYTES) throw new Error(`auth root key must be ${ROOT_KEY_BYTES} bytes, got ${rootKey.length}`);
    this.#rootKey = Buffer.from(rootKey); // a copy: the caller may reuse or zero its buffer
  }

  deriveModuleKeys(scope: ModuleScope): ModuleKeys {
    return { session: this.derive(scope, 'session'), state: this.derive(scope, 'state') };
  }

  derive(scope: ModuleScope, purpose: KeyPurpose): Buffer {
    if (scope.fingerprint.length === 0) throw new Error('module fingerprint is empty');
    // JSON array = unambiguous framing of the ids (no separator an id could contain).
    const info = JSON.stringify([HKDF_LABEL, purpose, scope.module, scope.edgeId, scope.routeId]);
    return Buffer.from(hkdfSync('sha256', this.#rootKey, scope.fingerprint, info, DERIVED_KEY_BYTES));
  }

  toJSON(): string {
    return '[auth key ring]';
  }
}
