import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serializeHttpRequestComplete, serializeTcpConnectionClosed } from '../../../core/events/serializers.js';
import { capitaliseHeaderName, eventHeaders, httpRequestCompleteEvent } from '../../../workers/http/request-event.js';
import { lowerCaseNames } from '../../../workers/http/headers.js';
import type { ConnectionInfo, Exchange, ExchangeVars, HeaderList } from '../../../workers/http/exchange.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

const BEARER = 'Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.SIG';
const SESSION = 'session=s3cr3t-session-value; theme=Dark';
const SET_COOKIE = 'sid=upstream-secret-sid; Path=/; HttpOnly';
const SECRETS = ['eyJhbGciOiJIUzI1NiJ9', 's3cr3t-session-value', 'upstream-secret-sid', 'proxy-pass-123', 'ngrok-tok-456'];

interface Captured { requestHeaders: HeaderList; responseHeaders: HeaderList; method: string; url: string; bodyBytes: number; status: number }

/**
 * One real request through node's HTTP stack: the header lists are what an engine actually sees
 * (raw order, repeats, real casing), not hand-written literals.
 */
async function captureRealExchange(t: Test): Promise<Captured> {
  let requestHeaders: HeaderList = [];
  let bodyBytes = 0;
  const server = http.createServer((req, res) => {
    requestHeaders = lowerCaseNames([...req.rawHeaders]);
    req.on('data', (chunk: Buffer) => { bodyBytes += chunk.length; });
    req.on('end', () => {
      res.setHeader('Content-Type', 'Application/JSON; Charset=UTF-8');
      res.setHeader('Set-Cookie', [SET_COOKIE, 'lang=en']);
      res.setHeader('X-Request-Id', 'AbC-123');
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, method: 'POST', path: '/api/v1/items?limit=10&Sort=Desc',
      headers: {
        Host: 'App1.Example.Test', 'User-Agent': 'Mozilla/5.0 (X11) Firefox/120', Authorization: BEARER,
        'Proxy-Authorization': 'Basic proxy-pass-123', Cookie: SESSION, 'Ngrok-Auth-Token': 'ngrok-tok-456',
        'Ngrok-Skip-Browser-Warning': 'True', 'Content-Type': 'Application/JSON', 'X-Multi': ['One', 'Two'],
      },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({
        requestHeaders, responseHeaders: lowerCaseNames([...res.rawHeaders]), method: 'POST',
        url: '/api/v1/items?limit=10&Sort=Desc', bodyBytes, status: res.statusCode!,
      }));
    });
    req.on('error', reject);
    req.end('{"name":"widget"}');
  });
}

function connectionInfo(overrides: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return {
    clientIp: '203.0.113.7', clientPort: 51234, serverIp: '127.0.0.1', serverPort: 8443,
    serverName: 'app1.example.test', startMs: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
    tlsVersion: 'TLSv1.3', tlsCipher: 'TLS_AES_128_GCM_SHA256', ja4: 't13d1516h2_8daaf6152771_02713d6af862',
    clientCert: null, ...overrides,
  };
}

function exchangeFrom(c: Captured, vars: ExchangeVars, conn = connectionInfo()): Exchange {
  return {
    conn, edgeId: 'edghts_1', edgeSlot: 0, readBody: () => Promise.resolve(null), routeId: 'edghtsrt_api', method: c.method, rawUrl: c.url,
    path: '/api/v1/items', query: 'limit=10&Sort=Desc', host: 'app1.example.test', version: '1.1',
    requestHeaders: c.requestHeaders, upstreamHeaders: [...c.requestHeaders], status: c.status,
    responseHeaders: c.responseHeaders, vars, startMs: conn.startMs + 5,
    requestBodyBytes: c.bodyBytes, responseBodyBytes: 11, errorCode: '',
  };
}

