// One proxy at one hostname count: start it (build time), read its memory, run new connections with
// random hostnames, reload it (reach), stop it. A failure at any stage is recorded with its cause.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beginCpuWindow, endCpuWindow, waitForQuietCores } from '../cpu.js';
import { isRunning, runPinned, stopChild, type BenchChild } from '../processes.js';
import { switchVariant, type ConfigSet } from './configs.js';
import { readyFacts, reloadsSince, type DaemonReload } from './edgeplane-log.js';
import { handshake, waitForMarker } from './handshake.js';
import { treeMemory, type TreeMemory } from './memory.js';
import { hostName, MARKER, PROBE_NAME, UNKNOWN_NAME } from './names.js';
import { RELOAD_SIGNAL, startProxy } from './proxies.js';
import { measureReload, type ReloadReach } from './reload.js';
import { loadCommand, type ScaleTools } from './tools.js';

/** Result of one closed-loop run of sni-load.js. */
export interface LoadResult {
  connections: number; seconds: number; per_s: number; p50_us: number; p99_us: number;
  errors: { refused: number; closed: number; wrong_origin: number; other: number };
}

export interface ConnsFigures extends LoadResult {
  /** proxy process tree CPU (all threads) per completed connection */
  proxy_cpu_us_per_conn: number;
  core_pct: number[];
  /** busy % of each core not charged to the proxy (CPU0) or to the origin, client and runner (load core): other work */
  other_pct: number[];
}

export interface ScalePoint {
  proxy: ConfigSet['proxy'];
  hosts: number;
  rep: number;
  ok: boolean;
  /** the stage that failed and why (the stages before it keep their figures) */
  error?: string;
  failed_stage?: 'start' | 'routing' | 'conns' | 'reload';
  settle?: { waited_ms: number; busy_pct: number[] };
  /** spawn → first handshake routed to origin A */
  ready_ms?: number;
  memory?: TreeMemory;
  memory_after_load?: TreeMemory;
  /** after the reload reached the clients: its VmHWM includes the reload's peak (two configs at once) */
  memory_after_reload?: TreeMemory;
  conns?: ConnsFigures;
  reload?: ReloadReach;
  /** edgeplane: its own log of the reload (every worker acknowledged), and any other reload it logged */
  daemon_reload?: DaemonReload;
  other_reloads?: DaemonReload[];
  edgeplane?: { workers: number; degraded: boolean };
}

export interface PointContext {
  repoRoot: string;
  logDir: string;
  cpuProxy: number;
  cpuLoad: number;
  port: number;
  originPid: number;
  tools: ScaleTools;
  conns: number;
  connSeconds: number;
  timeoutMs: number;
  settleMs: number;
  /** busy % under which a core counts as quiet */
  quietPct: number;
}

const WARMUP_S = 1;
const WATCH_GRACE_MS = 600;

const sleepUntil = (epochMs: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, epochMs - Date.now())));

function tail(path: string, lines: number): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n');
}

/** The lines of a failed proxy's logs most likely to say why. */
function failureCause(child: BenchChild, set: ConfigSet): string {
  const text = [tail(child.logPath, 12), tail(join(set.dir, 'nginx.err'), 4)].filter(Boolean).join('\n');
  const lines = text.split('\n');
  const telling = lines.filter((l) => /error|fatal|emerg|alert|cannot|could not|invalid|memory|abort|killed/i.test(l));
  return (telling.length > 0 ? telling.slice(-3) : lines.slice(-3)).join(' | ').slice(0, 600);
}

async function runLoad(ctx: PointContext, hosts: number, seconds: number): Promise<LoadResult> {
  const [cmd, args] = loadCommand(ctx.tools, ctx.port, hosts, ctx.conns, seconds, MARKER.a);
  const out = await runPinned(ctx.cpuLoad, cmd, args, (seconds + 30) * 1000);
  const line = out.stdout.split('\n').find((l) => l.startsWith('SCALELOAD '));
  if (line === undefined) throw new Error(`sni-load gave no result (rc ${out.code}${out.timedOut ? ', timed out' : ''}): ${out.stderr.slice(-300)}`);
  return JSON.parse(line.slice('SCALELOAD '.length)) as LoadResult;
}

async function measureConns(ctx: PointContext, child: BenchChild, hosts: number): Promise<ConnsFigures> {
  await runLoad(ctx, hosts, WARMUP_S);
  const w = beginCpuWindow(child.pid, ctx.originPid);
  const r = await runLoad(ctx, hosts, ctx.connSeconds);
  const cpu = endCpuWindow(w);
  const pct = (cpuS: number): number => (100 * cpuS) / cpu.wall_s;
  const charged = cpu.core_pct.map((_, core) => (core === ctx.cpuProxy ? pct(cpu.proc_cpu_s) : core === ctx.cpuLoad ? pct(cpu.origin_cpu_s + cpu.load_cpu_s) : 0));
  return {
    ...r, proxy_cpu_us_per_conn: r.connections > 0 ? (cpu.proc_cpu_s * 1e6) / r.connections : NaN, core_pct: cpu.core_pct,
    other_pct: cpu.core_pct.map((busy, i) => Math.round(10 * Math.max(0, busy - charged[i]!)) / 10),
  };
}

