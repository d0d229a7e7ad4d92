// Session cookies: key derivation, sealing, cookie parsing/building, and session lifetime rules.
import { inspect } from 'node:util';
import t from 'tap';
import { buildDeleteCookie, buildSetCookie, CookieTooLargeError, cookiesFromHeaders, parseCookies } from '../../../workers/http/auth/cookies.js';
import { AuthKeyRing, generateRootKey, moduleFingerprint, parseRootKey } from '../../../workers/http/auth/keys.js';
import { open, seal, SealTooLargeError } from '../../../workers/http/auth/seal.js';
import { LocalSessionExtras } from '../../../workers/http/auth/session-extras.js';
import { groupsDigest, SessionCookies, type SessionPolicy } from '../../../workers/http/auth/session.js';
import { attributes, caught, cookiePair, flipChar, keysFor, manualClock, OAUTH_CONFIG, ROOT_KEY } from './helpers.js';

const NO_LIMITS: SessionPolicy = { inactivityTimeoutS: 0, maximumDurationS: 0, authCheckIntervalS: 0 };
const ALICE = { sub: '1234567', name: 'Alice Example', email: 'alice@example.com', provider: 'github', groupsDigest: groupsDigest(['b', 'a']) };

function sessions(policy: SessionPolicy, clock = manualClock(), config: unknown = OAUTH_CONFIG, prefix = 'ngrok.', routeId = 'edghtsrt_1') {
  return new SessionCookies({ key: keysFor(config, 'edghts_1', routeId).session, cookiePrefix: prefix, policy, clock: clock.now });
}

t.test('keys: derived per purpose, module config, edge and route; the root key never shows', async (t) => {
  const base = keysFor();
  t.equal(base.session.length, 32);
  t.notSame(base.session, base.state, 'session and state keys differ');
  t.same(keysFor(), base, 'same inputs, same keys');
  t.same(keysFor({ cookie_prefix: 'ngrok.', provider: { github: { email_domains: ['example.com'], client_secret: 's3cr3t', client_id: 'abc' } } }), base,
    'key order in the config does not matter');
  t.notSame(keysFor({ ...OAUTH_CONFIG, inactivity_timeout: 60 }).session, base.session, 'config change');
  t.notSame(keysFor(OAUTH_CONFIG, 'edghts_2').session, base.session, 'other edge');
  t.notSame(keysFor(OAUTH_CONFIG, 'edghts_1', 'edghtsrt_2').session, base.session, 'other route');
  t.notSame(keysFor(OAUTH_CONFIG, 'edghts_1', 'edghtsrt_1', Buffer.alloc(32, 8)).session, base.session, 'other root key');
  const oidc = new AuthKeyRing(ROOT_KEY).deriveModuleKeys({ module: 'oidc', edgeId: 'edghts_1', routeId: 'edghtsrt_1', fingerprint: moduleFingerprint(OAUTH_CONFIG) });
  t.notSame(oidc.session, base.session, 'other module kind');

  t.equal(generateRootKey().length, 32);
  t.notSame(generateRootKey(), generateRootKey());
  t.throws(() => new AuthKeyRing(Buffer.alloc(16)), /must be 32 bytes, got 16/);
  const ring = new AuthKeyRing(ROOT_KEY);
  const hexKey = ROOT_KEY.toString('hex');
  t.notMatch(JSON.stringify({ ring }), hexKey);
  t.notMatch(inspect(ring, { showHidden: true, depth: 5 }), /7, 7, 7|0707/);

  t.same(parseRootKey(hexKey), ROOT_KEY);
  t.same(parseRootKey(ROOT_KEY.toString('base64')), ROOT_KEY);
  t.same(parseRootKey(ROOT_KEY.toString('base64url')), ROOT_KEY);
  const bad = 'zz'.repeat(32);
  const keyError = caught(() => parseRootKey(bad));
  t.match(keyError.message, /64 hex characters/);
  t.notOk(keyError.message.includes(bad), 'the bad key text is not echoed');
  t.throws(() => moduleFingerprint({ n: Number.NaN }), /non-finite/);
});

