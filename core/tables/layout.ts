/*
 * Byte layout of the shared-memory route tables.
 *
 * The main thread compiles each config generation into one SharedArrayBuffer per table and posts the
 * buffer to the workers, which wrap it in a reader (HostTable, IpTable) and read it in place. A table is
 * immutable once built: a new generation builds new buffers and never writes to old ones, so readers need
 * no locks and no Atomics. All words are 32-bit in platform byte order (every reader runs in the same
 * process as the writer).
 *
 * Host table (core/tables/host-table.ts):
 *
 *   [header: HOST_HEADER_WORDS u32][slots: slotCount × HOST_SLOT_WORDS u32][name pool: bytes]
 *
 *   header  magic, version, entryCount, wildcardCount, slotCount (power of two), slotsOffset, poolOffset,
 *           poolLength (offsets in bytes from the start of the buffer)
 *   slot    hash | pool offset of the name | key | value
 *           key = port | name length << 16 | HOST_KEY_WILDCARD; 0 marks an empty slot (names are never
 *           empty). A wildcard '*.example.test' is stored under its base 'example.test' with the wildcard
 *           bit set, so a lookup walks the name's dots and probes each suffix once.
 *   hash    FNV-1a over port then the name's bytes from LAST to first, so one right-to-left pass over a
 *           looked-up name yields the hash of every suffix; then xor HOST_WILDCARD_SALT for wildcard keys,
 *           then the murmur3 finaliser (FNV's low bits are weak and the slot index uses the low bits).
 *   probing linear; load factor ≤ HOST_MAX_LOAD.
 *   pool    lowercase ASCII name bytes, wildcard bases without the '*.'.
 *
 * IP table (core/tables/ip-table.ts):
 *
 *   [header: IP_HEADER_WORDS u32][policies: policyCount × IP_POLICY_WORDS][rules: ruleCount × IP_RULE_WORDS]
 *   [cidr text pool: bytes]
 *
 *   policy  first global rule index | rule count (rules are stored policy-major, so a policy is a range)
 *   rule    meta (family | prefix << 8 | IP_RULE_DENY) | network words ×4 | mask words ×4 | text offset |
 *           text length | reserved. IPv4 uses word 0 only; IPv6 words are big-endian 32-bit chunks.
 */

export const HOST_TABLE_MAGIC = 0x45504854; // 'EPHT'
export const HOST_TABLE_VERSION = 1;

export const HOST_HEADER_WORDS = 8;
export const HOST_HDR_MAGIC = 0;
export const HOST_HDR_VERSION = 1;
export const HOST_HDR_ENTRY_COUNT = 2;
export const HOST_HDR_WILDCARD_COUNT = 3;
export const HOST_HDR_SLOT_COUNT = 4;
export const HOST_HDR_SLOTS_OFFSET = 5;
export const HOST_HDR_POOL_OFFSET = 6;
export const HOST_HDR_POOL_LENGTH = 7;

export const HOST_SLOT_WORDS = 4;
export const HOST_SLOT_HASH = 0;
export const HOST_SLOT_NAME_OFFSET = 1;
export const HOST_SLOT_KEY = 2;
export const HOST_SLOT_VALUE = 3;

export const HOST_KEY_LENGTH_SHIFT = 16;
export const HOST_KEY_WILDCARD = 1 << 31; // int32: negative, as read back through an Int32Array

export const HOST_HASH_SEED = 0x811c9dc5 | 0; // FNV-1a offset basis
export const HOST_HASH_PRIME = 0x01000193; // FNV-1a prime
export const HOST_WILDCARD_SALT = 0x2a2e0000 | 0; // '*.' so a wildcard and an exact key of one base differ

export const HOST_MAX_LOAD = 0.5;
export const HOST_MIN_SLOTS = 16;
export const HOST_MAX_NAME_LENGTH = 253; // DNS limit; longer names are never looked up
export const HOST_MAX_PORT = 0xffff;

export const IP_TABLE_MAGIC = 0x45504950; // 'EPIP'
export const IP_TABLE_VERSION = 1;

export const IP_HEADER_WORDS = 8;
export const IP_HDR_MAGIC = 0;
export const IP_HDR_VERSION = 1;
export const IP_HDR_POLICY_COUNT = 2;
export const IP_HDR_RULE_COUNT = 3;
export const IP_HDR_POLICIES_OFFSET = 4;
export const IP_HDR_RULES_OFFSET = 5;
export const IP_HDR_TEXT_OFFSET = 6;
export const IP_HDR_TEXT_LENGTH = 7;

export const IP_POLICY_WORDS = 2;
export const IP_POLICY_FIRST_RULE = 0;
export const IP_POLICY_RULE_COUNT = 1;

export const IP_RULE_WORDS = 12;
export const IP_RULE_META = 0;
export const IP_RULE_NETWORK = 1; // 4 words
export const IP_RULE_MASK = 5; // 4 words
export const IP_RULE_TEXT_OFFSET = 9;
export const IP_RULE_TEXT_LENGTH = 10;

export const IP_RULE_FAMILY_MASK = 0xff;
export const IP_RULE_PREFIX_SHIFT = 8;
export const IP_RULE_DENY = 1 << 16;
