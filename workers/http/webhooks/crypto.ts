// Building blocks every provider verifier shares: HMAC over several parts without concatenating
// them, strict hex/base64 decoding, constant-time comparison, structured signature headers and
// timestamp windows. Kept here so each provider file is a few lines of facts.
import { createHmac, timingSafeEqual, type BinaryLike } from 'node:crypto';
import type { FailureReason, Verdict } from './types.js';
import { ALLOW, refuse } from './types.js';

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';
export type DigestEncoding = 'hex' | 'base64';

/** HMAC of the parts in order, as if concatenated (strings are UTF-8). */
export function hmac(algorithm: HmacAlgorithm, key: BinaryLike, ...parts: (string | Uint8Array)[]): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

const HEX = /^[0-9a-fA-F]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Strict decoding: null when `text` is not entirely in the encoding (Buffer.from silently skips junk). */
export function decode(text: string, encoding: DigestEncoding | 'base64url'): Buffer | null {
  const t = text.trim();
  if (t === '') return null;
  if (encoding === 'hex') return t.length % 2 === 0 && HEX.test(t) ? Buffer.from(t, 'hex') : null;
  if (encoding === 'base64') return BASE64.test(t) && t.length % 4 !== 1 ? Buffer.from(t, 'base64') : null;
  return BASE64URL.test(t) ? Buffer.from(t, 'base64url') : null;
}

/** Constant-time equality of two digests (length is not secret: digests have fixed sizes). */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The usual shape of a check: decode each candidate signature (several may be sent during key
 * rotation), compare each with `expected` in constant time; any match passes. `expected` may list
 * several digests (the same message under URL variants, say): any of them matches.
 */
export function matchAny(expected: Uint8Array | readonly Uint8Array[], candidates: readonly string[], encoding: DigestEncoding | 'base64url'): Verdict {
  if (candidates.length === 0) return refuse('missing_signature');
  const digests = expected instanceof Uint8Array ? [expected] : expected;
  let wellFormed = false;
  let matched = false;
  for (const candidate of candidates) {
    const decoded = decode(candidate, encoding);
    if (decoded === null) continue;
    wellFormed = true;
    // no early exit: every candidate is compared, so timing says nothing about which matched
    for (const digest of digests) if (digestsEqual(decoded, digest)) matched = true;
  }
  if (matched) return ALLOW;
  return wellFormed ? refuse('signature_mismatch') : refuse('malformed_signature');
}

/** First value of a header (names lower case), or undefined. */
export function header(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

/** Every value of a header, in order. */
export function headerValues(headers: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) out.push(headers[i + 1]!);
  return out;
}

/** Removes a fixed prefix (case-insensitively); null when absent. */
export function stripPrefix(value: string, prefix: string): string | null {
  return value.length >= prefix.length && value.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase() ? value.slice(prefix.length) : null;
}

/**
 * Parses `k=v,k=v` signature headers (Stripe's `t=…,v1=…`, Buildkite's `timestamp=…,signature=…`).
 * Keys repeat (several v1 during rotation), so values are lists. `separator` is ',' by default.
 */
export function parseKeyValues(value: string, separator = ','): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const item of value.split(separator)) {
    const at = item.indexOf('=');
    if (at <= 0) continue;
    const key = item.slice(0, at).trim();
    const v = item.slice(at + 1).trim();
    const list = out.get(key);
    if (list === undefined) out.set(key, [v]); else list.push(v);
  }
  return out;
}

/** Parses a decimal Unix timestamp in seconds (or ms when `unit` is 'ms'); NaN when not one. */
export function parseUnixTimestamp(text: string | undefined, unit: 's' | 'ms' = 's'): number {
  if (text === undefined || !/^\d{1,16}$/.test(text.trim())) return NaN;
  const n = Number(text.trim());
  return unit === 's' ? n * 1000 : n;
}

/** Refusal for a timestamp (ms epoch) outside ±toleranceSeconds of now, else null. */
export function checkTimestamp(timestampMs: number, nowMs: number, toleranceSeconds: number): Verdict | null {
  if (Number.isNaN(timestampMs)) return refuse('missing_timestamp');
  return Math.abs(nowMs - timestampMs) > toleranceSeconds * 1000 ? refuse('stale_timestamp') : null;
}

/** Shorthand for verifiers that return early. */
export function fail(reason: FailureReason, detail?: string): Verdict {
  return refuse(reason, detail);
}

/** The default replay window where a provider signs a timestamp but names no tolerance (spec §1.6). */
export const DEFAULT_TOLERANCE_SECONDS = 180;
