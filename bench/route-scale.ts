// Route-table scale (issue 4): TLS passthrough routed by SNI among N hostnames, through edgeplane, nginx
// and haproxy in the same run: build time, memory, new connections/s at N vs 3 hostnames (edgeplane also
// its host-table lookup in-process), and how long a reload takes to reach the clients.
// Usage: node dist/bench/route-scale.js [--hosts 100000,1000000] [--reps 3] [--workers 2] [--peers edgeplane,nginx,haproxy] [--json out.json]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { collectMeta, edgeplaneBuildTime, log } from './meta.js';
import { isPortFree } from './ports.js';
import { killAllChildren, stopChild, type BenchChild } from './processes.js';
import { writeConfigSet, type ConfigSet } from './scale/configs.js';
import { runLookup, runPhases } from './scale/inprocess.js';
import { BASELINE_HOSTS, scalePorts, type ScaleProxy } from './scale/names.js';
import { HelpRequested, parseScaleOptions, UsageError, type ScaleOptions } from './scale/options.js';
import { ensureScaleCert, startMarkerOrigin } from './scale/origin.js';
import { measureScalePoint, type PointContext, type ScalePoint } from './scale/point.js';
import { checkConfig, missingReason, proxyVersions } from './scale/proxies.js';
import type { ScaleRun } from './scale/record.js';
import { renderScaleReport } from './scale/report.js';
import { fmt } from './scale/stats.js';
import { prepareTools } from './scale/tools.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const QUIET_PCT = 10;


function logPoint(p: ScalePoint): void {
  const s = (ms: number | undefined): string => (ms === undefined ? '–' : `${fmt(ms / 1000, 2)} s`);
  const figures = [
    `ready ${s(p.ready_ms)}`,
    p.memory ? `RSS ${fmt(p.memory.rss_kib / 1024)} MiB` : '',
    p.conns ? `${fmt(p.conns.per_s)} conn/s, ${fmt(p.conns.proxy_cpu_us_per_conn)} µs CPU/conn` : '',
    p.reload ? `reload reach ${fmt(p.reload.first_new_ms)} ms` : '',
    p.daemon_reload ? `daemon "config reloaded" ${fmt(p.daemon_reload.ms)} ms` : '',
  ].filter(Boolean).join(', ');
  log(`rep ${p.rep} ${p.proxy} ${fmt(p.hosts)} hosts: ${figures}${p.ok ? '' : ` — FAILED at ${p.failed_stage}: ${p.error}`}`);
}

async function freePorts(o: ScaleOptions, skipped: Map<ScaleProxy, string>): Promise<void> {
  const ports = scalePorts(o.portOffset);
  for (const port of [ports.originA, ports.originB]) {
    if (!(await isPortFree(port))) throw new UsageError(`origin port ${port} is in use; stop whatever holds it, or move every port with --port-offset`);
  }
  for (const proxy of o.peers) {
    if (!skipped.has(proxy) && !(await isPortFree(ports.proxy[proxy]))) skipped.set(proxy, `skipped (port ${ports.proxy[proxy]} in use; try --port-offset)`);
  }
}