t.test('seal: round trip; any changed byte, another name or another key gives null', async (t) => {
  const { session: key } = keysFor();
  const other = keysFor({ ...OAUTH_CONFIG, cookie_prefix: 'x.' }).session;
  const payload = { a: 1, b: 'two', c: [3] };
  const sealed = seal(key, 'ngrok.session', payload);
  t.same(open(key, 'ngrok.session', sealed), payload);
  t.not(seal(key, 'ngrok.session', payload), sealed, 'a fresh IV every time');

  const raw = Buffer.from(sealed, 'base64url');
  let opened = 0;
  for (let i = 0; i < raw.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const changed = Buffer.from(raw);
      changed[i]! ^= bit;
      if (open(key, 'ngrok.session', changed.toString('base64url')) !== null) opened++;
    }
  }
  t.equal(opened, 0, `no single-bit change in any of ${raw.length} bytes opens`);
  let textOpened = 0;
  for (let i = 0; i < sealed.length; i++) if (open(key, 'ngrok.session', flipChar(sealed, i)) !== null) textOpened++;
  t.equal(textOpened, 0, 'no changed character opens (padding bits included)');

  t.equal(open(key, 'ngrok.nonce.0123456789abcdef', sealed), null, 'moved to another cookie name');
  t.equal(open(other, 'ngrok.session', sealed), null, 'other key');
  for (const junk of ['', '!!!', sealed.slice(0, 20), sealed + 'A', 'x'.repeat(9000), `${sealed}=`]) {
    t.equal(open(key, 'ngrok.session', junk), null, `junk of length ${junk.length}`);
  }

  const big = { blob: 'q'.repeat(4000) };
  const tooLarge = caught(() => seal(key, 'ngrok.session', big));
  t.type(tooLarge, SealTooLargeError);
  t.match(tooLarge.message, /too large once sealed/);
  t.notOk(tooLarge.message.includes('qqqq'), 'no payload in the message');
  t.ok(seal(key, 'ngrok.session', big, { maxChars: 6000 }).length <= 6000, 'a larger limit can be asked for');
});

t.test('cookies: parse several headers, quotes, repeats and junk; build and delete', async (t) => {
  const jar = parseCookies(['a=1; b="two"; bad name=3; c=has space; d=ok', 'a=again;e=;f=x\\y; g = 7 ;=nameless; h']);
  t.same([...jar.entries()], [['a', ['1', 'again']], ['b', ['two']], ['d', ['ok']], ['e', ['']], ['g', ['7']]]);
  const fromHeaders = cookiesFromHeaders(['host', 'x', 'cookie', 'k=1', 'accept', '*/*', 'cookie', 'k=2; m=3']);
  t.same(fromHeaders.get('k'), ['1', '2']);
  t.same(fromHeaders.get('m'), ['3']);
  t.equal(parseCookies(['x=1;'.repeat(1000)]).get('x')!.length, 256, 'pair count is bounded');

  const built = buildSetCookie('ngrok.session', 'abc', { maxAgeS: 90, nowMs: Date.UTC(2026, 0, 1) });
  t.equal(built, 'ngrok.session=abc; Path=/; Max-Age=90; Expires=Thu, 01 Jan 2026 00:01:30 GMT; HttpOnly; Secure; SameSite=Lax');
  t.equal(buildSetCookie('n', 'v'), 'n=v; Path=/; HttpOnly; Secure; SameSite=Lax', 'no Max-Age: a browser-session cookie');
  t.equal(buildDeleteCookie('ngrok.session'), 'ngrok.session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax');
  t.throws(() => buildSetCookie('bad name', 'v'), /not a valid token/);
  const badValue = caught(() => buildSetCookie('n', 'se;cret'));
  t.match(badValue.message, /cannot carry/);
  t.notOk(badValue.message.includes('se;cret'), 'no value in the message');
  const oversize = caught(() => buildSetCookie('n', 'v'.repeat(4100)));
  t.type(oversize, CookieTooLargeError);
  t.notOk(oversize.message.includes('vvvv'), 'no value in the message');
});

