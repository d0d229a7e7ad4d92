// Hostname → value table in one SharedArrayBuffer (layout in ./layout.ts). Built once per generation
// on the main thread, read in place by the main thread (after the SNI peek) and by every worker.
// Immutable once built, so lookups take no locks.
import {
  HOST_HASH_PRIME,
  HOST_HASH_SEED,
  HOST_HDR_ENTRY_COUNT,
  HOST_HDR_MAGIC,
  HOST_HDR_POOL_LENGTH,
  HOST_HDR_POOL_OFFSET,
  HOST_HDR_SLOT_COUNT,
  HOST_HDR_SLOTS_OFFSET,
  HOST_HDR_VERSION,
  HOST_HDR_WILDCARD_COUNT,
  HOST_HEADER_WORDS,
  HOST_KEY_LENGTH_SHIFT,
  HOST_KEY_WILDCARD,
  HOST_MAX_LOAD,
  HOST_MAX_NAME_LENGTH,
  HOST_MAX_PORT,
  HOST_MIN_SLOTS,
  HOST_SLOT_HASH,
  HOST_SLOT_KEY,
  HOST_SLOT_NAME_OFFSET,
  HOST_SLOT_VALUE,
  HOST_SLOT_WORDS,
  HOST_TABLE_MAGIC,
  HOST_TABLE_VERSION,
  HOST_WILDCARD_SALT,
} from './layout.js';

/** One hostname route: `name` is lowercase ASCII (punycode already), optionally `*.base`; `value` is the caller's uint32 index. */
export interface HostEntry {
  port: number;
  name: string;
  value: number;
}

// Labels of letters, digits, '-' and '_'; '*' only as the whole first label (spec §1.3).
const HOST_NAME_PATTERN = /^(?:\*\.)?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
const CHAR_DOT = 46;
const CHAR_UPPER_A = 65;

// Scratch for lookup(): suffix hashes and starts, filled right to left. Module-level so a lookup
// allocates nothing; lookups are synchronous, so one per thread is enough.
const suffixHash = new Int32Array(HOST_MAX_NAME_LENGTH + 1);
const suffixStart = new Int32Array(HOST_MAX_NAME_LENGTH + 1);

function finishHash(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function seedHash(port: number): number {
  return Math.imul(HOST_HASH_SEED ^ port, HOST_HASH_PRIME);
}

// Right to left, as lookup() walks, so both sides agree on every suffix's hash.
function hashName(port: number, name: string, start: number): number {
  let h = seedHash(port);
  for (let i = name.length - 1; i >= start; i--) h = Math.imul(h ^ name.charCodeAt(i), HOST_HASH_PRIME);
  return h;
}

function nextPowerOfTwo(n: number): number {
  let p = HOST_MIN_SLOTS;
  while (p < n) p *= 2;
  return p;
}

function checkEntry(entry: HostEntry, index: number): void {
  const { port, name, value } = entry ?? ({} as HostEntry);
  if (!Number.isInteger(port) || port < 0 || port > HOST_MAX_PORT) {
    throw new Error(`host entry ${index}: port must be an integer 0..${HOST_MAX_PORT}, got ${String(port)}`);
  }
  if (typeof name !== 'string' || name.length > HOST_MAX_NAME_LENGTH || !HOST_NAME_PATTERN.test(name)) {
    throw new Error(`host entry ${index}: invalid hostname ${JSON.stringify(name)}`);
  }
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Error(`host entry ${index} (${name}): value must be a uint32, got ${String(value)}`);
  }
}

