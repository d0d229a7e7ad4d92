// IP policies (allow/deny CIDR rules) in one SharedArrayBuffer (layout in ./layout.ts). Built once per
// generation; read in place by whichever thread checks the L4 source address. Immutable once built,
// so evaluation takes no locks.
import {
  IP_HDR_MAGIC,
  IP_HDR_POLICIES_OFFSET,
  IP_HDR_POLICY_COUNT,
  IP_HDR_RULES_OFFSET,
  IP_HDR_RULE_COUNT,
  IP_HDR_TEXT_LENGTH,
  IP_HDR_TEXT_OFFSET,
  IP_HDR_VERSION,
  IP_HEADER_WORDS,
  IP_POLICY_FIRST_RULE,
  IP_POLICY_RULE_COUNT,
  IP_POLICY_WORDS,
  IP_RULE_DENY,
  IP_RULE_FAMILY_MASK,
  IP_RULE_MASK,
  IP_RULE_META,
  IP_RULE_NETWORK,
  IP_RULE_PREFIX_SHIFT,
  IP_RULE_TEXT_LENGTH,
  IP_RULE_TEXT_OFFSET,
  IP_RULE_WORDS,
  IP_TABLE_MAGIC,
  IP_TABLE_VERSION,
} from './layout.js';
import { maskWord, parseCidr, parseIpInto } from './ip-address.js';

/** One IP policy rule as configured (spec §1.6): a CIDR with its mask, and what a match does. */
export interface IpRuleInput {
  cidr: string;
  action: 'allow' | 'deny';
}

/** Outcome of an IP policy check: `matchingRule` is the deciding rule's global index, or -1. */
export interface IpDecision {
  allowed: boolean;
  matchingRule: number;
}

// Scratch address for evaluate(): Uint32 for the parser, Int32 alias to compare with the table's words.
const scratch = new Uint32Array(4);
const scratchSigned = new Int32Array(scratch.buffer);

/**
 * Compiles policies into a new table buffer. Policy index = position in the array; rule global index =
 * policy-major position. Throws with the policy, rule and reason on an invalid CIDR or action.
 */
export function buildIpTable(policies: ReadonlyArray<readonly IpRuleInput[]>): SharedArrayBuffer {
  let ruleCount = 0;
  let textLength = 0;
  for (const rules of policies) {
    ruleCount += rules.length;
    for (const rule of rules) textLength += typeof rule?.cidr === 'string' ? rule.cidr.length : 0;
  }
  const policiesOffset = IP_HEADER_WORDS * 4;
  const rulesOffset = policiesOffset + policies.length * IP_POLICY_WORDS * 4;
  const textOffset = rulesOffset + ruleCount * IP_RULE_WORDS * 4;
  const buf = new SharedArrayBuffer(textOffset + textLength);
  const words = new Int32Array(buf, 0, textOffset / 4);
  const text = new Uint8Array(buf, textOffset, textLength);

  words[IP_HDR_MAGIC] = IP_TABLE_MAGIC;
  words[IP_HDR_VERSION] = IP_TABLE_VERSION;
  words[IP_HDR_POLICY_COUNT] = policies.length;
  words[IP_HDR_RULE_COUNT] = ruleCount;
  words[IP_HDR_POLICIES_OFFSET] = policiesOffset;
  words[IP_HDR_RULES_OFFSET] = rulesOffset;
  words[IP_HDR_TEXT_OFFSET] = textOffset;
  words[IP_HDR_TEXT_LENGTH] = textLength;

  let ruleIndex = 0;
  let textPos = 0;
  for (let p = 0; p < policies.length; p++) {
    const policyAt = policiesOffset / 4 + p * IP_POLICY_WORDS;
    words[policyAt + IP_POLICY_FIRST_RULE] = ruleIndex;
    words[policyAt + IP_POLICY_RULE_COUNT] = policies[p].length;
    for (let r = 0; r < policies[p].length; r++, ruleIndex++) {
      const { cidr, action } = policies[p][r] ?? ({} as IpRuleInput);
      if (action !== 'allow' && action !== 'deny') {
        throw new Error(`ip policy ${p} rule ${r}: action must be allow or deny, got ${String(action)}`);
      }
      const parsed = parseCidr(cidr);
      if ('error' in parsed) throw new Error(`ip policy ${p} rule ${r}: ${parsed.error}`);
      const at = rulesOffset / 4 + ruleIndex * IP_RULE_WORDS;
      words[at + IP_RULE_META] =
        parsed.family | (parsed.prefix << IP_RULE_PREFIX_SHIFT) | (action === 'deny' ? IP_RULE_DENY : 0);
      for (let w = 0; w < parsed.words.length; w++) {
        words[at + IP_RULE_NETWORK + w] = parsed.words[w];
        words[at + IP_RULE_MASK + w] = maskWord(parsed.prefix, w);
      }
      for (let i = 0; i < cidr.length; i++) text[textPos + i] = cidr.charCodeAt(i) & 0xff;
      words[at + IP_RULE_TEXT_OFFSET] = textPos;
      words[at + IP_RULE_TEXT_LENGTH] = cidr.length;
      textPos += cidr.length;
    }
  }
  return buf;
}

