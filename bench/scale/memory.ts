import { readFileSync } from 'node:fs';
import { processTreePids } from '../cpu.js';

/** Memory of a process tree in KiB, summed over its processes (threads share their process's figures). */
export interface TreeMemory {
  processes: number;
  /** VmRSS: resident now (pages shared between nginx's master and workers count once per process) */
  rss_kib: number;
  /** VmHWM: each process's peak resident set, summed (an upper bound of the tree's peak) */
  hwm_kib: number;
  /** Pss from smaps_rollup: shared pages split between their sharers, so the sum is the tree's real share */
  pss_kib: number;
}

function field(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

export function treeMemory(rootPid: number): TreeMemory {
  const out: TreeMemory = { processes: 0, rss_kib: 0, hwm_kib: 0, pss_kib: 0 };
  for (const pid of processTreePids(rootPid)) {
    let status: string;
    try { status = readFileSync(`/proc/${pid}/status`, 'utf8'); } catch { continue; }
    out.processes++;
    out.rss_kib += field(status, 'VmRSS');
    out.hwm_kib += field(status, 'VmHWM');
    try { out.pss_kib += field(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss'); } catch { /* older kernel or gone */ }
  }
  return out;
}
