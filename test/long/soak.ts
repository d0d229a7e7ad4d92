// Soak run (hardening issue): a real daemon under a mixed, rate-limited load for a bounded time, sampled every
// 10 s (RSS, open fds, threads, active connections), with a verdict on whether memory and fds stay flat and
// whether fds and connections return to the idle baseline once the load stops. Not part of `npm test`.
// Usage: npx tsc -p . && node dist/test/long/soak.js [--minutes 30] [--rate 200] [--out soak-result.json]
//        [--sample-seconds 10] [--reload-minutes 2] [--daemon-node-options=--heapsnapshot-signal=SIGUSR2]
// Exit 0 = pass, 1 = fail. See test/long/README.md.
import http from 'node:http';
import net from 'node:net';
import { cpus, totalmem, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makePki } from '../helpers/pki.js';
import { startDaemon, type DaemonHandle } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { exampleTestCertificates } from '../helpers/http.js';
import { SoakClients, kindPicker, ZIP_BYTES, type Target } from './soak-load.js';
import { procStats, metricSum } from './soak-procfs.js';
import { BOUNDS, judge, percentile, type Sample } from './soak-stats.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '200' },
    out: { type: 'string', default: 'soak-result.json' },
    'sample-seconds': { type: 'string', default: '10' },
    'reload-minutes': { type: 'string', default: '2' },
    'daemon-node-options': { type: 'string', default: '' },
  },
});
const MINUTES = Number(args.minutes);
const RATE = Number(args.rate);
const SAMPLE_S = Number(args['sample-seconds']);
const RELOAD_S = Number(args['reload-minutes']) * 60;
const LOAD_S = MINUTES * 60;
// Warm-up: pools, JIT and allocator arenas settle first. 3 min or 10 % of a long run; 30 % of a short debug run.
const WARMUP_S = MINUTES >= 10 ? Math.max(180, LOAD_S * 0.1) : LOAD_S * 0.3;
const KEEP_ALIVE_S = 10;
const MAX_IN_FLIGHT = 256;
const EVENTS_FILE_MAX_BYTES = 32 * 1024 * 1024;
const APP = 'app.example.test';
const ECHO = 'echo.example.test';

// --- bounded and cleaned up: teardowns run on every way out, and a hard stop at minutes + 2 ---
const teardowns: Array<() => unknown> = [];
const t = { teardown: (fn: () => unknown) => { teardowns.push(fn); } };
let daemonPid = 0;
async function cleanup(): Promise<void> {
  for (const fn of teardowns.splice(0).reverse()) { try { await fn(); } catch { /* best effort */ } }
}
process.on('exit', () => { if (daemonPid !== 0) { try { process.kill(daemonPid, 'SIGKILL'); } catch { /* gone */ } } });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { console.error(`\n${signal}: stopping`); void cleanup().finally(() => process.exit(130)); });
}
const hardStop = setTimeout(() => {
  console.error(`hard stop: the run passed ${MINUTES + 2} minutes of wall time`);
  void cleanup().finally(() => process.exit(1));
}, (MINUTES + 2) * 60_000);

// --- origins: an HTTP origin (plain, upload, slow, compressible) and a TCP echo ---
const ZIP_BODY = Buffer.from(Array.from({ length: ZIP_BYTES }, (_, i) => 'edge proxy soak line '.charCodeAt(i % 21) ^ (i % 997 === 0 ? 1 : 0)));
const SMALL = JSON.stringify({ ok: true, text: 'soak'.repeat(40) });

function originHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = (req.url ?? '').split('?')[0]!;
  res.on('error', () => {});
  if (path === '/plain/upload') {
    let n = 0;
    req.on('data', (c: Buffer) => { n += c.length; });
    req.on('end', () => res.end(String(n)));
    return;
  }
  req.resume();
  if (path === '/plain/slow') {
    // 20 pieces of 16 KiB over about a second: long enough to be cut mid-response.
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed || sent === 20) { clearInterval(timer); if (!res.destroyed) res.end(); return; }
      res.write(Buffer.alloc(16 * 1024, 0x61));
      sent++;
    }, 50);
    res.on('close', () => clearInterval(timer));
    return;
  }
  if (path.startsWith('/zip/')) {
    // The route's request_headers module must have added x-soak-req; response_headers must drop x-origin-secret.
    if (typeof req.headers['x-soak-req'] !== 'string') { res.writeHead(400); res.end('x-soak-req missing'); return; }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': ZIP_BODY.length, 'x-origin-secret': 'must-not-leak' });
    res.end(ZIP_BODY);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(SMALL) });
  res.end(SMALL);
}

