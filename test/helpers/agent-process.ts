// Runs `edgeplane agent` as a real child process for end-to-end tests and follows its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './daemon.js';
import { followJsonLogs } from './child-logs.js';

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
  const follower = followJsonLogs(proc, 'agent');
  proc.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGKILL'); await exited; }
  });
  const waitFrom = follower.waitFrom;
  return {
    proc, logs: follower.logs, exited,
    stderr: follower.stderr,
    waitForLog: (pred, timeoutMs = 15_000) => waitFrom(0, pred, timeoutMs),
    online: (after = 0, timeoutMs = 15_000) => waitFrom(after, (l) => l.msg === 'agent online', timeoutMs),
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}
