// Fault injection on the daemon process (issue 10): a worker thread killed under load, and config
// reloads under load (valid and invalid). No request may hang, the process must survive, and every
// fault must show in /metrics. Disk faults are in faults-disk.test.ts.
import t from 'tap';
import { metricValue, startDaemon, type DaemonHandle } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { startLoad } from '../helpers/faults/load.js';
import { APP, REQUEST_TIMEOUT_MS, faultEdge } from '../helpers/faults/edge.js';

const edge = await faultEdge(t);
const CA = edge.ca;
const edgeConfig = edge.config;
const get = edge.get;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function workersReady(daemon: DaemonHandle, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const health = await fetch(`http://${daemon.admin}/healthz`).then((r) => r.json()) as { workers: Array<{ ready: boolean }> };
    if (health.workers.every((w) => w.ready)) return;
    if (Date.now() > until) throw new Error('workers not ready');
    await sleep(100);
  }
}

t.test('a worker killed under load: only its in-flight requests fail, fast; the process survives and the worker is replaced', async (t) => {
  const CLIENTS = 6;
  const port = await freePort();
  const daemon = await startDaemon(t, edgeConfig(port));
  const load = startLoad(CLIENTS, { port, host: APP, ca: CA, path: '/load', timeoutMs: REQUEST_TIMEOUT_MS });
  await sleep(1000);
  const before = await daemon.metrics();
  const onWorker0 = metricValue(before, 'edgeplane_worker_connections_active', '{worker="0"}') ?? 0;
  t.ok(onWorker0 >= 1 && onWorker0 < CLIENTS, `the load's connections are spread (${onWorker0} of ${CLIENTS} on worker 0)`);
  const killedAt = Date.now();
  t.equal((await fetch(`http://${daemon.admin}/debug/workers/0/crash`, { method: 'POST' })).status, 202);
  await daemon.waitForLog((l) => l.msg === 'worker exited; starting a replacement');
  const exitHandledAt = Date.now();
  await workersReady(daemon);
  const replacedAfterMs = Date.now() - killedAt;
  await sleep(1500);
  await load.stop();

  const { shots } = load;
  const failed = shots.filter((s) => s.status !== 200);
  const maxMs = Math.max(...shots.map((s) => s.ms));
  t.comment(`worker kill: ${shots.length - failed.length} ok, ${failed.length} failed, max latency ${maxMs} ms, replacement ready after ${replacedAfterMs} ms`);
  for (const f of failed) t.comment(`  failed: client ${f.client} at kill+${f.at - f.ms - killedAt} ms, after ${f.ms} ms, reused connection ${f.reused}: ${f.error}`);
  t.ok(shots.length > 50, `load ran (${shots.length} requests)`);
  t.ok(shots.every((s) => s.error === null || !s.error.startsWith('no settle')), 'every request settled before its timeout');
  t.ok(failed.every((s) => s.status === 0), `the failures are cut connections, not wrong answers (${[...new Set(failed.map((s) => s.error))].join('; ')})`);
  t.ok(failed.every((s) => s.ms < 3000), `the failed requests failed fast (max ${Math.max(0, ...failed.map((s) => s.ms))} ms)`);
  const failedClients = new Set(failed.map((s) => s.client));
  t.ok(failedClients.size <= onWorker0, `only clients whose connection was on the killed worker saw a failure (${failedClients.size} ≤ ${onWorker0})`);
  // Every failure began before the main thread had handled the exit (then the dead worker's slot is
  // no longer dispatched to), and the worst client lost its in-flight request plus one connection.
  t.ok(failed.every((s) => s.at - s.ms <= exitHandledAt), 'every failed request was sent before the exit was handled');
  for (const c of failedClients) {
    const lost = failed.filter((s) => s.client === c);
    t.ok(lost.length <= 2, `client ${c} lost ${lost.length} request(s)`);
    // Connections posted to the dying worker but not yet taken up go to another worker (they once were
    // closed at its exit, and a client lost a second request).
    t.ok(lost.length <= 1, `client ${c} lost only its in-flight request`);
  }
  t.ok(failed.every((s) => s.at >= killedAt), 'no failure before the kill');
  const lateFailures = shots.filter((s) => s.at > killedAt + replacedAfterMs + 200 && s.status !== 200);
  t.same(lateFailures, [], 'after the replacement every request succeeds');

  const after = await daemon.metrics();
  t.equal(metricValue(after, 'edgeplane_worker_restarts_total', '{worker="0"}'), 1, 'edgeplane_worker_restarts_total{worker="0"} 1');
  t.equal(daemon.proc.exitCode, null, 'the daemon process survived');
  // Fresh connections reach both workers again.
  const total0 = metricValue(after, 'edgeplane_worker_connections_total', '{worker="0"}') ?? 0;
  const fresh = await Promise.all(Array.from({ length: 12 }, (_, i) => get(port, `/fresh/${i}`)));
  t.same(fresh.map((r) => r.status), Array(12).fill(200), '12 new connections all get 200');
  const final = await daemon.metrics();
  t.ok((metricValue(final, 'edgeplane_worker_connections_total', '{worker="0"}') ?? 0) > total0, 'the replacement worker takes new connections');
});

