// Reads edgeplane's own account of a start and a reload from its log (JSON lines on stderr, core/log.ts).
import { readFileSync } from 'node:fs';

interface LogRecord { ts?: string; level?: string; msg?: string; [field: string]: unknown }

function records(logPath: string): LogRecord[] {
  let text = '';
  try { text = readFileSync(logPath, 'utf8'); } catch { return []; }
  const out: LogRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try { out.push(JSON.parse(line) as LogRecord); } catch { /* a line cut by a crash */ }
  }
  return out;
}

/** The "ready" record: worker count and whether it ran without the native addon (no worker pool). */
export function readyFacts(logPath: string): { workers: number; degraded: boolean } | undefined {
  const r = records(logPath).find((x) => x.msg === 'ready');
  return r === undefined ? undefined : { workers: Number(r.workers ?? 0), degraded: r.degraded === true };
}

/**
 * The daemon's reloads after `sinceEpochMs`. "config reloaded" is logged once Daemon.install has returned,
 * i.e. once WorkerPool.publish resolved: every live worker acknowledged the new generation.
 */
export interface DaemonReload { ok: boolean; ms: number; trigger: string; generation: number; problem?: string }

export function reloadsSince(logPath: string, sinceEpochMs: number): DaemonReload[] {
  const out: DaemonReload[] = [];
  for (const r of records(logPath)) {
    const at = Date.parse(r.ts ?? '');
    if (!(at >= sinceEpochMs - 1)) continue; // ts has ms resolution
    if (r.msg === 'config reloaded' || (typeof r.msg === 'string' && r.msg.startsWith('config reload'))) {
      const ok = r.msg === 'config reloaded';
      const problems = Array.isArray(r.problems) ? (r.problems as string[]).join('; ') : typeof r.error === 'string' ? r.error : undefined;
      out.push({ ok, ms: at - sinceEpochMs, trigger: String(r.trigger ?? '?'), generation: Number(r.generation ?? 0), problem: ok ? undefined : problems ?? r.msg });
    }
  }
  return out;
}
