import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { createDestination } from '../../../../core/events/destinations/types.js';
import { NDJSON_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE } from '../../../../core/events/destinations/framing.js';
import { destination, jsonEvents } from './helpers.js';

t.test('NDJSON is appended and rotated past max_bytes, keeping max_files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-dest-file-'));
  const path = join(dir, 'events.ndjson');
  const dest = createDestination(destination({ file: { path, max_bytes: 4000, max_files: 2 } }), { maxBatchRecords: 10 });
  const events = jsonEvents(300);
  for (let i = 0; i < events.length; i += 25) dest.deliver({ records: events.slice(i, i + 25), contentType: NDJSON_CONTENT_TYPE });
  await dest.close();
  t.match(dest.stats(), { delivered: 300, dropped: 0, failed: 0 });
  t.same(readdirSync(dir).sort(), ['events.ndjson', 'events.ndjson.1', 'events.ndjson.2'], 'current plus two rotated files, no .3');
  const files = [`${path}.2`, `${path}.1`, path];
  for (const file of files) t.ok(statSync(file).size <= 4000, `${file} within max_bytes`);
  const lines = files.flatMap((file) => readFileSync(file, 'utf8').split('\n').filter((line) => line !== ''));
  const total = events.reduce((sum, e) => sum + Buffer.byteLength(e) + 1, 0);
  t.ok(total > 3 * 4000, 'enough data that older files were discarded');
  t.same(lines, events.slice(events.length - lines.length), 'the kept files hold the newest events, oldest file first, in order');
  for (const line of lines) JSON.parse(line);

  // Reopening appends to the existing file instead of truncating it.
  const before = readFileSync(path, 'utf8');
  const again = createDestination(destination({ file: { path, max_bytes: 1_000_000, max_files: 2 } }));
  again.deliver({ records: ['{"again":true}'], contentType: NDJSON_CONTENT_TYPE });
  await again.close();
  t.equal(readFileSync(path, 'utf8'), before + '{"again":true}\n');
});

t.test('protobuf records are length-delimited', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-dest-file-'));
  const path = join(dir, 'events.pb');
  const dest = createDestination(destination({ file: { path } }, {}, 'protobuf'));
  const records = [Buffer.alloc(0), Buffer.from([1, 2, 3]), Buffer.alloc(300, 7)];
  dest.deliver({ records, contentType: PROTOBUF_CONTENT_TYPE });
  await dest.close();
  const reader = protobuf.Reader.create(readFileSync(path));
  const decoded: Buffer[] = [];
  while (reader.pos < reader.len) decoded.push(Buffer.from(reader.bytes()));
  t.same(decoded, records);
});

t.test('file configuration errors are clear', async (t) => {
  t.throws(() => createDestination(destination({ file: { path: '/nonexistent-dir-xyz/events.ndjson' } })), /directory \/nonexistent-dir-xyz does not exist/);
  t.throws(() => createDestination(destination({ file: { path: '' } })), /file\.path is required/);
  t.throws(() => createDestination(destination({ file: { path: join(tmpdir(), 'x'), max_bytes: 0 } })), /max_bytes must be a positive integer/);
});
