import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

/** A background process the bench started, pinned to one core, in its own process group. */
export interface BenchChild {
  name: string;
  pid: number;
  proc: ChildProcess;
  exited: Promise<number | null>;
  logPath: string;
}

// Every process group we start, so 'exit' can kill what is left even after an error.
const live = new Set<number>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal); } catch { /* already gone */ }
}

export function killAllChildren(): void {
  for (const pid of live) killGroup(pid, 'SIGKILL');
  live.clear();
}

process.on('exit', killAllChildren);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => { killAllChildren(); process.exit(130); });
}

function track(proc: ChildProcess): Promise<number | null> {
  const pid = proc.pid;
  if (pid === undefined) throw new Error('spawn failed (no pid)');
  live.add(pid);
  return new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      // members of the group (nginx workers) may outlive the leader
      killGroup(pid, 'SIGKILL');
      live.delete(pid);
      resolve(code ?? (signal ? 128 : null));
    });
    proc.on('error', () => { live.delete(pid); resolve(127); });
  });
}

/** A taskset CPU list: one core (0) or a list/range ("0-3", "0,2"). */
export type CpuList = number | string;

/** The cores of a taskset CPU list ("0-2,5" → [0, 1, 2, 5]). */
export function cpuListCores(cpus: CpuList): number[] {
  const out: number[] = [];
  for (const part of String(cpus).split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`not a CPU list: "${cpus}" (expected e.g. 0, 0-3 or 0,2)`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let c = lo; c <= hi; c++) out.push(c);
  }
  if (out.length === 0) throw new Error(`empty CPU list: "${cpus}"`);
  return out;
}

export function startPinned(name: string, cpu: CpuList, cmd: string, args: string[], logPath: string,
  env?: NodeJS.ProcessEnv): BenchChild {
  const fd = openSync(logPath, 'a');
  try {
    const proc = spawn('taskset', ['-c', String(cpu), cmd, ...args], {
      detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env,
    });
    const exited = track(proc);
    return { name, pid: proc.pid as number, proc, exited, logPath };
  } finally {
    closeSync(fd);
  }
}

export function isRunning(child: BenchChild): boolean {
  return child.proc.exitCode === null && child.proc.signalCode === null;
}

/** SIGTERM the leader (graceful stop), then SIGKILL the whole group after graceMs. */
export async function stopChild(child: BenchChild, graceMs = 5000): Promise<void> {
  if (!isRunning(child)) { killGroup(child.pid, 'SIGKILL'); return; }
  child.proc.kill('SIGTERM');
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
  if (await Promise.race([child.exited, timer]) === 'timeout') {
    killGroup(child.pid, 'SIGKILL');
    await child.exited;
  }
}

export interface RunOutput { code: number | null; stdout: string; stderr: string; timedOut: boolean }

/** Runs a command pinned to `cpu` to completion (killed after timeoutMs). */
export function runPinned(cpu: CpuList, cmd: string, args: string[], timeoutMs: number,
  env?: NodeJS.ProcessEnv): Promise<RunOutput> {
  const proc = spawn('taskset', ['-c', String(cpu), cmd, ...args], {
    detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env,
  });
  let stdout = '';
  let stderr = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 65536) stderr += d; });
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; killGroup(proc.pid as number, 'SIGKILL'); }, timeoutMs);
  return track(proc).then((code) => {
    clearTimeout(timer);
    return { code, stdout, stderr, timedOut };
  });
}