async function main(): Promise<number> {
  // `--render run.json`: print the report of a saved run again (no measuring)
  if (process.argv[2] === '--render') {
    const file = process.argv[3];
    if (file === undefined) throw new UsageError('--render needs the JSON file of a run');
    let saved: ScaleRun;
    try { saved = JSON.parse(readFileSync(file, 'utf8')) as ScaleRun; } catch (e) { throw new UsageError(`--render: cannot read ${file}: ${(e as Error).message}`); }
    process.stdout.write(renderScaleReport(saved));
    return 0;
  }
  let o: ScaleOptions;
  try {
    o = parseScaleOptions(process.argv.slice(2));
  } catch (e) {
    if (e instanceof HelpRequested) { process.stdout.write(`${e.message}\n`); return 0; }
    throw e;
  }
  // the runner (and the probes it sends) stays off the proxy core
  execFileSync('taskset', ['-pc', String(o.cpuLoad), String(process.pid)], { stdio: 'ignore' });
  const ports = scalePorts(o.portOffset);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  const workDir = join(REPO_ROOT, 'bench/out/work');
  const runDir = join(workDir, `route-scale-${stamp}`);
  const confDir = join(runDir, 'conf');
  const logDir = join(runDir, 'logs');
  for (const d of [confDir, logDir]) mkdirSync(d, { recursive: true });

  const skipped = new Map<ScaleProxy, string>();
  for (const proxy of o.peers) {
    const reason = missingReason(proxy, REPO_ROOT);
    if (reason !== undefined) skipped.set(proxy, reason);
  }
  await freePorts(o, skipped);
  const counts = [...new Set([BASELINE_HOSTS, ...o.hosts])].sort((a, b) => a - b);
  const run: ScaleRun = {
    meta: {}, options: o, counts, configs: [], points: [], phases: [], lookups: [], skipped: [], notes: [],
  };

  // Configs first (streamed; both variants per proxy and N); the baseline's is checked by each proxy's checker.
  const sets = new Map<string, ConfigSet>();
  const asRoot = process.getuid?.() === 0;
  for (const proxy of o.peers.filter((p) => !skipped.has(p))) {
    for (const hosts of counts) {
      const set = writeConfigSet(confDir, {
        proxy, hosts, workers: o.workers, hostsPerEdge: o.hostsPerEdge, port: ports.proxy[proxy], originA: ports.originA, originB: ports.originB, asRoot,
      });
      sets.set(`${proxy}/${hosts}`, set);
      run.configs.push({ proxy, hosts, bytes: set.bytes, write_ms: set.writeMs });
      if (hosts !== BASELINE_HOSTS) log(`${proxy} config for ${fmt(hosts)} hosts: ${fmt(set.bytes / 2 ** 20, 1)} MiB in ${fmt(set.writeMs)} ms`);
    }
    const refused = checkConfig(sets.get(`${proxy}/${BASELINE_HOSTS}`)!, REPO_ROOT);
    if (refused !== undefined) skipped.set(proxy, `skipped (${refused})`);
  }
  for (const [proxy, reason] of skipped) { log(`${proxy}: ${reason}`); run.skipped.push({ proxy, reason }); }
  const active = o.peers.filter((p) => !skipped.has(p));

  const tools = prepareTools(workDir, o.tools);
  if (tools.note !== undefined) run.notes.push(tools.note);
  let origin: BenchChild | undefined;
  try {
    origin = await startMarkerOrigin(tools, ensureScaleCert(workDir), ports, o.cpuLoad, join(logDir, 'origin.log'));
    run.meta = collectMeta({
      ...proxyVersions(),
      edgeplane_build: edgeplaneBuildTime(),
      tools: tools.version,
      pinning: `Pinning: proxy on CPU${o.cpuProxy} (alone); origins (one process), load client and this runner on CPU${o.cpuLoad}`,
    });
    const timeoutMs = o.timeoutS * 1000;
    const ctxFor = (proxy: ScaleProxy): PointContext => ({
      repoRoot: REPO_ROOT, logDir, cpuProxy: o.cpuProxy, cpuLoad: o.cpuLoad, port: ports.proxy[proxy], originPid: origin!.pid, tools,
      conns: o.conns, connSeconds: o.connSeconds, timeoutMs, settleMs: o.settle * 1000, quietPct: QUIET_PCT,
    });
    // a proxy that could not start at some N is not started there again (a 1M failure may take minutes)
    const broken = new Map<string, string>();
    const phasesBroken = new Map<number, string>();
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const hosts of counts) {
        for (const proxy of active) {
          const key = `${proxy}/${hosts}`;
          const earlier = broken.get(key);
          let point: ScalePoint;
          if (earlier !== undefined) {
            point = { proxy, hosts, rep, ok: false, failed_stage: 'start', error: `not retried (failed to start in an earlier rep: ${earlier})` };
          } else {
            point = await measureScalePoint(ctxFor(proxy), sets.get(key)!, rep);
            if (point.failed_stage === 'start') broken.set(key, point.error ?? '?');
          }
          logPoint(point);
          run.points.push(point);
        }
        if (active.includes('edgeplane')) {
          const set = sets.get(`edgeplane/${hosts}`)!;
          const earlier = phasesBroken.get(hosts);
          const phases = earlier !== undefined
            ? { kind: 'phases' as const, hosts, rep, ok: false, error: `not retried: ${earlier}`, wall_ms: 0 }
            : await runPhases(set.variants.a, o.cpuProxy, hosts, rep, timeoutMs);
          if (!phases.ok && earlier === undefined) phasesBroken.set(hosts, phases.error ?? '?');
          run.phases.push(phases);
          const lookup = await runLookup(ports.proxy.edgeplane, o.cpuProxy, hosts, rep, timeoutMs);
          run.lookups.push(lookup);
          log(`rep ${rep} edgeplane ${fmt(hosts)} hosts in-process: ${phases.ok ? `phases sum ${fmt(phases.figures!.total_ms)} ms` : `phases FAILED: ${phases.error}`}; `
            + `${lookup.ok ? `lookup exact ${fmt(lookup.figures!.exact.median_ns)} ns` : `lookup FAILED: ${lookup.error}`}`);
        }
      }
    }
  } finally {
    if (origin) await stopChild(origin);
    killAllChildren();
  }

  const buildAfter = edgeplaneBuildTime();
  if (active.includes('edgeplane') && buildAfter !== run.meta.edgeplane_build) {
    run.notes.push(`dist/ was rebuilt during the run (${run.meta.edgeplane_build} → ${buildAfter}): edgeplane points may mix builds`);
  }
  if (!o.keepConfigs) {
    rmSync(confDir, { recursive: true, force: true });
    run.notes.push(`generated configs removed after the run (--keep-configs keeps them); logs in ${logDir}`);
  } else {
    run.notes.push(`configs in ${confDir}, logs in ${logDir}`);
  }
  const outDir = join(REPO_ROOT, 'bench/out');
  const jsonPath = join(outDir, `route-scale-${stamp}.json`);
  const text = JSON.stringify(run, null, 1);
  writeFileSync(jsonPath, text);
  if (o.json !== undefined) writeFileSync(resolve(o.json), text);
  process.stdout.write(renderScaleReport(run));
  log(`raw results: ${jsonPath}${o.json !== undefined ? ` and ${resolve(o.json)}` : ''}`);
  return 0;
}

main().then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    killAllChildren();
    if (err instanceof UsageError) process.stderr.write(`route-scale: ${err.message}\n`);
    else process.stderr.write(`route-scale: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
