// Numbers for the soak run: percentiles, medians, a least-squares slope, and the verdict on the samples.

export interface Sample {
  /** Seconds since the load started (negative: idle baseline before it). */
  t: number;
  phase: 'idle-before' | 'load' | 'idle-after';
  rssMb: number;
  fds: number;
  threads: number;
  /** Seconds of CPU (user + system) the daemon used since it started. */
  daemonCpuS: number;
  edgeConnectionsActive: number | null;
  workerConnectionsActive: number | null;
  upstreamConnections: number | null;
  workerRestarts: number | null;
  eventsDropped: number | null;
  configGeneration: number | null;
  /** Client side, this window only. */
  ok: number;
  failed: number;
  deliberateAborts: number;
  skipped: number;
  p50Ms: number | null;
  p99Ms: number | null;
  clientRssMb: number;
}

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Least-squares slope of y over x (units of y per unit of x); 0 for fewer than two points. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i]! - mx) * (ys[i]! - my); den += (xs[i]! - mx) ** 2; }
  return den === 0 ? 0 : num / den;
}

export interface Bounds {
  /** RSS: median of the last fifth minus median of the first fifth after warm-up, both limits must hold. */
  rssGrowthPct: number;
  rssGrowthMb: number;
  /** RSS: the fitted slope extrapolated over the measured span must stay under this many MB too. */
  rssSlopeSpanMb: number;
  /** fds under load: last-fifth median may exceed the first-fifth median by at most this fraction plus a constant. */
  fdLoadGrowthPct: number;
  fdLoadGrowthAbs: number;
  /** fds once idle again, over the idle baseline before the load. */
  fdIdleSlack: number;
}

export const BOUNDS: Bounds = { rssGrowthPct: 10, rssGrowthMb: 40, rssSlopeSpanMb: 40, fdLoadGrowthPct: 25, fdLoadGrowthAbs: 16, fdIdleSlack: 8 };

export interface Verdict {
  pass: boolean;
  reasons: string[];
  warmupS: number;
  rss: { firstFifthMb: number; lastFifthMb: number; growthMb: number; growthPct: number; slopeMbPerHour: number; spanS: number };
  fds: { idleBaseline: number; firstFifth: number; lastFifth: number; slopePerHour: number; idleAfter: number | null };
  threads: { idleBaseline: number; max: number; idleAfter: number | null };
  connectionsIdleAfter: number | null;
}

export interface Outcome {
  unexpectedFailures: number;
  failuresByKind: Record<string, number>;
  idleAfter: Sample | null;
  daemonAlive: boolean;
  reloadsOk: number;
  reloadsFailed: number;
  lastHeaderSeen: string;
  lastHeaderWritten: string;
}

/** Judges RSS and fds over the load samples after `warmupS`, and the idle sample after the load. */
export function judge(samples: Sample[], warmupS: number, outcome: Outcome, bounds: Bounds = BOUNDS): Verdict {
  const reasons: string[] = [];
  const idleBefore = samples.filter((s) => s.phase === 'idle-before');
  const measured = samples.filter((s) => s.phase === 'load' && s.t >= warmupS);
  const fifth = Math.max(1, Math.floor(measured.length / 5));
  const first = measured.slice(0, fifth);
  const last = measured.slice(-fifth);
  const xsH = measured.map((s) => s.t / 3600);
  const spanS = measured.length > 1 ? measured[measured.length - 1]!.t - measured[0]!.t : 0;

  const rssFirst = first.length > 0 ? median(first.map((s) => s.rssMb)) : 0;
  const rssLast = last.length > 0 ? median(last.map((s) => s.rssMb)) : 0;
  const rssGrowth = rssLast - rssFirst;
  const rssGrowthPct = rssFirst > 0 ? (rssGrowth / rssFirst) * 100 : 0;
  const rssSlope = slope(xsH, measured.map((s) => s.rssMb));
  const fdFirst = first.length > 0 ? median(first.map((s) => s.fds)) : 0;
  const fdLast = last.length > 0 ? median(last.map((s) => s.fds)) : 0;
  const fdSlope = slope(xsH, measured.map((s) => s.fds));
  const fdIdleBaseline = idleBefore.length > 0 ? median(idleBefore.map((s) => s.fds)) : 0;
  const threadsIdle = idleBefore.length > 0 ? median(idleBefore.map((s) => s.threads)) : 0;

  if (measured.length < 10) reasons.push(`only ${measured.length} samples after warm-up (need 10)`);
  if (rssGrowth >= bounds.rssGrowthMb) reasons.push(`RSS grew ${rssGrowth.toFixed(1)} MB (bound ${bounds.rssGrowthMb} MB)`);
  if (rssGrowthPct >= bounds.rssGrowthPct) reasons.push(`RSS grew ${rssGrowthPct.toFixed(1)} % (bound ${bounds.rssGrowthPct} %)`);
  const slopeSpanMb = rssSlope * (spanS / 3600);
  if (slopeSpanMb >= bounds.rssSlopeSpanMb) reasons.push(`RSS slope ${rssSlope.toFixed(1)} MB/h is ${slopeSpanMb.toFixed(1)} MB over the run (bound ${bounds.rssSlopeSpanMb} MB)`);
  const fdLoadBound = fdFirst * (bounds.fdLoadGrowthPct / 100) + bounds.fdLoadGrowthAbs;
  if (fdLast - fdFirst > fdLoadBound) reasons.push(`fds under load grew from ${fdFirst} to ${fdLast} (bound +${fdLoadBound.toFixed(0)})`);

  const after = outcome.idleAfter;
  if (after === null) reasons.push('no idle sample after the load (daemon gone?)');
  else {
    if (after.fds > fdIdleBaseline + bounds.fdIdleSlack) reasons.push(`fds did not return to the idle baseline: ${after.fds} > ${fdIdleBaseline} + ${bounds.fdIdleSlack}`);
    if ((after.edgeConnectionsActive ?? 0) !== 0) reasons.push(`${after.edgeConnectionsActive} edge connections still active once idle`);
    if (after.threads > threadsIdle) reasons.push(`threads ${after.threads} > idle baseline ${threadsIdle}`);
    if ((after.workerRestarts ?? 0) > 0) reasons.push(`${after.workerRestarts} worker restarts`);
  }
  if (!outcome.daemonAlive) reasons.push('the daemon exited during the run');
  if (outcome.unexpectedFailures > 0) reasons.push(`${outcome.unexpectedFailures} unexpected client failures: ${JSON.stringify(outcome.failuresByKind)}`);
  if (outcome.reloadsFailed > 0) reasons.push(`${outcome.reloadsFailed} config reloads not confirmed`);
  if (outcome.lastHeaderSeen !== outcome.lastHeaderWritten) reasons.push(`after the last reload responses carried x-soak: ${outcome.lastHeaderSeen}, not ${outcome.lastHeaderWritten}`);

  return {
    pass: reasons.length === 0,
    reasons,
    warmupS,
    rss: { firstFifthMb: rssFirst, lastFifthMb: rssLast, growthMb: rssGrowth, growthPct: rssGrowthPct, slopeMbPerHour: rssSlope, spanS },
    fds: { idleBaseline: fdIdleBaseline, firstFifth: fdFirst, lastFifth: fdLast, slopePerHour: fdSlope, idleAfter: after?.fds ?? null },
    threads: { idleBaseline: threadsIdle, max: Math.max(0, ...samples.map((s) => s.threads)), idleAfter: after?.threads ?? null },
    connectionsIdleAfter: after?.edgeConnectionsActive ?? null,
  };
}
