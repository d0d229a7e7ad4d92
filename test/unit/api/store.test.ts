import t from 'tap';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DurableStore, JOURNAL_FILE, SNAPSHOT_FILE, StoreError } from '../../../core/api/store.js';

interface Teardown { teardown(fn: () => void): void }

function dir(t: Teardown): string {
  const d = mkdtempSync(join(tmpdir(), 'edgeplane-store-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

t.test('writes survive a reopen without close (journal replay)', async (t) => {
  const d = dir(t);
  const a = DurableStore.open(d, { snapshotEvery: 1000 });
  a.put('c', 'x', { n: 1 });
  a.put('c', 'y', { n: 2 });
  a.put('c', 'x', { n: 3 });
  a.delete('c', 'y');
  // no close: as after kill -9
  const b = DurableStore.open(d);
  t.same(b.values('c'), [{ n: 3 }]);
  t.equal(b.recovered.replayed, 4);
  t.equal(b.recovered.tornLine, false);
  b.close();
  a.close();
});

t.test('open takes a snapshot and empties the journal; later writes replay on top of it', async (t) => {
  const d = dir(t);
  const a = DurableStore.open(d);
  a.put('c', 'x', 1);
  a.close();
  const b = DurableStore.open(d);
  t.equal(readFileSync(join(d, JOURNAL_FILE), 'utf8'), '', 'journal truncated after the open-time snapshot');
  t.match(JSON.parse(readFileSync(join(d, SNAPSHOT_FILE), 'utf8')), { version: 1, collections: { c: { x: 1 } } });
  b.put('c', 'y', 2);
  const c = DurableStore.open(d);
  t.same(c.values('c'), [1, 2]);
  t.equal(c.recovered.replayed, 1);
  b.close();
  c.close();
});

t.test('a snapshot every N writes keeps the journal short, and state is exact', async (t) => {
  const d = dir(t);
  const a = DurableStore.open(d, { snapshotEvery: 3 });
  for (let i = 0; i < 10; i++) a.put('c', `k${i}`, i);
  const lines = readFileSync(join(d, JOURNAL_FILE), 'utf8').split('\n').filter(Boolean);
  t.equal(lines.length, 1, '10 writes with a snapshot every 3 leave 1 journal line');
  const b = DurableStore.open(d);
  t.same(b.values('c'), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  a.close();
  b.close();
});

t.test('a journal that outlived its snapshot (crash before truncation) replays nothing twice', async (t) => {
  const d = dir(t);
  const a = DurableStore.open(d, { snapshotEvery: 1000 });
  a.put('c', 'x', 1);
  a.put('c', 'x', 2);
  a.close();
  const journal = readFileSync(join(d, JOURNAL_FILE), 'utf8');
  const b = DurableStore.open(d); // snapshot at seq 2, journal truncated
  b.close();
  writeFileSync(join(d, JOURNAL_FILE), journal); // as if the truncation never happened
  const c = DurableStore.open(d);
  t.same(c.values('c'), [2]);
  t.equal(c.recovered.replayed, 0);
  c.close();
});

t.test('a torn last line is dropped and logged; every complete line is kept', async (t) => {
  const d = dir(t);
  const a = DurableStore.open(d, { snapshotEvery: 1000 });
  a.put('c', 'x', 'kept');
  a.close();
  appendFileSync(join(d, JOURNAL_FILE), '{"seq":2,"op":"put","c":"c","id":"y","v":"to'); // crash mid-append
  const warnings: string[] = [];
  const b = DurableStore.open(d, { warn: (msg) => warnings.push(msg) });
  t.same(b.values('c'), ['kept']);
  t.equal(b.recovered.tornLine, true);
  t.match(warnings[0], /torn last line/);
  b.put('c', 'z', 'after');
  const c = DurableStore.open(d);
  t.same(c.values('c'), ['kept', 'after'], 'appends after recovery do not follow the torn bytes');
  b.close();
  c.close();
});

t.test('damage before the last line refuses to open with a clear error', async (t) => {
  const d = dir(t);
  const a = DurableStore.open(d, { snapshotEvery: 1000 });
  a.put('c', 'x', 1);
  a.close();
  appendFileSync(join(d, JOURNAL_FILE), 'garbage\n{"seq":3,"op":"put","c":"c","id":"y","v":2}\n');
  let caught: unknown = null;
  try { DurableStore.open(d); } catch (err) { caught = err; }
  t.ok(caught instanceof StoreError, 'a StoreError');
  t.match((caught as Error).message, /line 2 is damaged/);
});

t.test('an unreadable snapshot refuses to open', async (t) => {
  const d = dir(t);
  writeFileSync(join(d, SNAPSHOT_FILE), '{"version":1,');
  t.throws(() => DurableStore.open(d), /snapshot .* is unreadable/);
});
