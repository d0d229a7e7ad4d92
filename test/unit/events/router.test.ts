// The event router with real destinations: a local HTTP receiver and files on disk.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventRouter } from '../../../core/events/router.js';
import { decodeEvents } from '../../../core/events/protobuf.js';
import { deleteRecords } from '../../../core/events/deletion.js';
import { EventSink } from '../../../core/events/sink.js';
import { hashIp } from '../../../core/events/protect.js';
import { DEFAULT_DATA_PROTECTION, type DataProtection, type EventDestination, type EventSubscription, type EventTarget } from '../../../core/events/model.js';
import type { ParsedEvent } from '../../../core/events/hub.js';
import { startReceiver, waitFor } from './destinations/helpers.js';

const KEY = 'router-test-key';

function dest(id: string, target: EventTarget, protection: Partial<DataProtection> = {}, format: 'json' | 'protobuf' = 'json'): EventDestination {
  return { id, created_at: '2024-01-01T00:00:00Z', description: '', metadata: '', format, target, data_protection: { ...DEFAULT_DATA_PROTECTION, ...protection }, origin: 'api' };
}

function sub(id: string, destinationIds: string[], sources: EventSubscription['sources'], protection: Partial<DataProtection> = {}): EventSubscription {
  return { id, created_at: '2024-01-01T00:00:00Z', description: '', metadata: '', sources, destination_ids: destinationIds, data_protection: { ...DEFAULT_DATA_PROTECTION, ...protection }, origin: 'api' };
}

function httpEvent(n: number, clientIp: string, host: string): ParsedEvent {
  return {
    event_id: `ev_${n}`, event_type: 'http_request_complete.v0', event_timestamp: '2024-01-01T00:00:00.000Z', account_id: 'ac_x', principal: null,
    object: {
      conn: { client_ip: clientIp, server_ip: '10.0.0.1', server_name: host, server_port: 443, start_ts: '2024-01-01T00:00:00.000Z' },
      http: {
        request: { method: 'GET', headers: { Host: [host], Authorization: ['Bearer s3cret'], 'X-Secret': ['v'], Accept: ['*/*'] }, url: { path: `/p${n}`, host, query: '', scheme: 'https', raw: '' }, body_length: 0, user_agent: 'ua' },
        response: { status_code: 200, headers: {}, body_length: 0 },
      },
    },
  };
}

const auditEvent: ParsedEvent = {
  event_id: 'ev_a1', event_type: 'event_subscription_created.v0', event_timestamp: '2024-01-01T00:00:00.000Z', account_id: 'ac_x',
  object: { id: 'esb_1' }, principal: { id: 'svc_1' },
};

function feed(router: EventRouter, events: ParsedEvent[]): void {
  router.route(events, events.map((e) => JSON.stringify(e)));
}

t.test('filter selects, fields projected, IPs truncated, headers redacted; audit passes whole', async (t) => {
  const receiver = await startReceiver(() => ({ status: 200 }));
  t.teardown(() => receiver.close());
  const router = new EventRouter({ hashKey: KEY });
  t.teardown(() => router.close());
  router.rebuild({
    destinations: [dest('ed_http', { http: { url: receiver.url + '/in' } }, { redact_headers: ['X-Secret'] })],
    subscriptions: [
      sub('esb_1', ['ed_http'], [
        { type: 'http_request_complete.v0', fields: ['conn.client_ip', 'conn.server_name', 'http.request.headers', 'http.request.url.path'], filter: 'ev.conn.server_name == "a.example"' },
        { type: 'event_subscription_created.v0', fields: [], filter: '' },
      ], { client_ip: 'truncate' }),
    ],
  });
  feed(router, [httpEvent(1, '203.0.113.7', 'a.example'), httpEvent(2, '198.51.100.9', 'b.example'), httpEvent(3, '2001:db8:abcd:12::1', 'a.example'), auditEvent]);
  await router.destination('ed_http')!.destination.flush();
  const lines = receiver.received.flatMap((r) => r.body.toString('utf8').split('\n').filter(Boolean)).map((l) => JSON.parse(l));
  const traffic = lines.filter((l) => l.event_type === 'http_request_complete.v0');
  t.same(traffic.map((l) => l.event_id).sort(), ['ev_1', 'ev_3'], 'the filter kept only a.example');
  const first = traffic.find((l) => l.event_id === 'ev_1');
  t.same(Object.keys(first.object).sort(), ['conn', 'http']);
  t.same(first.object.conn, { client_ip: '203.0.113.0', server_name: 'a.example' }, 'only the chosen conn fields; IPv4 truncated to /24');
  t.same(first.object.http, { request: { headers: { Host: ['a.example'], Authorization: ['[redacted]'], 'X-Secret': ['[redacted]'], Accept: ['*/*'] }, url: { path: '/p1' } } });
  t.equal(traffic.find((l) => l.event_id === 'ev_3').object.conn.client_ip, '2001:db8:abcd::', 'IPv6 truncated to /48');
  t.same(lines.find((l) => l.event_type === 'event_subscription_created.v0'), auditEvent, 'audit envelope passed whole');
  t.match(router.stats(), [{ id: 'ed_http', target: 'http', delivered: 3 }]);
});

