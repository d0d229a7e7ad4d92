// Parses a TLS ClientHello from the bytes a client has sent so far (peeked, not consumed): SNI,
// ALPN, supported_versions and the JA4 fingerprint. It is a pure function of those bytes, so the
// acceptor calls it again as more arrive. Runs on the accept thread for every TLS connection:
// index reads only, no per-byte allocation, and it never throws on hostile input.
import { buildJa4, isGrease } from './ja4.js';

/**
 * Verdict on the bytes seen so far.
 * - `incomplete`: `needBytes` is a lower bound on the total buffer length needed; it is exact when
 *   the rest of the hello arrives inside the record that is already open.
 * - `hello`: `serverName` is the lowercased host_name without its trailing dot, or null when the
 *   client sent no SNI or sent an IP literal as SNI (RFC 6066 forbids it; the caller treats both as
 *   "no SNI"). `alpn` is the protocol list as sent (latin1 strings). `tlsVersions` is the
 *   supported_versions list without GREASE, or `[legacy_version]` when that extension is absent.
 *   `helloBytes` counts the raw bytes of the records that carry the hello, headers included; bytes
 *   after it (a ChangeCipherSpec, early data) are not looked at.
 * - `not_tls`: the stream is not a TLS handshake (plain HTTP, SSLv2, another record type first,
 *   another handshake message first).
 * - `malformed`: it starts like a TLS handshake but lengths, framing or extensions are invalid, or
 *   the hello is larger than the cap.
 */
export type HelloResult =
  | { kind: 'incomplete'; needBytes: number }
  | { kind: 'hello'; serverName: string | null; alpn: string[]; tlsVersions: number[]; ja4: string; helloBytes: number }
  | { kind: 'not_tls'; reason: string }
  | { kind: 'malformed'; reason: string };

/** Cap on the reassembled handshake message (4-byte header included); bigger is `malformed`. */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

const RECORD_HEADER_BYTES = 5;
const RECORD_MAX_PAYLOAD = 1 << 14;
const CONTENT_TYPE_HANDSHAKE = 0x16;
const HANDSHAKE_HEADER_BYTES = 4;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const RANDOM_BYTES = 32;
const MAX_SESSION_ID_BYTES = 32;
const MAX_HOST_NAME_BYTES = 255;
const EXT_SERVER_NAME = 0x0000;
const EXT_SIGNATURE_ALGORITHMS = 0x000d;
const EXT_ALPN = 0x0010;
const EXT_SUPPORTED_VERSIONS = 0x002b;
const SNI_HOST_NAME = 0;

const CH_DOT = 0x2e;
const CH_COLON = 0x3a;

// Per-byte class for host_name validation.
const HOST_BAD = 0;
const HOST_LOWER = 1; // a-z
const HOST_DIGIT = 2;
const HOST_UPPER = 3;
const HOST_DOT = 4;
const HOST_OTHER = 5; // - _ *
const HOST_CLASS = buildHostClass();

// Scratch space reused across calls. Safe because the parser is synchronous and never re-enters.
// Extension types are capped at 16383 per hello (2-byte block length / 4-byte minimum each).
const extTypes = new Uint16Array(1 << 14);
// Stamp per extension type: equal to the current call's stamp means "already seen" (duplicate).
const extSeen = new Uint32Array(1 << 16);
let extStamp = 0;

/** Parses the ClientHello at the start of `buf`; never throws. */
export function parseClientHello(buf: Uint8Array, maxBytes: number = MAX_CLIENT_HELLO_BYTES): HelloResult {
  const cap = maxBytes > 0 && maxBytes <= 0xffffff + HANDSHAKE_HEADER_BYTES ? maxBytes : MAX_CLIENT_HELLO_BYTES;
  try {
    return parseRecords(buf, cap);
  } catch (err) {
    // Unreachable by design; kept so hostile bytes can never take the accept thread down.
    return malformed(`parser error: ${(err as Error).message}`);
  }
}

