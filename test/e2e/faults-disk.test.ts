// Disk faults (issue 10): the Event Subscriptions API's durable store hitting the file-size limit
// (EFBIG from the kernel, via prlimit) and a full filesystem (ENOSPC, on a small tmpfs where mounting
// is allowed), and event outputs on /dev/full. Nothing acknowledged may be lost, the refused writes
// must not appear, traffic must keep flowing, and the losses must show in /metrics.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricValue, startDaemon, tempDir, type DaemonHandle } from '../helpers/daemon.js';
import { apiClient } from '../helpers/api-client.js';
import { freePort } from '../helpers/net.js';
import { faultEdge } from '../helpers/faults/edge.js';

const edge = await faultEdge(t);
const edgeConfig = edge.config;
const get = edge.get;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const KEY = 'faults-key-0123456789abcdef';

const api = (daemon: DaemonHandle, method: string, path: string, body?: unknown) => apiClient(`http://${daemon.admin}`, KEY)(method, path, body);

t.test('the API store hits the file-size limit: every acknowledged write survives a restart, the refused ones are not there', async (t) => {
  const FSIZE = 48 * 1024;
  const dir = tempDir(t);
  const port = await freePort();
  const config = {
    ...edgeConfig(port),
    workers: 1,
    admin: { listen: '127.0.0.1:0', debug_endpoints: true, api_keys: [KEY], state_dir: join(dir, 'state') },
    events: null, // this test is about the store; event outputs on a full disk are the next test
  };
  // RLIMIT_FSIZE: a write past it fails with EFBIG (node ignores SIGXFSZ), as on a full disk.
  // `env -u NODE_OPTIONS`: under tap every child gets @tapjs/processinfo (re-added to NODE_OPTIONS at each
  // spawn), whose signal-exit hooks catch SIGXFSZ and re-raise it, killing the daemon; plain node
  // ignores SIGXFSZ and gets EFBIG, which is what this test is about.
  const daemon = await startDaemon(t, config, { dir, prefix: ['env', '-u', 'NODE_OPTIONS', 'prlimit', `--fsize=${FSIZE}`, '--'] });
  const acknowledged: string[] = [];
  const refusals: Array<{ status: number; body: any }> = [];
  for (let i = 0; i < 200 && refusals.length < 3; i++) {
    const r = await api(daemon, 'POST', '/event_destinations', { description: `d${i}`, metadata: 'm'.repeat(2000), target: { stdout: {} } }).catch(async (err: Error) => {
      await Promise.race([daemon.exited, sleep(2000)]);
      t.fail(`the admin API failed: ${err.message}; daemon exit ${daemon.proc.exitCode} ${daemon.proc.signalCode}: ${daemon.stderr().slice(-3000)}`);
      return null;
    });
    if (r === null) break;
    if (r.status === 201) {
      if (refusals.length > 0) t.fail('a write succeeded after the store had filled up');
      acknowledged.push(r.body.id);
    } else refusals.push(r);
    if (i % 5 === 0) t.equal((await get(port, `/during/${i}`)).status, 200, `traffic flows while the store fills (${i})`);
  }
  t.ok(acknowledged.length >= 5, `${acknowledged.length} writes were acknowledged before the limit`);
  t.equal(refusals.length, 3, 'then writes are refused');
  for (const r of refusals) {
    t.equal(r.status, 507, 'refused with 507 Insufficient Storage');
    t.equal(r.body?.error_code, 'ERR_EDGEPLANE_5070');
    t.match(r.body?.msg, /could not be stored, the disk is full: journal write failed: EFBIG/, `with the reason: ${r.body?.msg}`);
  }
  const listed = await api(daemon, 'GET', '/event_destinations');
  t.equal(listed.status, 200, 'reads still work');
  t.equal((await get(port, '/after-full')).status, 200, 'traffic still flows');
  t.equal(daemon.proc.exitCode, null, 'the daemon did not crash');
  t.equal(await daemon.stop(), 0, 'and stops cleanly');

  const listIds = async (d: DaemonHandle): Promise<string[]> =>
    ((await api(d, 'GET', '/event_destinations?limit=100')).body.event_destinations as Array<{ id: string }>).map((x) => x.id).sort();

  // A restart under a tighter limit: the open-time snapshot (bigger than the limit) is cut short by the
  // kernel. Regression: a single writeSync took the short write as complete, renamed the truncated
  // snapshot into place and emptied the journal, so the next start refused the store.
  const tight = await startDaemon(t, config, { dir, prefix: ['env', '-u', 'NODE_OPTIONS', 'prlimit', `--fsize=${FSIZE / 3}`, '--'] });
  t.same(await listIds(tight), [...acknowledged].sort(), 'a start on a too-small limit serves every acknowledged destination');
  t.ok(tight.logs.some((l) => l.msg === 'store snapshot failed; the journal keeps every write and the next snapshot retries'), 'and warns that it could not compact');
  t.equal(await tight.stop(), 0);

  const again = await startDaemon(t, config, { dir });
  t.same(await listIds(again), [...acknowledged].sort(), `after a restart without the limit: exactly the ${acknowledged.length} acknowledged destinations`);
  t.equal((await api(again, 'POST', '/event_destinations', { target: { stdout: {} } })).status, 201, 'and the store takes writes again');
});