t.test('protobuf framing to a file; destinations survive unchanged rebuilds; deletion', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'router-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pbPath = join(dir, 'out.pb');
  const jsonPath = join(dir, 'out.ndjson');
  const eventsPath = join(dir, 'events.ndjson');
  const router = new EventRouter({ hashKey: KEY });
  t.teardown(() => router.close());
  const resources = {
    destinations: [dest('ed_pb', { file: { path: pbPath } }, {}, 'protobuf'), dest('ed_json', { file: { path: jsonPath } }, { client_ip: 'hash' })],
    subscriptions: [sub('esb_1', ['ed_pb', 'ed_json'], [{ type: 'http_request_complete.v0', fields: ['conn.client_ip', 'http.request.url.path'], filter: '' }])],
  };
  router.rebuild(resources);
  const before = router.destination('ed_pb')!.destination;
  router.rebuild({ ...resources });
  t.equal(router.destination('ed_pb')!.destination, before, 'unchanged definition: same destination kept');
  const events = [httpEvent(1, '203.0.113.7', 'a'), httpEvent(2, '198.51.100.9', 'a'), httpEvent(3, '203.0.113.7', 'a')];
  feed(router, events);
  await router.destination('ed_pb')!.destination.flush();
  await router.destination('ed_json')!.destination.flush();
  const decoded = decodeEvents(readFileSync(pbPath));
  t.same(decoded.map((e) => e.event_id), ['ev_1', 'ev_2', 'ev_3'], 'length-delimited protobuf envelopes');
  t.same(decoded[0]!.object, { conn: { client_ip: '203.0.113.7' }, http: { request: { url: { path: '/p1' } } } });
  const json = readFileSync(jsonPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.equal(json[0].object.conn.client_ip, hashIp('203.0.113.7', KEY), 'hashed with the router key');

  const sink = new EventSink(eventsPath);
  t.teardown(() => sink.close());
  writeFileSync(eventsPath, events.map((e) => JSON.stringify(e) + '\n').join(''));
  const report = await deleteRecords({ client_ip: '203.0.113.7' }, { router, sink, eventsFile: eventsPath, hashKey: KEY, subscriptions: resources.subscriptions });
  t.same(report.stores, [
    { store: `events.file ${eventsPath}`, deleted: 2 },
    { store: `event_destination ed_pb (file ${pbPath})`, deleted: 2 },
    { store: `event_destination ed_json (file ${jsonPath})`, deleted: 2 },
  ]);
  t.equal(report.deleted, 6);
  t.same(decodeEvents(readFileSync(pbPath)).map((e) => e.event_id), ['ev_2'], 'protobuf file rewritten');
  t.same(readFileSync(jsonPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l).event_id), ['ev_2'], 'hashed records found by the plain IP');
  sink.write(JSON.stringify(httpEvent(4, '192.0.2.1', 'a')) + '\n', 1);
  feed(router, [httpEvent(5, '192.0.2.1', 'a')]);
  await router.destination('ed_json')!.destination.flush();
  await sink.close();
  t.same(readFileSync(eventsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l).event_id), ['ev_2', 'ev_4'], 'the sink keeps appending after the rewrite');
  t.same(readFileSync(jsonPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l).event_id), ['ev_2', 'ev_5'], 'the file destination reopens after the rewrite');

  router.rebuild({ destinations: [resources.destinations[1]!], subscriptions: [] });
  t.equal(router.destination('ed_pb'), undefined, 'removed destination closed and gone');
  t.ok(existsSync(pbPath));
});

t.test('queued records are purged; remote destinations are not recallable', async (t) => {
  const receiver = await startReceiver(() => 'hang');
  t.teardown(() => receiver.close());
  const router = new EventRouter({ hashKey: KEY, destinationOptions: { concurrency: 1, maxBatchRecords: 1, closeTimeoutMs: 200 } });
  t.teardown(() => router.close());
  const resources = {
    destinations: [dest('ed_slow', { http: { url: receiver.url } })],
    subscriptions: [sub('esb_1', ['ed_slow'], [{ type: 'http_request_complete.v0', fields: ['conn.client_ip'], filter: '' }])],
  };
  router.rebuild(resources);
  feed(router, [httpEvent(1, '203.0.113.7', 'a'), httpEvent(2, '203.0.113.7', 'a'), httpEvent(3, '198.51.100.1', 'a')]);
  await waitFor(() => receiver.received.length === 1, 5000, 'the first request on the wire');
  const sink = new EventSink(null);
  const report = await deleteRecords({ client_ip: '203.0.113.7' }, { router, sink, eventsFile: null, hashKey: KEY, subscriptions: resources.subscriptions });
  t.same(report.stores, [{ store: 'event_destination ed_slow (http buffer)', deleted: 1 }], 'the queued match purged (the one on the wire is not)');
  t.same(report.not_recallable, [{ destination_id: 'ed_slow', target: 'http', delivered: 0 }]);
});

t.test('bad resources are reported, not thrown', async (t) => {
  const warnings: string[] = [];
  const router = new EventRouter({ hashKey: KEY, warn: (msg) => warnings.push(msg) });
  t.teardown(() => router.close());
  router.rebuild({
    destinations: [dest('ed_role', { kinesis: { auth: { role: { role_arn: 'arn:aws:iam::1:role/x' } }, stream_arn: 'arn:aws:kinesis:us-east-1:1:stream/s' } })],
    subscriptions: [sub('esb_1', ['ed_role'], [{ type: 'http_request_complete.v0', fields: ['conn.client_ip'], filter: '' }])],
  });
  t.equal(router.destination('ed_role'), undefined);
  t.match(router.problem('ed_role'), /role/);
  t.ok(warnings.length > 0);
  feed(router, [httpEvent(1, '203.0.113.7', 'a')]); // nothing to route to: no throw
});
