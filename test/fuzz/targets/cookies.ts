// Cookies: the Cookie header parser (workers/http/auth/cookies.ts parseCookies via
// cookiesFromHeaders) and the unsealing of what it yields (seal.ts open) through the real readers:
// SessionCookies.read (the session cookie) and LoginStates.finish (the sealed `state` parameter plus
// the nonce cookie). Input: line 1 is the Cookie header value, line 2 (optional) the state parameter.
// The corpus holds values sealed with FUZZ_COOKIE_KEY by the corpus generator.
// Checks: nothing throws; parsed names are tokens and values cookie-octets, at most 256 pairs; a
// session or login state that opens is one the generator sealed (tampering never yields a new one);
// a finished login's return URI is a same-origin path.
import { createHash } from 'node:crypto';
import { cookiesFromHeaders } from '../../../workers/http/auth/cookies.js';
import { SessionCookies, type SessionPolicy } from '../../../workers/http/auth/session.js';
import { LoginStates } from '../../../workers/http/auth/state.js';
import { check, type FuzzTarget } from '../target.js';

export const FUZZ_COOKIE_KEY = createHash('sha256').update('edgeplane fuzz cookie key').digest();
export const FUZZ_COOKIE_PREFIX = 'ngrok.';
/** Clock of the corpus: sessions and states were sealed at this instant. */
export const FUZZ_COOKIE_NOW_MS = Date.UTC(2026, 5, 1, 12, 0, 0);
export const FUZZ_POLICY: SessionPolicy = { inactivityTimeoutS: 0, maximumDurationS: 0, authCheckIntervalS: 0 };
/** The only subjects the generator sealed. */
export const FUZZ_SUBJECTS = ['fuzz-user-1', 'fuzz-user-2'];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_OCTETS = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

export const sessions = new SessionCookies({ key: FUZZ_COOKIE_KEY, cookiePrefix: FUZZ_COOKIE_PREFIX, policy: FUZZ_POLICY, clock: () => FUZZ_COOKIE_NOW_MS });
export const loginStates = new LoginStates({ key: FUZZ_COOKIE_KEY, cookiePrefix: FUZZ_COOKIE_PREFIX, clock: () => FUZZ_COOKIE_NOW_MS });

const target: FuzzTarget = {
  name: 'cookies',
  maxLen: 8192,
  dictionary: ['; ', ';', '=', '"', 'ngrok.session=', 'ngrok.nonce.', ' ', ',', '\\', '\t', '\n', 'AQ', '_', '-', '=='],
  run(data) {
    const text = data.toString('latin1');
    const nl = text.indexOf('\n');
    const header = nl < 0 ? text : text.slice(0, nl);
    const state = nl < 0 ? null : text.slice(nl + 1);
    const jar = cookiesFromHeaders(['cookie', header, 'host', 'app.example.test']);
    let pairs = 0;
    for (const [name, values] of jar) {
      check(TOKEN.test(name), `cookie name ${JSON.stringify(name)} is not a token`);
      for (const v of values) check(COOKIE_OCTETS.test(v), `cookie value ${JSON.stringify(v)} has bytes a cookie cannot carry`);
      pairs += values.length;
    }
    check(pairs <= 256, `${pairs} pairs kept from one header`);
    const read = sessions.read(jar);
    if (read.ok) check(FUZZ_SUBJECTS.includes(read.record.sub), `a session for ${JSON.stringify(read.record.sub)} opened: sealed by someone else?`);
    else check(['missing', 'unreadable', 'expired', 'inactive', 'maximum_duration'].includes(read.reason), `unknown session reason ${read.reason}`);
    if (state !== null) {
      const finished = loginStates.finish(state, jar);
      if (finished.ok) {
        const uri = finished.login.uri;
        check(uri.startsWith('/') && !uri.startsWith('//') && !uri.startsWith('/\\'), `login returns to ${JSON.stringify(uri)}: not a same-origin path`);
      }
    }
  },
};

export default target;