async function listen(server: net.Server): Promise<number> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); });
  t.teardown(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

// --- the daemon's config; `generation` changes the header values, which is what a reload swaps ---
function config(ports: { https: number; plain: number; tcp: number; origin: number; echo: number }, pki: ReturnType<typeof makePki>, generation: number): Record<string, unknown> {
  return {
    workers: 2,
    listen_address: '127.0.0.1',
    drain_timeout: 5,
    ...exampleTestCertificates(pki),
    backends: [
      { id: 'bkd_origin', type: 'static_address', address: `127.0.0.1:${ports.origin}` },
      { id: 'bkd_echo', type: 'static_address', address: `127.0.0.1:${ports.echo}` },
    ],
    edges: [
      {
        id: 'edghts_app', type: 'https', hostports: [`${APP}:${ports.https}`],
        routes: [
          { id: 'rt_plain', match_type: 'path_prefix', match: '/plain', backend: { backend_id: 'bkd_origin' } },
          {
            id: 'rt_zip', match_type: 'path_prefix', match: '/zip', backend: { backend_id: 'bkd_origin' }, compression: {},
            request_headers: { add: { 'x-soak-req': `v${generation}`, 'x-client-ip': '${conn.client_ip}' } },
            response_headers: { add: { 'x-soak': `v${generation}`, 'x-soak-status': '${res.status_code}' }, remove: ['x-origin-secret'] },
          },
        ],
      },
      { id: 'edgtls_echo', type: 'tls', hostports: [`${ECHO}:${ports.https}`], backend: { backend_id: 'bkd_echo' }, tls_termination: { terminate_at: 'edge', min_version: '1.2' } },
      { id: 'edgtcp_echo', type: 'tcp', hostports: [`127.0.0.1:${ports.tcp}`], backend: { backend_id: 'bkd_echo' } },
    ],
    http: { plain_listen: `127.0.0.1:${ports.plain}`, plain_mode: 'serve', keep_alive_timeout: KEEP_ALIVE_S, upstream_idle_timeout: KEEP_ALIVE_S },
  };
}

function machine(): Record<string, string | number> {
  const read = (p: string): string => { try { return readFileSync(p, 'utf8').trim(); } catch { return '?'; } };
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? '?',
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    debian: read('/etc/debian_version'),
    kernel: read('/proc/sys/kernel/osrelease'),
  };
}