// Walks the handshake records, reassembling the hello when it spans several.
function parseRecords(buf: Uint8Array, cap: number): HelloResult {
  const len = buf.length;
  if (len === 0) return { kind: 'incomplete', needBytes: 1 };
  if (buf[0] !== CONTENT_TYPE_HANDSHAKE) return notTls(describeFirstByte(buf[0]));

  let pos = 0;
  let gathered = 0; // handshake message bytes seen so far, header included
  let msgLen = -1; // whole handshake message length, once its header has been seen
  let bodyLen = 0;
  let records = 0;
  for (;;) {
    if (pos + RECORD_HEADER_BYTES > len) {
      const bad = checkPartialRecordHeader(buf, pos, len);
      if (bad !== null) return bad;
      const missing = msgLen >= 0 ? msgLen - gathered : HANDSHAKE_HEADER_BYTES - gathered;
      return { kind: 'incomplete', needBytes: pos + RECORD_HEADER_BYTES + missing };
    }
    if (buf[pos] !== CONTENT_TYPE_HANDSHAKE) return malformed(`record type ${buf[pos]} inside the ClientHello`);
    if (!isRecordVersion(buf[pos + 1], buf[pos + 2])) {
      return pos === 0 ? notTls('unknown record version') : malformed('unknown record version');
    }
    const recLen = (buf[pos + 3] << 8) | buf[pos + 4];
    if (recLen === 0) return malformed('empty handshake record');
    if (recLen > RECORD_MAX_PAYLOAD) return malformed('record longer than 2^14 bytes');

    const payloadStart = pos + RECORD_HEADER_BYTES;
    const payloadEnd = payloadStart + recLen;
    const avail = payloadEnd < len ? payloadEnd : len;
    const gatheredBefore = gathered;
    // The 4-byte handshake header may itself be split across records.
    let i = payloadStart;
    while (gathered < HANDSHAKE_HEADER_BYTES && i < avail) {
      const b = buf[i++];
      if (gathered === 0) {
        if (b !== HANDSHAKE_CLIENT_HELLO) return notTls(`handshake message type ${b} is not ClientHello`);
      } else {
        bodyLen = (bodyLen << 8) | b;
      }
      gathered++;
      if (gathered === HANDSHAKE_HEADER_BYTES) {
        msgLen = HANDSHAKE_HEADER_BYTES + bodyLen;
        if (msgLen > cap) return malformed(`ClientHello of ${msgLen} bytes is over the ${cap}-byte limit`);
      }
    }
    gathered += avail - i;
    // A client sends nothing else in these records, so the hello must end on a record boundary.
    if (msgLen >= 0 && gatheredBefore + recLen > msgLen) return malformed('handshake record runs past the ClientHello');
    if (avail < payloadEnd) {
      const inRecord = payloadEnd - len;
      const missing = msgLen >= 0 ? msgLen - gathered : HANDSHAKE_HEADER_BYTES - gathered;
      const needBytes = missing > inRecord ? payloadEnd + RECORD_HEADER_BYTES + (missing - inRecord) : payloadEnd;
      return { kind: 'incomplete', needBytes };
    }
    records++;
    pos = payloadEnd;
    if (gathered === msgLen) break;
  }

  if (records === 1) {
    return parseBody(buf, RECORD_HEADER_BYTES + HANDSHAKE_HEADER_BYTES, RECORD_HEADER_BYTES + msgLen, pos);
  }
  // Several records: copy the fragments into one message (one allocation per hello). A Buffer, so
  // parseBody's reads stay monomorphic with the Buffers the acceptor passes; every byte is overwritten.
  const msg = Buffer.allocUnsafe(msgLen);
  let out = 0;
  for (let p = 0; p < pos;) {
    const recLen = (buf[p + 3] << 8) | buf[p + 4];
    msg.set(buf.subarray(p + RECORD_HEADER_BYTES, p + RECORD_HEADER_BYTES + recLen), out);
    out += recLen;
    p += RECORD_HEADER_BYTES + recLen;
  }
  return parseBody(msg, HANDSHAKE_HEADER_BYTES, msgLen, pos);
}

// Rejects early on what is visible of a record header that has not fully arrived.
function checkPartialRecordHeader(buf: Uint8Array, pos: number, len: number): HelloResult | null {
  if (pos < len && buf[pos] !== CONTENT_TYPE_HANDSHAKE) {
    return malformed(`record type ${buf[pos]} inside the ClientHello`);
  }
  const major = pos + 1 < len ? buf[pos + 1] : 3;
  const minor = pos + 2 < len ? buf[pos + 2] : 1;
  if (!isRecordVersion(major, minor)) return pos === 0 ? notTls('unknown record version') : malformed('unknown record version');
  return null;
}

// Record versions TLS 1.0 to 1.3 (0x0301..0x0304); the record layer of every TLS client uses one of these.
function isRecordVersion(major: number, minor: number): boolean {
  return major === 3 && minor >= 1 && minor <= 4;
}