t.test('config reloads under load: no failed request, no dropped connection, new connections see each new config', async (t) => {
  const CLIENTS = 4;
  const RELOADS = 10;
  const port = await freePort();
  const versioned = (v: number) => edgeConfig(port, { response_headers: { add: { 'x-config': `v${v}` } } });
  const daemon = await startDaemon(t, versioned(0));
  const load = startLoad(CLIENTS, { port, host: APP, ca: CA, path: '/load', timeoutMs: REQUEST_TIMEOUT_MS });
  await sleep(300);
  const seen: string[] = [];
  const lags: number[] = [];
  for (let i = 1; i <= RELOADS; i++) {
    daemon.writeConfig(versioned(i));
    const sent = Date.now();
    daemon.proc.kill('SIGHUP');
    // A new connection sees v<i> once this reload is installed (the file watch may add a reload of its own).
    let fresh = await get(port, `/fresh/${i}`);
    while (fresh.headers['x-config'] !== `v${i}` && Date.now() - sent < 15_000) {
      await sleep(50);
      fresh = await get(port, `/fresh/${i}`);
    }
    lags.push(Date.now() - sent);
    seen.push(String(fresh.headers['x-config']));
    // Past the file watch's 200 ms debounce before the next save: a debounce that fires while the next
    // save is half-written (or before its SIGHUP) reloads that content once more, by design of SIGHUP.
    await sleep(300);
  }
  t.comment(`reload → served by new connections after ${lags.join(', ')} ms`);
  t.same(seen, Array.from({ length: RELOADS }, (_, i) => `v${i + 1}`), 'a new connection after each reload gets that reload\'s header');

  // An invalid config under the same load: refused, the last good one keeps serving.
  daemon.writeConfig({ ...versioned(99), backends: [] });
  daemon.proc.kill('SIGHUP');
  const refused = await daemon.waitForLog((l) => l.msg === 'config reload refused; still serving the previous generation');
  await sleep(600); // past the file watch's 200 ms debounce: it must not refuse the same bytes again
  t.match((refused.problems as string[]).join('\n'), 'backend_id', 'the refusal names the broken reference');
  const still = await get(port, '/after-invalid');
  t.equal(still.status, 200);
  t.equal(still.headers['x-config'], `v${RELOADS}`, 'the previous generation keeps serving');
  await sleep(300);
  await load.stop();

  const { shots, connectionsOpened } = load;
  const failed = shots.filter((s) => s.status !== 200);
  const keptAlive = shots.filter((s) => s.headers['x-config'] === 'v0').length;
  t.comment(`reloads: ${shots.length} requests over ${RELOADS} reloads + 1 refused, ${failed.length} failed, max latency ${Math.max(...shots.map((s) => s.ms))} ms; ${keptAlive} answered by generation 1; connections per client ${connectionsOpened.join(', ')}`);
  t.ok(shots.length > 40, `load ran (${shots.length} requests)`);
  t.same(failed.map((s) => `${s.status} ${s.error}`), [], 'zero failed requests');
  // A reload retires the old generation: keep-alive connections on it end after their next response
  // (connection: close), so busy clients follow the reloads (reload-keepalive.test.ts checks how fast).
  for (let c = 0; c < CLIENTS; c++) {
    t.equal(shots.filter((s) => s.client === c).at(-1)?.headers['x-config'], `v${RELOADS}`, `load client ${c} ends on the last config`);
  }
  t.ok(connectionsOpened.every((n) => n > 1 && n <= 2 * RELOADS + 1), `keep-alive clients reconnected to follow the reloads, about once per reload (${connectionsOpened.join(', ')})`);
  const m = await daemon.metrics();
  // Exactly one reload per save + SIGHUP (regression: the file watch reloaded the same bytes again).
  t.equal(metricValue(m, 'edgeplane_config_reloads_total', '{result="ok"}'), RELOADS, 'one reload per change');
  t.equal(metricValue(m, 'edgeplane_config_reloads_total', '{result="failed"}'), 1, 'the refused reload is counted once');
  t.equal(metricValue(m, 'edgeplane_config_generation', ''), RELOADS + 1, 'one generation per reload');
  t.equal(daemon.logs.filter((l) => l.msg === 'config reload refused; still serving the previous generation').length, 1, 'one refusal logged');
});
