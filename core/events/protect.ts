// Data protection of traffic events (issue 7 point 5), compiled once per destination or subscription:
// client IP de-identification, header redaction, field allow-lists; and the record matcher of the
// deletion API (client IP or user identity).
import { createHmac } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { compileDottedProjection } from './fields.js';
import type { DataProtection } from './model.js';

/** Redacted whatever the configuration says: credentials and session cookies. */
export const ALWAYS_REDACTED_HEADERS = ['Authorization', 'Cookie', 'Set-Cookie', 'Proxy-Authorization'] as const;
export const REDACTED = '[redacted]';

/**
 * Request headers that carry the client's address again: de-identified like conn.client_ip,
 * or the truncated address would leak through them. `Forwarded` has a richer syntax and is
 * redacted whole when IPs are protected.
 */
const CLIENT_IP_HEADERS = ['x-forwarded-for', 'x-real-ip', 'true-client-ip', 'cf-connecting-ip'];

type Obj = Record<string, unknown>;
type Headers = Record<string, string[]>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The eight 16-bit groups of an IPv6 address (already checked by isIPv6), or null. */
function expandIPv6(address: string): number[] | null {
  let text = address.split('%')[0]!.toLowerCase(); // drop a zone id
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (rest === undefined && missing !== 0)) return null;
  return [...left, ...new Array<number>(missing).fill(0), ...right];
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (≥ 2) of zero groups as "::". */
function formatIPv6(groups: number[]): string {
  let bestStart = -1, bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * IPv4 to its /24 ("a.b.c.0"), IPv6 to its /48 ("2001:db8:1::"); an IPv4-mapped IPv6 address is
 * truncated as the IPv4 address it is. Anything else (not an address) becomes '' — fail closed.
 */
export function truncateIp(address: string): string {
  if (address === '') return '';
  if (isIPv4(address)) return address.slice(0, address.lastIndexOf('.')) + '.0';
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (!isIPv6(bare.split('%')[0]!)) return '';
  const groups = expandIPv6(bare);
  if (groups === null) return '';
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) return `::ffff:${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.0`;
  return formatIPv6([groups[0]!, groups[1]!, groups[2]!, 0, 0, 0, 0, 0]);
}

/** Canonical text of an address (for comparisons): IPv6 in RFC 5952 form; others unchanged. */
export function canonicalIp(address: string): string {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (!isIPv6(bare.split('%')[0]!)) return address;
  const groups = expandIPv6(bare);
  return groups === null ? address : formatIPv6(groups);
}

/** Keyed HMAC-SHA256 of the canonical address: "h:" + 16 hex digits, stable for one key. */
export function hashIp(address: string, key: string | Buffer): string {
  if (address === '') return '';
  return 'h:' + createHmac('sha256', key).update(canonicalIp(address)).digest('hex').slice(0, 16);
}

type Step = (object: Obj) => Obj;

/** Copies the objects along `keys` and replaces the value at the end; absent paths are left alone. */
function replaceAt(object: Obj, keys: readonly string[], replace: (value: unknown) => unknown): Obj {
  const [key, ...rest] = keys as [string, ...string[]];
  const value = object[key];
  if (value === undefined) return object;
  if (rest.length === 0) return { ...object, [key]: replace(value) };
  if (!isObject(value)) return object;
  return { ...object, [key]: replaceAt(value, rest, replace) };
}

function ipStep(mode: DataProtection['client_ip'], key: string | Buffer): ((ip: string) => string) | null {
  if (mode === 'truncate') return truncateIp;
  if (mode === 'hash') {
    // An HMAC costs microseconds; clients repeat, so remember recent ones (bounded, reset when full).
    const recent = new Map<string, string>();
    return (ip) => {
      let hashed = recent.get(ip);
      if (hashed === undefined) {
        if (recent.size >= 4096) recent.clear();
        hashed = hashIp(ip, key);
        recent.set(ip, hashed);
      }
      return hashed;
    };
  }
  return null;
}

/** A header map transform: redacted names get ["[redacted]"], client-IP headers get `protectIp`. */
function headerStep(redacted: ReadonlySet<string>, protectIp: ((ip: string) => string) | null): (headers: unknown) => unknown {
  return (headers) => {
    if (!isObject(headers)) return headers;
    const out: Headers = {};
    for (const [name, values] of Object.entries(headers as Headers)) {
      const lower = name.toLowerCase();
      if (redacted.has(lower) || (protectIp !== null && lower === 'forwarded')) out[name] = [REDACTED];
      else if (protectIp !== null && CLIENT_IP_HEADERS.includes(lower)) {
        out[name] = values.map((v) => v.split(',').map((ip) => protectIp(ip.trim())).join(', '));
      } else out[name] = values;
    }
    return out;
  };
}

