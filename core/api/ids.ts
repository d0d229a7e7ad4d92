// Resource ids: prefix + 27 base62 characters, ordered by creation (ms timestamp, then a per-ms
// counter, then randomness), so "newest first" is "largest id first" and before_id is a plain compare.
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'; // ASCII order

function base62(value: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = ALPHABET[value % 62]! + out;
    value = Math.floor(value / 62);
  }
  return out;
}

let lastMs = 0;
let counter = 0;

export function newId(prefix: 'ed_' | 'esb_', now = Date.now()): string {
  if (now <= lastMs) { now = lastMs; counter++; } else { lastMs = now; counter = 0; }
  let random = '';
  for (const byte of randomBytes(17)) random += ALPHABET[byte % 62];
  return prefix + base62(now, 7) + base62(counter, 3) + random;
}