t.test('a real request maps to a nested, normalised, redacted event', async (t) => {
  const captured = await captureRealExchange(t);
  const x = exchangeFrom(captured, {
    ipPolicyDecision: 'allow', circuitBreakerDecision: 'allow_while_open', compressionAlgorithm: 'gzip',
    compressionBytesSaved: 1234, userAgentFilterDecision: 'allow', backendConnectionReused: true,
  });
  const endMs = x.startMs + 40;
  const line = serializeHttpRequestComplete(
    httpRequestCompleteEvent(x, 'https', endMs, { requestFirstByteMs: x.startMs - 1, requestLastByteMs: x.startMs + 2, responseFirstByteMs: x.startMs + 30 }),
    'ac_test', new Date(endMs),
  );
  for (const secret of SECRETS) t.notOk(line.includes(secret), `serialized event does not contain ${secret}`);

  const ev = JSON.parse(line);
  t.match(ev, { event_type: 'http_request_complete.v0', account_id: 'ac_test', principal: null, event_timestamp: new Date(endMs).toISOString() });
  t.match(ev.event_id, /^ev_/);
  const o = ev.object;
  t.same(o.conn, { client_ip: '203.0.113.7', server_ip: '127.0.0.1', server_name: 'app1.example.test', server_port: 8443, start_ts: '2026-01-02T03:04:05.006Z' });
  t.equal(o.http.request.method, 'post', 'method is lower case (spec table)');
  t.same(o.http.request.url, {
    host: 'app1.example.test', path: '/api/v1/items', query: 'limit=10&Sort=Desc', scheme: 'https',
    raw: 'https://app1.example.test/api/v1/items?limit=10&Sort=Desc',
  });
  t.equal(o.http.request.version, 'HTTP/1.1');
  t.equal(o.http.request.user_agent, 'Mozilla/5.0 (X11) Firefox/120', 'user_agent as received');
  t.equal(o.http.request.body_length, '{"name":"widget"}'.length);
  t.equal(o.http.request.first_byte_ts, new Date(x.startMs - 1).toISOString());
  t.equal(o.http.request.last_byte_ts, new Date(x.startMs + 2).toISOString());

  const reqHeaders = o.http.request.headers;
  t.same(reqHeaders['Authorization'], ['[redacted]']);
  t.same(reqHeaders['Proxy-Authorization'], ['[redacted]']);
  t.same(reqHeaders['Cookie'], ['[redacted]']);
  t.same(reqHeaders['Ngrok-Auth-Token'], ['[redacted]']);
  t.same(reqHeaders['Ngrok-Skip-Browser-Warning'], ['true'], 'harmless ngrok-* headers are kept, lower-cased');
  t.same(reqHeaders['Content-Type'], ['application/json'], 'keys capitalised per word, values lower case');
  t.same(reqHeaders['User-Agent'], ['mozilla/5.0 (x11) firefox/120']);
  t.same(reqHeaders['Host'], ['app1.example.test']);
  t.same(reqHeaders['X-Multi'], ['one', 'two'], 'repeated headers kept in order');
  for (const key of Object.keys(reqHeaders)) t.match(key, /^[A-Z0-9][a-z0-9]*(-[A-Z0-9][a-z0-9]*)*$/, `${key} is capitalised`);

  const res = o.http.response;
  t.equal(res.status_code, 200);
  t.equal(res.body_length, 11);
  t.same(res.headers['Set-Cookie'], ['[redacted]', '[redacted]'], 'every Set-Cookie hidden, count kept');
  t.same(res.headers['Content-Type'], ['application/json; charset=utf-8']);
  t.same(res.headers['X-Request-Id'], ['abc-123']);
  t.equal(res.first_byte_ts, new Date(x.startMs + 30).toISOString());
  t.equal(res.last_byte_ts, new Date(endMs).toISOString(), 'last response byte defaults to the end');

  t.same(o.tls, { cipher_suite: 'TLS_AES_128_GCM_SHA256', version: 'TLSv1.3' }, 'no client_cert without mTLS');
  t.equal(o.ja4_fingerprint, 't13d1516h2_8daaf6152771_02713d6af862');
  t.same(o.ip_policy, { decision: 'allow' });
  t.same(o.circuit_breaker, { decision: 'allow_while_open' });
  t.same(o.compression, { algorithm: 'gzip', bytes_saved: 1234 });
  t.same(o.user_agent_filter, { decision: 'allow' });
  t.same(o.backend, { connection_reused: true });
  t.same(o.edge, { id: 'edghts_1' });
  t.same(o.route, { id: 'edghtsrt_api' });
});

t.test('modules that did not run leave their objects out; cleartext has empty tls fields', async (t) => {
  const captured = await captureRealExchange(t);
  const conn = connectionInfo({ tlsVersion: '', tlsCipher: '', ja4: '', serverPort: 8080 });
  const x = { ...exchangeFrom(captured, {}, conn), version: '2' as const, method: 'GET', query: '', requestBodyBytes: 0 };
  const ev = JSON.parse(serializeHttpRequestComplete(httpRequestCompleteEvent(x, 'http', x.startMs + 1), 'ac_x'));
  const o = ev.object;
  for (const key of ['ip_policy', 'circuit_breaker', 'compression', 'user_agent_filter', 'backend', 'basic_auth', 'oauth', 'webhook_verification', 'traffic_policy']) {
    t.notOk(key in o, `${key} absent`);
  }
  t.equal(o.http.request.method, 'get');
  t.equal(o.http.request.version, 'HTTP/2.0', 'version spelled as in the spec sample');
  t.equal(o.http.request.url.raw, 'http://app1.example.test/api/v1/items', 'no dangling "?" without a query');
  t.equal(o.http.request.url.scheme, 'http');
  t.notOk('first_byte_ts' in o.http.request, 'unknown timestamps are left out, not invented');
  t.same(o.tls, { cipher_suite: '', version: '' });
  t.equal(o.ja4_fingerprint, '');
});

