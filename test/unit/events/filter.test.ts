import t from 'tap';
import { compileFilter, filterEvaluationFailures, filterProblem } from '../../../core/events/filter.js';
import type { TcpConnectionClosed } from '../../../core/events/types.js';

const HTTP = 'http_request_complete.v0';
const TCP = 'tcp_connection_closed.v0';

function tcpEvent(conn: Partial<TcpConnectionClosed['conn']> = {}): TcpConnectionClosed {
  return {
    conn: {
      bytes_in: 10, bytes_out: 20, client_ip: '203.0.113.7', server_ip: '10.0.0.1', server_name: 'api.example.com',
      server_port: 443, start_ts: '2024-01-01T00:00:00.000Z', end_ts: '2024-01-01T00:00:01.000Z', ...conn,
    },
    ip_policy: { decision: '' }, ja4_fingerprint: '', edge: { id: 'edg_1' },
  };
}

t.test('the spec examples match and refuse the right events', async (t) => {
  const byName = compileFilter(HTTP, 'ev.conn.server_name.matches("^api\\\\.example\\\\.com$")');
  t.equal(byName(tcpEvent()), true);
  t.equal(byName(tcpEvent({ server_name: 'www.example.com' })), false);
  t.equal(byName(tcpEvent({ server_name: 'apixexample.com' })), false, 'the escaped dot is literal');

  const port80 = compileFilter(TCP, 'ev.conn.server_port == 80');
  t.equal(port80(tcpEvent({ server_port: 80 })), true, 'a JS number equals the CEL int literal');
  t.equal(port80(tcpEvent({ server_port: 8080 })), false);

  const notClient = compileFilter(HTTP, 'ev.conn.client_ip != "203.0.113.7"');
  t.equal(notClient(tcpEvent()), false);
  t.equal(notClient(tcpEvent({ client_ip: '198.51.100.1' })), true);

  const combined = compileFilter(TCP, 'ev.conn.server_port >= 8000 && (ev.conn.server_ip.startsWith("10.") || ev.conn.server_name == "x")');
  t.equal(combined(tcpEvent({ server_port: 8443 })), true);
  t.equal(combined(tcpEvent({ server_port: 8443, server_ip: '192.0.2.1' })), false);
});

t.test('an empty filter matches everything', async (t) => {
  t.equal(filterProblem(HTTP, ''), null);
  t.equal(compileFilter(HTTP, '  ')(tcpEvent()), true);
});

t.test('evaluation errors are no match, and counted', async (t) => {
  const filter = compileFilter(HTTP, 'ev.conn.server_name.matches("^a")');
  const before = filterEvaluationFailures();
  t.equal(filter({ conn: { client_ip: '1.2.3.4' } }), false, 'missing field → no match, no throw');
  t.equal(filterEvaluationFailures(), before + 1);
  t.equal(filter(tcpEvent({ server_name: 'abc' })), true, 'the filter still works afterwards');
  t.equal(filterEvaluationFailures(), before + 1);
});

t.test('validation codes', async (t) => {
  const code = (type: typeof HTTP | typeof TCP, text: string) => filterProblem(type, text)?.code ?? null;
  t.equal(code(HTTP, 'ev.conn.server_port =='), 5404, 'syntax error');
  t.equal(code(HTTP, 'ev.conn.server_port = 80'), 5404, 'syntax error');
  t.equal(code(HTTP, 'ev.conn.server_port == "80"'), 5404, 'type error: int vs string');
  t.equal(code(HTTP, 'ev.conn.server_name.matches("(")'), 5404, 'invalid regex literal');
  t.equal(code(HTTP, 'ev.conn.server_port'), 5404, 'not a boolean');
  t.equal(code(HTTP, 'other.conn.server_port == 80'), 5404, 'unknown variable');
  t.equal(code(HTTP, 'ev.conn.nope == "x"'), 5405, 'unknown field');
  t.equal(code(HTTP, 'ev.conn.server_name.x == "x"'), 5405, 'below a leaf');
  t.equal(code(HTTP, 'ev.conn.bytes_in > 0'), 5405, 'a tcp field on the http type');
  t.equal(code(TCP, 'ev.http.request.method == "get"'), 5405, 'an http field on the tcp type');
  t.equal(code(HTTP, 'ev.http.request.method == "get"'), 5406, 'exists, not filterable');
  t.equal(code(TCP, 'ev.conn.bytes_in > 0'), 5406, 'exists on tcp, not filterable');
  t.equal(code(HTTP, 'ev.http.request.headers["Host"] == ["x"]'), 5406, 'inside a non-filterable map');
  t.equal(code(HTTP, 'ev.conn["server_port"] == 80'), null, 'literal index is a field name');
  t.equal(code(HTTP, 'ev.conn[ev.conn.server_name] == "x"'), 5406, 'computed access');
  t.equal(code(HTTP, 'size(ev.conn) > 0'), 5406, 'a whole object');
  t.equal(code(HTTP, 'has(ev.conn.server_ip) && ev.conn.server_ip != ""'), null);
  const problem = filterProblem(HTTP, 'ev.conn.start_ts == ""');
  t.match(problem, { code: 5406, msg: /conn\.start_ts/ }, 'the message names the field');
  t.throws(() => compileFilter(HTTP, 'ev.oauth.user.name == "x"'), { code: 5406 });
});
