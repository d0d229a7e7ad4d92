// Issue 8 measurement: the cost of a tunnel agent on the request path. One daemon, one origin, one run:
//   Host app1.example.test → static_address backend → origin            ("static")
//   Host app2.example.test → tunnel_group {app: bench} → agent(s) → origin ("agent")
// Both are https edges served through the daemon's cleartext listener (http.plain_mode: serve), so the
// client sends plain HTTP/1.1 and only the backend differs. Per repetition, static and agent alternate
// (the order flips every repetition): small keep-alive requests (autocannon, req/s, p50/p99, CPU per 1000
// requests of the daemon tree and of the agent processes), then bulk (parallel GET /big, 64 MiB, MB/s).
// With --two-agents, a second phase runs with two agents (same labels) in the group.
// Usage: node dist/bench/tunnel-agent.js [--reps 3] [--duration 10] [--warmup 2] [--conns 32]
//        [--bulk-conns 4] [--workers 2] [--two-agents] [--port-offset 600] [--json FILE]
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coreJiffies, processTicks, processTreePids } from './cpu.js';
import { BIG_BYTES, ensureFixtures, SMALL_BODY, type Fixtures } from './fixtures.js';
import { autocannonVersion, runAutocannon } from './load/autocannon-load.js';
import type { WrkResult } from './load/wrk.js';
import { isRunning, startPinned, stopChild, type BenchChild } from './processes.js';
import { originHttpPort, setPortOffset, waitPortOpen } from './ports.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../core/cli.js', import.meta.url));
const ORIGIN = fileURLToPath(new URL('./origin/node-origin.js', import.meta.url));
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const STATIC_HOST = 'app1.example.test';
const AGENT_HOST = 'app2.example.test';
const TOKEN = randomBytes(24).toString('hex');
// every process may use every core: the box is small and the question is the whole path's cost
const ALL_CORES = `0-${cpus().length - 1}`;

interface Options {
  reps: number; duration: number; warmup: number; conns: number; bulkConns: number; workers: number;
  twoAgents: boolean; portOffset: number; json?: string;
}

const HELP = `Usage: node dist/bench/tunnel-agent.js [options]
Throughput and latency through a tunnel agent versus a static backend (same daemon, origin and run).
  --reps N          repetitions, static and agent alternating (default 3)
  --duration S      measured seconds per window (default 10)
  --warmup S        unmeasured seconds before each small-request window (default 2)
  --conns N         autocannon keep-alive connections (default 32)
  --bulk-conns N    parallel GET /big (64 MiB) downloads, repeated for the window (default 4)
  --workers N       daemon workers (default 2)
  --two-agents      also a second phase with two agents in the group (identical labels)
  --port-offset N   origin ports = 18080+N, 18443..18445+N (default 600)
  --json FILE       also write every window and the medians as JSON
  --help            this text`;

