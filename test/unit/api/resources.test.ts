// Validation codes, PATCH semantics, config resources and pagination, on EventResources over a real store.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError } from '../../../core/api/errors.js';
import { page } from '../../../core/api/handler.js';
import { EventResources } from '../../../core/api/resources.js';
import { DurableStore } from '../../../core/api/store.js';
import { parseConfigDestination, parseConfigSubscription } from '../../../core/api/config-resources.js';
import { loadConfigText } from '../../../core/config/load.js';
import { redactConfig } from '../../../core/config/redact.js';
import type { EventDestination } from '../../../core/events/model.js';

function setup(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-api-'));
  const store = DurableStore.open(dir);
  t.teardown(() => { store.close(); rmSync(dir, { recursive: true, force: true }); });
  const configDest = parseConfigDestination({ id: 'ed_cfg', target: { stdout: {} } });
  if (!configDest.ok) throw new Error(configDest.problem);
  return { dir, store, resources: new EventResources(store, () => ({ destinations: [configDest.value], subscriptions: [] })) };
}

function code(fn: () => unknown): string {
  try { fn(); } catch (err) { if (err instanceof ApiError) return err.code; throw err; }
  return 'no error';
}

const stdout = { target: { stdout: {} } };

t.test('destination validation codes', async (t) => {
  const { resources: r } = setup(t);
  const aws = { role: { role_arn: 'arn:aws:iam::1:role/r' } };
  t.equal(code(() => r.createDestination({})), 'ERR_NGROK_5100');
  t.equal(code(() => r.createDestination({ target: { kinesis: null, stdout: null } })), 'ERR_NGROK_5100', 'nulls (the read shape) count as absent');
  t.equal(code(() => r.createDestination({ target: { stdout: {}, file: { path: '/tmp/x' } } })), 'ERR_NGROK_5115');
  t.equal(code(() => r.createDestination({ format: 'avro', ...stdout })), 'ERR_NGROK_235');
  t.equal(code(() => r.createDestination({ format: 'protobuf', ...stdout })), 'ERR_NGROK_235', 'protobuf only for http and file');
  t.equal(code(() => r.createDestination({ format: 'protobuf', target: { http: { url: 'http://127.0.0.1:9/x' } } })), 'no error');
  t.equal(code(() => r.createDestination({ target: { firehose: { delivery_stream_arn: 'arn:aws:firehose:us-east-1:1:deliverystream/x' } } })), 'ERR_NGROK_5106');
  t.equal(code(() => r.createDestination({ target: { firehose: { auth: aws, delivery_stream_arn: 'x' } } })), 'ERR_NGROK_5104');
  t.equal(code(() => r.createDestination({ target: { http: { url: 'ftp://x' } } })), 'ERR_EDGEPLANE_4003');
  t.equal(code(() => r.createDestination({ description: 'x'.repeat(256), ...stdout })), 'ERR_EDGEPLANE_4001');
  t.equal(code(() => r.createDestination({ metadata: 'x'.repeat(4097), ...stdout })), 'ERR_EDGEPLANE_4002');
  t.equal(code(() => r.createDestination({ data_protection: { client_ip: 'scramble' }, ...stdout })), 'ERR_EDGEPLANE_4003');
  t.equal(code(() => r.createDestination({ data_protection: { allow_fields: ['conn.nope'] }, ...stdout })), 'ERR_NGROK_5405');
});

t.test('PATCH leaves omitted fields unchanged; target type is fixed; config resources are read-only', async (t) => {
  const { resources: r } = setup(t);
  const d = r.createDestination({ description: 'a', metadata: 'm', target: { file: { path: '/tmp/a' } }, data_protection: { client_ip: 'hash' } });
  const p = r.updateDestination(d.id, { description: 'b' });
  t.same({ ...p, description: 'a' }, d, 'only description changed');
  const q = r.updateDestination(d.id, { data_protection: { retention_seconds: 60 } });
  t.equal(q.data_protection.client_ip, 'hash', 'data_protection merges');
  t.equal(q.data_protection.retention_seconds, 60);
  t.equal(code(() => r.updateDestination(d.id, { target: { stdout: {} } })), 'ERR_NGROK_5108');
  t.equal(code(() => r.updateDestination('ed_cfg', { description: 'x' })), 'ERR_EDGEPLANE_4090');
  t.equal(code(() => r.deleteDestination('ed_cfg')), 'ERR_EDGEPLANE_4090');
  const s = r.createSubscription({ destination_ids: ['ed_cfg', d.id], sources: [{ type: 'event_destination_created.v0' }] });
  t.equal(code(() => r.deleteDestination(d.id)), 'ERR_NGROK_5112');
  const s2 = r.updateSubscription(s.id, { description: 'now' });
  t.same(s2.sources, s.sources);
  t.same(s2.destination_ids, s.destination_ids);
  r.updateSubscription(s.id, { destination_ids: ['ed_cfg'] });
  r.deleteDestination(d.id);
  t.equal(code(() => r.destination(d.id)), 'ERR_EDGEPLANE_4042');
});

