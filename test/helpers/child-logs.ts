// Follows a child process's JSON log lines on stderr (edgeplane logs one JSON object per line) and lets a
// test wait for a line that matches.
import type { ChildProcess } from 'node:child_process';

export interface LogFollower {
  logs: Array<Record<string, unknown>>;
  stderr(): string;
  /** Resolves with the first line from index `from` on matching `pred`; rejects on exit or timeout. */
  waitFrom(from: number, pred: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
}

export function followJsonLogs(proc: ChildProcess, name: string): LogFollower {
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  let pending = '';
  const watchers: Array<() => void> = [];
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      try { logs.push(JSON.parse(line) as Record<string, unknown>); } catch { /* plain text (hints, check output) */ }
    }
    for (const w of watchers.slice()) w();
  });
  proc.once('exit', () => { for (const w of watchers.slice()) w(); });
  return {
    logs,
    stderr: () => stderr,
    waitFrom: (from, pred, timeoutMs) => new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = logs.slice(from).find(pred);
        if (hit !== undefined) { resolve(hit); return true; }
        if (proc.exitCode !== null || proc.signalCode !== null) {
          reject(new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}) before the expected log line:\n${stderr}`));
          return true;
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => { remove(); reject(new Error(`timed out waiting for a ${name} log line; stderr so far:\n${stderr}`)); }, timeoutMs);
      const watcher = (): void => { if (check()) { clearTimeout(timer); remove(); } };
      const remove = (): void => { const i = watchers.indexOf(watcher); if (i >= 0) watchers.splice(i, 1); };
      watchers.push(watcher);
    }),
  };
}
