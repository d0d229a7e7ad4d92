import { waitForQuietCores } from './cpu.js';
import type { MeasureContext } from './measure.js';
import type { Origin } from './origin/origin.js';
import { cpuListCores, isRunning, type BenchChild, type CpuList } from './processes.js';
import { jobOf, peerPort, startProxy, stopProxy, type PeerContext, type PeerName } from './peers/registry.js';
import type { PointRecord } from './report.js';
import { SCENARIOS, type ScenarioName } from './scenarios.js';

/** Everything one attempt at a point needs besides the scenario and peer. */
export interface PointSetup {
  ctx: PeerContext;
  origin: Origin;
  base: Omit<MeasureContext, 'pid' | 'originPid'>;
  cpuProxy: CpuList;
  settleMs: number;
  quietPct: number;
  /** the breaker scenario's upstream, when that scenario runs */
  flaky?: BenchChild;
}

/** Thrown when a proxy could not be started, so the runner stops trying that peer. */
export class StartError extends Error {}

/**
 * Busy % per core not charged to our processes. When the proxy and the load share cores, /proc cannot
 * tell which of them ran where, so the uncharged time is summed over all cores and shown evenly.
 */
function otherPct(busy: number[], charged: number[], shared: boolean): number[] {
  const round = (x: number): number => Math.round(10 * Math.max(0, x)) / 10;
  if (!shared) return busy.map((b, i) => round(b - charged[i]));
  const total = busy.reduce((a, b) => a + b, 0) - charged.reduce((a, b) => a + b, 0);
  return busy.map(() => round(total / busy.length));
}

/** One attempt: wait for quiet cores, start the proxy, warm up, measure, stop. */
export async function measurePoint(s: PointSetup, scenario: ScenarioName, peer: PeerName, rep: number): Promise<PointRecord> {
  const point: PointRecord = { scenario, peer, rep, ok: false };
  if (s.settleMs > 0) point.settle = await waitForQuietCores(s.settleMs, s.quietPct);
  let proxy;
  const job = jobOf(SCENARIOS[scenario].port);
  // the process behind the proxy: charged as "origin", and as the whole cost of direct rows
  const upstream = SCENARIOS[scenario].port === 'breaker' && s.flaky ? s.flaky : s.origin.child;
  try {
    if (peer !== 'direct') {
      try { proxy = await startProxy(peer, s.ctx, `${scenario}-rep${rep}`, job); } catch (e) { throw new StartError((e as Error).message); }
    }
    const m: MeasureContext = { ...s.base, pid: proxy?.pid ?? upstream.pid, originPid: upstream.pid, direct: peer === 'direct' };
    const r = await SCENARIOS[scenario].measure(m, peerPort(peer, SCENARIOS[scenario].port));
    const pct = (cpuS: number): number => (100 * cpuS) / r.cpu.wall_s;
    // busy time of each core not charged to a process of ours: other jobs on the machine, plus softirq work
    // that ran outside our processes (softirq ticks taken inside a process are already in its stime)
    // (a process on several cores is charged evenly to each: /proc gives no per-core split)
    const proxyCores = cpuListCores(s.cpuProxy);
    const loadCores = cpuListCores(s.base.cpuLoad);
    const charged = r.cpu.core_pct.map((_, core) => (proxyCores.includes(core) && peer !== 'direct' ? pct(r.cpu.proc_cpu_s) / proxyCores.length : 0)
      + (loadCores.includes(core) ? pct(r.cpu.origin_cpu_s + r.cpu.load_cpu_s) / loadCores.length : 0));
    Object.assign(point, {
      ok: r.work > 0, rate: r.rate, work: r.work, cpu_per_unit: r.cpu_per_unit, proc_cpu_s: r.cpu.proc_cpu_s,
      core_pct: r.cpu.core_pct, other_pct: otherPct(r.cpu.core_pct, charged, proxyCores.some((c) => loadCores.includes(c))),
      softirq_pct: r.cpu.softirq_pct,
      wall_s: r.cpu.wall_s, probe_ms: r.probe_ms, errors: r.errors, detail: r.detail,
    });
    if (!point.ok) point.error = 'no work completed';
    if (proxy && !isRunning(proxy)) { point.ok = false; point.error = `${peer} exited during the run`; }
  } catch (e) {
    if (e instanceof StartError) throw e;
    point.error = (e as Error).message;
  } finally {
    if (proxy && peer !== 'direct') await stopProxy(peer, proxy, job);
  }
  return point;
}
