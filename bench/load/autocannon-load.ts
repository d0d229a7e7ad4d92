import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { runPinned, type CpuList } from '../processes.js';
import type { AutocannonPlan } from './autocannon-client.js';
import type { WrkRequest, WrkResult } from './wrk.js';

/** autocannon's version as installed (it is a dependency, so present after `npm install`). */
export function autocannonVersion(): string {
  try {
    const pkg = createRequire(import.meta.url).resolve('autocannon/package.json');
    return `autocannon ${(JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version}`;
  } catch {
    return 'autocannon (version unknown)';
  }
}

// The wrk fallback: the same request, connections and duration, run by autocannon-client.js pinned to
// the load core; returns wrk's result shape so the scenarios do not tell the two apart.
export async function runAutocannon(cpu: CpuList, req: WrkRequest, conns: number, seconds: number): Promise<WrkResult> {
  const script = fileURLToPath(new URL('./autocannon-client.js', import.meta.url));
  const plan: AutocannonPlan = { ...req, conns, seconds };
  const out = await runPinned(cpu, process.execPath, [script, JSON.stringify(plan)], (seconds + 30) * 1000);
  const line = out.stdout.split('\n').find((l) => l.startsWith('LOADJSON '));
  if (!line) throw new Error(`autocannon gave no result (rc ${out.code}${out.timedOut ? ', timed out' : ''}): ${(out.stderr || out.stdout).slice(-400)}`);
  return JSON.parse(line.slice('LOADJSON '.length)) as WrkResult;
}
