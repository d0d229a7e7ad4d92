// Login state: the sealed `state` parameter, the nonce cookie that binds it to one browser, and
// the captured return URI (no open redirect).
import t from 'tap';
import { captureRequestUri, isSameOriginPath } from '../../../workers/http/auth/captured-uri.js';
import { parseCookies } from '../../../workers/http/auth/cookies.js';
import { LoginStates, loginStateErrorResponse, pkceChallenge, STATE_MAX_AGE_S } from '../../../workers/http/auth/state.js';
import { attributes, cookiePair, flipChar, keysFor, manualClock, OAUTH_CONFIG } from './helpers.js';

function states(clock = manualClock(), config: unknown = OAUTH_CONFIG, prefix = 'ngrok.') {
  return new LoginStates({ key: keysFor(config).state, cookiePrefix: prefix, clock: clock.now });
}

t.test('round trip: state + nonce cookie give back the login', async (t) => {
  const clock = manualClock();
  const s = states(clock);
  const begun = s.begin('/api/items?limit=5', { pkce: true });
  t.match(begun.nonceCookie, /^ngrok\.nonce\.[0-9a-f]{16}=[A-Za-z0-9_-]{22}; /);
  t.same(attributes(begun.nonceCookie).filter((a) => !a.startsWith('Expires=')), ['Path=/', 'Max-Age=1800', 'HttpOnly', 'Secure', 'SameSite=Lax']);
  t.match(begun.state, /^[A-Za-z0-9_-]+$/, 'URL-safe state');
  t.notMatch(begun.state, /api|items/, 'the captured URI is not readable in the state');
  t.equal(begun.login.uri, '/api/items?limit=5');
  t.equal(begun.login.pkceVerifier!.length, 43);

  clock.advance(STATE_MAX_AGE_S - 1);
  const done = s.finish(begun.state, parseCookies([`other=1; ${cookiePair(begun.nonceCookie)}`]));
  t.ok(done.ok);
  if (done.ok) {
    t.same(done.login, begun.login);
    t.equal(done.clearNonceCookie, `ngrok.nonce.${begun.login.loginId}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax`);
  }
  t.equal(s.begin('/').login.pkceVerifier, undefined, 'no verifier unless asked');
  t.not(s.begin('/').login.nonce, s.begin('/').login.nonce, 'fresh nonce per login');
  // RFC 7636 appendix B.
  t.equal(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
});

t.test('refusals: missing, tampered, other config, expired, nonce cookie missing or mismatched', async (t) => {
  const clock = manualClock();
  const s = states(clock);
  const begun = s.begin('/x');
  const jar = parseCookies([cookiePair(begun.nonceCookie)]);
  const reason = (r: ReturnType<typeof s.finish>) => (r.ok ? 'ok' : r.reason);

  t.equal(reason(s.finish(undefined, jar)), 'state_missing');
  t.equal(reason(s.finish('', jar)), 'state_missing');
  let accepted = 0;
  for (let i = 0; i < begun.state.length; i++) if (s.finish(flipChar(begun.state, i), jar).ok) accepted++;
  t.equal(accepted, 0, 'no changed character of the state is accepted');
  t.equal(reason(s.finish(flipChar(begun.state, 5), jar)), 'state_invalid');
  t.equal(reason(states(clock, { ...OAUTH_CONFIG, cookie_prefix: 'x.' }).finish(begun.state, jar)), 'state_invalid', 'config changed since the login began');

  t.equal(reason(s.finish(begun.state, parseCookies(['a=1']))), 'nonce_cookie_missing');
  const loginId = begun.login.loginId;
  t.equal(reason(s.finish(begun.state, parseCookies([`ngrok.nonce.${loginId}=AAAAAAAAAAAAAAAAAAAAAA`]))), 'nonce_mismatch', 'a planted cookie');
  const otherLogin = s.begin('/x');
  t.equal(reason(s.finish(begun.state, parseCookies([cookiePair(otherLogin.nonceCookie)]))), 'nonce_cookie_missing', "another login's cookie does not count");
  const otherValue = cookiePair(otherLogin.nonceCookie).split('=')[1];
  t.equal(reason(s.finish(begun.state, parseCookies([`ngrok.nonce.${loginId}=${otherValue}`]))), 'nonce_mismatch', "another login's value under this name");
  t.equal(reason(s.finish(otherLogin.state, jar)), 'nonce_cookie_missing', 'state swapped between logins');

  clock.advance(STATE_MAX_AGE_S);
  const expired = s.finish(begun.state, jar);
  t.equal(reason(expired), 'state_expired');
  if (!expired.ok) {
    const response = loginStateErrorResponse(expired);
    t.equal(response.status, 400);
    t.equal(response.errorCode, 'ERR_NGROK_3100');
    t.match(response.body, /longer than 30 minutes/);
    t.same(response.headers, ['set-cookie', `ngrok.nonce.${loginId}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax`]);
    const value = cookiePair(begun.nonceCookie).split('=')[1]!;
    t.notOk(response.body!.includes(value) || response.body!.includes(begun.state), 'no secret in the answer');
  }

  // A state from the future (another worker's clock far ahead, or forged timing) is refused.
  const ahead = manualClock();
  ahead.advance(3600);
  const future = states(ahead).begin('/');
  t.equal(reason(states(manualClock()).finish(future.state, parseCookies([cookiePair(future.nonceCookie)]))), 'state_invalid');
});

t.test('captured URI: same-origin paths only, method dropped, no open redirect', async (t) => {
  const s = states();
  t.equal(s.begin('/a/b?c=d&e=%2F%2Fx').login.uri, '/a/b?c=d&e=%2F%2Fx');
  t.equal(captureRequestUri('/path#frag'), '/path');
  t.equal(captureRequestUri('http://app.example.test/abs?q=1'), '/abs?q=1', 'absolute-form: path and query only');
  t.equal(captureRequestUri('https://evil.example'), '/', 'absolute-form without a path');
  t.equal(captureRequestUri('https://evil.example//evil.example/x'), '/', 'absolute-form hiding a protocol-relative path');
  for (const bad of ['//evil.example/x', '/\\evil.example', '\\\\evil.example', '/a\\b', 'http:evil', 'javascript:alert(1)',
    '/\t/evil.example', '/\n/evil.example', '/ spaced', '*', '', '/é', `/${'a'.repeat(2048)}`]) {
    t.notOk(isSameOriginPath(bad), `refused: ${JSON.stringify(bad).slice(0, 40)}`);
    t.equal(captureRequestUri(bad), '/', `captured as '/': ${JSON.stringify(bad).slice(0, 40)}`);
  }
  for (const good of ['/', '/a', '/a/b/?x=1&y=%2F%2F', "/~user/!$&'()*+,;=:@"]) t.ok(isSameOriginPath(good), `allowed: ${good}`);

  const long = s.begin(`/${'a'.repeat(2040)}?q`);
  t.ok(long.state.length < 3800, `a 2 KB URI still gives a state of ${long.state.length} chars`);
});