function parseOptions(argv: string[]): Options | number {
  const o: Options = { reps: 3, duration: 10, warmup: 2, conns: 32, bulkConns: 4, workers: 2, twoAgents: false, portOffset: 600 };
  const num = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`${name} needs a number ≥ ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--help': case '-h': console.log(HELP); return 0;
      case '--reps': o.reps = Math.floor(num(a, argv[++i], 1)); break;
      case '--duration': o.duration = num(a, argv[++i], 1); break;
      case '--warmup': o.warmup = num(a, argv[++i], 0); break;
      case '--conns': o.conns = Math.floor(num(a, argv[++i], 1)); break;
      case '--bulk-conns': o.bulkConns = Math.floor(num(a, argv[++i], 1)); break;
      case '--workers': o.workers = Math.floor(num(a, argv[++i], 1)); break;
      case '--two-agents': o.twoAgents = true; break;
      case '--port-offset': o.portOffset = Math.floor(num(a, argv[++i], 0)); break;
      case '--json': o.json = argv[++i]; if (!o.json) throw new Error('--json needs a file name'); break;
      default: console.error(`unknown option: ${a}\n\n${HELP}`); return 2;
    }
  }
  return o;
}

// ---------------------------------------------------------------- processes

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The JSON log lines of a child's log file (plain-text lines skipped). */
function logLines(child: BenchChild): Array<Record<string, unknown>> {
  let text = '';
  try { text = readFileSync(child.logPath, 'utf8'); } catch { return []; }
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try { out.push(JSON.parse(line) as Record<string, unknown>); } catch { /* partial line */ }
  }
  return out;
}

async function waitForLog(child: BenchChild, msg: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const hit = logLines(child).find((l) => l.msg === msg);
    if (hit) return hit;
    const tail = (): string => { try { return readFileSync(child.logPath, 'utf8').slice(-1500); } catch { return ''; } };
    if (!isRunning(child)) throw new Error(`${child.name} exited before logging "${msg}":\n${tail()}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${child.name} to log "${msg}":\n${tail()}`);
    await sleep(100);
  }
}

interface Ports { plain: number; https: number; tunnel: number; origin: number }

function daemonConfig(f: Fixtures, p: Ports, workers: number, workDir: string): string {
  const config = {
    workers,
    admin: { listen: '127.0.0.1:0' },
    events: { file: join(workDir, 'events.ndjson') },
    tls_certificates: [{ id: 'cert_bench', certificate_pem: { file: f.cert }, private_key_pem: { file: f.key } }],
    reserved_domains: [{ domain: '*.example.test', certificate_id: 'cert_bench' }],
    http: { plain_listen: `127.0.0.1:${p.plain}`, plain_mode: 'serve' },
    tunnel: { listen: `127.0.0.1:${p.tunnel}`, certificate_id: 'cert_bench', authtokens: [{ id: 'cr_bench', token: TOKEN }] },
    backends: [
      { id: 'bkd_static', type: 'static_address', address: `127.0.0.1:${p.origin}` },
      { id: 'bkd_agents', type: 'tunnel_group', labels: { app: 'bench' } },
    ],
    edges: [
      {
        id: 'edghts_static', type: 'https', hostports: [`${STATIC_HOST}:${p.https}`],
        routes: [{ id: 'edghtsrt_static', match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_static' } }],
      },
      {
        id: 'edghts_agent', type: 'https', hostports: [`${AGENT_HOST}:${p.https}`],
        routes: [{ id: 'edghtsrt_agent', match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_agents' } }],
      },
    ],
  };
  return JSON.stringify(config, null, 2); // JSON is YAML
}

function startAgent(n: number, f: Fixtures, p: Ports, logDir: string): BenchChild {
  return startPinned(`agent${n}`, ALL_CORES, process.execPath, [
    CLI, 'agent', '--edge', `127.0.0.1:${p.tunnel}`, '--label', 'app=bench', '--forward', `127.0.0.1:${p.origin}`,
    '--edge-ca', f.cert, '--server-name', STATIC_HOST,
  ], join(logDir, `agent${n}.log`), { ...process.env, EDGEPLANE_AUTHTOKEN: TOKEN });
}

/** One GET through the plain listener; resolves with status and body. */
function getOnce(port: number, host: string, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: { host }, agent: false, timeout: 10_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------- measurements

interface Procs { daemon: BenchChild; agents: BenchChild[]; origin: BenchChild }
/** CPU in ms (ticks inside ticksNow); `other` = busy CPU of the whole box that none of ours used. */
interface Ticks { daemon: number; agents: number; origin: number; self: number; busy: number; other: number }

/** This runner + its reaped children (the autocannon processes): /proc/self/stat utime stime cutime cstime. */
function selfTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [11, 12, 13, 14].reduce((a, i) => a + Number(rest[i]), 0);
}

function ticksNow(p: Procs): Ticks {
  return {
    daemon: processTicks(processTreePids(p.daemon.pid)),
    agents: p.agents.reduce((s, a) => s + processTicks(processTreePids(a.pid)), 0),
    origin: processTicks(processTreePids(p.origin.pid)),
    self: selfTicks(),
    busy: coreJiffies().reduce((s, c) => s + c.busy, 0),
    other: 0,
  };
}
function ticksMs(a: Ticks, b: Ticks): Ticks {
  const ms = (k: keyof Ticks): number => ((b[k] - a[k]) * 1000) / CLK_TCK;
  const ours = ms('daemon') + ms('agents') + ms('origin') + ms('self');
  return { daemon: ms('daemon'), agents: ms('agents'), origin: ms('origin'), self: ms('self'), busy: ms('busy'), other: Math.max(0, ms('busy') - ours) };
}

interface SmallWindow {
  req_per_s: number; p50_ms: number; p99_ms: number; requests: number; errors: number; non2xx: number;
  daemon_cpu_ms_per_1k: number; agent_cpu_ms_per_1k: number; origin_cpu_ms_per_1k: number; cpu_ms: Ticks;
  /** % of one core used by processes that are not this bench's during the window (other jobs on the box) */
  other_cpu_pct: number;
}

async function smallWindow(o: Options, p: Procs, port: number, host: string): Promise<SmallWindow> {
  const req = { port, tls: false, host, path: '/small' };
  if (o.warmup > 0) await runAutocannon(ALL_CORES, req, o.conns, o.warmup);
  const t0 = ticksNow(p);
  const r: WrkResult = await runAutocannon(ALL_CORES, req, o.conns, o.duration);
  const cpu = ticksMs(t0, ticksNow(p));
  const k = r.requests > 0 ? 1000 / r.requests : 0;
  return {
    req_per_s: r.requests / (r.duration_us / 1e6), p50_ms: r.p50_us / 1000, p99_ms: r.p99_us / 1000, requests: r.requests,
    errors: r.err_connect + r.err_timeout, non2xx: r.err_status,
    daemon_cpu_ms_per_1k: cpu.daemon * k, agent_cpu_ms_per_1k: cpu.agents * k, origin_cpu_ms_per_1k: cpu.origin * k, cpu_ms: cpu,
    other_cpu_pct: cpu.other / (r.duration_us / 1e3) * 100,
  };
}

interface BulkWindow {
  mb_per_s: number; bytes: number; completed: number; errors: number;
  daemon_cpu_ms_per_mb: number; agent_cpu_ms_per_mb: number; cpu_ms: Ticks; other_cpu_pct: number;
}

/** `conns` loops of GET /big on keep-alive connections for `seconds`; bytes counted as they arrive. */
async function bulkLoad(port: number, host: string, conns: number, seconds: number): Promise<{ bytes: number; completed: number; errors: number; wall_s: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let bytes = 0;
  let completed = 0;
  let errors = 0;
  const open = new Set<http.ClientRequest>();
  const stopTimer = setTimeout(() => { for (const r of open) r.destroy(); }, seconds * 1000);
  const one = (): Promise<void> => new Promise((resolve) => {
    let got = 0;
    const req = http.get({ host: '127.0.0.1', port, path: '/big', headers: { host }, agent }, (res) => {
      res.on('data', (c: Buffer) => { got += c.length; if (performance.now() < end) bytes += c.length; });
      res.on('end', () => {
        open.delete(req);
        if (res.statusCode === 200 && got === BIG_BYTES) completed++; else errors++;
        resolve();
      });
      res.on('error', () => { open.delete(req); resolve(); });
    });
    open.add(req);
    req.on('error', () => { open.delete(req); if (performance.now() < end) errors++; resolve(); });
    req.on('close', () => { open.delete(req); resolve(); });
  });
  await Promise.all(Array.from({ length: conns }, async () => {
    while (performance.now() < end) await one();
  }));
  clearTimeout(stopTimer);
  agent.destroy();
  const wall = Math.min(performance.now(), end) - t0;
  return { bytes, completed, errors, wall_s: wall / 1000 };
}

async function bulkWindow(o: Options, p: Procs, port: number, host: string): Promise<BulkWindow> {
  if (o.warmup > 0) await bulkLoad(port, host, o.bulkConns, Math.min(o.warmup, 2));
  const t0 = ticksNow(p);
  const r = await bulkLoad(port, host, o.bulkConns, o.duration);
  const cpu = ticksMs(t0, ticksNow(p));
  const mb = r.bytes / 1e6;
  return {
    mb_per_s: mb / r.wall_s, bytes: r.bytes, completed: r.completed, errors: r.errors,
    daemon_cpu_ms_per_mb: mb > 0 ? cpu.daemon / mb : 0, agent_cpu_ms_per_mb: mb > 0 ? cpu.agents / mb : 0, cpu_ms: cpu,
    other_cpu_pct: cpu.other / (r.wall_s * 1e3) * 100,
  };
}

interface RepResult { rep: number; variant: string; small: SmallWindow; bulk: BulkWindow; loadavg: number[] }

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// agentOnly: the static path has no agent, so a ratio would divide by ~0 (idle ticks)
type Metric = [label: string, get: (r: RepResult) => number, digits: number, agentOnly?: boolean];
const METRICS: Metric[] = [
  ['small: req/s', (r) => r.small.req_per_s, 0],
  ['small: p50 latency (ms)', (r) => r.small.p50_ms, 0],
  ['small: p99 latency (ms)', (r) => r.small.p99_ms, 0],
  ['small: daemon CPU ms / 1000 req', (r) => r.small.daemon_cpu_ms_per_1k, 1],
  ['small: agent CPU ms / 1000 req', (r) => r.small.agent_cpu_ms_per_1k, 1, true],
  ['small: daemon+agent CPU ms / 1000 req', (r) => r.small.daemon_cpu_ms_per_1k + r.small.agent_cpu_ms_per_1k, 1],
  ['small: origin CPU ms / 1000 req', (r) => r.small.origin_cpu_ms_per_1k, 1],
  ['bulk: MB/s (GET /big × bulk conns)', (r) => r.bulk.mb_per_s, 0],
  ['bulk: daemon CPU ms / MB', (r) => r.bulk.daemon_cpu_ms_per_mb, 2],
  ['bulk: agent CPU ms / MB', (r) => r.bulk.agent_cpu_ms_per_mb, 2, true],
  ['CPU not ours (other jobs, softirq), small window (% of a core)', (r) => r.small.other_cpu_pct, 0],
  ['CPU not ours (other jobs, softirq), bulk window (% of a core)', (r) => r.bulk.other_cpu_pct, 0],
];

interface Row { metric: string; static: number; agent: number; ratio: number | null; static_range: [number, number]; agent_range: [number, number] }
interface Summary { phase: string; agentVariant: string; rows: Row[] }

function summarise(phase: string, agentVariant: string, results: RepResult[]): Summary {
  const s = results.filter((r) => r.variant === 'static');
  const a = results.filter((r) => r.variant === agentVariant);
  return {
    phase, agentVariant,
    rows: METRICS.map(([metric, get, , agentOnly]) => {
      const sm = median(s.map(get));
      const am = median(a.map(get));
      const range = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
      return { metric, static: sm, agent: am, ratio: sm > 0 && !agentOnly ? am / sm : null, static_range: range(s.map(get)), agent_range: range(a.map(get)) };
    }),
  };
}

function table(sum: Summary): string {
  const lines = [`| metric: median (min–max of reps) | static | ${sum.agentVariant} | ${sum.agentVariant} / static |`, '|---|---:|---:|---:|'];
  for (const [i, row] of sum.rows.entries()) {
    const d = METRICS[i][2];
    const cell = (m: number, [lo, hi]: [number, number]): string => `${m.toFixed(d)} (${lo.toFixed(d)}–${hi.toFixed(d)})`;
    lines.push(`| ${row.metric} | ${cell(row.static, row.static_range)} | ${cell(row.agent, row.agent_range)} | ${row.ratio === null ? '–' : row.ratio.toFixed(2)} |`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

async function main(argv: string[]): Promise<number> {
  const parsed = parseOptions(argv);
  if (typeof parsed === 'number') return parsed;
  const o = parsed;
  setPortOffset(o.portOffset);
  const loadStart = readFileSync('/proc/loadavg', 'utf8').trim();
  const outDir = join(REPO_ROOT, 'bench/out');
  const workDir = join(outDir, 'work');
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  const runDir = join(workDir, `tunnel-agent-${stamp}-${process.pid}`);
  mkdirSync(runDir, { recursive: true });
  const f = ensureFixtures(workDir);
  const ports: Ports = { plain: await freePort(), https: await freePort(), tunnel: await freePort(), origin: originHttpPort() };
  console.error(`work dir ${runDir}; loadavg at start: ${loadStart}`);

  const origin = startPinned('origin', ALL_CORES, process.execPath, [ORIGIN, f.cert, f.key, f.big, String(o.portOffset)], join(runDir, 'origin.log'));
  if (!(await waitPortOpen(ports.origin, 15_000, () => isRunning(origin)))) throw new Error(`origin did not open port ${ports.origin} (see ${origin.logPath})`);

  const configPath = join(runDir, 'edgeplane.yaml');
  writeFileSync(configPath, daemonConfig(f, ports, o.workers, runDir));
  const daemon = startPinned('daemon', ALL_CORES, process.execPath, [CLI, 'serve', '--config', configPath], join(runDir, 'daemon.log'));
  await waitForLog(daemon, 'ready', 30_000);
  const agents = [startAgent(1, f, ports, runDir)];
  await waitForLog(agents[0], 'agent online', 30_000);
  const procs: Procs = { daemon, agents, origin };

  // both routes answer with the origin's body before anything is measured
  for (const host of [STATIC_HOST, AGENT_HOST]) {
    const r = await getOnce(ports.plain, host, '/small');
    if (r.status !== 200 || r.body.toString() !== SMALL_BODY) throw new Error(`GET /small with Host ${host}: ${r.status} ${r.body.toString().slice(0, 200)}`);
  }
  const agentTicks0 = ticksNow(procs).agents;
  await getOnce(ports.plain, AGENT_HOST, '/big').then((r) => {
    if (r.status !== 200 || r.body.length !== BIG_BYTES) throw new Error(`GET /big through the agent: ${r.status}, ${r.body.length} B`);
  });
  if (ticksNow(procs).agents === agentTicks0) console.error('warning: the agent used no CPU for a 64 MiB download through it');

  const results: RepResult[] = [];
  const runPhase = async (phase: string, agentVariant: string): Promise<void> => {
    for (let rep = 1; rep <= o.reps; rep++) {
      const order = rep % 2 === 1 ? ['static', agentVariant] : [agentVariant, 'static'];
      for (const variant of order) {
        const host = variant === 'static' ? STATIC_HOST : AGENT_HOST;
        console.error(`${phase} rep ${rep}/${o.reps}: ${variant} small ...`);
        const small = await smallWindow(o, procs, ports.plain, host);
        console.error(`  ${small.req_per_s.toFixed(0)} req/s, p50 ${small.p50_ms} ms, p99 ${small.p99_ms} ms, other jobs ${small.other_cpu_pct.toFixed(0)} % of a core; bulk ...`);
        const bulk = await bulkWindow(o, procs, ports.plain, host);
        console.error(`  ${bulk.mb_per_s.toFixed(0)} MB/s (${bulk.completed} complete, ${bulk.errors} errors), other jobs ${bulk.other_cpu_pct.toFixed(0)} % of a core`);
        results.push({ rep, variant: `${phase}:${variant}`, small, bulk, loadavg: loadavg() });
        for (const c of [daemon, origin, ...agents]) if (!isRunning(c)) throw new Error(`${c.name} exited during the run (see ${c.logPath})`);
      }
    }
  };

  await runPhase('1-agent', 'agent');
  const summaries = [summarise('1-agent', 'agent', results.filter((r) => r.variant.startsWith('1-agent:')).map((r) => ({ ...r, variant: r.variant.slice(8) })))];
  if (o.twoAgents) {
    agents.push(startAgent(2, f, ports, runDir));
    await waitForLog(agents[1], 'agent online', 30_000);
    await runPhase('2-agents', '2 agents');
    summaries.push(summarise('2-agents', '2 agents', results.filter((r) => r.variant.startsWith('2-agents:')).map((r) => ({ ...r, variant: r.variant.slice(9) }))));
  }
  const loadEnd = readFileSync('/proc/loadavg', 'utf8').trim();

  for (const c of [...agents, daemon, origin]) await stopChild(c);

  const meta = {
    node: process.version, nproc: cpus().length, cpu_model: cpus()[0]?.model,
    loadavg_start: loadStart, loadavg_end: loadEnd, client: autocannonVersion(),
    command: `node dist/bench/tunnel-agent.js ${argv.join(' ')}`.trim(), options: o, work_dir: runDir,
    commit: (() => { try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim(); } catch { return 'unknown'; } })(),
  };
  const out: string[] = [
    `# Tunnel agent vs static backend (issue 8)`, '',
    `${meta.command}`, '',
    `${meta.nproc} × ${meta.cpu_model}, node ${meta.node}, ${meta.client}, daemon workers ${o.workers}, commit ${meta.commit} (+ working tree)`,
    `reps ${o.reps} × ${o.duration} s (+${o.warmup} s warm-up), small: ${o.conns} keep-alive conns GET /small (${Buffer.byteLength(SMALL_BODY)} B); bulk: ${o.bulkConns} × GET /big (${BIG_BYTES / 1048576} MiB) repeated`,
    `loadavg start: ${loadStart}; end: ${loadEnd}`, '',
  ];
  for (const s of summaries) {
    out.push(`### ${s.phase} (static vs ${s.agentVariant}, same daemon + origin, alternating)`, '', table(s), '');
  }
  const errs = results.reduce((n, r) => n + r.small.errors + r.small.non2xx + r.bulk.errors, 0);
  out.push(`errors (small conn/timeout + non-2xx + failed bulk downloads), all windows: ${errs}`);
  out.push('latency: autocannon records whole milliseconds');
  console.log(out.join('\n'));
  if (o.json) writeFileSync(o.json, JSON.stringify({ meta, summaries, results }, null, 2));
  return 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err: Error) => {
  console.error(`tunnel-agent: ${err.stack ?? err.message}`);
  process.exit(1); // processes.ts kills every child group on exit
});
