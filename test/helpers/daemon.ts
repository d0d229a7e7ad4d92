// Starts a real edgeplane daemon process for a test and stops it in the test's teardown.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { followJsonLogs } from './child-logs.js';

export const CLI = fileURLToPath(new URL('../../core/cli.js', import.meta.url));

interface Teardown { teardown(fn: () => unknown): void }

export interface DaemonHandle {
  proc: ChildProcess;
  dir: string;
  configPath: string;
  eventsPath: string;
  admin: string;
  logs: Array<Record<string, unknown>>;
  stderr(): string;
  events(): Array<Record<string, any>>;
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  waitForEvents(count: number, timeoutMs?: number): Promise<Array<Record<string, any>>>;
  writeConfig(config: object): void;
  metrics(): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export function tempDir(t: Teardown, prefix = 'edgeplane-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Starts `edgeplane serve` on `config` (events go to a file in a temp dir unless the config says otherwise).
 * `opts.prefix`: a command that runs node in turn (e.g. `prlimit --fsize=N`), for fault-injection tests.
 */
export async function startDaemon(t: Teardown, config: Record<string, unknown>, opts: { dir?: string; env?: NodeJS.ProcessEnv; args?: string[]; prefix?: string[] } = {}): Promise<DaemonHandle> {
  const dir = opts.dir ?? tempDir(t);
  const configPath = join(dir, 'edgeplane.yaml');
  const eventsPath = join(dir, 'events.ndjson');
  const full = { admin: { listen: '127.0.0.1:0', debug_endpoints: true }, events: { file: eventsPath }, ...config };
  writeFileSync(configPath, stringify(full));
  const argv = [process.execPath, CLI, 'serve', '--config', configPath, ...(opts.args ?? [])];
  const [command, ...args] = [...(opts.prefix ?? []), ...argv];
  const proc = spawn(command!, args, {
    env: { ...process.env, EDGEPLANE_LOG_LEVEL: 'debug', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const follower = followJsonLogs(proc, 'daemon');
  const { logs } = follower;
  proc.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  const waitForLog = (pred: (line: Record<string, unknown>) => boolean, timeoutMs = 15_000) => follower.waitFrom(0, pred, timeoutMs);

  // A loaded CI box can take many seconds to start the worker threads.
  const ready = await waitForLog((l) => l.msg === 'ready', 60_000);
  const admin = String(ready.admin);
  const events = (): Array<Record<string, any>> => existsSync(eventsPath)
    ? readFileSync(eventsPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    : [];
  return {
    proc, dir, configPath, eventsPath, admin, logs, exited,
    stderr: follower.stderr,
    events,
    waitForLog,
    async waitForEvents(count, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const list = events();
        if (list.length >= count) return list;
        if (Date.now() > until) throw new Error(`expected ${count} events, have ${list.length}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    writeConfig(next) {
      writeFileSync(configPath, stringify({ admin: { listen: '127.0.0.1:0', debug_endpoints: true }, events: { file: eventsPath }, ...next }));
    },
    async metrics() {
      const res = await fetch(`http://${admin}/metrics`);
      return res.text();
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}

/** Reads one metric sample's value from Prometheus text (labels given as a literal `{a="b"}` string or none). */
export function metricValue(text: string, name: string, labels = ''): number | undefined {
  const prefix = `${name}${labels} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}
