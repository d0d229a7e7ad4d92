// The events file after a failed write (disk full): events are dropped and counted meanwhile, and the
// file is reopened later, so events flow again once there is room. It used to stay dead for good.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSink } from '../../../core/events/sink.js';

const until = async (cond: () => boolean, ms = 5_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 20));
  }
};

t.test('a full disk (/dev/full) drops and counts; the reopened file takes events again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sink-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'events.ndjson');
  symlinkSync('/dev/full', path); // writes fail with ENOSPC, as on a full disk
  const sink = new EventSink(path, { reopenAfterMs: 200 });
  sink.write('{"n":1}\n', 1);
  await until(() => sink.dropped === 1);
  t.equal(sink.written, 0, 'the failed write is not counted as written');
  sink.write('{"n":2}\n', 1);
  await until(() => sink.dropped === 2);

  // Room again: the path now leads to a real file.
  writeFileSync(join(dir, 'real.ndjson'), '');
  symlinkSync(join(dir, 'real.ndjson'), join(dir, 'next'));
  renameSync(join(dir, 'next'), path);
  await new Promise((r) => setTimeout(r, 400));
  sink.write('{"n":3}\n', 1);
  await until(() => sink.written === 1);
  await sink.close();
  t.equal(readFileSync(join(dir, 'real.ndjson'), 'utf8'), '{"n":3}\n', 'events are written again after the reopen');
  t.equal(sink.dropped, 2, 'only the events written while the disk was full were lost, and counted');
});
