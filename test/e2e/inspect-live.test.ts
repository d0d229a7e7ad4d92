// The inspection feed (WebSocket /inspect/live) from a node client: snapshot on connect, traffic rows
// batched under the per-second cap, cross-origin upgrades refused, and a client that stops reading
// is closed by uWS's backpressure limit instead of growing the server's buffers.
import t from 'tap';
import WebSocket from 'ws';
import { FakeInspectionSource, startInspectionServer } from '../helpers/inspection.js';
import type { RouteStatus } from '../../core/admin/inspect/source.js';

interface Message { type: string; rows?: Array<Record<string, unknown>>; skipped?: number; routes?: RouteStatus[] }

function httpEvent(i: number): object {
  const ts = new Date().toISOString();
  return {
    event_id: `ev_${i}`, event_type: 'http_request_complete.v0', event_timestamp: ts, account_id: '', principal: null,
    object: {
      conn: { client_ip: '192.0.2.7', server_ip: '127.0.0.1', server_name: 'app.example.test', server_port: 443, start_ts: ts },
      http: {
        request: { method: 'get', url: { host: 'app.example.test', path: `/item/${i}`, query: '', scheme: 'https', raw: `/item/${i}` }, body_length: 0, headers: { Authorization: ['[redacted]'] }, user_agent: 'test', version: 'HTTP/1.1' },
        response: { status_code: 200 + (i % 4) * 100, body_length: 10, headers: {} },
      },
      edge: { id: 'edghts_app' }, route: { id: 'rt_app' }, tls: { cipher_suite: '', version: '' }, ja4_fingerprint: '',
    },
  };
}

function connect(url: string, origin?: string): Promise<{ ws: WebSocket; messages: Message[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    const messages: Message[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Message));
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('error', reject);
  });
}

const until = async (cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

t.test('snapshot on connect, then batched rows; the source is only subscribed while a page is open', async (t) => {
  const source = new FakeInspectionSource();
  source.current = { routes: [{ edge: 'edghts_app', route: 'rt_app', requests: 3, statuses: { '2xx': 3 } }], breakers: [], workers: [{ worker: 0, active: 1, handled: 9 }] };
  const server = await startInspectionServer(t, source, { flushIntervalMs: 50 });
  t.equal(source.subscribers, 0, 'no page, no subscription');
  const { ws, messages } = await connect(`ws://127.0.0.1:${server.port}/inspect/live`);
  await until(() => messages.length >= 1, 'first message');
  t.equal(messages[0].type, 'snapshot', 'greeted with a snapshot');
  t.same(messages[0].routes, source.current.routes);
  source.emit([httpEvent(1), httpEvent(2), { event_type: 'event_subscription_created.v0', object: {} }]);
  await until(() => messages.some((m) => m.type === 'events'), 'an events message');
  const rows = messages.find((m) => m.type === 'events')!.rows!;
  t.same(rows.map((r) => [r.path, r.status, r.method, r.route]), [['/item/1', 300, 'GET', 'rt_app'], ['/item/2', 400, 'GET', 'rt_app']], 'traffic rows only, in order');
  t.notOk(JSON.stringify(rows).includes('Authorization'), 'rows carry no headers');
  ws.close();
  await until(() => source.subscribers === 0, 'unsubscribe after the last page left');
  t.equal(server.handle.stats().clients, 0);
});

t.test('a cross-origin page cannot open the feed', async (t) => {
  const server = await startInspectionServer(t, new FakeInspectionSource());
  const err = await connect(`ws://127.0.0.1:${server.port}/inspect/live`, 'http://evil.example').then(() => null, (e: Error) => e);
  t.match(err?.message, /403/, 'refused with 403');
  const ok = await connect(`ws://127.0.0.1:${server.port}/inspect/live`, `http://127.0.0.1:${server.port}`);
  t.pass('its own origin is accepted');
  ok.ws.close();
});

t.test('rows are capped per second; the excess is counted, not queued', async (t) => {
  const cap = 50;
  const source = new FakeInspectionSource();
  const server = await startInspectionServer(t, source, { maxEventsPerSecond: cap, flushIntervalMs: 50 });
  const { ws, messages } = await connect(`ws://127.0.0.1:${server.port}/inspect/live`);
  const started = Date.now();
  let emitted = 0;
  while (Date.now() - started < 2500) {
    source.emit(Array.from({ length: 40 }, () => httpEvent(emitted++)));
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 200));
  const seconds = (Date.now() - started) / 1000;
  const events = messages.filter((m) => m.type === 'events');
  const rows = events.reduce((n, m) => n + m.rows!.length, 0);
  const skipped = events.reduce((n, m) => n + m.skipped!, 0);
  t.ok(rows >= cap * 2, `rows flowed (${rows} in ${seconds.toFixed(1)} s)`);
  t.ok(rows <= cap * (Math.ceil(seconds) + 1), `at most ${cap}/s: ${rows} rows in ${seconds.toFixed(1)} s of ${emitted} events`);
  t.equal(rows + skipped, emitted, 'every event is either sent or counted as skipped');
  ws.close();
});

t.test('a client that never reads is closed at maxBackpressure; others keep receiving', async (t) => {
  const maxBackpressureBytes = 256 * 1024;
  const source = new FakeInspectionSource();
  // ~300 KB per snapshot, 50 snapshots a second: far more than a stalled client's kernel buffers take.
  source.current = {
    routes: Array.from({ length: 3000 }, (_, i) => ({ edge: `edghts_${i % 7}`, route: `rt_route_number_${i}`, requests: i, statuses: { '2xx': i } })),
    breakers: [], workers: [],
  };
  const server = await startInspectionServer(t, source, { snapshotIntervalMs: 20, maxBackpressureBytes });
  const healthy = await connect(`ws://127.0.0.1:${server.port}/inspect/live`);
  const stalled = await connect(`ws://127.0.0.1:${server.port}/inspect/live`);
  (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const rssBefore = process.memoryUsage().rss;
  await until(() => server.handle.stats().droppedClients >= 1, 'the stalled client is dropped', 20_000);
  const stats = server.handle.stats();
  const biggest = JSON.stringify({ type: 'snapshot', at: new Date().toISOString(), ...source.current }).length;
  t.equal(stats.clients, 1, 'the stalled client is gone, the healthy one stays');
  t.ok(stats.bytesPublished > 10 * maxBackpressureBytes, `published ${(stats.bytesPublished / 1e6).toFixed(1)} MB per client meanwhile`);
  t.ok(stats.maxBufferedBytes <= maxBackpressureBytes + biggest, `buffered for one client at most ${stats.maxBufferedBytes} bytes (limit ${maxBackpressureBytes} + one message of ${biggest})`);
  t.comment(`rss grew ${((process.memoryUsage().rss - rssBefore) / 1e6).toFixed(1)} MB while the stalled client was open`);

  const before = healthy.messages.length;
  await until(() => healthy.messages.length >= before + 5, 'the healthy client keeps receiving');
  t.pass('the healthy client still receives snapshots');
  healthy.ws.close();
  stalled.ws.terminate();
});
