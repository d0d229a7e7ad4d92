// What the soak run reads about the daemon process from /proc and from the admin /metrics text.
import { readFileSync, readdirSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface ProcStats { rssMb: number; threads: number; fds: number; cpuS: number }

/** VmRSS, thread count, open fds and CPU seconds of `pid`; null once it is gone. */
export function procStats(pid: number): ProcStats | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state (field 3); utime, stime are fields 14, 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuS = (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS;
    return { rssMb: field('VmRSS') / 1024, threads: field('Threads'), fds: readdirSync(`/proc/${pid}/fd`).length, cpuS };
  } catch {
    return null;
  }
}

/** Sum of every sample of a metric family (all label sets), or null when the family has no sample. */
export function metricSum(text: string, name: string): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const next = line[name.length];
    if (next !== ' ' && next !== '{') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}