/** Compiles entries into a new table buffer; throws on an invalid entry or a duplicate (port, name). */
export function buildHostTable(entries: readonly HostEntry[]): SharedArrayBuffer {
  let poolLength = 0;
  let wildcardCount = 0;
  const names: string[] = new Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    checkEntry(entries[i], i);
    const name = entries[i].name.toLowerCase(); // pattern above is ASCII-only, so this stays ASCII
    names[i] = name;
    const wildcard = name.charCodeAt(0) === 42;
    if (wildcard) wildcardCount++;
    poolLength += wildcard ? name.length - 2 : name.length;
  }

  const slotCount = nextPowerOfTwo(Math.ceil(entries.length / HOST_MAX_LOAD));
  const slotsOffset = HOST_HEADER_WORDS * 4;
  const poolOffset = slotsOffset + slotCount * HOST_SLOT_WORDS * 4;
  const buf = new SharedArrayBuffer(poolOffset + poolLength);
  const words = new Int32Array(buf, 0, poolOffset / 4);
  const values = new Uint32Array(buf, 0, poolOffset / 4);
  const pool = new Uint8Array(buf, poolOffset, poolLength);

  words[HOST_HDR_MAGIC] = HOST_TABLE_MAGIC;
  words[HOST_HDR_VERSION] = HOST_TABLE_VERSION;
  words[HOST_HDR_ENTRY_COUNT] = entries.length;
  words[HOST_HDR_WILDCARD_COUNT] = wildcardCount;
  words[HOST_HDR_SLOT_COUNT] = slotCount;
  words[HOST_HDR_SLOTS_OFFSET] = slotsOffset;
  words[HOST_HDR_POOL_OFFSET] = poolOffset;
  words[HOST_HDR_POOL_LENGTH] = poolLength;

  const mask = slotCount - 1;
  const slotBase = HOST_HEADER_WORDS;
  let poolPos = 0;
  for (let i = 0; i < entries.length; i++) {
    const { port, value } = entries[i];
    const name = names[i];
    const wildcard = name.charCodeAt(0) === 42;
    const start = wildcard ? 2 : 0;
    const length = name.length - start;
    const raw = hashName(port, name, start);
    const hash = finishHash(wildcard ? raw ^ HOST_WILDCARD_SALT : raw);
    const key = port | (length << HOST_KEY_LENGTH_SHIFT) | (wildcard ? HOST_KEY_WILDCARD : 0);

    let slot = hash & mask;
    for (;;) {
      const at = slotBase + slot * HOST_SLOT_WORDS;
      if (words[at + HOST_SLOT_KEY] === 0) {
        for (let j = 0; j < length; j++) pool[poolPos + j] = name.charCodeAt(start + j);
        words[at + HOST_SLOT_HASH] = hash;
        words[at + HOST_SLOT_NAME_OFFSET] = poolPos;
        words[at + HOST_SLOT_KEY] = key;
        values[at + HOST_SLOT_VALUE] = value;
        poolPos += length;
        break;
      }
      if (
        words[at + HOST_SLOT_HASH] === hash &&
        words[at + HOST_SLOT_KEY] === key &&
        poolEquals(pool, words[at + HOST_SLOT_NAME_OFFSET], name, start, length)
      ) {
        throw new Error(`duplicate host entry: port ${port} name ${name}`);
      }
      slot = (slot + 1) & mask;
    }
  }
  return buf;
}

// Case-insensitive: the pool is lowercase, the name may not be.
function poolEquals(pool: Uint8Array, offset: number, name: string, start: number, length: number): boolean {
  for (let j = 0; j < length; j++) {
    let c = name.charCodeAt(start + j);
    if (c - CHAR_UPPER_A < 26 && c >= CHAR_UPPER_A) c |= 0x20;
    if (pool[offset + j] !== c) return false;
  }
  return true;
}

/** Reader over a buffer from buildHostTable; safe to construct in any thread that received the buffer. */
export class HostTable {
  readonly entryCount: number;
  readonly byteLength: number;
  private readonly words: Int32Array;
  private readonly values: Uint32Array;
  private readonly pool: Uint8Array;
  private readonly mask: number;
  private readonly hasWildcards: boolean;

