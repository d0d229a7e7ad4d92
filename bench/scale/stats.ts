import { fmt } from '../format.js';

/** Median and range of repeated measurements. */
export interface Spread { median: number; min: number; max: number; n: number }

export function spreadOf(values: number[]): Spread | undefined {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  const m = xs.length >> 1;
  return { median: xs.length % 2 ? xs[m]! : (xs[m - 1]! + xs[m]!) / 2, min: xs[0]!, max: xs[xs.length - 1]!, n: xs.length };
}

// fmt is shared with the other runners' reports (re-exported for the route-scale modules)
export { fmt };

/** "median [min–max]" (the range only when there is more than one value). */
export function fmtSpread(s: Spread | undefined, digits = 0): string {
  if (s === undefined) return '–';
  return s.n > 1 && s.max !== s.min ? `${fmt(s.median, digits)} [${fmt(s.min, digits)}–${fmt(s.max, digits)}]` : fmt(s.median, digits);
}

/** a ÷ b of two medians, as "×1.23"; '–' when either is missing. */
export function fmtRatio(a: Spread | undefined, b: Spread | undefined): string {
  if (a === undefined || b === undefined || b.median === 0) return '–';
  const r = a.median / b.median;
  return `×${fmt(r, r >= 100 ? 0 : r >= 10 ? 1 : 2)}`;
}