/** How many times each daemon log message appeared, by level and message (errors and warnings are what matter). */
function logCounts(logs: Array<Record<string, unknown>>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const l of logs) {
    const key = `${String(l.level)} ${String(l.msg)}${l.trigger === undefined ? '' : ` (${String(l.trigger)})`}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

const fmt = (n: number | null, digits = 0): string => (n === null ? '-' : n.toFixed(digits));

async function main(): Promise<number> {
  const started = Date.now();
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-soak-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const originPort = await listen(http.createServer({ keepAliveTimeout: 60_000 }, originHandler));
  const echoPort = await listen(net.createServer((s) => s.pipe(s)));
  const ports = { https: await freePort(), plain: await freePort(), tcp: await freePort(), origin: originPort, echo: echoPort };

  const nodeOptions = args['daemon-node-options'];
  const daemon: DaemonHandle = await startDaemon(t, config(ports, pki, 1), {
    dir,
    env: { EDGEPLANE_LOG_LEVEL: 'info', ...(nodeOptions === '' ? {} : { NODE_OPTIONS: nodeOptions }) },
  });
  daemonPid = daemon.proc.pid!;
  let daemonAlive = true;
  void daemon.exited.then(() => { daemonAlive = false; });
  console.log(`soak: daemon pid ${daemonPid}, https/tls :${ports.https}, plain :${ports.plain}, tcp :${ports.tcp}, admin ${daemon.admin}`);
  console.log(`soak: ${MINUTES} min at ${RATE} ops/s, samples every ${SAMPLE_S} s, reload every ${RELOAD_S} s, warm-up ${WARMUP_S} s`);

  const target: Target = { host: APP, echoHost: ECHO, httpsPort: ports.https, plainPort: ports.plain, tcpPort: ports.tcp, ca: pki.read('ca.crt') };
  const clients = new SoakClients(target);
  const pick = kindPicker(clients.ops, 20261207);

  // --- client-side counters: per window (reset at every sample), per minute (for the table) and in total ---
  const totals = { ok: 0, failed: 0, deliberateAborts: 0, skipped: 0 };
  const byKind: Record<string, { ok: number; aborted: number; failed: Record<string, number>; meanMs: number; maxMs: number }> = {};
  let win = { ok: 0, failed: 0, deliberateAborts: 0, skipped: 0, latencies: [] as number[] };
  let minute = { ok: 0, failed: 0, latencies: [] as number[] };
  const failureExamples: string[] = [];
  const inFlight = new Set<Promise<void>>();

  function launch(kind: string): void {
    const p = clients.run(kind).then(({ outcome, ms }) => {
      const k = (byKind[kind] ??= { ok: 0, aborted: 0, failed: {}, meanMs: 0, maxMs: 0 });
      const n = k.ok + k.aborted + Object.values(k.failed).reduce((a, b) => a + b, 0);
      k.meanMs = Math.round(((k.meanMs * n + ms) / (n + 1)) * 10) / 10;
      k.maxMs = Math.max(k.maxMs, Math.round(ms));
      if (outcome === 'ok' || outcome === 'aborted') {
        if (outcome === 'ok') { k.ok++; totals.ok++; win.ok++; minute.ok++; } else { k.aborted++; totals.deliberateAborts++; win.deliberateAborts++; }
        win.latencies.push(ms);
        minute.latencies.push(ms);
      } else {
        k.failed[outcome] = (k.failed[outcome] ?? 0) + 1;
        totals.failed++; win.failed++; minute.failed++;
        if (failureExamples.length < 50) failureExamples.push(`${new Date().toISOString()} ${kind}: ${outcome}`);
      }
    }).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }

  // --- sampling ---
  const samples: Sample[] = [];
  let loadStart = 0;
  let lastCpu = 0;
  async function sample(phase: Sample['phase']): Promise<Sample | null> {
    const stats = procStats(daemonPid);
    if (stats === null) return null;
    let text = '';
    try { text = await (await fetch(`http://${daemon.admin}/metrics`, { signal: AbortSignal.timeout(5000) })).text(); } catch { /* counted as nulls */ }
    const sorted = win.latencies.sort((a, b) => a - b);
    const s: Sample = {
      t: Math.round((Date.now() - loadStart) / 100) / 10,
      phase,
      rssMb: Math.round(stats.rssMb * 10) / 10,
      fds: stats.fds,
      threads: stats.threads,
      daemonCpuS: stats.cpuS,
      edgeConnectionsActive: metricSum(text, 'edgeplane_edge_connections_active'),
      workerConnectionsActive: metricSum(text, 'edgeplane_worker_connections_active'),
      upstreamConnections: metricSum(text, 'edgeplane_worker_upstream_connections'),
      workerRestarts: metricSum(text, 'edgeplane_worker_restarts_total'),
      eventsDropped: metricSum(text, 'edgeplane_events_dropped_total'),
      configGeneration: metricSum(text, 'edgeplane_config_generation'),
      ok: win.ok, failed: win.failed, deliberateAborts: win.deliberateAborts, skipped: win.skipped,
      p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99),
      clientRssMb: Math.round(process.memoryUsage.rss() / 2 ** 20),
    };
    win = { ok: 0, failed: 0, deliberateAborts: 0, skipped: 0, latencies: [] };
    samples.push(s);
    // The events file grows with every request; empty it now and then (the daemon appends with O_APPEND).
    try { if (statSync(daemon.eventsPath).size > EVENTS_FILE_MAX_BYTES) truncateSync(daemon.eventsPath, 0); } catch { /* not yet written */ }
    return s;
  }

  const header = 'min  phase        rss MB   fds  thr  conns  upstr  cpu%   ok/min  fail  p50 ms  p99 ms  gen';
  function printRow(s: Sample, label: string): void {
    const cpuPct = lastCpu === 0 ? null : ((s.daemonCpuS - lastCpu) / 60) * 100;
    lastCpu = s.daemonCpuS;
    const lat = minute.latencies.sort((a, b) => a - b);
    console.log(`${label.padStart(4)} ${s.phase.padEnd(11)} ${fmt(s.rssMb, 1).padStart(7)} ${String(s.fds).padStart(5)} ${String(s.threads).padStart(4)} ` +
      `${fmt(s.edgeConnectionsActive).padStart(6)} ${fmt(s.upstreamConnections).padStart(6)} ${fmt(cpuPct).padStart(5)} ${String(minute.ok).padStart(8)} ${String(minute.failed).padStart(5)} ` +
      `${fmt(percentile(lat, 50), 1).padStart(7)} ${fmt(percentile(lat, 99), 1).padStart(7)} ${fmt(s.configGeneration).padStart(4)}`);
    minute = { ok: 0, failed: 0, latencies: [] };
  }

  // --- idle baseline: a few samples before any load ---
  loadStart = Date.now() + 3 * 2000;
  for (let i = 0; i < 3; i++) { await new Promise((r) => setTimeout(r, 2000)); await sample('idle-before'); }
  console.log(header);
  printRow(samples[samples.length - 1]!, 'idle');
  loadStart = Date.now();

  // --- load: a paced loop at RATE ops/s over all kinds, reloads every RELOAD_S, samples every SAMPLE_S ---
  let generation = 1;
  let reloadsOk = 0;
  let reloadsFailed = 0;
  let lastHeaderWritten = 'v1';
  const reloadCount = (): number => daemon.logs.filter((l) => l.msg === 'config reloaded').length;
  let pendingReload: Promise<unknown> = Promise.resolve();
  let credit = 0;
  let lastTick = performance.now();
  const pacer = setInterval(() => {
    const now = performance.now();
    credit += ((now - lastTick) / 1000) * RATE;
    lastTick = now;
    while (credit >= 1) {
      credit -= 1;
      if (inFlight.size >= MAX_IN_FLIGHT) { win.skipped++; totals.skipped++; continue; }
      launch(pick());
    }
  }, 20);

  const reloader = setInterval(() => {
    generation++;
    const want = reloadsOk + reloadsFailed + 1;
    daemon.writeConfig(config(ports, pki, generation));
    lastHeaderWritten = `v${generation}`;
    // Every other reload also gets a SIGHUP (the file watch alone reloads the rest); an unchanged file is not reloaded twice.
    if (generation % 2 === 1) daemon.proc.kill('SIGHUP');
    pendingReload = daemon.waitForLog(() => reloadCount() >= want, 30_000).then(() => { reloadsOk++; }, () => { reloadsFailed++; console.error(`reload to v${generation} not confirmed in 30 s`); });
  }, RELOAD_S * 1000);

  let nextRow = 60;
  while (daemonAlive && Date.now() - loadStart < LOAD_S * 1000) {
    const due = loadStart + samples.filter((s) => s.phase === 'load').length * SAMPLE_S * 1000 + SAMPLE_S * 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    const s = await sample('load');
    if (s !== null && s.t >= nextRow - 1) { printRow(s, String(Math.round(s.t / 60))); nextRow += 60; }
  }
  clearInterval(pacer);
  clearInterval(reloader);

  // --- after the load: let what is in flight finish, then wait for the edge's keep-alive timeout to close idle connections ---
  await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, 30_000))]);
  // Connections are served by the generation they were accepted under, so the header of the last reload is
  // checked on a new connection.
  await pendingReload;
  let lastHeaderSeen = '';
  try { lastHeaderSeen = await clients.freshGzip(); } catch (err) { lastHeaderSeen = `error: ${(err as Error).message}`; }
  const idleBaseline = Math.max(...samples.filter((s) => s.phase === 'idle-before').map((s) => s.fds));
  const stopAt = Date.now();
  let idleAfter: Sample | null = null;
  let idleAfterS: number | null = null;
  while (Date.now() - stopAt < (KEEP_ALIVE_S * 3 + 30) * 1000) {
    await new Promise((r) => setTimeout(r, 5000));
    const s = await sample('idle-after');
    if (s === null) break;
    idleAfter = s;
    if (Date.now() - stopAt > KEEP_ALIVE_S * 1000 + 2000 && (s.edgeConnectionsActive ?? 0) === 0 && s.fds <= idleBaseline + BOUNDS.fdIdleSlack) {
      idleAfterS = (Date.now() - stopAt) / 1000;
      break;
    }
  }
  if (idleAfter !== null) printRow(idleAfter, 'end');
  // What the clients still hold open would only show the edge's timeouts not working; close it now either way.
  clients.close();

  const failuresByKind: Record<string, number> = {};
  for (const k of Object.values(byKind)) for (const [kind, n] of Object.entries(k.failed)) failuresByKind[kind] = (failuresByKind[kind] ?? 0) + n;
  const verdict = judge(samples, WARMUP_S, {
    unexpectedFailures: totals.failed, failuresByKind, idleAfter, daemonAlive,
    reloadsOk, reloadsFailed, lastHeaderSeen, lastHeaderWritten,
  });

  const loadSamples = samples.filter((s) => s.phase === 'load');
  const cpuUsedS = loadSamples.length > 1 ? loadSamples[loadSamples.length - 1]!.daemonCpuS - loadSamples[0]!.daemonCpuS : 0;
  const spanS = loadSamples.length > 1 ? loadSamples[loadSamples.length - 1]!.t - loadSamples[0]!.t : 0;
  const result = {
    command: `node dist/test/long/soak.js ${process.argv.slice(2).join(' ')}`.trim(),
    startedAt: new Date(started).toISOString(),
    wallS: Math.round((Date.now() - started) / 1000),
    machine: machine(),
    settings: { minutes: MINUTES, rate: RATE, sampleS: SAMPLE_S, reloadS: RELOAD_S, warmupS: WARMUP_S, keepAliveS: KEEP_ALIVE_S, maxInFlight: MAX_IN_FLIGHT, bounds: BOUNDS },
    totals,
    achievedOpsPerS: Math.round(((totals.ok + totals.failed + totals.deliberateAborts) / LOAD_S) * 10) / 10,
    daemonCpuPercentUnderLoad: spanS > 0 ? Math.round((cpuUsedS / spanS) * 1000) / 10 : null,
    byKind,
    failureExamples,
    reloads: { ok: reloadsOk, failed: reloadsFailed, lastHeaderWritten, lastHeaderSeen },
    idleAfterS,
    daemonLogCounts: logCounts(daemon.logs),
    h2GoawaysReceived: clients.h2Goaways.slice(0, 100),
    verdict,
    samples,
  };
  writeFileSync(args.out!, JSON.stringify(result, null, 2));

  console.log('');
  console.log(`requests: ${totals.ok} ok, ${totals.failed} failed, ${totals.deliberateAborts} aborted on purpose, ${totals.skipped} skipped (in-flight cap); ${result.achievedOpsPerS} ops/s; daemon CPU ${result.daemonCpuPercentUnderLoad} %`);
  console.log(`reloads: ${reloadsOk} confirmed, ${reloadsFailed} not; last header written ${lastHeaderWritten}, last seen ${lastHeaderSeen}`);
  const v = verdict;
  console.log(`RSS after ${WARMUP_S} s warm-up: first fifth ${v.rss.firstFifthMb.toFixed(1)} MB, last fifth ${v.rss.lastFifthMb.toFixed(1)} MB, ` +
    `growth ${v.rss.growthMb.toFixed(1)} MB (${v.rss.growthPct.toFixed(1)} %), slope ${v.rss.slopeMbPerHour.toFixed(1)} MB/h over ${v.rss.spanS.toFixed(0)} s`);
  console.log(`fds: idle ${v.fds.idleBaseline}, under load first fifth ${v.fds.firstFifth} / last fifth ${v.fds.lastFifth} (slope ${v.fds.slopePerHour.toFixed(1)}/h), ` +
    `idle after ${v.fds.idleAfter}${idleAfterS === null ? ' (not back within the wait)' : ` (back ${idleAfterS.toFixed(0)} s after the load stopped)`}`);
  console.log(`threads: idle ${v.threads.idleBaseline}, max ${v.threads.max}, after ${v.threads.idleAfter}; edge connections after: ${v.connectionsIdleAfter}`);
  if (failureExamples.length > 0) console.log(`failures (first ${failureExamples.length}):\n  ${failureExamples.join('\n  ')}`);
  console.log(v.pass ? 'VERDICT: PASS' : `VERDICT: FAIL\n  ${v.reasons.join('\n  ')}`);
  console.log(`result: ${args.out}`);
  return v.pass ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error('soak: run failed:', err);
}
clearTimeout(hardStop);
await cleanup();
process.exit(code);