t.test('session cookie: round trip through Set-Cookie and Cookie, attributes, size', async (t) => {
  const clock = manualClock();
  const s = sessions({ inactivityTimeoutS: 3600, maximumDurationS: 86400, authCheckIntervalS: 300 }, clock);
  const record = s.create(ALICE);
  const setCookie = s.issue(record);
  t.match(setCookie, /^ngrok\.session=[A-Za-z0-9_-]+; /);
  t.same(attributes(setCookie).filter((a) => !a.startsWith('Expires=')), ['Path=/', 'Max-Age=3600', 'HttpOnly', 'Secure', 'SameSite=Lax']);
  t.ok(setCookie.length < 600, `small cookie (${setCookie.length} bytes)`);
  t.notMatch(setCookie, /alice|Alice|1234567/, 'the identity is not readable in the cookie');

  const read = s.read(parseCookies([`other=1; ${cookiePair(setCookie)}`]));
  t.same(read, { ok: true, record });
  t.equal(record.groupsDigest, groupsDigest(['a', 'b', 'a']), 'groups digest ignores order and repeats');
  t.same(s.read(parseCookies(['other=1'])), { ok: false, reason: 'missing' });
  t.equal(s.clear(), buildDeleteCookie('ngrok.session'));

  // A stale cookie for a parent domain may come first; the good one is still found.
  const stale = sessions(NO_LIMITS, clock, { changed: true }).issue(record);
  t.same(s.read(parseCookies([`ngrok.session=${cookiePair(stale).split('=')[1]}; ${cookiePair(setCookie)}`])), { ok: true, record });

  const huge = s.create({ ...ALICE, email: `${'e'.repeat(500)}@x.com`.slice(0, 512), sub: 's'.repeat(512), provider: 'p'.repeat(512) });
  const big = { ...huge, name: 'n'.repeat(256) };
  t.doesNotThrow(() => s.issue(big), 'the largest allowed record still fits');
  t.throws(() => s.create({ ...ALICE, sub: 'x'.repeat(513) }), /longer than 512/);
  t.equal(s.create({ ...ALICE, name: 'n'.repeat(1000) }).name!.length, 256, 'display name is cut');
  const cannotFit = caught(() => new SessionCookies({ key: keysFor().session, cookiePrefix: 'p'.repeat(1500), policy: NO_LIMITS }).issue(big));
  t.type(cannotFit, CookieTooLargeError, 'a cookie that cannot fit is refused with a clear error');
});

t.test('session cookie: tampering, another cookie name, config/route change all read as unreadable', async (t) => {
  const clock = manualClock();
  const s = sessions(NO_LIMITS, clock);
  const value = cookiePair(s.issue(s.create(ALICE))).split('=')[1]!;
  let accepted = 0;
  for (let i = 0; i < value.length; i++) if (s.read(parseCookies([`ngrok.session=${flipChar(value, i)}`])).ok) accepted++;
  t.equal(accepted, 0, 'no changed character is accepted');
  t.same(s.read(parseCookies([`ngrok.session=${value}x`])), { ok: false, reason: 'unreadable' });

  const otherPrefix = sessions(NO_LIMITS, clock, OAUTH_CONFIG, 'corp.');
  t.same(otherPrefix.read(parseCookies([`corp.session=${value}`])), { ok: false, reason: 'unreadable' }, 'moved to another cookie name');
  const changedConfig = sessions(NO_LIMITS, clock, { ...OAUTH_CONFIG, maximum_duration: 10 });
  t.same(changedConfig.read(parseCookies([`ngrok.session=${value}`])), { ok: false, reason: 'unreadable' }, 'config change forces re-auth');
  const otherRoute = sessions(NO_LIMITS, clock, OAUTH_CONFIG, 'ngrok.', 'edghtsrt_2');
  t.same(otherRoute.read(parseCookies([`ngrok.session=${value}`])), { ok: false, reason: 'unreadable' }, 'not shared across routes');
});