t.test('subscription and source validation codes', async (t) => {
  const { resources: r } = setup(t);
  const sub = (sources: unknown) => code(() => r.createSubscription({ sources }));
  t.equal(sub([{ type: 'http_request_complete.v0' }]), 'ERR_NGROK_5400');
  t.equal(sub([{ type: 'http_request_complete.v0', fields: [] }]), 'ERR_NGROK_5400');
  t.equal(sub([{ type: 'event_subscription_deleted.v0', fields: ['conn.client_ip'] }]), 'ERR_NGROK_5401');
  t.equal(sub([{ type: 'event_subscription_deleted.v0', filter: 'true' }]), 'ERR_NGROK_5402');
  t.equal(sub([{ type: 'tcp_connection_closed.v0', fields: ['http.response.status_code'] }]), 'ERR_NGROK_5403');
  t.equal(sub([{ type: 'tcp_connection_closed.v0', fields: ['conn.client_ip'], filter: '(((' }]), 'ERR_NGROK_5404');
  t.equal(sub([{ type: 'tcp_connection_closed.v0', fields: ['conn.client_ip'], filter: '"not a bool"' }]), 'ERR_NGROK_5404');
  t.equal(sub([{ type: 'tcp_connection_closed.v0', fields: ['nope.nope'] }]), 'ERR_NGROK_5405');
  t.equal(sub([{ type: 'http_request_complete.v0', fields: ['conn.client_ip'], filter: 'ev.http.request.method == "get"' }]), 'ERR_NGROK_5406');
  t.equal(sub([{ type: 'http_request_complete.v0', fields: ['conn.client_ip'], filter: 'ev.conn.client_ip.startsWith("10.")' }]), 'no error');
  t.equal(sub([{ type: 'ip_policy_updated.v0' }, { type: 'ip_policy_updated.v0' }]), 'ERR_NGROK_5127');
  t.equal(sub([{ type: 'ip_policy_exploded.v0' }]), 'ERR_NGROK_238');
  t.equal(code(() => r.createSubscription({ destination_ids: ['ed_none'] })), 'ERR_NGROK_6006');
  t.equal(code(() => r.subscription('esb_none')), 'ERR_NGROK_5123');
  const s = r.createSubscription({ sources: [{ type: 'tcp_connection_closed.v0', fields: ['conn.bytes_in'] }] });
  t.equal(code(() => r.source(s.id, 'http_request_complete.v0')), 'ERR_NGROK_5125');
  t.equal(code(() => r.addSource(s.id, { type: 'tcp_connection_closed.v0', fields: ['conn.bytes_in'] })), 'ERR_NGROK_5127');
  const u = r.updateSource(s.id, 'tcp_connection_closed.v0', { filter: 'ev.conn.server_port == 22' });
  t.same(u.source, { type: 'tcp_connection_closed.v0', fields: ['conn.bytes_in'], filter: 'ev.conn.server_port == 22' });
  t.equal(code(() => r.updateSource(s.id, 'tcp_connection_closed.v0', { fields: [] })), 'ERR_NGROK_5400');
});

t.test('writes are in the store, reopened', async (t) => {
  const { dir, resources: r } = setup(t);
  const d = r.createDestination({ description: 'persisted', ...stdout });
  const again = DurableStore.open(dir);
  t.same(again.get('event_destinations', d.id), d);
  again.close();
});

