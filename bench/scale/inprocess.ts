// Runs the in-process edgeplane measurements (edgeplane-phases.js, host-lookup.js) as their own pinned
// processes: a million-host config must not grow the runner, and an out-of-memory there is a result.
import { runPinned } from '../processes.js';

export interface PhaseFigures {
  config_mib: number; read_ms: number; yaml_ms: number; check_ms: number; build_ms: number;
  boot_publish_ms: number; reload_publish_ms: number; total_ms: number;
  cloned_mib_per_worker: number; host_table_mib: number; edges: number; hostports: number;
  workers: number; degraded: boolean; heap_used_mib: number; rss_mib: number;
}

export interface LookupKind { median_ns: number; p99_ns: number; wrong: number }
export interface LookupFigures { hosts: number; wildcards: number; build_ms: number; table_mib: number; exact: LookupKind; miss: LookupKind; wildcard: LookupKind }

export interface InProcessRecord<T> { kind: 'phases' | 'lookup'; hosts: number; rep: number; ok: boolean; error?: string; figures?: T; wall_ms: number }

const SCRIPTS = { phases: new URL('./edgeplane-phases.js', import.meta.url).pathname, lookup: new URL('./host-lookup.js', import.meta.url).pathname };
const TAGS = { phases: 'PHASES ', lookup: 'LOOKUP ' };

async function runScript<T>(kind: 'phases' | 'lookup', args: string[], cpu: number, hosts: number, rep: number, timeoutMs: number): Promise<InProcessRecord<T>> {
  const t0 = performance.now();
  const out = await runPinned(cpu, process.execPath, [SCRIPTS[kind], ...args], timeoutMs);
  const wall_ms = performance.now() - t0;
  const line = out.stdout.split('\n').find((l) => l.startsWith(TAGS[kind]));
  if (line !== undefined) return { kind, hosts, rep, ok: true, figures: JSON.parse(line.slice(TAGS[kind].length)) as T, wall_ms };
  const why = out.timedOut ? `not done within ${Math.round(timeoutMs / 1000)} s`
    : `exit ${out.code}: ${out.stderr.trim().split('\n').filter((l) => /error|memory|refused|fatal/i.test(l)).slice(-2).join(' | ') || out.stderr.trim().split('\n').slice(-2).join(' | ')}`;
  return { kind, hosts, rep, ok: false, error: why.slice(0, 600), wall_ms };
}

export function runPhases(configPath: string, cpu: number, hosts: number, rep: number, timeoutMs: number): Promise<InProcessRecord<PhaseFigures>> {
  return runScript<PhaseFigures>('phases', [configPath], cpu, hosts, rep, timeoutMs);
}

export function runLookup(port: number, cpu: number, hosts: number, rep: number, timeoutMs: number): Promise<InProcessRecord<LookupFigures>> {
  return runScript<LookupFigures>('lookup', [String(hosts), String(port)], cpu, hosts, rep, timeoutMs);
}