t.test('session lifetime: inactivity, maximum_duration, expiry, touch and re-check with an injected clock', async (t) => {
  const clock = manualClock();
  const policy = { inactivityTimeoutS: 600, maximumDurationS: 3600, authCheckIntervalS: 180 };
  const s = sessions(policy, clock);
  let record = s.create(ALICE);
  const readBack = (setCookie: string) => s.read(parseCookies([cookiePair(setCookie)]));
  let cookie = s.issue(record);

  clock.advance(30);
  t.equal(s.touch(record), null, 'no new cookie within the touch interval');
  t.notOk(s.needsCheck(record));
  clock.advance(30);
  const touched = s.touch(record);
  t.ok(touched !== null, 'a new cookie after a minute');
  cookie = touched!;
  const afterTouch = readBack(cookie);
  t.ok(afterTouch.ok);
  if (afterTouch.ok) { t.equal(afterTouch.record.lastSeen, record.createdAt + 60); record = afterTouch.record; }
  t.match(cookie, /Max-Age=600;/, 'Max-Age follows the sliding inactivity window');

  clock.advance(120);
  t.ok(s.needsCheck(record), 'auth_check_interval reached');
  clock.advance(479);
  t.ok(readBack(cookie).ok, 'one second before the inactivity timeout');
  clock.advance(1);
  t.same(readBack(cookie), { ok: false, reason: 'inactive' });

  // Keep it active: touches every 5 minutes until the hard cap.
  const active = manualClock();
  const s2 = sessions(policy, active);
  let c2 = s2.issue(s2.create(ALICE));
  for (let elapsed = 0; elapsed < 3600 - 300; elapsed += 300) {
    active.advance(300);
    const r = s2.read(parseCookies([cookiePair(c2)]));
    t.ok(r.ok, `active at ${elapsed + 300}s`);
    if (r.ok) c2 = s2.touch(r.record) ?? c2;
  }
  active.advance(300);
  t.same(s2.read(parseCookies([cookiePair(c2)])), { ok: false, reason: 'maximum_duration' });

  // An IdP-given end comes first when it is earlier.
  const idp = manualClock();
  const s3 = sessions(NO_LIMITS, idp);
  const r3 = s3.create(ALICE, s3.now() + 100);
  const c3 = s3.issue(r3);
  t.match(c3, /Max-Age=100;/);
  idp.advance(99);
  t.ok(s3.read(parseCookies([cookiePair(c3)])).ok);
  idp.advance(1);
  t.same(s3.read(parseCookies([cookiePair(c3)])), { ok: false, reason: 'expired' });

  const none = sessions(NO_LIMITS, manualClock());
  const rn = none.create(ALICE);
  t.notMatch(none.issue(rn), /Max-Age/, 'no limits: a browser-session cookie');
  t.equal(none.touch(rn), null, 'no inactivity timeout: never re-issued');
  t.notOk(none.needsCheck(rn), 'no auth_check_interval: never re-checked');
});

t.test('session extras: bounded, expiring, per-session', async (t) => {
  const clock = manualClock();
  const extras = new LocalSessionExtras({ maxEntries: 3, ttlS: 60, clock: clock.now });
  for (const sid of ['a', 'b', 'c', 'd']) extras.set(sid, { accessToken: `tok-${sid}` });
  t.equal(extras.size, 3);
  t.equal(extras.get('a'), undefined, 'oldest evicted at max entries');
  t.same(extras.get('d'), { accessToken: 'tok-d' });
  extras.set('short', { groups: ['x'] }, 10);
  clock.advance(11);
  t.equal(extras.get('short'), undefined, 'per-entry ttl');
  t.ok(extras.get('d'), 'default ttl not yet reached');
  clock.advance(50);
  t.equal(extras.get('d'), undefined, 'default ttl reached');
  extras.set('e', { refreshToken: 'r' });
  extras.delete('e');
  t.equal(extras.get('e'), undefined);

  const small = new LocalSessionExtras({ maxChars: 100 });
  small.set('big', { idToken: 'i'.repeat(200) });
  t.equal(small.get('big'), undefined, 'an entry over the size budget is not kept');
});