/** Checks that a known name routes to A, the probe to A, and an unknown name nowhere. */
async function checkRouting(ctx: PointContext, hosts: number): Promise<string | undefined> {
  const mid = await handshake(ctx.port, hostName(hosts >> 1), 10_000);
  if (mid.marker !== MARKER.a) return `${hostName(hosts >> 1)} was not routed to origin A (${mid.marker ?? mid.error})`;
  const probe = await handshake(ctx.port, PROBE_NAME, 10_000);
  if (probe.marker !== MARKER.a) return `${PROBE_NAME} was not routed to origin A before the reload (${probe.marker ?? probe.error})`;
  const unknown = await handshake(ctx.port, UNKNOWN_NAME, 10_000);
  if (unknown.marker !== null) return `${UNKNOWN_NAME} (in no config) was routed to origin ${unknown.marker}`;
  return undefined;
}

export async function measureScalePoint(ctx: PointContext, set: ConfigSet, rep: number): Promise<ScalePoint> {
  const point: ScalePoint = { proxy: set.proxy, hosts: set.hosts, rep, ok: false };
  if (ctx.settleMs > 0) point.settle = await waitForQuietCores(ctx.settleMs, ctx.quietPct);
  switchVariant(set, 'a');
  const logPath = join(ctx.logDir, `${set.proxy}-${set.hosts}-rep${rep}.log`);
  const t0 = performance.now();
  const child = startProxy(set, ctx.cpuProxy, ctx.repoRoot, logPath);
  const alive = (): boolean => isRunning(child);
  const fail = (stage: NonNullable<ScalePoint['failed_stage']>, message: string): ScalePoint => {
    point.failed_stage = stage;
    point.error = message;
    return point;
  };
  try {
    const ready = await waitForMarker({ port: ctx.port, sni: hostName(set.hosts - 1), want: MARKER.a, timeoutMs: ctx.timeoutMs, intervalMs: 5, alive });
    if ('error' in ready) {
      const exit = alive() ? '' : ` (exit ${child.proc.exitCode ?? child.proc.signalCode})`;
      return fail('start', `${ready.error}${exit}: ${failureCause(child, set)}`);
    }
    point.ready_ms = performance.now() - t0;
    point.memory = treeMemory(child.pid);
    if (set.proxy === 'edgeplane') point.edgeplane = readyFacts(logPath);

    const misrouted = await checkRouting(ctx, set.hosts);
    if (misrouted !== undefined) return fail('routing', misrouted);

    try {
      point.conns = await measureConns(ctx, child, set.hosts);
    } catch (e) {
      return fail('conns', (e as Error).message);
    }
    point.memory_after_load = treeMemory(child.pid);
    if (!alive()) return fail('conns', `${set.proxy} exited during the connection run: ${failureCause(child, set)}`);

    switchVariant(set, 'b');
    const reload = await measureReload(child.pid, RELOAD_SIGNAL[set.proxy], ctx.port, ctx.timeoutMs, alive);
    if (set.proxy === 'edgeplane') {
      // A file-watch reload would follow the switch after edgeplane's 200 ms debounce: give it time to show.
      await sleepUntil(reload.signalEpochMs + WATCH_GRACE_MS);
      const logged = await waitForDaemonReload(logPath, reload.signalEpochMs, 'error' in reload ? 0 : 10_000);
      point.daemon_reload = logged.find((r) => r.trigger === 'SIGHUP') ?? logged[0];
      const others = logged.filter((r) => r !== point.daemon_reload);
      if (others.length > 0) point.other_reloads = others;
    }
    if ('error' in reload) {
      const daemon = point.daemon_reload?.ok === false ? `; edgeplane: ${point.daemon_reload.problem}` : '';
      return fail('reload', `${reload.error}${daemon}${alive() ? '' : `: ${failureCause(child, set)}`}`);
    }
    point.reload = reload.reach;
    point.memory_after_reload = treeMemory(child.pid);
    point.ok = true;
    return point;
  } finally {
    await stopChild(child, 10_000);
    switchVariant(set, 'a');
  }
}

/** Waits (up to waitMs) for edgeplane to log the outcome of the reload signalled at signalEpochMs. */
async function waitForDaemonReload(logPath: string, signalEpochMs: number, waitMs: number): Promise<DaemonReload[]> {
  const end = Date.now() + waitMs;
  for (;;) {
    const found = reloadsSince(logPath, signalEpochMs);
    if (found.length > 0 || Date.now() >= end) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
}
