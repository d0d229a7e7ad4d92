// Memory of a process as the kernel sees it (all threads together): VmRSS from /proc/<pid>/status.
import { readFileSync } from 'node:fs';

/** Resident set size of `pid` in MiB. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

/** Samples rssMiB every `everyMs` until stop(); stop() returns the highest value seen. */
export function sampleRss(pid: number, everyMs = 100): { stop(): number } {
  let peak = rssMiB(pid);
  const timer = setInterval(() => { try { peak = Math.max(peak, rssMiB(pid)); } catch { /* exited: the test checks that */ } }, everyMs);
  return { stop() { clearInterval(timer); try { peak = Math.max(peak, rssMiB(pid)); } catch { /* see above */ } return peak; } };
}
