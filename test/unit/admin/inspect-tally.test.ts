// Route status tally and traffic rows from event envelopes (core/admin/inspect/tally.ts, summary.ts).
import t from 'tap';
import { RouteStatusTally } from '../../../core/admin/inspect/tally.js';
import { trafficRow } from '../../../core/admin/inspect/summary.js';

const http = (route: string, status: number): object => ({
  event_type: 'http_request_complete.v0', event_id: 'ev', event_timestamp: '2024-01-01T00:00:00.000Z',
  object: { edge: { id: 'e' }, route: { id: route }, conn: { client_ip: '192.0.2.1' }, http: { request: { method: 'post', url: { host: 'h', path: '/p' } }, response: { status_code: status } } },
});

t.test('counts per route by status class, bounded in routes', async (t) => {
  const tally = new RouteStatusTally(2);
  tally.add([http('a', 200), http('a', 503), http('b', 404), http('c', 201), http('d', 302), { event_type: 'tcp_connection_closed.v0', object: {} }]);
  t.same(tally.snapshot(), [
    { edge: 'e', route: '(other)', requests: 2, statuses: { '2xx': 1, '3xx': 1 } },
    { edge: 'e', route: 'a', requests: 2, statuses: { '2xx': 1, '5xx': 1 } },
    { edge: 'e', route: 'b', requests: 1, statuses: { '4xx': 1 } },
  ]);
});

t.test('rows: tcp durations, malformed events do not throw', async (t) => {
  const row = trafficRow({ event_type: 'tcp_connection_closed.v0', object: { conn: { start_ts: '2024-01-01T00:00:00.000Z', end_ts: '2024-01-01T00:00:01.500Z', bytes_in: 5, bytes_out: 7, server_name: 'db.example' } } });
  t.match(row, { kind: 'tcp', host: 'db.example', duration_ms: 1500, bytes_in: 5, bytes_out: 7 });
  t.equal(trafficRow({ event_type: 'http_request_complete.v0', object: null })?.status, 0);
  t.equal(trafficRow({}), null);
  t.equal(trafficRow(http('a', 200))?.method, 'POST');
});
