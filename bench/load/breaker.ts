import { fileURLToPath } from 'node:url';
import { runPinned, type CpuList } from '../processes.js';
import type { BreakerPlan } from './breaker-client.js';

/** What the breaker client reports (times in ms; share = origin requests ÷ client responses while open). */
export interface BreakerResult {
  requests: number; duration_us: number;
  open: { client: number; upstream: number; seconds: number; share: number | null; s200: number; s503: number; s500: number; other: number; errors: number };
  /** from the origin failing to the first bucket of ≥ 95 % 503; null = never */
  trip_ms: number | null;
  /** from the origin recovering to the first bucket of ≥ 95 % 200; null = not within the plan */
  recover_ms: number | null;
  bucket_ms: number; t0_ms: number; t1_ms: number;
  timeline: number[][];
}

export async function runBreaker(cpu: CpuList, plan: BreakerPlan): Promise<BreakerResult> {
  const script = fileURLToPath(new URL('./breaker-client.js', import.meta.url));
  const totalS = plan.warmS + plan.tripWaitS + plan.openS + plan.recoverS;
  const out = await runPinned(cpu, process.execPath, [script, JSON.stringify(plan)], (totalS + 30) * 1000);
  const line = out.stdout.split('\n').find((l) => l.startsWith('LOADJSON '));
  if (!line) throw new Error(`breaker client gave no result (rc ${out.code}${out.timedOut ? ', timed out' : ''}): ${out.stderr.slice(-400)}`);
  return JSON.parse(line.slice('LOADJSON '.length)) as BreakerResult;
}