  constructor(buf: SharedArrayBuffer) {
    if (!(buf instanceof SharedArrayBuffer) || buf.byteLength < HOST_HEADER_WORDS * 4) {
      throw new Error('host table: not a host table buffer');
    }
    const header = new Int32Array(buf, 0, HOST_HEADER_WORDS);
    if (header[HOST_HDR_MAGIC] !== HOST_TABLE_MAGIC || header[HOST_HDR_VERSION] !== HOST_TABLE_VERSION) {
      throw new Error('host table: bad magic or version');
    }
    const slotCount = header[HOST_HDR_SLOT_COUNT];
    const slotsOffset = header[HOST_HDR_SLOTS_OFFSET];
    const poolOffset = header[HOST_HDR_POOL_OFFSET];
    const poolLength = header[HOST_HDR_POOL_LENGTH];
    if (
      slotCount < HOST_MIN_SLOTS ||
      (slotCount & (slotCount - 1)) !== 0 ||
      slotsOffset !== HOST_HEADER_WORDS * 4 ||
      poolOffset !== slotsOffset + slotCount * HOST_SLOT_WORDS * 4 ||
      poolLength < 0 ||
      poolOffset + poolLength !== buf.byteLength
    ) {
      throw new Error('host table: inconsistent header');
    }
    this.words = new Int32Array(buf, 0, poolOffset / 4);
    this.values = new Uint32Array(buf, 0, poolOffset / 4);
    this.pool = new Uint8Array(buf, poolOffset, poolLength);
    this.mask = slotCount - 1;
    this.entryCount = header[HOST_HDR_ENTRY_COUNT];
    this.hasWildcards = header[HOST_HDR_WILDCARD_COUNT] > 0;
    this.byteLength = buf.byteLength;
  }

  /**
   * Exact (port, name) first; otherwise the longest matching wildcard ('*.example.test' matches
   * 'a.example.test' and 'a.b.example.test', never 'example.test'; '*.b.example.test' beats it for
   * 'x.b.example.test'). ASCII case-insensitive. Returns the entry's value, or -1.
   */
  lookup(port: number, name: string): number {
    const n = name.length;
    if (n === 0 || n > HOST_MAX_NAME_LENGTH || port !== (port & HOST_MAX_PORT)) return -1;

    // One pass, right to left: the hash of every suffix that follows a dot, plus the whole name, so the
    // wildcard walk costs a probe per label and no rehash (bench/micro/host-lookup: ~450 ns median over
    // 110k names on the 2-core dev VM, most of it cache misses on slot, pool and the name string).
    let h = seedHash(port);
    let dots = 0;
    let labelEnd = n; // a wildcard must not stand in for an empty label ('.a.test', 'x..a.test')
    let emptyLabel = false;
    for (let i = n - 1; i >= 0; i--) {
      let c = name.charCodeAt(i);
      if (c === CHAR_DOT) {
        if (i + 1 === labelEnd) emptyLabel = true;
        suffixHash[dots] = h;
        suffixStart[dots] = i + 1;
        dots++;
        labelEnd = i;
      } else if (c - CHAR_UPPER_A < 26 && c >= CHAR_UPPER_A) {
        c |= 0x20;
      }
      h = Math.imul(h ^ c, HOST_HASH_PRIME);
    }
    if (labelEnd === 0) emptyLabel = true;

    const exact = this.probe(finishHash(h), port | (n << HOST_KEY_LENGTH_SHIFT), name, 0, n);
    if (exact !== -1 || !this.hasWildcards || emptyLabel) return exact;

    // Leftmost dot first: the longest suffix is the most specific wildcard.
    for (let k = dots - 1; k >= 0; k--) {
      const start = suffixStart[k];
      const length = n - start;
      const key = port | (length << HOST_KEY_LENGTH_SHIFT) | HOST_KEY_WILDCARD;
      const found = this.probe(finishHash(suffixHash[k] ^ HOST_WILDCARD_SALT), key, name, start, length);
      if (found !== -1) return found;
    }
    return -1;
  }

  private probe(hash: number, key: number, name: string, start: number, length: number): number {
    const words = this.words;
    const mask = this.mask;
    let slot = hash & mask;
    for (;;) {
      const at = HOST_HEADER_WORDS + slot * HOST_SLOT_WORDS;
      const slotKey = words[at + HOST_SLOT_KEY];
      if (slotKey === 0) return -1;
      if (
        slotKey === key &&
        words[at + HOST_SLOT_HASH] === hash &&
        poolEquals(this.pool, words[at + HOST_SLOT_NAME_OFFSET], name, start, length)
      ) {
        return this.values[at + HOST_SLOT_VALUE];
      }
      slot = (slot + 1) & mask;
    }
  }
}
