// IP address and CIDR text → 32-bit words (IPv4: one word; IPv6: four big-endian words).
// Parsing never throws and, through parseIpInto, never allocates: it runs once per connection.

const CHAR_DOT = 46;
const CHAR_COLON = 58;
const CHAR_0 = 48;
const CHAR_9 = 57;

// IPv6 groups while parsing; module-level so parseIpInto allocates nothing (parsing is synchronous).
const groups = new Uint16Array(8);

function hexDigit(c: number): number {
  if (c >= CHAR_0 && c <= CHAR_9) return c - CHAR_0;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

// Dotted quad in text[start, end): decimal 0..255 without leading zeros (they read as octal elsewhere).
// Returns the address as a uint32, or -1.
function parseIpv4Range(text: string, start: number, end: number): number {
  let address = 0;
  let parts = 0;
  let i = start;
  while (parts < 4) {
    const partStart = i;
    let part = 0;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < CHAR_0 || c > CHAR_9) break;
      part = part * 10 + (c - CHAR_0);
      i++;
      if (part > 255) return -1;
    }
    const digits = i - partStart;
    if (digits === 0 || (digits > 1 && text.charCodeAt(partStart) === CHAR_0)) return -1;
    address = address * 256 + part;
    parts++;
    if (parts < 4) {
      if (i >= end || text.charCodeAt(i) !== CHAR_DOT) return -1;
      i++;
    }
  }
  return i === end ? address : -1;
}

// IPv6 in text[0, end), '::' and a trailing dotted quad allowed; zone ids ('%eth0') refused.
function parseIpv6Range(text: string, end: number, out: Uint32Array): boolean {
  let count = 0;
  let gap = -1;
  let i = 0;
  if (end >= 2 && text.charCodeAt(0) === CHAR_COLON) {
    if (text.charCodeAt(1) !== CHAR_COLON) return false;
    gap = 0;
    i = 2;
  }
  while (i < end) {
    if (count === 8) return false;
    const groupStart = i;
    let group = 0;
    while (i < end && i - groupStart < 4) {
      const d = hexDigit(text.charCodeAt(i));
      if (d < 0) break;
      group = group * 16 + d;
      i++;
    }
    if (i < end && text.charCodeAt(i) === CHAR_DOT) {
      if (count > 6) return false;
      const v4 = parseIpv4Range(text, groupStart, end);
      if (v4 < 0) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (i === groupStart) return false;
    groups[count++] = group;
    if (i === end) break;
    if (text.charCodeAt(i) !== CHAR_COLON) return false;
    i++;
    if (i < end && text.charCodeAt(i) === CHAR_COLON) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === end) {
      return false; // a single trailing ':'
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;

  const zeros = 8 - count;
  for (let w = 0; w < 4; w++) {
    const hi = groupAt(2 * w, gap, zeros);
    const lo = groupAt(2 * w + 1, gap, zeros);
    out[w] = hi * 0x10000 + lo;
  }
  return true;
}

// Group k of the full address once the '::' gap (at `gap`, `zeros` groups wide) is filled in.
function groupAt(k: number, gap: number, zeros: number): number {
  if (gap < 0 || k < gap) return groups[k];
  if (k < gap + zeros) return 0;
  return groups[k - zeros];
}

function isIpv4Mapped(words: Uint32Array): boolean {
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff;
}

/**
 * Parses `text[0, end)` into `out` (length ≥ 4) without allocating. Returns the family, or 0 when the
 * text is not an address. IPv4-mapped IPv6 ('::ffff:1.2.3.4') comes back as family 4 in out[0].
 */
export function parseIpInto(text: string, out: Uint32Array, end: number = text.length): 0 | 4 | 6 {
  if (end < 2 || end > 45) return 0; // 45: the longest IPv6 text with an embedded IPv4
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === CHAR_COLON) {
      if (!parseIpv6Range(text, end, out)) return 0;
      if (!isIpv4Mapped(out)) return 6;
      out[0] = out[3];
      return 4;
    }
    if (c === CHAR_DOT) break;
  }
  const v4 = parseIpv4Range(text, 0, end);
  if (v4 < 0) return 0;
  out[0] = v4;
  return 4;
}

/** IPv4 dotted or IPv6 text → words; null when the text is not an address (zone ids refused). */
export function parseIp(text: string): { family: 4 | 6; words: Uint32Array } | null {
  if (typeof text !== 'string') return null;
  const words = new Uint32Array(4);
  const family = parseIpInto(text, words);
  if (family === 0) return null;
  return { family, words: family === 4 ? words.slice(0, 1) : words };
}

/** Network mask word `w` (0-based) for a prefix length. */
export function maskWord(prefix: number, w: number): number {
  const bits = prefix - w * 32;
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

/** Canonical text of an address: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run as '::'). */
export function formatIp(family: 4 | 6, words: Uint32Array): string {
  if (family === 4) {
    const a = words[0];
    return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
  }
  const parts: number[] = [];
  for (let w = 0; w < 4; w++) parts.push(words[w] >>> 16, words[w] & 0xffff);
  let bestStart = -1;
  let bestLength = 1; // RFC 5952: never compress a single zero group
  for (let i = 0; i < 8; ) {
    if (parts[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => parts.slice(from, to).map((p) => p.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

export type ParsedCidr = { family: 4 | 6; words: Uint32Array; prefix: number };
export type CidrError = { error: string; code?: 1409 | 1413 };

/**
 * CIDR text → network words and prefix, or an error (never throws). spec §1.6: the mask is mandatory
 * (1413) and the address must be the lowest of its range (1409). A mapped IPv6 range of /96 or longer
 * becomes the IPv4 range, to match parseIp's mapped addresses.
 */
export function parseCidr(text: string): ParsedCidr | CidrError {
  if (typeof text !== 'string') return { error: 'CIDR must be a string' };
  const slash = text.indexOf('/');
  if (slash < 0) {
    return { error: 'CIDR must include a mask, use /32 or /128 for a single host', code: 1413 };
  }
  const words = new Uint32Array(4);
  let family: 4 | 6 | 0 = parseIpInto(text, words, slash);
  if (family === 0) return { error: `invalid IP address '${text.slice(0, slash)}' in CIDR '${text}'` };
  const mapped = family === 4 && text.lastIndexOf(':', slash) >= 0;
  const prefixText = text.slice(slash + 1);
  const maxPrefix = family === 4 && !mapped ? 32 : 128;
  if (!/^(?:0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > maxPrefix) {
    return { error: `invalid prefix length '${prefixText}' in CIDR '${text}', must be 0..${maxPrefix}` };
  }
  let prefix = Number(prefixText);
  if (mapped) {
    if (prefix >= 96) {
      prefix -= 96;
    } else {
      family = 6; // wider than the mapped block: keep it as the IPv6 range it is
      words[3] = words[0];
      words[0] = 0;
      words[1] = 0;
      words[2] = 0xffff;
    }
  }
  const wordCount = family === 4 ? 1 : 4;
  let lowest = true;
  const network = new Uint32Array(wordCount);
  for (let w = 0; w < wordCount; w++) {
    network[w] = (words[w] & maskWord(prefix, w)) >>> 0;
    if (network[w] !== words[w]) lowest = false;
  }
  if (!lowest) {
    const suggestion = `${formatIp(family, network)}/${mapped && family === 4 ? prefix + 96 : prefix}`;
    const shown = mapped && family === 4 ? `::ffff:${suggestion}` : suggestion;
    return {
      error: `CIDR '${text}' is not the lowest address in its range, did you mean ${shown}?`,
      code: 1409,
    };
  }
  return { family, words: network, prefix };
}
