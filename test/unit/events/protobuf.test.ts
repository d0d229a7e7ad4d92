import t from 'tap';
import { readFileSync } from 'node:fs';
import { decodeEvents, encodeEvents, protoPath } from '../../../core/events/protobuf.js';
import type { AnyEnvelope } from '../../../core/events/protobuf.js';
import { serializeHttpRequestComplete, serializeTcpConnectionClosed } from '../../../core/events/serializers.js';
import { compileProjection } from '../../../core/events/fields.js';
import type { HttpRequestComplete, TcpConnectionClosed } from '../../../core/events/types.js';

const http: HttpRequestComplete = {
  backend: { connection_reused: false },
  compression: { algorithm: 'gzip', bytes_saved: 2 ** 40 },
  conn: { client_ip: '203.0.113.7', server_ip: '10.0.0.1', server_name: 'api.example.com', server_port: 443, start_ts: '2024-01-01T00:00:00.000Z' },
  http: {
    request: {
      body_length: 0, method: 'get', user_agent: '', version: 'HTTP/2.0', first_byte_ts: '2024-01-01T00:00:00.001Z',
      headers: { Host: ['api.example.com'], Accept: ['text/html', 'application/json'] },
      url: { host: 'api.example.com', path: '/a', query: 'q=1', scheme: 'https', raw: 'https://api.example.com/a?q=1' },
    },
    response: { body_length: 12, headers: {}, status_code: 502 },
  },
  ja4_fingerprint: 't13d1516h2_8daaf6152771_02713d6af862',
  tls: { cipher_suite: 'TLS_AES_128_GCM_SHA256', version: 'TLSv1.3', client_cert: { serial_number: '01', subject: { cn: 'client' } } },
  traffic_policy: { logs: [{ a: '1', b: '' }, {}] },
  user_agent_filter: { decision: 'allow' },
  oauth: { app_client_id: 'c', decision: 'allow', user: { id: 'u', name: 'a@example.com' } },
  edge: { id: 'edghts_1' }, route: { id: 'edghtsrt_1' },
};

const tcp: TcpConnectionClosed = {
  conn: { bytes_in: 0, bytes_out: 9, client_ip: '2001:db8::1', server_ip: '::1', server_name: '', server_port: 0, start_ts: 'a', end_ts: 'b' },
  ip_policy: { decision: '' }, ja4_fingerprint: '', edge: { id: 'edgtcp_1' },
};

t.test('round-trip matches the JSON form field by field', async (t) => {
  const envelopes = [
    JSON.parse(serializeHttpRequestComplete(http, 'ac_1')),
    JSON.parse(serializeTcpConnectionClosed(tcp, 'ac_1')),
  ] as AnyEnvelope[];
  const bytes = encodeEvents(envelopes);
  t.ok(bytes instanceof Uint8Array && bytes.length > 0);
  t.same(decodeEvents(bytes), envelopes, 'including 0, "", false, empty maps and int64 > 2^32');
  t.equal((decodeEvents(bytes)[1]!.object as TcpConnectionClosed).conn.server_port, 0);
});

t.test('projected events keep absent fields absent', async (t) => {
  const object = compileProjection('http_request_complete.v0', ['conn.server_port', 'http.response.status_code', 'ip_policy.decision'])(http);
  const envelope: AnyEnvelope = { event_id: 'ev_2', event_type: 'http_request_complete.v0', event_timestamp: 't', account_id: 'ac', object, principal: null };
  const [decoded] = decodeEvents(encodeEvents([envelope]));
  t.same(decoded!.object, { conn: { server_port: 443 }, http: { response: { status_code: 502 } } });
  t.strictSame(decoded, JSON.parse(JSON.stringify(envelope)));
});

t.test('audit events carry their resource and principal', async (t) => {
  const audit: AnyEnvelope = {
    event_id: 'ev_3', event_type: 'event_subscription_created.v0', event_timestamp: 't', account_id: 'ac',
    object: { id: 'esb_1', sources: [{ type: 'http_request_complete.v0', fields: ['conn.client_ip'], filter: '' }] },
    principal: { id: 'usr_1', subject: 'admin', source: 'API', credential: { id: 'ak_1', uri: 'u' } },
  };
  t.same(decodeEvents(encodeEvents([audit])), [audit]);
  t.same(decodeEvents(encodeEvents([])), []);
});

t.test('the schema file is found from the built module and names the spec fields', async (t) => {
  const text = readFileSync(protoPath(), 'utf8');
  for (const name of ['event_timestamp', 'client_ip', 'ja4_fingerprint', 'map<string, StringList> map']) t.match(text, name);
});

t.test('empty maps and lists stay present, apart from absent ones', async (t) => {
  const object = { http: { request: { headers: {} } }, traffic_policy: { logs: [] } };
  const envelope: AnyEnvelope = { event_id: 'ev_4', event_type: 'http_request_complete.v0', event_timestamp: 't', account_id: 'ac', object, principal: null };
  t.same(decodeEvents(encodeEvents([envelope]))[0]!.object, object);
});