t.test('an exchange without a response has no response timestamps', async (t) => {
  const captured = await captureRealExchange(t);
  const x = { ...exchangeFrom(captured, { circuitBreakerDecision: 'block' }), status: 0, responseHeaders: [], responseBodyBytes: 0 };
  const o = JSON.parse(serializeHttpRequestComplete(httpRequestCompleteEvent(x, 'https', x.startMs + 1), 'ac_x')).object;
  t.equal(o.http.response.status_code, 0);
  t.notOk('last_byte_ts' in o.http.response);
  t.same(o.http.response.headers, {});
  t.same(o.circuit_breaker, { decision: 'block' });
});

t.test('mutual TLS client certificate fields', async (t) => {
  const captured = await captureRealExchange(t);
  const conn = connectionInfo({ clientCert: { subjectCn: 'client-one', sanDns: ['a.test'], emailAddresses: [], serialNumber: '0A1B2C' } });
  const o = JSON.parse(serializeHttpRequestComplete(httpRequestCompleteEvent(exchangeFrom(captured, {}, conn), 'https', Date.now()), 'ac_x')).object;
  t.same(o.tls.client_cert, { serial_number: '0A1B2C', subject: { cn: 'client-one' } });
});

t.test('hostile header names and values stay valid JSON and plain keys', async (t) => {
  const headers = eventHeaders(['__proto__', 'polluted', 'x-quote', 'a "quoted" \\ value\u2028', ':authority', 'app1.example.test', 'www-authenticate', 'Basic Realm="X"']);
  t.same(Object.keys(headers).sort(), ['Www-Authenticate', 'X-Quote', '__proto__'], 'pseudo-headers dropped, __proto__ an ordinary key');
  t.equal(({} as Record<string, unknown>)['polluted'], undefined);
  const conn = connectionInfo();
  const x: Exchange = {
    conn, edgeId: 'e', edgeSlot: 0, readBody: () => Promise.resolve(null), routeId: 'r', method: 'GET', rawUrl: '/', path: '/', query: '', host: 'h', version: '1.1',
    requestHeaders: ['__proto__', 'polluted', 'x-quote', 'a "quoted" \\ value\u2028'], upstreamHeaders: [], status: 204,
    responseHeaders: [], vars: {}, startMs: conn.startMs, requestBodyBytes: 0, responseBodyBytes: 0, errorCode: '',
  };
  const o = JSON.parse(serializeHttpRequestComplete(httpRequestCompleteEvent(x, 'https', conn.startMs), 'ac_x')).object;
  t.same(o.http.request.headers['X-Quote'], ['a "quoted" \\ value\u2028']);
  t.same(o.http.request.headers['__proto__'], ['polluted']);
});

t.test('header names are capitalised per word', async (t) => {
  t.equal(capitaliseHeaderName('content-type'), 'Content-Type');
  t.equal(capitaliseHeaderName('x-forwarded-for'), 'X-Forwarded-For');
  t.equal(capitaliseHeaderName('etag'), 'Etag');
  t.equal(capitaliseHeaderName('x--double'), 'X--Double');
});

t.test('tcp_connection_closed.v0 still serialises as before', async (t) => {
  const line = serializeTcpConnectionClosed({
    conn: { bytes_in: 10, bytes_out: 20, client_ip: '1.2.3.4', server_ip: '5.6.7.8', server_name: 'a.test', server_port: 443, start_ts: 's', end_ts: 'e' },
    ip_policy: { decision: '' }, ja4_fingerprint: 'j', edge: { id: 'edg_1' },
  }, 'ac_1', new Date(0));
  const ev = JSON.parse(line);
  t.same(ev.object, {
    conn: { bytes_in: 10, bytes_out: 20, client_ip: '1.2.3.4', server_ip: '5.6.7.8', server_name: 'a.test', server_port: 443, start_ts: 's', end_ts: 'e' },
    ip_policy: { decision: '' }, ja4_fingerprint: 'j', edge: { id: 'edg_1' },
  });
  t.match(ev, { event_type: 'tcp_connection_closed.v0', account_id: 'ac_1', event_timestamp: '1970-01-01T00:00:00.000Z', principal: null });
});