// Parses the ClientHello body in src[start, end); helloBytes is only passed through to the result.
function parseBody(src: Uint8Array, start: number, end: number, helloBytes: number): HelloResult {
  let p = start;
  if (end - p < 2 + RANDOM_BYTES + 1) return malformed('ClientHello too short');
  if (src[p] !== 3) return malformed('legacy_version is not 3.x');
  const legacyVersion = (src[p] << 8) | src[p + 1];
  p += 2 + RANDOM_BYTES;
  const sessionIdLen = src[p++];
  if (sessionIdLen > MAX_SESSION_ID_BYTES) return malformed('session id longer than 32 bytes');
  p += sessionIdLen;
  if (p + 2 > end) return malformed('truncated cipher_suites');
  const cipherLen = (src[p] << 8) | src[p + 1];
  p += 2;
  if (cipherLen < 2 || (cipherLen & 1) !== 0) return malformed('bad cipher_suites length');
  if (p + cipherLen > end) return malformed('truncated cipher_suites');
  const cipherStart = p;
  p += cipherLen;
  if (p >= end) return malformed('truncated compression_methods');
  const compressionLen = src[p++];
  if (compressionLen < 1) return malformed('empty compression_methods');
  if (p + compressionLen > end) return malformed('truncated compression_methods');
  p += compressionLen;

  // Extensions: absent is allowed (old clients); otherwise the block must fill the message exactly.
  let extCount = 0;
  let sniStart = -1;
  let sniEnd = -1;
  let alpnStart = -1;
  let alpnEnd = -1;
  let versionsStart = -1;
  let versionsEnd = -1;
  let sigStart = -1;
  let sigEnd = -1;
  if (p !== end) {
    if (p + 2 > end) return malformed('truncated extensions length');
    const extBlockLen = (src[p] << 8) | src[p + 1];
    p += 2;
    if (p + extBlockLen !== end) return malformed('extensions length does not match the ClientHello length');
    extStamp = (extStamp + 1) >>> 0;
    if (extStamp === 0) {
      extSeen.fill(0);
      extStamp = 1;
    }
    while (p < end) {
      if (p + 4 > end) return malformed('truncated extension header');
      const type = (src[p] << 8) | src[p + 1];
      const extLen = (src[p + 2] << 8) | src[p + 3];
      p += 4;
      if (p + extLen > end) return malformed(`extension ${type} runs past the ClientHello`);
      if (extSeen[type] === extStamp) return malformed(`duplicate extension ${type}`);
      extSeen[type] = extStamp;
      extTypes[extCount++] = type;
      switch (type) {
        case EXT_SERVER_NAME: sniStart = p; sniEnd = p + extLen; break;
        case EXT_ALPN: alpnStart = p; alpnEnd = p + extLen; break;
        case EXT_SUPPORTED_VERSIONS: versionsStart = p; versionsEnd = p + extLen; break;
        case EXT_SIGNATURE_ALGORITHMS: sigStart = p; sigEnd = p + extLen; break;
        default: break;
      }
      p += extLen;
    }
  }

  // server_name: a list of (type, name); only host_name exists, and at most one of it (RFC 6066).
  let serverName: string | null = null;
  if (sniStart >= 0) {
    if (sniEnd - sniStart < 3 || ((src[sniStart] << 8) | src[sniStart + 1]) !== sniEnd - sniStart - 2) {
      return malformed('bad server_name list length');
    }
    let hostStart = -1;
    let hostEnd = -1;
    for (let q = sniStart + 2; q < sniEnd;) {
      if (q + 3 > sniEnd) return malformed('truncated server_name entry');
      const nameType = src[q];
      const nameLen = (src[q + 1] << 8) | src[q + 2];
      q += 3;
      if (q + nameLen > sniEnd) return malformed('truncated server_name entry');
      if (nameType === SNI_HOST_NAME) {
        if (hostStart >= 0) return malformed('more than one host_name');
        hostStart = q;
        hostEnd = q + nameLen;
      }
      q += nameLen;
    }
    if (hostStart >= 0) {
      const name = readHostName(src, hostStart, hostEnd);
      if (name === undefined) return malformed('invalid host_name in server_name');
      serverName = name;
    }
  }

  // ALPN: ProtocolNameList<2..2^16-1> of ProtocolName<1..2^8-1>.
  const alpn: string[] = [];
  let alpnFirst = -1;
  let alpnFirstLen = 0;
  if (alpnStart >= 0) {
    if (alpnEnd - alpnStart < 3 || ((src[alpnStart] << 8) | src[alpnStart + 1]) !== alpnEnd - alpnStart - 2) {
      return malformed('bad ALPN list length');
    }
    for (let q = alpnStart + 2; q < alpnEnd;) {
      const protoLen = src[q++];
      if (protoLen === 0) return malformed('empty ALPN protocol name');
      if (q + protoLen > alpnEnd) return malformed('truncated ALPN protocol name');
      if (alpnFirst < 0) {
        alpnFirst = q;
        alpnFirstLen = protoLen;
      }
      alpn.push(latin1(src, q, q + protoLen));
      q += protoLen;
    }
  }

  // supported_versions (ClientHello form): ProtocolVersion versions<2..254>.
  const tlsVersions: number[] = [];
  let highestVersion = -1;
  if (versionsStart >= 0) {
    const listLen = versionsEnd - versionsStart - 1;
    if (listLen < 2 || (listLen & 1) !== 0 || src[versionsStart] !== listLen) return malformed('bad supported_versions length');
    for (let q = versionsStart + 1; q < versionsEnd; q += 2) {
      const v = (src[q] << 8) | src[q + 1];
      if (isGrease(v)) continue;
      tlsVersions.push(v);
      if (v > highestVersion) highestVersion = v;
    }
  } else {
    tlsVersions.push(legacyVersion);
  }

  if (sigStart >= 0) {
    const listLen = sigEnd - sigStart - 2;
    if (listLen < 2 || (listLen & 1) !== 0 || ((src[sigStart] << 8) | src[sigStart + 1]) !== listLen) {
      return malformed('bad signature_algorithms length');
    }
  }

  const ja4 = buildJa4(
    src, cipherStart, cipherStart + cipherLen, extTypes, extCount, sniStart >= 0,
    highestVersion >= 0 ? highestVersion : legacyVersion, alpnFirst, alpnFirstLen,
    sigStart >= 0 ? sigStart + 2 : -1, sigEnd,
  );
  return { kind: 'hello', serverName, alpn, tlsVersions, ja4, helloBytes };
}

