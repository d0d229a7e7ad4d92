import type { InProcessRecord, LookupFigures, PhaseFigures } from './inprocess.js';
import type { ScaleProxy } from './names.js';
import type { ScaleOptions } from './options.js';
import type { ScalePoint } from './point.js';

/** A whole route-scale run, as written to bench/out/route-scale-<UTC>.json. */
export interface ScaleRun {
  meta: Record<string, string>;
  options: ScaleOptions;
  /** hostname counts measured, the baseline first */
  counts: number[];
  configs: Array<{ proxy: ScaleProxy; hosts: number; bytes: number; write_ms: number }>;
  points: ScalePoint[];
  phases: Array<InProcessRecord<PhaseFigures>>;
  lookups: Array<InProcessRecord<LookupFigures>>;
  /** proxies that did not run at all, with the reason */
  skipped: Array<{ proxy: string; reason: string }>;
  notes: string[];
}
