import t from 'tap';
import { compileUserAgentPattern, userAgentPatternProblem } from '../../../core/http/ua-regex.js';

t.test('leading RE2 flag groups become JS flags', async (t) => {
  const re = compileUserAgentPattern('(?i)google');
  t.equal(re.flags, 'i');
  t.equal(re.source, 'google');
  t.ok(re.test('Mozilla/5.0 (compatible; GoogleBot/2.1)'));
  t.equal(compileUserAgentPattern('(?is)a.b').flags, 'is');
  t.ok(compileUserAgentPattern('(?is)a.b').test('A\nB'));
  t.notOk(compileUserAgentPattern('(?i)a.b').test('A\nB'), 'without s, . does not match a newline');
  t.equal(compileUserAgentPattern('(?m)(?i)^bot$').flags, 'im');
  t.ok(compileUserAgentPattern('(?m)^bot$').test('x\nbot\ny'));
  t.equal(compileUserAgentPattern('plain').flags, '');
});

t.test('Go forms with a JS equivalent are rewritten', async (t) => {
  const cases: Array<[pattern: string, matches: string[], misses: string[]]> = [
    ['(?P<name>curl)/\\d+', ['curl/8'], ['wget/1']],
    ['(?<name>curl)', ['curl'], ['wget']],
    ['^curl\\z', ['curl'], ['curl\n', 'curlx']],
    ['\\Acurl', ['curl/8'], ['xcurl']],
    ['\\Qa.b*c\\E', ['xa.b*cx'], ['aXbbc']],
    ['^\\Qab\\E+$', ['abbb'], ['abab']],
    ['[[:digit:]]+\\.[[:alpha:]]', ['10.x'], ['10.1']],
    ['[^[:space:]]+bot', ['webbot'], [' bot']],
    ['[]a]x', [']x', 'ax'], ['bx']],
    ['[^]a]x', ['bx'], [']x', 'ax']],
    ['\\x{41}\\x42', ['AB'], ['ab']],
    ['a{2,3}', ['aa'], ['a']],
    ['a{,2}', ['a{,2}'], ['aa']], // not a repeat in RE2 either: literal text
    ['\\a', ['\x07'], ['a']],
    ['a/b', ['a/b'], ['ab']],
  ];
  for (const [pattern, matches, misses] of cases) {
    const re = compileUserAgentPattern(pattern);
    for (const text of matches) t.ok(re.test(text), `${pattern} matches ${JSON.stringify(text)}`);
    for (const text of misses) t.notOk(re.test(text), `${pattern} does not match ${JSON.stringify(text)}`);
  }
});

t.test('Go-only and JS-only syntax is refused with the reason', async (t) => {
  const refused: Array<[string, RegExp]> = [
    ['(?U)a+', /ungreedy/],
    ['(?x)a', /unknown flag x/],
    ['a(?i)b', /only leading/],
    ['(?i:ab)', /only leading/],
    ['(?-i)ab', /only leading/],
    ['(?=a)', /lookaround/],
    ['(?!a)', /lookaround/],
    ['(?<=a)b', /lookaround/],
    ['(?<!a)b', /lookaround/],
    ['(a)\\1', /backreferences/],
    ['\\pL', /unicode classes/],
    ['\\p{Greek}', /unicode classes/],
    ['\\C', /any byte/],
    ['\\k', /unknown escape \\k/],
    ['[\\Qa\\E]', /\\Q inside a character class/],
    ['[[:foo:]]', /unknown character class/],
    ['[[:^alpha:]]', /negated class/],
    ['\\x{110000}', /beyond U\+FFFF/],
    ['\\xZZ', /invalid \\x escape/],
    ['abc\\', /trailing backslash/],
    ['(ab', /missing closing \)/],
    ['ab)', /unexpected \)/],
    ['[ab', /missing closing \]/],
    ['*a', /missing argument/],
    ['a**', /missing argument/],
    ['a{3,2}', /invalid repeat/],
    ['a{1001}', /over 1000/],
    ['(a+)+$', /nested unbounded repetition/],
    ['(?i)(\\w+\\s?)*bot', /nested unbounded repetition/],
    ['((a*))*', /nested unbounded repetition/],
    ['x'.repeat(1025), /longer than 1024/],
  ];
  for (const [pattern, reason] of refused) {
    t.match(userAgentPatternProblem(pattern), reason, pattern.slice(0, 40));
    t.throws(() => compileUserAgentPattern(pattern), reason);
  }
  t.match(userAgentPatternProblem(7 as unknown as string), /must be a string/);
});

t.test('ordinary patterns are accepted as they are', async (t) => {
  for (const pattern of ['(?i)google-images', '^Mozilla/5\\.0 \\(X11; Linux', 'bot|crawler|spider', '^$', '(a|b)+c', '(\\d{1,3}\\.){3}\\d{1,3}', '[a-z\\-_]+', 'x'.repeat(1024)]) {
    t.equal(userAgentPatternProblem(pattern), null, pattern.slice(0, 40));
  }
  t.ok(compileUserAgentPattern('^$').test(''));
});
