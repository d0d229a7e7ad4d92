// Runs `edgeplane agent` as a real child process for end-to-end tests and follows its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './daemon.js';

interface Teardown { teardown(fn: () => unknown): void }

export interface AgentProcess {
  proc: ChildProcess;
  logs: Array<Record<string, unknown>>;
  stderr(): string;
  exited: Promise<number | null>;
  /** Resolves with the first log line matching `pred` (rejects on exit or timeout). */
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when a new "agent online" line appears (all legs up), counting from `after` lines. */
  online(after?: number, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface AgentArgs {
  edgePort: number;
  authtoken: string;
  labels: Record<string, string>;
  forward: string;
  ca: string;
  serverName?: string;
  extra?: string[];
}

export function agentArgs(a: AgentArgs): string[] {
  return [
    'agent', '--edge', `127.0.0.1:${a.edgePort}`, '--authtoken', a.authtoken,
    ...Object.entries(a.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    '--forward', a.forward, '--edge-ca', a.ca, '--server-name', a.serverName ?? 'tunnel.example.test',
    ...(a.extra ?? []),
  ];
}

export function startAgent(t: Teardown, args: string[], env: NodeJS.ProcessEnv = {}): AgentProcess {
  const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
      try { logs.push(JSON.parse(line) as Record<string, unknown>); } catch { /* plain text */ }
    }
    for (const w of watchers.slice()) w();
  });
  proc.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => { for (const w of watchers.slice()) w(); resolve(code); }));
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGKILL'); await exited; }
  });
  const waitFrom = (from: number, pred: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = logs.slice(from).find(pred);
        if (hit !== undefined) { resolve(hit); return true; }
        if (proc.exitCode !== null || proc.signalCode !== null) { reject(new Error(`agent exited (${proc.exitCode ?? proc.signalCode}) before the expected log line:\n${stderr}`)); return true; }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => { remove(); reject(new Error(`timed out waiting for an agent log line; stderr so far:\n${stderr}`)); }, timeoutMs);
      const watcher = (): void => { if (check()) { clearTimeout(timer); remove(); } };
      const remove = (): void => { const i = watchers.indexOf(watcher); if (i >= 0) watchers.splice(i, 1); };
      watchers.push(watcher);
    });
  return {
    proc, logs, exited,
    stderr: () => stderr,
    waitForLog: (pred, timeoutMs = 15_000) => waitFrom(0, pred, timeoutMs),
    online: (after = 0, timeoutMs = 15_000) => waitFrom(after, (l) => l.msg === 'agent online', timeoutMs),
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}