/**
 * Compiles a data-protection setting into (event object) → protected copy. The input is never
 * mutated; unchanged parts are shared. Order: allow-list first (so redaction also covers what it
 * lets through), then client IP, then headers. `key` keys the IP hash (one per daemon, so hashes
 * stay comparable across destinations but cannot be reversed by trying all IPv4 addresses).
 */
export function compileProtection(protection: DataProtection, key: string | Buffer): (object: object) => Obj {
  const steps: Step[] = [];
  if (protection.allow_fields.length > 0) steps.push(compileDottedProjection(protection.allow_fields));
  const protectIp = ipStep(protection.client_ip, key);
  if (protectIp !== null) {
    steps.push((o) => replaceAt(o, ['conn', 'client_ip'], (v) => (typeof v === 'string' ? protectIp(v) : v)));
  }
  const redacted = new Set([...ALWAYS_REDACTED_HEADERS, ...protection.redact_headers].map((h) => h.toLowerCase()));
  const headers = headerStep(redacted, protectIp);
  steps.push((o) => replaceAt(o, ['http', 'request', 'headers'], headers));
  steps.push((o) => replaceAt(o, ['http', 'response', 'headers'], headers));
  return (object) => {
    let out = object as Obj;
    for (const step of steps) out = step(out);
    return out === object ? { ...out } : out;
  };
}

/** What the deletion API deletes: records of one client IP, or of one user (id or email). */
export interface RecordQuery {
  client_ip?: string;
  user?: string;
}

/**
 * Compiles a deletion query into a record predicate. A record is an envelope (its `object` is used)
 * or a bare event object. It matches:
 * - client_ip: conn.client_ip equal to the address (IPv6 compared canonically), or equal to its
 *   hash under `hashKey` (records stored with client_ip: hash), or the address listed in the
 *   request's X-Forwarded-For / X-Real-Ip / True-Client-Ip / Cf-Connecting-Ip headers.
 *   Truncated addresses do not match: a /24 identifies a network, not a person.
 * - user: oauth.user.id exactly, or oauth.user.name / basic_auth.username / tls.client_cert.subject.cn
 *   case-insensitively (they hold emails or user names). Other headers are not searched: their
 *   values are free text, and credentials in them are always redacted.
 * An empty query matches nothing, so a mistaken call cannot delete everything.
 */
export function compileRecordMatcher(query: RecordQuery, hashKey?: string | Buffer): (record: object) => boolean {
  const ip = query.client_ip?.trim() ? canonicalIp(query.client_ip.trim()) : undefined;
  const ipHash = ip !== undefined && hashKey !== undefined ? hashIp(ip, hashKey) : undefined;
  const user = query.user?.trim() ? query.user.trim() : undefined;
  const userLower = user?.toLowerCase();
  if (ip === undefined && user === undefined) return () => false;
  return (record) => {
    const envelopeObject = (record as Obj).object;
    const event = isObject(envelopeObject) ? envelopeObject : (record as Obj);
    if (ip !== undefined && matchesIp(event, ip, ipHash)) return true;
    if (user !== undefined && matchesUser(event, user, userLower!)) return true;
    return false;
  };
}

/** One-off form of compileRecordMatcher (same rules). */
export function recordMatches(record: object, query: RecordQuery, hashKey?: string | Buffer): boolean {
  return compileRecordMatcher(query, hashKey)(record);
}

function get(object: Obj, ...keys: string[]): unknown {
  let value: unknown = object;
  for (const key of keys) {
    if (!isObject(value)) return undefined;
    value = value[key];
  }
  return value;
}

function matchesIp(event: Obj, ip: string, ipHash: string | undefined): boolean {
  const clientIp = get(event, 'conn', 'client_ip');
  if (typeof clientIp === 'string' && clientIp !== '' && (canonicalIp(clientIp) === ip || clientIp === ipHash)) return true;
  const headers = get(event, 'http', 'request', 'headers');
  if (!isObject(headers)) return false;
  for (const [name, values] of Object.entries(headers)) {
    if (!CLIENT_IP_HEADERS.includes(name.toLowerCase()) || !Array.isArray(values)) continue;
    for (const value of values) {
      for (const item of String(value).split(',')) {
        const candidate = item.trim();
        if (candidate !== '' && (canonicalIp(candidate) === ip || candidate === ipHash)) return true;
      }
    }
  }
  return false;
}

function matchesUser(event: Obj, user: string, userLower: string): boolean {
  if (get(event, 'oauth', 'user', 'id') === user) return true;
  for (const value of [get(event, 'oauth', 'user', 'name'), get(event, 'basic_auth', 'username'), get(event, 'tls', 'client_cert', 'subject', 'cn')]) {
    if (typeof value === 'string' && value.toLowerCase() === userLower) return true;
  }
  return false;
}
