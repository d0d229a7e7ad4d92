import t from 'tap';
import { canonicalIp, compileProtection, compileRecordMatcher, hashIp, recordMatches, truncateIp } from '../../../core/events/protect.js';
import { DEFAULT_DATA_PROTECTION } from '../../../core/events/model.js';
import type { DataProtection } from '../../../core/events/model.js';
import type { HttpRequestComplete } from '../../../core/events/types.js';

function httpEvent(clientIp = '203.0.113.7'): HttpRequestComplete {
  return {
    conn: { client_ip: clientIp, server_ip: '10.0.0.1', server_name: 'api.example.com', server_port: 443, start_ts: '2024-01-01T00:00:00.000Z' },
    http: {
      request: {
        body_length: 0, method: 'get', user_agent: 'curl/8', version: 'HTTP/1.1',
        headers: { Host: ['api.example.com'], Authorization: ['bearer secret'], Cookie: ['sid=1'], 'X-Api-Key': ['k1'], 'X-Forwarded-For': ['198.51.100.23, 2001:db8:abcd:12::1'], Forwarded: ['for=198.51.100.23'] },
        url: { host: 'api.example.com', path: '/', query: '', scheme: 'https', raw: 'https://api.example.com/' },
      },
      response: { body_length: 0, headers: { 'Set-Cookie': ['sid=2'], 'Content-Type': ['text/plain'] }, status_code: 200 },
    },
    ja4_fingerprint: '', tls: { cipher_suite: '', version: '' },
    oauth: { app_client_id: 'c', decision: 'allow', user: { id: 'u-42', name: 'Alice@Example.com' } },
    edge: { id: 'e' }, route: { id: 'r' },
  };
}

const protection = (p: Partial<DataProtection>): DataProtection => ({ ...DEFAULT_DATA_PROTECTION, ...p });

t.test('IPv4 and IPv6 truncation', async (t) => {
  t.equal(truncateIp('203.0.113.7'), '203.0.113.0');
  t.equal(truncateIp('10.1.2.255'), '10.1.2.0');
  t.equal(truncateIp('2001:db8:abcd:12::1'), '2001:db8:abcd::');
  t.equal(truncateIp('2001:0DB8:0000:0012:0000:0000:0000:0001'), '2001:db8::', 'zero third group folds into ::');
  t.equal(truncateIp('fe80::1%eth0'), 'fe80::');
  t.equal(truncateIp('::1'), '::');
  t.equal(truncateIp('::ffff:203.0.113.7'), '::ffff:203.0.113.0', 'IPv4-mapped is truncated as IPv4');
  t.equal(truncateIp('not-an-ip'), '', 'fails closed');
  t.equal(truncateIp(''), '');
  t.equal(canonicalIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
});

t.test('hashing is keyed and stable', async (t) => {
  const a = hashIp('203.0.113.7', 'key-1');
  t.match(a, /^h:[0-9a-f]{16}$/);
  t.equal(hashIp('203.0.113.7', 'key-1'), a, 'stable for a key');
  t.not(hashIp('203.0.113.7', 'key-2'), a, 'depends on the key');
  t.not(hashIp('203.0.113.8', 'key-1'), a, 'depends on the address');
  t.equal(hashIp('2001:DB8::1', 'k'), hashIp('2001:db8:0::1', 'k'), 'IPv6 spellings hash alike');
});

t.test('truncate mode: client ip and forwarding headers; input not mutated', async (t) => {
  const event = httpEvent();
  const before = JSON.stringify(event);
  const out = compileProtection(protection({ client_ip: 'truncate' }), 'k')(event) as unknown as HttpRequestComplete;
  t.equal(out.conn.client_ip, '203.0.113.0');
  t.same(out.http.request.headers['X-Forwarded-For'], ['198.51.100.0, 2001:db8:abcd::']);
  t.same(out.http.request.headers.Forwarded, ['[redacted]']);
  t.equal(JSON.stringify(event), before, 'the source event is unchanged');
});

t.test('hash mode', async (t) => {
  const out = compileProtection(protection({ client_ip: 'hash' }), 'k')(httpEvent()) as unknown as HttpRequestComplete;
  t.equal(out.conn.client_ip, hashIp('203.0.113.7', 'k'));
});

t.test('header redaction: always-redacted and configured names, case-insensitive', async (t) => {
  const keep = compileProtection(DEFAULT_DATA_PROTECTION, 'k')(httpEvent()) as unknown as HttpRequestComplete;
  t.same(keep.http.request.headers.Authorization, ['[redacted]']);
  t.same(keep.http.request.headers.Cookie, ['[redacted]']);
  t.same(keep.http.response.headers['Set-Cookie'], ['[redacted]']);
  t.same(keep.http.request.headers['X-Api-Key'], ['k1'], 'not configured: kept');
  t.same(keep.http.request.headers['X-Forwarded-For'], ['198.51.100.23, 2001:db8:abcd:12::1'], 'keep mode leaves IPs');
  t.equal(keep.conn.client_ip, '203.0.113.7');
  const configured = compileProtection(protection({ redact_headers: ['x-api-KEY'] }), 'k')(httpEvent()) as unknown as HttpRequestComplete;
  t.same(configured.http.request.headers['X-Api-Key'], ['[redacted]']);
  t.same(configured.http.request.headers.Host, ['api.example.com']);
});

t.test('allow-list keeps only the listed fields, then protects them', async (t) => {
  const out = compileProtection(protection({ client_ip: 'truncate', allow_fields: ['conn.client_ip', 'http.request.headers', 'oauth.user.id'] }), 'k')(httpEvent());
  t.same(Object.keys(out).sort(), ['conn', 'http', 'oauth']);
  t.same(out.conn, { client_ip: '203.0.113.0' });
  t.same(out.oauth, { user: { id: 'u-42' } });
  const headers = (out as unknown as HttpRequestComplete).http.request.headers;
  t.same(headers.Authorization, ['[redacted]']);
  t.notOk('response' in (out as { http: object }).http);
});

t.test('record matching for the deletion API', async (t) => {
  const event = httpEvent();
  const envelope = { event_id: 'ev_1', event_type: 'http_request_complete.v0', event_timestamp: '', account_id: '', object: event, principal: null };
  t.ok(recordMatches(event, { client_ip: '203.0.113.7' }));
  t.ok(recordMatches(envelope, { client_ip: '203.0.113.7' }), 'envelopes too');
  t.ok(recordMatches(event, { client_ip: '2001:DB8:ABCD:12:0:0:0:1' }), 'an IPv6 in X-Forwarded-For, any spelling');
  t.notOk(recordMatches(event, { client_ip: '203.0.113.8' }));
  const hashed = compileProtection(protection({ client_ip: 'hash' }), 'key')(event);
  t.ok(recordMatches(hashed, { client_ip: '203.0.113.7' }, 'key'), 'a hashed record matches given the key');
  t.notOk(recordMatches(hashed, { client_ip: '203.0.113.7' }, 'other'));
  t.ok(recordMatches(event, { user: 'u-42' }));
  t.notOk(recordMatches(event, { user: 'U-42' }), 'ids are exact');
  t.ok(recordMatches(event, { user: 'alice@example.COM' }), 'emails are case-insensitive');
  t.notOk(recordMatches(event, { user: 'bob@example.com' }));
  t.notOk(compileRecordMatcher({})(event), 'an empty query matches nothing');
  t.notOk(recordMatches({ conn: { client_ip: '' } }, { client_ip: '' }));
});
