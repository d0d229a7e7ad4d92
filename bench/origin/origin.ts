import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Fixtures } from '../fixtures.js';
import { flakyControlPort, flakyHttpPort, originHttpPort, originTlsPorts, portOffset, waitPortOpen } from '../ports.js';
import { isRunning, startPinned, type BenchChild, type CpuList } from '../processes.js';
import { nginxOriginConfig } from './nginx-origin.js';

/** The running origin: nginx (1 worker) when installed, else the node fallback. */
export interface Origin { kind: 'nginx' | 'node'; child: BenchChild }

function hasNginx(): boolean {
  try { execFileSync('sh', ['-c', 'command -v nginx'], { stdio: 'ignore' }); return true; } catch { return false; }
}

export async function startOrigin(wanted: 'auto' | 'nginx' | 'node', f: Fixtures, dirs: { confDir: string; tmpDir: string; logDir: string },
  cpu: CpuList): Promise<Origin> {
  const kind = wanted === 'node' || (wanted === 'auto' && !hasNginx()) ? 'node' : 'nginx';
  let child: BenchChild;
  if (kind === 'nginx') {
    const conf = join(dirs.confDir, 'origin.conf');
    writeFileSync(conf, nginxOriginConfig(f, dirs.tmpDir, process.getuid?.() === 0));
    child = startPinned('origin', cpu, 'nginx', ['-p', dirs.tmpDir, '-e', join(dirs.tmpDir, 'origin.err'), '-c', conf, '-g', 'daemon off;'],
      join(dirs.logDir, 'origin.log'));
  } else {
    const script = fileURLToPath(new URL('./node-origin.js', import.meta.url));
    child = startPinned('origin', cpu, process.execPath, [script, f.cert, f.key, f.big, String(portOffset()), f.json], join(dirs.logDir, 'origin.log'));
  }
  for (const port of [originHttpPort(), ...originTlsPorts()]) {
    if (!(await waitPortOpen(port, 15_000, () => isRunning(child)))) throw new Error(`${kind} origin did not open port ${port} (see ${child.logPath})`);
  }
  return { kind, child };
}

/** The breaker scenario's upstream (flaky-origin.ts), pinned beside the main origin. */
export async function startFlakyOrigin(dirs: { logDir: string }, cpu: CpuList): Promise<BenchChild> {
  const script = fileURLToPath(new URL('./flaky-origin.js', import.meta.url));
  const child = startPinned('flaky-origin', cpu, process.execPath, [script, String(portOffset())], join(dirs.logDir, 'flaky-origin.log'));
  for (const port of [flakyHttpPort(), flakyControlPort()]) {
    if (!(await waitPortOpen(port, 15_000, () => isRunning(child)))) throw new Error(`flaky origin did not open port ${port} (see ${child.logPath})`);
  }
  return child;
}