t.test('pagination: newest first, limit, before_id, next_page_uri', async (t) => {
  const items = ['a1', 'a2', 'a3', 'a4', 'a5'].map((id) => ({ id })).reverse();
  const first = page({ path: '/x', query: 'limit=2' }, 'http://h', 'xs', items);
  t.same(first, { xs: [{ id: 'a5' }, { id: 'a4' }], uri: 'http://h/x?limit=2', next_page_uri: 'http://h/x?before_id=a4&limit=2' });
  const last = page({ path: '/x', query: 'before_id=a2&limit=2' }, 'http://h', 'xs', items);
  t.same(last, { xs: [{ id: 'a1' }], uri: 'http://h/x?before_id=a2&limit=2', next_page_uri: null });
  t.equal(page({ path: '/x', query: '' }, 'http://h', 'xs', items).next_page_uri, null, 'default limit 100');
  const many = Array.from({ length: 150 }, (_, i) => ({ id: `b${String(999 - i)}` }));
  const p = page({ path: '/x', query: '' }, 'http://h', 'xs', many);
  t.equal((p.xs as unknown[]).length, 100);
  t.equal(p.next_page_uri, 'http://h/x?before_id=b900&limit=100');
  for (const q of ['limit=0', 'limit=101', 'limit=2.5', 'limit=x', 'page=2']) t.equal(code(() => page({ path: '/x', query: q }, 'http://h', 'xs', items)), 'ERR_EDGEPLANE_4004', q);
});

t.test('config file: event resources and api keys', async (t) => {
  const loaded = loadConfigText([
    'admin: { listen: "127.0.0.1:0", api_keys: ["literal-key-0123456789", { env: EP_KEY }], state_dir: st }',
    'event_destinations: [{ id: ed_one, target: { stdout: {} } }]',
    'event_subscriptions: [{ id: esb_one, destination_ids: [ed_one], sources: [{ type: tcp_connection_closed.v0, fields: [conn.client_ip] }] }]',
  ].join('\n'), { baseDir: '/etc/edgeplane', env: { EP_KEY: 'from-env-0123456789' } });
  t.same(loaded.config.admin?.api_keys, ['literal-key-0123456789', 'from-env-0123456789']);
  t.equal(loaded.config.admin?.state_dir, '/etc/edgeplane/st', 'relative to the config directory');
  t.equal((loaded.config.event_destinations[0] as EventDestination).origin, 'config');
  t.equal(loaded.config.event_subscriptions[0]!.sources[0]!.type, 'tcp_connection_closed.v0');
  const shown = JSON.stringify(redactConfig(loaded));
  t.notOk(shown.includes('literal-key') || shown.includes('from-env'), 'keys are redacted in /config');

  const bad = (text: string) => {
    try { loadConfigText(text, { baseDir: '/', env: {} }); return ''; } catch (err) { return (err as Error).message + JSON.stringify((err as { problems?: unknown }).problems); }
  };
  t.match(bad('event_destinations: [{ target: { stdout: {} } }]'), /id is required/);
  t.match(bad('event_destinations: [{ id: ed_x, target: {} }]'), /ERR_NGROK_5100/);
  t.match(bad('event_subscriptions: [{ id: esb_x, sources: [{ type: http_request_complete.v0 }] }]'), /ERR_NGROK_5400/);
  t.match(bad('admin: { listen: "127.0.0.1:0", api_keys: [{ env: MISSING }] }'), /MISSING is not set/);
  t.match(bad('admin: { listen: "127.0.0.1:0", api_keys: [short] }'), /at least 16/);
  t.equal(parseConfigSubscription({ id: 'esb_a', colour: 1 }).ok, false);
});

t.test('/config hides the credentials of config-declared destinations, as the API does', async (t) => {
  const loaded = loadConfigText([
    'event_destinations:',
    '  - { id: ed_hook, target: { http: { url: "https://hooks.example.test/in", secret: hook-signing-secret, headers: { Authorization: "Bearer header-token", X-Team: edge } } } }',
    '  - { id: ed_dd, target: { datadog: { api_key: datadog-api-key, service: edge } } }',
  ].join('\n'), { baseDir: '/', env: {} });
  const shown = JSON.stringify(redactConfig(loaded));
  for (const secret of ['hook-signing-secret', 'header-token', 'datadog-api-key']) t.notOk(shown.includes(secret), `${secret} is not shown`);
  t.ok(shown.includes('"X-Team":"edge"') && shown.includes('"service":"edge"'), 'the rest of the targets is');
  t.ok(shown.includes('hooks.example.test'), 'the URL is');
});
