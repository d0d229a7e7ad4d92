import t from 'tap';
import { gunzipSync } from 'node:zlib';
import { hostname } from 'node:os';
import { createDestination } from '../../../../core/events/destinations/types.js';
import { datadogIntakeUrl } from '../../../../core/events/destinations/datadog.js';
import { NDJSON_CONTENT_TYPE } from '../../../../core/events/destinations/framing.js';
import { destination, jsonEvents, startReceiver } from './helpers.js';

interface LogItem { ddsource: string; ddtags?: string; hostname: string; service?: string; message: string }

t.test('logs intake payloads: gzip JSON arrays of at most 1000 entries, with the API key', async (t) => {
  const receiver = await startReceiver(() => ({ status: 202, body: '{}' }));
  t.teardown(() => receiver.close());
  const dest = createDestination(destination({
    datadog: { api_key: 'dd-key-123', ddtags: 'env:test,team:edge', service: 'edgeplane-edge', endpoint: receiver.url },
  }));
  const events = jsonEvents(2500);
  dest.deliver({ records: events, contentType: NDJSON_CONTENT_TYPE });
  await dest.flush();
  t.match(dest.stats(), { delivered: 2500, failed: 0 });
  const items: LogItem[] = [];
  for (const request of receiver.received) {
    t.equal(request.method, 'POST');
    t.equal(request.url, '/api/v2/logs');
    t.equal(request.headers['dd-api-key'], 'dd-key-123');
    t.equal(request.headers['content-encoding'], 'gzip');
    t.equal(request.headers['content-type'], 'application/json');
    const raw = gunzipSync(request.body);
    t.ok(raw.length <= 5_000_000, 'uncompressed payload within 5 MB');
    const batch = JSON.parse(raw.toString('utf8')) as LogItem[];
    t.ok(Array.isArray(batch) && batch.length <= 1000, `${batch.length} entries`);
    items.push(...batch);
  }
  t.ok(receiver.received.length >= 3, `${receiver.received.length} requests`);
  // batches travel concurrently, so they may arrive in any order: compare in event order
  const order = (message: string): number => Number(/"n":(\d+)/.exec(message)?.[1] ?? -1);
  items.sort((a, b) => order(a.message) - order(b.message));
  t.same(items[0], { ddsource: 'edgeplane', ddtags: 'env:test,team:edge', hostname: hostname(), service: 'edgeplane-edge', message: events[0] });
  t.same(items.map((item) => item.message), events, 'one log per event, its JSON as the message');
  await dest.close();
});

t.test('the 5 MB payload limit splits big batches', async (t) => {
  const receiver = await startReceiver(() => ({ status: 202 }));
  t.teardown(() => receiver.close());
  const dest = createDestination(destination({ datadog: { api_key: 'k', endpoint: `${receiver.url}/` } }), { maxBufferBytes: 64 * 1024 * 1024 });
  // 600 events of ~20 kB with quotes (escaping grows them): ~12 MB raw, more once escaped.
  const big = Array.from({ length: 600 }, (_v, i) => JSON.stringify({ n: i, pad: '"'.repeat(20_000) }));
  dest.deliver({ records: big, contentType: NDJSON_CONTENT_TYPE });
  await dest.flush();
  t.match(dest.stats(), { delivered: 600, failed: 0 });
  let count = 0;
  for (const request of receiver.received) {
    const raw = gunzipSync(request.body);
    t.ok(raw.length <= 5_000_000, `payload ${raw.length} bytes ≤ 5 MB`);
    count += (JSON.parse(raw.toString()) as unknown[]).length;
  }
  t.equal(count, 600);
  t.ok(receiver.received.length >= 5, `${receiver.received.length} requests`);
  await dest.close();
});

t.test('403 (a rejected key) fails at once; 500 is retried; the test event reports the answer', async (t) => {
  const receiver = await startReceiver((request) => (request.headers['dd-api-key'] === 'good' ? { status: 500 } : { status: 403 }));
  t.teardown(() => receiver.close());
  const bad = createDestination(destination({ datadog: { api_key: 'bad', endpoint: receiver.url } }));
  t.match(await bad.sendTestEvent(), { ok: false, error: /403/ });
  bad.deliver({ records: jsonEvents(2), contentType: NDJSON_CONTENT_TYPE });
  await bad.flush();
  t.match(bad.stats(), { failed: 2, retried: 0 });
  await bad.close();
  const flaky = createDestination(destination({ datadog: { api_key: 'good', endpoint: receiver.url } }), { baseDelayMs: 5, maxAttempts: 3 });
  flaky.deliver({ records: jsonEvents(2), contentType: NDJSON_CONTENT_TYPE });
  await flaky.flush();
  t.match(flaky.stats(), { failed: 2, retried: 4 });
  await flaky.close();
});

t.test('ddsite picks the intake host', async (t) => {
  t.equal(datadogIntakeUrl(undefined), 'https://http-intake.logs.datadoghq.com/api/v2/logs');
  t.equal(datadogIntakeUrl('datadoghq.eu'), 'https://http-intake.logs.datadoghq.eu/api/v2/logs');
  t.equal(datadogIntakeUrl('us3.datadoghq.com'), 'https://http-intake.logs.us3.datadoghq.com/api/v2/logs');
  t.equal(datadogIntakeUrl('app.datadoghq.com'), 'https://http-intake.logs.datadoghq.com/api/v2/logs');
  t.throws(() => createDestination(destination({ datadog: { api_key: '' } })), /datadog\.api_key is required/);
});