// Validates and lowercases a host_name; undefined = invalid, null = an IP literal (not a name).
function readHostName(src: Uint8Array, start: number, end: number): string | null | undefined {
  if (end > start && src[end - 1] === CH_DOT) end--; // one trailing dot is the absolute form
  const n = end - start;
  if (n === 0 || n > MAX_HOST_NAME_BYTES) return undefined;
  if (looksLikeIpv6(src, start, end)) return null;
  let upper = false;
  let labelStart = start;
  let lastLabelNumeric = true;
  for (let i = start; i < end; i++) {
    const cls = HOST_CLASS[src[i]];
    if (cls === HOST_BAD) return undefined;
    if (cls === HOST_DOT) {
      if (i === labelStart) return undefined; // empty label
      labelStart = i + 1;
      lastLabelNumeric = true;
      continue;
    }
    if (cls === HOST_UPPER) upper = true;
    if (cls !== HOST_DIGIT) lastLabelNumeric = false;
  }
  if (labelStart === end) return undefined; // ended with an empty label ("a..")
  // A numeric last label means an IPv4 literal (the WHATWG URL host rule); never a DNS name.
  if (lastLabelNumeric) return null;
  const name = latin1(src, start, end);
  return upper ? name.toLowerCase() : name;
}

// Hex digits, ':' and '.' with at least one ':' (e.g. "::1", "fe80::1", "::ffff:1.2.3.4").
function looksLikeIpv6(src: Uint8Array, start: number, end: number): boolean {
  let colon = false;
  for (let i = start; i < end; i++) {
    const c = src[i];
    if (c === CH_COLON) colon = true;
    else if (c !== CH_DOT && hexValue(c) < 0) return false;
  }
  return colon;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function latin1(src: Uint8Array, start: number, end: number): string {
  const b = Buffer.isBuffer(src) ? src : Buffer.from(src.buffer, src.byteOffset, src.byteLength);
  return b.toString('latin1', start, end);
}

function describeFirstByte(b: number): string {
  if (b & 0x80) return 'SSLv2-style record header';
  if (b >= 0x41 && b <= 0x5a) return 'plaintext (looks like an HTTP request)';
  if (b >= 0x14 && b <= 0x18) return `record type ${b} is not a handshake`;
  return `first byte 0x${b.toString(16).padStart(2, '0')} is not a TLS record`;
}

function buildHostClass(): Uint8Array {
  const cls = new Uint8Array(256);
  for (let c = 0x61; c <= 0x7a; c++) cls[c] = HOST_LOWER;
  for (let c = 0x41; c <= 0x5a; c++) cls[c] = HOST_UPPER;
  for (let c = 0x30; c <= 0x39; c++) cls[c] = HOST_DIGIT;
  cls[CH_DOT] = HOST_DOT;
  cls[0x2d] = HOST_OTHER; // '-'
  cls[0x5f] = HOST_OTHER; // '_'
  cls[0x2a] = HOST_OTHER; // '*'
  return cls;
}

function notTls(reason: string): HelloResult {
  return { kind: 'not_tls', reason };
}

function malformed(reason: string): HelloResult {
  return { kind: 'malformed', reason };
}
