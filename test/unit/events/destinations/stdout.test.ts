import t from 'tap';
import { PassThrough } from 'node:stream';
import { createDestination } from '../../../../core/events/destinations/types.js';
import { NDJSON_CONTENT_TYPE } from '../../../../core/events/destinations/framing.js';
import { destination, jsonEvents } from './helpers.js';

t.test('stdout writes NDJSON lines and counts them', async (t) => {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const dest = createDestination(destination({ stdout: {} }), { stdout: out });
  const events = jsonEvents(20);
  dest.deliver({ records: events, contentType: NDJSON_CONTENT_TYPE });
  t.same(await dest.sendTestEvent(), { ok: true });
  await dest.close();
  const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter((line) => line !== '');
  t.equal(lines.length, 21);
  t.equal(JSON.parse(lines[0]).event_type, 'test_event.v0', 'the test event went out at once');
  t.same(lines.slice(1), events);
  t.match(dest.stats(), { delivered: 20, dropped: 0 });
});

t.test('a reader that never reads fills the bounded buffer, then drops are counted', async (t) => {
  const out = new PassThrough({ highWaterMark: 1024 }); // nobody reads it
  const dest = createDestination(destination({ stdout: {} }, { retention_bytes: 64 * 1024 }), { stdout: out, closeTimeoutMs: 100 });
  for (let i = 0; i < 50; i++) dest.deliver({ records: jsonEvents(100, i * 100), contentType: NDJSON_CONTENT_TYPE });
  const stats = dest.stats();
  t.ok(stats.buffered_bytes <= 64 * 1024, `${stats.buffered_bytes} buffered`);
  t.ok(stats.dropped > 0);
  await dest.close();
  const after = dest.stats();
  t.equal(after.delivered + after.dropped, 5000, 'every event is accounted for');
});
