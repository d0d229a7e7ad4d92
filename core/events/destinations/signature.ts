// The X-Edgeplane-Signature header on HTTP destination requests, and its check for receivers.
//
//   X-Edgeplane-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
//
// A receiver verifies it by: reading the raw request body (before any JSON parsing), splitting the
// header on ',' into t and v1 (several v1 may appear while a secret is rotated), computing
// HMAC-SHA256 over the bytes of `${t}.` followed by the body with the shared secret, comparing its
// hex with each v1 in constant time, and rejecting t more than a few minutes from its own clock
// (replay protection). verifyEdgeplaneSignature() below does exactly that.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Edgeplane-Signature';

function mac(secret: string, timestamp: number | string, body: Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

export function signatureHeader(secret: string, body: Buffer, nowSeconds = Math.floor(Date.now() / 1000)): string {
  return `t=${nowSeconds},v1=${mac(secret, nowSeconds, body)}`;
}

export interface VerifyOptions {
  /** Largest accepted |now - t| in seconds (default 300). */
  toleranceSeconds?: number;
  nowSeconds?: number;
}

/** True when `header` carries a valid, fresh signature of `body` (the raw bytes received) under `secret`. */
export function verifyEdgeplaneSignature(header: string | undefined, body: Buffer | string, secret: string, options: VerifyOptions = {}): boolean {
  if (!header) return false;
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') timestamp = value;
    else if (key === 'v1') signatures.push(value);
  }
  if (timestamp === undefined || !/^\d+$/.test(timestamp) || signatures.length === 0) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(mac(secret, timestamp, typeof body === 'string' ? Buffer.from(body) : body), 'hex');
  return signatures.some((signature) => {
    const given = Buffer.from(signature, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
