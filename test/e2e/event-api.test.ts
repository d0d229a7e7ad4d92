// The Event Subscriptions API on the admin listener of a real daemon: ngrok's documented examples
// replayed, every limit and error code, auth and the version header, config resources read-only,
// audit events, and kill -9 during a burst of writes.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tempDir, type DaemonHandle } from '../helpers/daemon.js';
import { apiClient } from '../helpers/api-client.js';

const KEY = 'test-key-0123456789abcdef';
const ENV_KEY = 'env-key-0123456789abcdef';
const RFC3339_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

function config(dir: string, extra: Record<string, unknown> = {}) {
  return {
    workers: 1,
    admin: { listen: '127.0.0.1:0', debug_endpoints: true, api_keys: [KEY, { env: 'EDGEPLANE_TEST_API_KEY' }], state_dir: join(dir, 'state') },
    event_destinations: [{ id: 'ed_config_file', description: 'from the config', target: { file: { path: join(dir, 'routed.ndjson') } } }],
    event_subscriptions: [{ id: 'esb_config_all', sources: [{ type: 'event_destination_created.v0' }], destination_ids: ['ed_config_file'] }],
    ...extra,
  };
}

interface Reply { status: number; body: any }

function client(d: DaemonHandle) {
  const base = `http://${d.admin}`;
  const call: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Reply> = apiClient(base, KEY);
  return { base, call };
}

async function start(t: { teardown(fn: () => unknown): void }, dir: string, extra: Record<string, unknown> = {}) {
  return startDaemon(t, config(dir, extra), { dir, env: { EDGEPLANE_TEST_API_KEY: ENV_KEY } });
}

function expectError(t: { equal: Function; match: Function }, reply: Reply, status: number, code: string, what: string): void {
  t.equal(reply.status, status, `${what}: status ${status}`);
  t.equal(reply.body?.error_code, code, `${what}: ${code}`);
  t.match(reply.body, { status_code: status, msg: String, details: { operation_id: /^op_/ } }, `${what}: error body shape`);
}