t.test('event outputs on a full disk (/dev/full): the daemon keeps serving and counts what it could not write', async (t) => {
  const port = await freePort();
  const daemon = await startDaemon(t, {
    ...edgeConfig(port),
    events: { file: '/dev/full' },
    event_destinations: [{ id: 'ed_full', target: { file: { path: '/dev/full' } } }],
    event_subscriptions: [{ id: 'esb_full', sources: [{ type: 'http_request_complete.v0', fields: ['http.request.url.path'] }], destination_ids: ['ed_full'] }],
  });
  const N = 30;
  const statuses: number[] = [];
  for (let i = 0; i < N; i++) statuses.push((await get(port, `/full/${i}`)).status);
  t.same(statuses, Array(N).fill(200), 'every request is served');
  await sleep(1500); // batches are flushed every 50 ms; destinations retry with back-off
  const m = await daemon.metrics();
  const written = metricValue(m, 'edgeplane_events_written_total', '') ?? 0;
  const dropped = metricValue(m, 'edgeplane_events_dropped_total', '') ?? 0;
  const dest = (outcome: string) => metricValue(m, 'edgeplane_event_destination_records_total', `{destination="ed_full",target="file",outcome="${outcome}"}`) ?? 0;
  const buffered = metricValue(m, 'edgeplane_event_destination_buffered_bytes', '{destination="ed_full",target="file"}') ?? 0;
  t.comment(`/dev/full: events written ${written}, dropped ${dropped}; destination delivered ${dest('delivered')}, dropped ${dest('dropped')}, retried ${dest('retried')}, failed ${dest('failed')}, buffered ${buffered} bytes`);
  t.ok(dropped >= N, `the events file's losses are counted (edgeplane_events_dropped_total ${dropped} ≥ ${N})`);
  t.equal(written, 0, 'and none is counted as written (regression: the batch that failed was)');
  t.equal(dest('delivered'), 0, 'the destination delivered nothing');
  t.ok(dest('failed') + dest('dropped') + dest('retried') > 0, 'the destination\'s failures are counted');
  t.ok(daemon.logs.some((l) => JSON.stringify(l).includes('ENOSPC')), 'ENOSPC is logged');
  t.equal((await get(port, '/full/after')).status, 200, 'the daemon still serves');
  t.equal(daemon.proc.exitCode, null);
});

/** Mounts a tmpfs of `size` on a fresh directory; null where this box may not mount (CI without root). */
function smallFilesystem(t: { teardown(fn: () => unknown): void }, size: string): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  t.teardown(() => {
    try { execFileSync('umount', ['-l', dir], { stdio: 'ignore' }); } catch { /* already gone */ }
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

// Probed once: the subtest is reported as skipped (not passed) where mount is refused.
const probe = smallFilesystem(t, '4k');
t.test('the API store on a full filesystem (ENOSPC): 507, nothing acknowledged lost, and a restart on the full disk works', { skip: probe === null ? 'mounting a tmpfs is not permitted here' : false }, async (t) => {
  const mnt = smallFilesystem(t, '64k')!;
  const dir = tempDir(t);
  const port = await freePort();
  const config = {
    ...edgeConfig(port),
    workers: 1,
    admin: { listen: '127.0.0.1:0', debug_endpoints: true, api_keys: [KEY], state_dir: join(mnt, 'state') },
    events: null,
  };
  const daemon = await startDaemon(t, config, { dir });
  const acknowledged: string[] = [];
  const refusals: Array<{ status: number; body: any }> = [];
  for (let i = 0; i < 200 && refusals.length < 3; i++) {
    const r = await api(daemon, 'POST', '/event_destinations', { description: `d${i}`, metadata: 'm'.repeat(2000), target: { stdout: {} } });
    if (r.status === 201) {
      if (refusals.length > 0) t.fail('a write succeeded after the filesystem had filled up');
      acknowledged.push(r.body.id);
    } else refusals.push(r);
  }
  t.ok(acknowledged.length >= 3, `${acknowledged.length} writes were acknowledged before the disk was full`);
  t.same(refusals.map((r) => r.status), [507, 507, 507], 'then 507 Insufficient Storage');
  t.match(refusals[0]?.body?.msg, /disk is full.*ENOSPC/, `with the reason: ${refusals[0]?.body?.msg}`);
  t.equal((await get(port, '/during-enospc')).status, 200, 'traffic still flows');
  t.equal(await daemon.stop(), 0, 'the daemon stops cleanly');

  // The disk is still full: the store must open from its snapshot and journal all the same.
  const again = await startDaemon(t, config, { dir });
  t.ok(again.logs.some((l) => l.msg === 'store snapshot failed; the journal keeps every write and the next snapshot retries'), 'the start warns that it could not compact');
  const after = await api(again, 'GET', '/event_destinations?limit=100');
  t.same((after.body.event_destinations as Array<{ id: string }>).map((d) => d.id).sort(), [...acknowledged].sort(),
    `after a restart on the full disk: exactly the ${acknowledged.length} acknowledged destinations`);
  t.equal((await get(port, '/after-restart')).status, 200, 'and it serves');
});
