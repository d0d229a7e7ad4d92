// Scaling from 1 to N workers: the side-by-side runner (run.ts) once per worker count, every proxy
// given that many workers (edgeplane `workers`, nginx `worker_processes`, haproxy `nbthread`, caddy
// GOMAXPROCS) pinned to that many cores, then one table per scenario: rate and CPU per unit by
// worker count, speed-up against the same proxy's 1-worker row, ratio against direct.
// Usage: node dist/bench/scaling.js [--workers 1,2,4] [--cpu-proxy 0-3] [--cpu-load 4-7] [run.js options…]
//        node dist/bench/scaling.js --render bench/out/scaling-<UTC>.json
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt } from './format.js';
import { cpuListCores } from './processes.js';
import { summarise, type RunRecord } from './report.js';
import { SCENARIOS, type ScenarioName } from './scenarios.js';
import type { PeerName } from './peers/registry.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_SCENARIOS = 'http-keepalive,https-keepalive,tls-passthrough-conns';
const DEFAULT_PEERS = 'direct,edgeplane,nginx,haproxy';

export const SCALING_USAGE = `usage: node dist/bench/scaling.js [--workers 1,2,4] [--cpu-proxy LIST] [--cpu-load LIST] [run.js options…]
  Runs node dist/bench/run.js once per worker count W with --workers W and the proxy pinned to the first W
  cores of --cpu-proxy; the load generator and origin stay on --cpu-load. Defaults: on n cores, --cpu-proxy
  the first half, --cpu-load the second half (2 cores: proxy 0-1, load 1 — the second worker shares the load's
  core, so on 2 cores this shows the cost of a second worker more than its gain); --workers 1,2,4,… up to the
  proxy cores; --scenarios ${DEFAULT_SCENARIOS}; --peers ${DEFAULT_PEERS}.
  Every other option goes to run.js unchanged (--reps, --duration, --port-offset, …).`;

interface ScalingOptions { workers: number[]; cpuProxy: number[]; cpuLoad: number[]; passThrough: string[]; scenarios: ScenarioName[]; peers: PeerName[] }

function defaultLayout(): { proxy: number[]; load: number[] } {
  const n = availableParallelism();
  if (n <= 2) return { proxy: [0, 1].slice(0, n), load: [n - 1] };
  const half = n >> 1;
  return { proxy: [...Array(half).keys()], load: [...Array(n - half).keys()].map((i) => half + i) };
}

function parse(argv: string[]): ScalingOptions {
  const layout = defaultLayout();
  let cpuProxy = layout.proxy;
  let cpuLoad = layout.load;
  let workers: number[] | undefined;
  let scenarios = DEFAULT_SCENARIOS;
  let peers = DEFAULT_PEERS;
  const passThrough: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--help' || flag === '-h') throw new Error(SCALING_USAGE);
    const v = argv[++i];
    if (v === undefined) throw new Error(`${flag}: missing value\n${SCALING_USAGE}`);
    if (flag === '--workers') {
      workers = v.split(',').map(Number);
      if (workers.some((w) => !Number.isInteger(w) || w < 1)) throw new Error(`--workers: expected positive integers, got "${v}"`);
    } else if (flag === '--cpu-proxy') cpuProxy = cpuListCores(v);
    else if (flag === '--cpu-load') cpuLoad = cpuListCores(v);
    else if (flag === '--scenarios') scenarios = v;
    else if (flag === '--peers') peers = v;
    else if (flag === '--json') throw new Error('--json: scaling writes bench/out/scaling-<UTC>.json itself');
    else passThrough.push(flag, v);
  }
  workers ??= [1, 2, 4, 8, 16, 32, 64].filter((w) => w <= cpuProxy.length);
  const tooMany = workers.find((w) => w > cpuProxy.length);
  if (tooMany !== undefined) throw new Error(`--workers ${tooMany} needs ${tooMany} proxy cores; --cpu-proxy has ${cpuProxy.length}`);
  for (const s of scenarios.split(',')) if (!(s in SCENARIOS)) throw new Error(`--scenarios: unknown "${s}"`);
  return { workers, cpuProxy, cpuLoad, passThrough, scenarios: scenarios.split(',') as ScenarioName[], peers: peers.split(',') as PeerName[] };
}