/** Reader over a buffer from buildIpTable; safe to construct in any thread that received the buffer. */
export class IpTable {
  readonly policyCount: number;
  readonly ruleCount: number;
  readonly byteLength: number;
  private readonly words: Int32Array;
  private readonly text: Uint8Array;
  private readonly policiesAt: number;
  private readonly rulesAt: number;
  private readonly cidrs: (string | undefined)[];

  constructor(buf: SharedArrayBuffer) {
    if (!(buf instanceof SharedArrayBuffer) || buf.byteLength < IP_HEADER_WORDS * 4) {
      throw new Error('ip table: not an ip table buffer');
    }
    const header = new Int32Array(buf, 0, IP_HEADER_WORDS);
    if (header[IP_HDR_MAGIC] !== IP_TABLE_MAGIC || header[IP_HDR_VERSION] !== IP_TABLE_VERSION) {
      throw new Error('ip table: bad magic or version');
    }
    const policyCount = header[IP_HDR_POLICY_COUNT];
    const ruleCount = header[IP_HDR_RULE_COUNT];
    const policiesOffset = header[IP_HDR_POLICIES_OFFSET];
    const rulesOffset = header[IP_HDR_RULES_OFFSET];
    const textOffset = header[IP_HDR_TEXT_OFFSET];
    const textLength = header[IP_HDR_TEXT_LENGTH];
    if (
      policyCount < 0 ||
      ruleCount < 0 ||
      policiesOffset !== IP_HEADER_WORDS * 4 ||
      rulesOffset !== policiesOffset + policyCount * IP_POLICY_WORDS * 4 ||
      textOffset !== rulesOffset + ruleCount * IP_RULE_WORDS * 4 ||
      textLength < 0 ||
      textOffset + textLength !== buf.byteLength
    ) {
      throw new Error('ip table: inconsistent header');
    }
    this.words = new Int32Array(buf, 0, textOffset / 4);
    this.text = new Uint8Array(buf, textOffset, textLength);
    this.policiesAt = policiesOffset / 4;
    this.rulesAt = rulesOffset / 4;
    this.policyCount = policyCount;
    this.ruleCount = ruleCount;
    this.byteLength = buf.byteLength;
    this.cidrs = new Array(ruleCount);
  }

  /**
   * spec §1.6: the rules of all given policies are pooled; the address passes only if it matches at
   * least one allow rule and no deny rule. An address that does not parse is blocked. Throws a
   * RangeError on a policy index the table does not have (a compile bug, not input).
   */
  evaluate(policyIndexes: readonly number[], address: string): IpDecision {
    const family = typeof address === 'string' ? parseIpInto(address, scratch) : 0;
    if (family === 0) return { allowed: false, matchingRule: -1 };
    const words = this.words;
    let firstAllow = -1;
    for (let p = 0; p < policyIndexes.length; p++) {
      const policy = policyIndexes[p];
      if (!(policy >= 0 && policy < this.policyCount) || policy !== (policy | 0)) {
        throw new RangeError(`ip table: no policy ${String(policy)}`);
      }
      const policyAt = this.policiesAt + policy * IP_POLICY_WORDS;
      const first = words[policyAt + IP_POLICY_FIRST_RULE];
      const end = first + words[policyAt + IP_POLICY_RULE_COUNT];
      for (let r = first; r < end; r++) {
        const at = this.rulesAt + r * IP_RULE_WORDS;
        const meta = words[at + IP_RULE_META];
        if ((meta & IP_RULE_FAMILY_MASK) !== family) continue;
        if (!matchesRule(words, at, family)) continue;
        if ((meta & IP_RULE_DENY) !== 0) return { allowed: false, matchingRule: r };
        if (firstAllow < 0) firstAllow = r;
      }
    }
    return { allowed: firstAllow >= 0, matchingRule: firstAllow };
  }

  /** The rule's CIDR as configured, for events and templates (.ip_policy.matching_rule). */
  ruleCidr(globalRuleIndex: number): string {
    if (!(globalRuleIndex >= 0 && globalRuleIndex < this.ruleCount) || globalRuleIndex !== (globalRuleIndex | 0)) {
      throw new RangeError(`ip table: no rule ${String(globalRuleIndex)}`);
    }
    let cidr = this.cidrs[globalRuleIndex];
    if (cidr === undefined) {
      const at = this.rulesAt + globalRuleIndex * IP_RULE_WORDS;
      const offset = this.words[at + IP_RULE_TEXT_OFFSET];
      const length = this.words[at + IP_RULE_TEXT_LENGTH];
      cidr = String.fromCharCode(...this.text.subarray(offset, offset + length));
      this.cidrs[globalRuleIndex] = cidr;
    }
    return cidr;
  }
}

function matchesRule(words: Int32Array, at: number, family: number): boolean {
  if ((scratchSigned[0] & words[at + IP_RULE_MASK]) !== words[at + IP_RULE_NETWORK]) return false;
  if (family === 4) return true;
  for (let w = 1; w < 4; w++) {
    if ((scratchSigned[w] & words[at + IP_RULE_MASK + w]) !== words[at + IP_RULE_NETWORK + w]) return false;
  }
  return true;
}
