import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

// /proc accounting, the method of /work/shared/peers-bench/scripts/lib.sh (credited there).
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
// /proc/<pid>/stat after "pid (comm) ": index 0 is field 3 (state), so utime (14) / stime (15) sit at 11 / 12.
const STAT_UTIME = 11;
const STAT_STIME = 12;

/** The pid and all its descendants (nginx master + worker, haproxy, node with its threads). */
export function processTreePids(pid: number): number[] {
  const out = [pid];
  let tasks: string[] = [];
  try { tasks = readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const tid of tasks) {
    let kids = '';
    try { kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8'); } catch { continue; }
    for (const k of kids.split(' ').filter(Boolean)) out.push(...processTreePids(Number(k)));
  }
  return out;
}

/** utime+stime (clock ticks) of each pid, all of its threads included. */
export function processTicks(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(rest[STAT_UTIME]) + Number(rest[STAT_STIME]);
    } catch { /* exited */ }
  }
  return ticks;
}

/** busy / total / softirq jiffies of each core from /proc/stat (busy = user nice system irq softirq steal). */
export function coreJiffies(): Array<{ busy: number; total: number; softirq: number }> {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d+ /.test(l));
  return lines.map((l) => {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = l.split(/\s+/).slice(1, 9).map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait, softirq };
  });
}

/** Wall ms of a fixed single-threaded loop on one core: a host-speed drift indicator (steal stays ~0 in the VM). */
export function probeCoreMs(core: number): number {
  const t0 = process.hrtime.bigint();
  execFileSync('taskset', ['-c', String(core), 'awk', 'BEGIN{for(i=0;i<1500000;i++)s+=i*i}']);
  return Math.round(Number(process.hrtime.bigint() - t0) / 1e6);
}

// /proc/self/stat cutime (16) / cstime (17): CPU of reaped children, i.e. the load generators.
const STAT_CUTIME = 13;
const STAT_CSTIME = 14;

/** CPU of this runner plus every load-generator child it has reaped. */
function selfAndChildrenTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [STAT_UTIME, STAT_STIME, STAT_CUTIME, STAT_CSTIME].reduce((a, i) => a + Number(rest[i]), 0);
}

/** CPU used during one measured window. */
export interface CpuSample {
  /** user+sys seconds of the measured process tree (proxy; origin for direct rows) */
  proc_cpu_s: number;
  /** user+sys seconds of the origin tree */
  origin_cpu_s: number;
  /** user+sys seconds of this runner and the load generators it ran (reaped children) */
  load_cpu_s: number;
  /** busy % of each core */
  core_pct: number[];
  /** softirq % of each core: loopback packet work; ticks taken inside a process also count in its stime */
  softirq_pct: number[];
  wall_s: number;
}

export interface CpuWindow {
  pids: number[]; originPids: number[]; ticks0: number; origin0: number; self0: number;
  cores0: Array<{ busy: number; total: number; softirq: number }>; t0: bigint;
}

export function beginCpuWindow(rootPid: number | undefined, originPid: number): CpuWindow {
  const pids = rootPid === undefined ? [] : processTreePids(rootPid);
  const originPids = processTreePids(originPid);
  return {
    pids, originPids, ticks0: processTicks(pids), origin0: processTicks(originPids), self0: selfAndChildrenTicks(),
    cores0: coreJiffies(), t0: process.hrtime.bigint(),
  };
}

export function endCpuWindow(w: CpuWindow): CpuSample {
  const ticks = processTicks(w.pids) - w.ticks0;
  const origin = processTicks(w.originPids) - w.origin0;
  const self = selfAndChildrenTicks() - w.self0;
  const cores = coreJiffies();
  return {
    proc_cpu_s: ticks / CLK_TCK,
    origin_cpu_s: origin / CLK_TCK,
    load_cpu_s: self / CLK_TCK,
    core_pct: cores.map((c, i) => {
      const d = c.total - (w.cores0[i]?.total ?? 0);
      return d > 0 ? Math.round((1000 * (c.busy - (w.cores0[i]?.busy ?? 0))) / d) / 10 : 0;
    }),
    softirq_pct: cores.map((c, i) => {
      const d = c.total - (w.cores0[i]?.total ?? 0);
      return d > 0 ? Math.round((1000 * (c.softirq - (w.cores0[i]?.softirq ?? 0))) / d) / 10 : 0;
    }),
    wall_s: Number(process.hrtime.bigint() - w.t0) / 1e9,
  };
}

/**
 * Waits (up to maxMs) until every core is under `thresholdPct` busy over a 500 ms sample, so a point
 * does not start while other work on a shared machine holds the cores. Returns the wait and the last sample.
 */
export async function waitForQuietCores(maxMs: number, thresholdPct: number): Promise<{ waited_ms: number; busy_pct: number[] }> {
  const t0 = Date.now();
  for (;;) {
    const a = coreJiffies();
    await new Promise((r) => setTimeout(r, 500));
    const b = coreJiffies();
    const busy = b.map((c, i) => {
      const d = c.total - a[i].total;
      return d > 0 ? Math.round((100 * (c.busy - a[i].busy)) / d) : 0;
    });
    if (busy.every((p) => p < thresholdPct) || Date.now() - t0 >= maxMs) return { waited_ms: Date.now() - t0, busy_pct: busy };
  }
}
