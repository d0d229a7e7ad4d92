// JA4 fingerprint (FoxIO) of a ClientHello, computed from the spans the parser found
// (core/acceptor/client-hello.ts): counts, the ALPN code, and two truncated sha256 of sorted lists.
// Runs for every TLS connection, so it writes the hashed text into reused scratch buffers.
import crypto from 'node:crypto';

const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
const JA4_EMPTY_HASH = '000000000000';
const JA4_HASH_CHARS = 12;

// Lowercase hex digits as ASCII codes, for writing hash input straight into a byte buffer.
const HEX_ASCII = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);
const HEX_CHARS = '0123456789abcdef';

// Scratch space reused across calls: safe because hashing is synchronous and never re-enters.
const sortBuf = new Uint16Array(1 << 15);
let asciiBuf = Buffer.allocUnsafe(4096);

// Clients are few and repetitive (browsers, curl, SDKs), so the hashed lists repeat: memoise the
// truncated digests. Bounded in entries and key length so hostile hellos cannot grow it.
const HASH_CACHE_MAX_ENTRIES = 512;
const HASH_CACHE_MAX_KEY = 512;
const hashCache = new Map<string, string>();
// Insertion sort beats TypedArray#sort for the usual 10-30 values.
const INSERTION_SORT_MAX = 64;

// crypto.hash (one-shot, no Hash object) exists from Node 20.12; older 20.x falls back to createHash.
const sha256Hex: (data: Uint8Array) => string = typeof crypto.hash === 'function'
  ? (data) => crypto.hash('sha256', data, 'hex')
  : (data) => crypto.createHash('sha256').update(data).digest('hex');

// JA4 (FoxIO): t<version><d|i><ciphers><extensions><alpn>_<sha256 ciphers>_<sha256 extensions_sigalgs>.
export function buildJa4(
  src: Uint8Array, cipherStart: number, cipherEnd: number, extTypes: Uint16Array, extCount: number, hasSni: boolean,
  version: number, alpnFirst: number, alpnFirstLen: number, sigStart: number, sigEnd: number,
): string {
  let ciphers = 0;
  for (let q = cipherStart; q < cipherEnd; q += 2) {
    const c = (src[q] << 8) | src[q + 1];
    if (!isGrease(c)) sortBuf[ciphers++] = c;
  }
  const cipherHash = hashSortedList(ciphers, -1, -1, src);

  let exts = 0;
  let hashedExts = 0;
  for (let k = 0; k < extCount; k++) {
    const type = extTypes[k];
    if (isGrease(type)) continue;
    exts++;
    if (type !== EXT_SERVER_NAME && type !== EXT_ALPN) sortBuf[hashedExts++] = type;
  }
  const extHash = hashSortedList(hashedExts, sigStart, sigEnd, src);

  return 't' + versionCode(version) + (hasSni ? 'd' : 'i') + twoDigits(ciphers) + twoDigits(exts) +
    alpnCode(src, alpnFirst, alpnFirstLen) + '_' + cipherHash + '_' + extHash;
}

// Sorts sortBuf[0, count) and hashes it as "xxxx,xxxx" (+ "_" + sigalgs in wire order, if any).
function hashSortedList(count: number, sigStart: number, sigEnd: number, src: Uint8Array): string {
  if (count === 0) return JA4_EMPTY_HASH;
  const sorted = sortBuf;
  if (count <= INSERTION_SORT_MAX) insertionSort(sorted, count);
  else sorted.subarray(0, count).sort();
  const sigBytes = sigStart >= 0 ? sigEnd - sigStart : 0;
  const need = count * 5 + (sigBytes / 2) * 5 + 1;
  if (need > asciiBuf.length) asciiBuf = Buffer.allocUnsafe(need);
  const out = asciiBuf;
  let o = 0;
  for (let k = 0; k < count; k++) {
    if (k > 0) out[o++] = 0x2c; // ','
    o = writeHex4(out, o, sorted[k]);
  }
  if (sigBytes > 0) {
    out[o++] = 0x5f; // '_'
    for (let q = sigStart; q < sigEnd; q += 2) {
      if (q > sigStart) out[o++] = 0x2c;
      o = writeHex4(out, o, (src[q] << 8) | src[q + 1]);
    }
  }
  if (o > HASH_CACHE_MAX_KEY) return sha256Hex(out.subarray(0, o)).slice(0, JA4_HASH_CHARS);
  const key = out.toString('latin1', 0, o);
  let digest = hashCache.get(key);
  if (digest === undefined) {
    if (hashCache.size >= HASH_CACHE_MAX_ENTRIES) hashCache.clear();
    digest = sha256Hex(out.subarray(0, o)).slice(0, JA4_HASH_CHARS);
    hashCache.set(key, digest);
  }
  return digest;
}

function insertionSort(a: Uint16Array, count: number): void {
  for (let i = 1; i < count; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
}

function writeHex4(out: Uint8Array, o: number, v: number): number {
  out[o] = HEX_ASCII[(v >> 12) & 0xf];
  out[o + 1] = HEX_ASCII[(v >> 8) & 0xf];
  out[o + 2] = HEX_ASCII[(v >> 4) & 0xf];
  out[o + 3] = HEX_ASCII[v & 0xf];
  return o + 4;
}

// First and last byte of the first ALPN value; the hex rule when either is not alphanumeric.
function alpnCode(src: Uint8Array, first: number, len: number): string {
  if (first < 0 || len === 0) return '00';
  const a = src[first];
  const b = src[first + len - 1];
  // A GREASE ALPN value (RFC 8701: two equal 0x?A bytes) counts as no ALPN, as in Suricata.
  if (len === 2 && isGrease((a << 8) | b)) return '00';
  if (isAlphanumeric(a) && isAlphanumeric(b)) return String.fromCharCode(a, b);
  return HEX_CHARS[a >> 4] + HEX_CHARS[b & 0xf];
}

function versionCode(v: number): string {
  switch (v) {
    case 0x0304: return '13';
    case 0x0303: return '12';
    case 0x0302: return '11';
    case 0x0301: return '10';
    case 0x0300: return 's3';
    case 0x0002: return 's2';
    case 0xfeff: return 'd1';
    case 0xfefd: return 'd2';
    case 0xfefc: return 'd3';
    default: return '00';
  }
}

function twoDigits(n: number): string {
  if (n > 99) return '99';
  return n < 10 ? '0' + n : String(n);
}

// RFC 8701 GREASE: 0x0A0A, 0x1A1A, ... 0xFAFA.
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && (v >> 8) === (v & 0xff);
}

function isAlphanumeric(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