function runOnce(o: ScalingOptions, w: number, jsonPath: string): Promise<void> {
  const args = [join(REPO_ROOT, 'dist/bench/run.js'), '--workers', String(w), '--cpu-proxy', o.cpuProxy.slice(0, w).join(','),
    '--cpu-load', o.cpuLoad.join(','), '--scenarios', o.scenarios.join(','), '--peers', o.peers.join(','), ...o.passThrough, '--json', jsonPath];
  process.stderr.write(`[scaling] ${w} worker(s): node ${args.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    // run.js prints its own report on stdout; only the merged one is ours
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`run.js with --workers ${w} exited with ${code}`))));
  });
}

export function renderScaling(runs: Array<{ workers: number; run: RunRecord }>, scenarios: readonly ScenarioName[], peers: readonly PeerName[]): string {
  const lines: string[] = ['# edgeplane bench — scaling from 1 to N workers', ''];
  const first = runs[0]?.run.meta ?? {};
  lines.push(`Machine: ${first.nproc} CPUs, ${first.cpu}, kernel ${first.kernel}. Worker counts: ${runs.map((r) => r.workers).join(', ')}.`, '');
  for (const r of runs) lines.push(`- ${r.workers} worker(s): ${r.run.meta.pinning}; ${r.run.meta.params}`);
  lines.push('');
  for (const sc of scenarios) {
    const spec = SCENARIOS[sc];
    lines.push(`### ${sc} — ${spec.rateUnit} (speed-up vs the same proxy at 1 worker; ratio vs direct) and ${spec.cpuUnit}`, '');
    lines.push(`| peer | ${runs.map((r) => `${r.workers} worker(s)`).join(' | ')} |`, `|---|${runs.map(() => '---:').join('|')}|`);
    const byWorkers = runs.map((r) => summarise(r.run, sc, peers));
    for (const peer of peers) {
      const cells = byWorkers.map((sums) => sums.find((s) => s.peer === peer));
      if (cells.every((c) => c === undefined)) continue;
      const base = cells[0]?.rate ?? NaN;
      lines.push(`| ${peer === 'direct' ? 'direct *(origin CPU)*' : peer} | ${cells.map((c) => (c === undefined || c.reps === 0 ? 'failed' : `${fmt(c.rate)} (×${fmt(c.rate / base, 2)}; ${fmt(c.ratio, 2)}) · ${fmt(c.cpu_per_unit, spec.cpuDigits ?? 0)} · spread ${fmt(100 * c.spread, 0)}%`)).join(' | ')} |`);
    }
    lines.push('');
  }
  for (const r of runs) {
    for (const s of r.run.skipped) lines.push(`- ${r.workers} worker(s): **${s.peer}** ${s.reason}`);
    for (const n of r.run.notes) lines.push(`- ${r.workers} worker(s): ${n}`);
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  // `--render scaling-<UTC>.json`: print a saved scaling run again
  if (process.argv[2] === '--render' && process.argv[3]) {
    const saved = JSON.parse(readFileSync(process.argv[3], 'utf8')) as { options: ScalingOptions; runs: Array<{ workers: number; run: RunRecord }> };
    process.stdout.write(renderScaling(saved.runs, saved.options.scenarios, saved.options.peers));
    return;
  }
  const o = parse(process.argv.slice(2));
  const outDir = join(REPO_ROOT, 'bench/out');
  mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  const runs: Array<{ workers: number; run: RunRecord }> = [];
  for (const w of o.workers) {
    const jsonPath = join(outDir, `scaling-${stamp}-w${w}.json`);
    await runOnce(o, w, jsonPath);
    runs.push({ workers: w, run: JSON.parse(readFileSync(jsonPath, 'utf8')) as RunRecord });
  }
  const md = renderScaling(runs, o.scenarios, o.peers);
  writeFileSync(join(outDir, `scaling-${stamp}.md`), md);
  writeFileSync(join(outDir, `scaling-${stamp}.json`), JSON.stringify({ options: o, runs }, null, 1));
  process.stdout.write(md);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench scaling: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