t.test('API', async (t) => {
  const dir = tempDir(t);
  const d = await start(t, dir);
  const { base, call } = client(d);
  const kinesis = { kinesis: { auth: { role: { role_arn: 'arn:aws:iam::123456789012:role/example' } }, stream_arn: 'arn:aws:kinesis:us-east-2:123456789012:stream/s' } };

  let destId = '';
  await t.test('ngrok example: create event destination', async (t) => {
    // Source: https://ngrok.com/docs/api/resources/event-destinations/ ("Create Event Destination", Example Request)
    const request = {
      description: 'kinesis dev stream',
      format: 'json',
      metadata: '{"environment":"dev"}',
      target: { kinesis: { auth: { role: { role_arn: 'arn:aws:iam::123456789012:role/example' } }, stream_arn: 'arn:ngrok-local:kinesis:us-east-2:123456789012:stream/mystream2' } },
    };
    const r = await call('POST', '/event_destinations', request);
    t.equal(r.status, 201);
    // Fields of the documented EventDestination: id, metadata, created_at, description, format, target, uri.
    t.match(r.body.id, /^ed_[0-9A-Za-z]{27}$/);
    t.equal(r.body.uri, `${base}/event_destinations/${r.body.id}`);
    t.match(r.body.created_at, RFC3339_UTC);
    t.ok(Math.abs(Date.parse(r.body.created_at) - Date.now()) < 60_000, 'created_at is now');
    t.equal(r.body.metadata, request.metadata);
    t.equal(r.body.description, request.description);
    t.equal(r.body.format, 'json');
    t.same(r.body.target, request.target);
    destId = r.body.id;
    const got = await call('GET', `/event_destinations/${destId}`);
    t.equal(got.status, 200);
    t.same(got.body, r.body, 'GET returns what POST returned');
  });

  let subId = '';
  await t.test('ngrok example: create event subscription, then the sources sub-resource', async (t) => {
    // Source: https://ngrok.com/docs/api/resources/event-subscriptions/ ("Create Event Subscription").
    // The example's destination id (ed_2fKmcctct90h3Ce14msPrh3nc3A) is replaced by the one just created.
    const request = { description: 'ip policy creations', destination_ids: [destId], metadata: '{"environment": "staging"}', sources: [{ type: 'ip_policy_created.v0' }] };
    const r = await call('POST', '/event_subscriptions', request);
    t.equal(r.status, 201);
    const id = r.body.id as string;
    t.match(id, /^esb_[0-9A-Za-z]{27}$/);
    // Example Response, field by field, with our ids and host:
    // {"created_at":"2024-04-19T20:23:43Z","description":"ip policy creations","destinations":[{"id":"ed_…","uri":"https://api.ngrok.com/event_destinations/ed_…"}],
    //  "id":"esb_…","metadata":"{\"environment\": \"staging\"}","sources":[{"type":"ip_policy_created.v0","uri":"https://api.ngrok.com/event_subscriptions/esb_…/sources/ip_policy_created.v0"}],
    //  "uri":"https://api.ngrok.com/event_subscriptions/esb_…"}
    t.match(r.body.created_at, RFC3339_UTC);
    t.equal(r.body.description, 'ip policy creations');
    t.same(r.body.destinations, [{ id: destId, uri: `${base}/event_destinations/${destId}` }]);
    t.equal(r.body.metadata, '{"environment": "staging"}');
    t.same(r.body.sources, [{ type: 'ip_policy_created.v0', uri: `${base}/event_subscriptions/${id}/sources/ip_policy_created.v0` }]);
    t.equal(r.body.uri, `${base}/event_subscriptions/${id}`);
    for (const key of ['created_at', 'description', 'destinations', 'id', 'metadata', 'sources', 'uri']) t.ok(key in r.body, `has ${key}`);
    subId = id;

    // Source: https://ngrok.com/docs/api-reference/eventsources/create — body {subscription_id, type}, response {type, uri}.
    const added = await call('POST', `/event_subscriptions/${id}/sources`, { subscription_id: id, type: 'event_destination_deleted.v0' });
    t.equal(added.status, 201);
    t.same(added.body, { type: 'event_destination_deleted.v0', uri: `${base}/event_subscriptions/${id}/sources/event_destination_deleted.v0` });
    const list = await call('GET', `/event_subscriptions/${id}/sources`);
    t.same(list.body, { sources: [r.body.sources[0], added.body], uri: `${base}/event_subscriptions/${id}/sources` });
    t.same((await call('GET', `/event_subscriptions/${id}/sources/event_destination_deleted.v0`)).body, added.body);
    expectError(t, await call('POST', `/event_subscriptions/${id}/sources`, { type: 'event_destination_deleted.v0' }), 400, 'ERR_NGROK_5127', 'source type twice');
    t.equal((await call('DELETE', `/event_subscriptions/${id}/sources/event_destination_deleted.v0`)).status, 204);
    expectError(t, await call('GET', `/event_subscriptions/${id}/sources/event_destination_deleted.v0`), 404, 'ERR_NGROK_5125', 'deleted source');
    expectError(t, await call('PATCH', `/event_subscriptions/${id}/sources/event_destination_deleted.v0`, {}), 404, 'ERR_NGROK_5125', 'patch missing source');
    expectError(t, await call('GET', '/event_subscriptions/esb_nope/sources'), 404, 'ERR_NGROK_5123', 'sources of a missing subscription');
  });

  await t.test('traffic sources: fields and CEL filter, PATCH of a source', async (t) => {
    const traffic = { type: 'http_request_complete.v0', fields: ['conn.client_ip', 'http.response.status_code'], filter: 'ev.conn.server_port == 443' };
    const r = await call('POST', `/event_subscriptions/${subId}/sources`, traffic);
    t.equal(r.status, 201);
    t.same(r.body, { ...traffic, uri: `${base}/event_subscriptions/${subId}/sources/http_request_complete.v0` });
    const p = await call('PATCH', `/event_subscriptions/${subId}/sources/http_request_complete.v0`, { filter: 'ev.conn.server_name == "a.example"' });
    t.equal(p.status, 200);
    t.same(p.body.fields, traffic.fields, 'omitted fields unchanged');
    t.equal(p.body.filter, 'ev.conn.server_name == "a.example"');
    const s = (type: string, extra: object = {}) => call('POST', '/event_subscriptions', { sources: [{ type, ...extra }] });
    expectError(t, await s('http_request_complete.v0'), 400, 'ERR_NGROK_5400', 'traffic source without fields');
    expectError(t, await s('event_subscription_created.v0', { fields: ['conn.client_ip'] }), 400, 'ERR_NGROK_5401', 'audit source with fields');
    expectError(t, await s('event_subscription_created.v0', { filter: 'true' }), 400, 'ERR_NGROK_5402', 'audit source with a filter');
    expectError(t, await s('tcp_connection_closed.v0', { fields: ['http.request.method'] }), 400, 'ERR_NGROK_5403', 'field of another type');
    expectError(t, await s('tcp_connection_closed.v0', { fields: ['conn.client_ip'], filter: 'ev.conn.server_port ==' }), 400, 'ERR_NGROK_5404', 'bad filter');
    expectError(t, await s('tcp_connection_closed.v0', { fields: ['conn.no_such_thing'] }), 400, 'ERR_NGROK_5405', 'unknown field');
    expectError(t, await s('tcp_connection_closed.v0', { fields: ['conn.client_ip'], filter: 'ev.conn.bytes_in > 10' }), 400, 'ERR_NGROK_5406', 'non-filterable field in a filter');
    expectError(t, await s('no_such_type.v0'), 400, 'ERR_NGROK_238', 'unknown type');
    expectError(t, await call('POST', '/event_subscriptions', { sources: [{ type: 'event_destination_created.v0' }, { type: 'event_destination_created.v0' }] }), 400, 'ERR_NGROK_5127', 'type twice');
    expectError(t, await call('POST', '/event_subscriptions', { destination_ids: ['ed_missing'] }), 400, 'ERR_NGROK_6006', 'missing destination');
  });

  await t.test('destinations: target rules, format, PATCH, delete in use', async (t) => {
    const post = (body: object) => call('POST', '/event_destinations', body);
    expectError(t, await post({}), 400, 'ERR_NGROK_5100', 'no target');
    expectError(t, await post({ target: {} }), 400, 'ERR_NGROK_5100', 'empty target');
    expectError(t, await post({ target: { ...kinesis, stdout: {} } }), 400, 'ERR_NGROK_5115', 'two targets');
    expectError(t, await post({ format: 'xml', target: kinesis }), 400, 'ERR_NGROK_235', 'format xml');
    expectError(t, await post({ format: 'protobuf', target: kinesis }), 400, 'ERR_NGROK_235', 'protobuf on kinesis');
    expectError(t, await post({ target: { kinesis: { stream_arn: kinesis.kinesis.stream_arn } } }), 400, 'ERR_NGROK_5106', 'AWS target without auth');
    expectError(t, await post({ target: { kinesis: { ...kinesis.kinesis, auth: {} } } }), 400, 'ERR_NGROK_5107', 'auth with neither');
    expectError(t, await post({ target: { kinesis: { ...kinesis.kinesis, auth: { role: { role_arn: 'arn:aws:iam::1:role/x' }, creds: { aws_access_key_id: 'a', aws_secret_access_key: 'b' } } } } }), 400, 'ERR_NGROK_5116', 'auth with both');
    expectError(t, await post({ target: { kinesis: { ...kinesis.kinesis, stream_arn: 'mystream' } } }), 400, 'ERR_NGROK_5104', 'bad ARN');
    expectError(t, await post({ target: { datadog: {} } }), 400, 'ERR_NGROK_5133', 'datadog without a key');

    const file = await post({ format: 'protobuf', description: 'pb', target: { file: { path: join(dir, 'pb.bin') } } });
    t.equal(file.status, 201, 'protobuf is accepted for file targets (edgeplane extension)');
    t.equal(file.body.format, 'protobuf');
    const dd = await post({ target: { datadog: { api_key: 'dd-secret-value', service: 'edge' } } });
    t.equal(dd.body.target.datadog.api_key, '[redacted]', 'secrets are not read back');
    const patched = await call('PATCH', `/event_destinations/${file.body.id}`, { metadata: 'm2' });
    t.equal(patched.status, 200);
    t.equal(patched.body.description, 'pb', 'omitted description unchanged');
    t.equal(patched.body.format, 'protobuf', 'omitted format unchanged');
    t.equal(patched.body.metadata, 'm2');
    t.same(patched.body.target, file.body.target, 'omitted target unchanged');
    expectError(t, await call('PATCH', `/event_destinations/${file.body.id}`, { target: kinesis }), 400, 'ERR_NGROK_5108', 'target type change');
    expectError(t, await call('DELETE', `/event_destinations/${destId}`), 409, 'ERR_NGROK_5112', 'destination in use');
    t.equal((await call('DELETE', `/event_destinations/${dd.body.id}`)).status, 204);
    expectError(t, await call('GET', `/event_destinations/${dd.body.id}`), 404, 'ERR_EDGEPLANE_4042', 'deleted destination');
    expectError(t, await call('GET', '/event_subscriptions/esb_nope'), 404, 'ERR_NGROK_5123', 'missing subscription');
  });

  await t.test('description and metadata limits (bytes)', async (t) => {
    const post = (extra: object) => call('POST', '/event_destinations', { target: { stdout: {} }, ...extra });
    t.equal((await post({ description: 'd'.repeat(255) })).status, 201, 'description of 255 bytes');
    expectError(t, await post({ description: 'd'.repeat(256) }), 400, 'ERR_EDGEPLANE_4001', 'description of 256 bytes');
    expectError(t, await post({ description: 'é'.repeat(128) }), 400, 'ERR_EDGEPLANE_4001', 'description of 128 two-byte characters');
    t.equal((await post({ metadata: 'm'.repeat(4096) })).status, 201, 'metadata of 4096 bytes');
    expectError(t, await post({ metadata: 'm'.repeat(4097) }), 400, 'ERR_EDGEPLANE_4002', 'metadata of 4097 bytes');
    expectError(t, await call('POST', '/event_subscriptions', { description: 'd'.repeat(256) }), 400, 'ERR_EDGEPLANE_4001', 'subscription description');
    expectError(t, await call('PATCH', `/event_subscriptions/${subId}`, { metadata: 'm'.repeat(4097) }), 400, 'ERR_EDGEPLANE_4002', 'subscription metadata on PATCH');
    expectError(t, await post({ colour: 'red' }), 400, 'ERR_EDGEPLANE_4003', 'unknown field');
  });

  await t.test('pagination: newest first, limit, before_id, next_page_uri', async (t) => {
    const all = await call('GET', '/event_destinations');
    t.equal(all.body.uri, `${base}/event_destinations`);
    t.equal(all.body.next_page_uri, null, 'one page holds them all');
    const ids = (all.body.event_destinations as Array<{ id: string }>).map((x) => x.id);
    t.ok(ids.includes('ed_config_file'), 'config destinations are listed with the API ones');
    t.same(ids, [...ids].sort().reverse(), 'newest (largest id) first');
    const seen: string[] = [];
    let next: string | null = `${base}/event_destinations?limit=2`;
    while (next !== null) {
      const r = await call('GET', next.slice(base.length));
      t.ok(r.body.event_destinations.length <= 2);
      seen.push(...r.body.event_destinations.map((x: { id: string }) => x.id));
      next = r.body.next_page_uri;
    }
    t.same(seen, ids, 'following next_page_uri visits every destination once, in order');
    expectError(t, await call('GET', '/event_destinations?limit=101'), 400, 'ERR_EDGEPLANE_4004', 'limit over 100');
    expectError(t, await call('GET', '/event_destinations?limit=0'), 400, 'ERR_EDGEPLANE_4004', 'limit 0');
  });

  await t.test('config resources are listed, readable, referable and read-only', async (t) => {
    const r = await call('GET', '/event_destinations/ed_config_file');
    t.equal(r.status, 200);
    t.match(r.body, { id: 'ed_config_file', origin: 'config', description: 'from the config', uri: `${base}/event_destinations/ed_config_file` });
    expectError(t, await call('PATCH', '/event_destinations/ed_config_file', { description: 'x' }), 409, 'ERR_EDGEPLANE_4090', 'PATCH of a config destination');
    expectError(t, await call('DELETE', '/event_destinations/ed_config_file'), 409, 'ERR_EDGEPLANE_4090', 'DELETE of a config destination');
    expectError(t, await call('DELETE', '/event_subscriptions/esb_config_all'), 409, 'ERR_EDGEPLANE_4090', 'DELETE of a config subscription');
    expectError(t, await call('POST', '/event_subscriptions/esb_config_all/sources', { type: 'event_subscription_deleted.v0' }), 409, 'ERR_EDGEPLANE_4090', 'adding a source to a config subscription');
    const sub = await call('POST', '/event_subscriptions', { destination_ids: ['ed_config_file'], sources: [{ type: 'event_subscription_created.v0' }] });
    t.equal(sub.status, 201, 'an API subscription may use a config destination');
  });

  await t.test('conventions: auth, Ngrok-Version, JSON bodies, body cap, unknown paths', async (t) => {
    expectError(t, await call('GET', '/event_destinations', undefined, { authorization: '' }), 401, 'ERR_EDGEPLANE_4010', 'no key');
    expectError(t, await call('GET', '/event_destinations', undefined, { authorization: 'Bearer wrong-key-0123456789' }), 401, 'ERR_EDGEPLANE_4010', 'wrong key');
    t.equal((await call('GET', '/event_destinations', undefined, { authorization: `Bearer ${ENV_KEY}` })).status, 200, 'a key from { env } works');
    expectError(t, await call('GET', '/event_destinations', undefined, { 'ngrok-version': '' }), 400, 'ERR_NGROK_218', 'no Ngrok-Version');
    expectError(t, await call('GET', '/event_destinations', undefined, { 'ngrok-version': '1' }), 400, 'ERR_NGROK_218', 'Ngrok-Version 1');
    expectError(t, await call('POST', '/event_destinations', '{"target":{"stdout":{}}}', { 'content-type': 'text/plain' }), 415, 'ERR_EDGEPLANE_4150', 'not JSON content type');
    expectError(t, await call('POST', '/event_destinations', '{"target":'), 400, 'ERR_EDGEPLANE_4000', 'malformed JSON');
    expectError(t, await call('POST', '/event_destinations', '[1]'), 400, 'ERR_EDGEPLANE_4000', 'a JSON array');
    expectError(t, await call('POST', '/event_destinations', { target: { stdout: {} }, metadata: 'x'.repeat(70 * 1024) }), 413, 'ERR_EDGEPLANE_4130', 'body over 64 KiB');
    expectError(t, await call('GET', '/event_destinations/a/b'), 404, 'ERR_EDGEPLANE_4041', 'unknown path');
    expectError(t, await call('PUT', '/event_destinations', { target: { stdout: {} } }), 405, 'ERR_EDGEPLANE_4050', 'PUT');
    const cfg = await (await fetch(`${base}/config`)).text();
    t.notOk(cfg.includes(KEY) || cfg.includes(ENV_KEY), '/config does not show the API keys');
    t.match(cfg, /\[redacted\]/);
  });

  await t.test('audit events in the event output and the audit log', async (t) => {
    const created = await call('POST', '/event_destinations', { description: 'audited', target: { stdout: {} } });
    const events = await d.waitForEvents(1);
    const audits = () => d.events().filter((e) => typeof e.event_type === 'string' && e.principal !== null && e.principal !== undefined);
    let mine = audits().find((e) => e.object?.id === created.body.id);
    for (let i = 0; mine === undefined && i < 40; i++) { await new Promise((r) => setTimeout(r, 50)); mine = audits().find((e) => e.object?.id === created.body.id); }
    t.ok(events.length > 0);
    t.ok(mine, 'the create is in the events file');
    t.match(mine, {
      event_id: /^ev_/, event_type: 'event_destination_created.v0', event_timestamp: String, account_id: /^ac_/,
      principal: { id: String, subject: String, source: 'API', credential: { id: /^ak_[0-9a-f]{26}$/, uri: /\/api_keys\/ak_/ } },
    });
    t.same(mine!.object, created.body, 'object is the resource as the API returned it');
    t.notOk(JSON.stringify(mine).includes(KEY), 'the key itself is never in an audit event');
    const types = new Set(audits().map((e) => e.event_type));
    for (const type of ['event_destination_created.v0', 'event_destination_updated.v0', 'event_destination_deleted.v0', 'event_subscription_created.v0', 'event_subscription_updated.v0']) t.ok(types.has(type), `saw ${type}`);
    const logLines = readFileSync(join(dir, 'state', 'audit.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    t.ok(logLines.some((e) => e.event_id === mine!.event_id), 'the same event is in the audit log');
    t.equal(logLines.filter((e) => e.event_type === 'event_destination_created.v0').length, audits().filter((e) => e.event_type === 'event_destination_created.v0').length);
  });
});

t.test('no api_keys: the API answers 404 with a clear message, and no state dir is made', async (t) => {
  const dir = tempDir(t);
  const d = await startDaemon(t, { workers: 1, admin: { listen: '127.0.0.1:0', state_dir: join(dir, 'state') } }, { dir });
  const r = await fetch(`http://${d.admin}/event_destinations`, { headers: { authorization: `Bearer ${KEY}`, 'ngrok-version': '2' } });
  t.equal(r.status, 404);
  const body = await r.json() as { error_code: string; msg: string };
  t.equal(body.error_code, 'ERR_EDGEPLANE_4040');
  t.match(body.msg, /admin\.api_keys/);
  t.notOk(existsSync(join(dir, 'state')));
  t.notOk(existsSync(join(dir, 'edgeplane-state')));
});

t.test('kill -9 during a burst of concurrent writes: every acknowledged write survives', async (t) => {
  const dir = tempDir(t);
  // No state_dir: the default, edgeplane-state next to the config file.
  const admin = { listen: '127.0.0.1:0', api_keys: [KEY] };
  const d = await start(t, dir, { admin });
  t.ok(existsSync(join(dir, 'edgeplane-state', 'store.snapshot.json')), 'the default state dir is next to the config file');
  const { call } = client(d);
  const acknowledged: string[] = [];
  let failed = 0;
  const writer = async (n: number): Promise<void> => {
    for (let i = 0; ; i++) {
      try {
        const r = await call('POST', '/event_destinations', { description: `w${n}-${i}`, target: { stdout: {} } });
        if (r.status === 201) acknowledged.push(r.body.id);
      } catch { failed++; return; } // the daemon is gone
    }
  };
  const writers = Array.from({ length: 16 }, (_, n) => writer(n));
  while (acknowledged.length < 150) await new Promise((r) => setTimeout(r, 5));
  d.proc.kill('SIGKILL');
  await Promise.all(writers);
  t.ok(acknowledged.length >= 150, `${acknowledged.length} writes acknowledged before the kill`);
  t.ok(failed > 0, 'the burst was cut off by the kill');

  const again = await start(t, dir, { admin });
  const { call: call2 } = client(again);
  const present = new Set<string>();
  let next: string | null = '/event_destinations?limit=100';
  while (next !== null) {
    const r = await call2('GET', next);
    t.equal(r.status, 200);
    for (const x of r.body.event_destinations) present.add(x.id);
    next = r.body.next_page_uri === null ? null : new URL(r.body.next_page_uri).pathname + new URL(r.body.next_page_uri).search;
  }
  const lost = acknowledged.filter((id) => !present.has(id));
  t.same(lost, [], 'no acknowledged write is lost');
  t.ok(present.size >= acknowledged.length + 1, 'the store opened with every write (plus the config destination)');
  const opened = again.logs.find((l) => l.msg === 'event API store opened');
  t.ok(opened, 'the store logs what it recovered');
  t.equal((await call2('POST', '/event_destinations', { target: { stdout: {} } })).status, 201, 'and takes new writes');
});
