import t from 'tap';
import { compileProjection, eventFields, fieldInfo, fieldProblem } from '../../../core/events/fields.js';
import { compileProjectedSerializer } from '../../../core/events/projected-json.js';
import type { HttpRequestComplete } from '../../../core/events/types.js';

const HTTP = 'http_request_complete.v0';
const TCP = 'tcp_connection_closed.v0';

function httpEvent(): HttpRequestComplete {
  return {
    conn: { client_ip: '203.0.113.7', server_ip: '10.0.0.1', server_name: 'api.example.com', server_port: 443, start_ts: '2024-01-01T00:00:00.000Z' },
    http: {
      request: {
        body_length: 0, headers: { Host: ['api.example.com'], Authorization: ['bearer x'] }, method: 'get',
        url: { host: 'api.example.com', path: '/a', query: 'q=1', scheme: 'https', raw: 'https://api.example.com/a?q=1' },
        user_agent: 'curl/8', version: 'HTTP/1.1', first_byte_ts: '2024-01-01T00:00:00.001Z',
      },
      response: { body_length: 5, headers: { 'Content-Type': ['text/plain'] }, status_code: 200 },
    },
    ja4_fingerprint: '', tls: { cipher_suite: 'TLS_AES_128_GCM_SHA256', version: 'TLSv1.3' },
    edge: { id: 'edghts_1' }, route: { id: 'edghtsrt_1' },
  };
}

t.test('the catalogue has both spec tables and the extras', async (t) => {
  const http = eventFields(HTTP).map((f) => f.path);
  for (const f of ['backend.connection_reused', 'http.request.url.raw', 'tls.client_cert.subject.cn', 'traffic_policy.logs', 'webhook_verification.decision', 'http.request.first_byte_ts', 'edge.id', 'route.id']) {
    t.ok(http.includes(f), f);
  }
  t.equal(eventFields(TCP).length, 12);
  t.same(eventFields(HTTP).filter((f) => f.filterable).map((f) => f.path), ['conn.client_ip', 'conn.server_ip', 'conn.server_name', 'conn.server_port']);
  t.same(eventFields(TCP).filter((f) => f.filterable).map((f) => f.path), ['conn.client_ip', 'conn.server_ip', 'conn.server_name', 'conn.server_port']);
  t.match(fieldInfo(HTTP, 'http.response.status_code'), { kind: 'int', filterable: false, origin: 'spec' });
  t.match(fieldInfo(HTTP, 'route.id'), { origin: 'edgeplane' });
});

t.test('fieldProblem codes', async (t) => {
  t.equal(fieldProblem(HTTP, 'conn.client_ip'), null);
  t.equal(fieldProblem(HTTP, 'conn.bytes_in')?.code, 5403, 'a tcp field on http');
  t.equal(fieldProblem(TCP, 'http.request.method')?.code, 5403, 'an http field on tcp');
  t.equal(fieldProblem(TCP, 'conn.nope')?.code, 5405);
  t.equal(fieldProblem(HTTP, 'conn')?.code, 5405, 'an object is not a field');
  t.throws(() => compileProjection(HTTP, ['conn.client_ip', 'x.y']), { code: 5405 });
});

t.test('projection keeps nesting, leaves absent fields absent, copies', async (t) => {
  const event = httpEvent();
  const project = compileProjection(HTTP, ['conn.client_ip', 'http.request.url.path', 'http.request.headers', 'http.response.status_code', 'oauth.user.name', 'http.request.last_byte_ts']);
  const out = project(event);
  t.same(out, {
    conn: { client_ip: '203.0.113.7' },
    http: { request: { url: { path: '/a' }, headers: event.http.request.headers }, response: { status_code: 200 } },
  });
  t.notOk('oauth' in out, 'absent module object stays absent');
  t.notOk('last_byte_ts' in (out.http as { request: object }).request);
  (out.conn as { client_ip: string }).client_ip = 'changed';
  t.equal(event.conn.client_ip, '203.0.113.7', 'the source is not shared at object level');
  t.same(compileProjection(HTTP, [])(event), {});
});

t.test('a projected serializer writes exactly the projection', async (t) => {
  const fields = ['conn.client_ip', 'conn.server_port', 'http.request.headers', 'http.response.status_code', 'edge.id'];
  const project = compileProjection(HTTP, fields);
  const serialize = compileProjectedSerializer(HTTP, fields);
  const envelope = { event_id: 'ev_1', event_type: HTTP, event_timestamp: '2024-01-01T00:00:00Z', account_id: 'ac_1', object: project(httpEvent()), principal: null };
  t.same(JSON.parse(serialize(envelope)), JSON.parse(JSON.stringify(envelope)));
  t.throws(() => compileProjectedSerializer(TCP, ['http.request.method']), { code: 5403 });
});
