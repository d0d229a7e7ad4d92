// User agent filter rules are written in RE2/Go syntax (spec §1.6, e.g. `(?i)google`). This turns them
// into JavaScript RegExps once per generation. Leading flag groups become JS flags; the few Go forms
// with a JS equivalent are rewritten (`(?P<n>`, `\z`, `\A`, `\Q…\E`, `[[:alpha:]]`, `\x{41}`, a leading
// `]` in a class); everything else that RE2 and JS read differently is refused with the reason, and so
// is what RE2 refuses but JS would accept (backreferences, lookaround). RE2 runs in linear time and JS
// backtracks, so the classic exponential shape, an unbounded repeat inside an unbounded repeat such as
// `(a+)+`, is refused too: the User-Agent header is attacker-controlled.
export const MAX_USER_AGENT_PATTERN_LENGTH = 1024;

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7f', blank: '\\t ', cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9', graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`{-~', space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z', word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};

// Escapes with the same meaning in RE2 and in a JS RegExp without the u flag.
const SHARED_ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S', 'b', 'B', 'n', 'r', 't', 'f', 'v']);
const SHARED_CLASS_ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S', 'n', 'r', 't', 'f', 'v']);

interface Translated { source: string; flags: string }

class PatternError extends Error {}

/** One open group while scanning: whether an unbounded repeat occurs inside it. */
interface Group { hasUnboundedRepeat: boolean }

function escapeLiteral(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

function hexEscape(code: number): string {
  if (code > 0xffff) throw new PatternError(`\\x{${code.toString(16)}} is beyond U+FFFF, which needs unicode mode`);
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

// Reads the escape at pattern[i] === '\\'; returns the JS text and the index after it.
function translateEscape(pattern: string, i: number, inClass: boolean): [string, number] {
  const c = pattern[i + 1];
  if (c === undefined) throw new PatternError('trailing backslash');
  if ((inClass ? SHARED_CLASS_ESCAPES : SHARED_ESCAPES).has(c)) return [`\\${c}`, i + 2];
  if (/[^0-9A-Za-z]/.test(c)) return [`\\${c}`, i + 2]; // an escaped punctuation character is itself
  switch (c) {
    case 'a': return ['\\x07', i + 2];
    case 'z': if (!inClass) return ['(?![\\s\\S])', i + 2]; break;
    case 'A': if (!inClass) return ['(?<![\\s\\S])', i + 2]; break;
    case 'x': {
      if (pattern[i + 2] === '{') {
        const close = pattern.indexOf('}', i + 3);
        const hex = close < 0 ? '' : pattern.slice(i + 3, close);
        if (!/^[0-9A-Fa-f]{1,6}$/.test(hex)) throw new PatternError(`invalid \\x{...} escape at offset ${i}`);
        return [hexEscape(parseInt(hex, 16)), close + 1];
      }
      const hex = pattern.slice(i + 2, i + 4);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new PatternError(`invalid \\x escape at offset ${i}`);
      return [`\\x${hex}`, i + 4];
    }
    case 'p': case 'P': throw new PatternError(`unicode classes (\\${c}) are not supported`);
    case 'C': throw new PatternError('\\C (any byte) is not supported');
    case 'Q': break; // handled by the caller
    default:
      if (c >= '0' && c <= '9') throw new PatternError(`\\${c}: backreferences and octal escapes are not supported`);
  }
  throw new PatternError(`unknown escape \\${c} at offset ${i}`);
}

// Reads a bracket expression starting at pattern[i] === '['; returns the JS text and the index after it.
function translateClass(pattern: string, i: number): [string, number] {
  let out = '[';
  let j = i + 1;
  if (pattern[j] === '^') { out += '^'; j++; }
  if (pattern[j] === ']') { out += '\\]'; j++; } // RE2: a leading ']' is literal; JS would read '[]' as empty
  while (j < pattern.length) {
    const c = pattern[j]!;
    if (c === ']') return [`${out}]`, j + 1];
    if (c === '[' && pattern[j + 1] === ':') {
      const close = pattern.indexOf(':]', j + 2);
      const spec = close < 0 ? '' : pattern.slice(j + 2, close);
      const negated = spec.startsWith('^');
      const ranges = POSIX_CLASSES[negated ? spec.slice(1) : spec];
      if (ranges === undefined) throw new PatternError(`unknown character class [:${spec}:] at offset ${j}`);
      if (negated) throw new PatternError(`negated class [:${spec}:] inside brackets is not supported`);
      out += ranges;
      j = close + 2;
      continue;
    }
    if (c === '[') { out += '\\['; j++; continue; }
    if (c === '\\') {
      if (pattern[j + 1] === 'Q') throw new PatternError('\\Q inside a character class is not supported');
      const [text, next] = translateEscape(pattern, j, true);
      out += text;
      j = next;
      continue;
    }
    out += c;
    j++;
  }
  throw new PatternError(`missing closing ] for the class at offset ${i}`);
}

// A repeat operator at pattern[i], if any: its length and whether it is unbounded.
function readRepeat(pattern: string, i: number): { length: number; unbounded: boolean } | null {
  const c = pattern[i];
  let length = 0;
  let unbounded = false;
  if (c === '*' || c === '+') { length = 1; unbounded = true; }
  else if (c === '?') length = 1;
  else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i, i + 24));
    if (m === null) return null; // RE2 and JS both read a lone '{' as a literal
    if (m[3] !== undefined && m[3] !== '' && Number(m[3]) < Number(m[1])) throw new PatternError(`invalid repeat ${m[0]}`);
    if (Number(m[1]) > 1000 || (m[3] !== undefined && m[3] !== '' && Number(m[3]) > 1000)) throw new PatternError(`repeat count in ${m[0]} over 1000`);
    length = m[0].length;
    unbounded = m[2] !== undefined && m[3] === '';
  } else return null;
  if (pattern[i + length] === '?') length++; // non-greedy
  return { length, unbounded };
}

function translate(pattern: string): Translated {
  if (typeof pattern !== 'string') throw new PatternError('pattern must be a string');
  if (pattern.length > MAX_USER_AGENT_PATTERN_LENGTH) throw new PatternError(`longer than ${MAX_USER_AGENT_PATTERN_LENGTH} characters`);
  const flags = new Set<string>();
  let i = 0;
  for (let m = /^\(\?([a-zA-Z]+)\)/.exec(pattern); m !== null; m = /^\(\?([a-zA-Z]+)\)/.exec(pattern.slice(i))) {
    for (const f of m[1]!) {
      if (f === 'U') throw new PatternError('(?U) ungreedy mode has no JavaScript equivalent');
      if (f !== 'i' && f !== 's' && f !== 'm') throw new PatternError(`unknown flag ${f} in ${m[0]}`);
      flags.add(f);
    }
    i += m[0].length;
  }

  let out = '';
  const groups: Group[] = [{ hasUnboundedRepeat: false }];
  // What the last atom was, so a repeat after it knows whether it repeats a group that repeats.
  let lastAtom: { closedGroup: Group | null } | null = null;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '*' || c === '+' || c === '?' || c === '{') {
      const repeat = readRepeat(pattern, i);
      if (repeat !== null) {
        if (lastAtom === null) throw new PatternError(`missing argument to repetition operator at offset ${i}`);
        if (repeat.unbounded) {
          if (lastAtom.closedGroup?.hasUnboundedRepeat) {
            throw new PatternError(`nested unbounded repetition at offset ${i} (like (a+)+) can take exponential time`);
          }
          groups[groups.length - 1]!.hasUnboundedRepeat = true;
        }
        out += pattern.slice(i, i + repeat.length);
        i += repeat.length;
        lastAtom = null; // RE2 refuses a repeat of a repeat (a**)
        continue;
      }
    }
    if (c === '(') {
      let opener = '(';
      let skip = 1;
      if (pattern[i + 1] === '?') {
        const rest = pattern.slice(i + 2, i + 3 + 64);
        const named = /^(?:P?<)([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
        if (rest.startsWith(':')) { opener = '(?:'; skip = 3; }
        else if (named !== null) { opener = `(?<${named[1]}>`; skip = 2 + named[0].length; }
        else if (/^(=|!|<=|<!)/.test(rest)) throw new PatternError(`lookaround at offset ${i} is not RE2 syntax`);
        else if (/^-?[a-zA-Z]+(-[a-zA-Z]*)?[:)]/.test(rest)) throw new PatternError(`flags at offset ${i}: only leading (?i), (?s), (?m) groups are supported`);
        else throw new PatternError(`unknown group syntax at offset ${i}`);
      }
      groups.push({ hasUnboundedRepeat: false });
      out += opener;
      i += skip;
      lastAtom = null;
      continue;
    }
    if (c === ')') {
      if (groups.length === 1) throw new PatternError(`unexpected ) at offset ${i}`);
      const closed = groups.pop()!;
      if (closed.hasUnboundedRepeat) groups[groups.length - 1]!.hasUnboundedRepeat = true;
      out += ')';
      i++;
      lastAtom = { closedGroup: closed };
      continue;
    }
    if (c === '[') {
      const [text, next] = translateClass(pattern, i);
      out += text;
      i = next;
      lastAtom = { closedGroup: null };
      continue;
    }
    if (c === '\\') {
      if (pattern[i + 1] === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        const literal = pattern.slice(i + 2, end < 0 ? pattern.length : end);
        // not grouped: in RE2 a repeat after \Q…\E applies to its last character only, as it does here
        out += escapeLiteral(literal);
        i = end < 0 ? pattern.length : end + 2;
        lastAtom = literal === '' ? lastAtom : { closedGroup: null };
        continue;
      }
      const [text, next] = translateEscape(pattern, i, false);
      out += text;
      i = next;
      lastAtom = { closedGroup: null };
      continue;
    }
    if (c === '|') { out += '|'; i++; lastAtom = null; continue; }
    if (c === '^' || c === '$') { out += c; i++; lastAtom = null; continue; }
    out += c === '/' ? '\\/' : c;
    i++;
    lastAtom = { closedGroup: null };
  }
  if (groups.length > 1) throw new PatternError('missing closing )');
  return { source: out, flags: [...flags].sort().join('') };
}

/** Why a user agent rule cannot be used, or null when it compiles. */
export function userAgentPatternProblem(text: string): string | null {
  try {
    compileUserAgentPattern(text);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Compiles an RE2/Go-syntax user agent rule into an equivalent RegExp. Throws with the reason. */
export function compileUserAgentPattern(text: string): RegExp {
  let translated: Translated;
  try {
    translated = translate(text);
  } catch (err) {
    if (err instanceof PatternError) throw new Error(`user agent pattern ${JSON.stringify(String(text).slice(0, 80))}: ${err.message}`);
    throw err;
  }
  try {
    return new RegExp(translated.source, translated.flags);
  } catch (err) {
    throw new Error(`user agent pattern ${JSON.stringify(text.slice(0, 80))}: ${(err as Error).message}`);
  }
}
