// Latencies of a load run in a fixed set of log-linear buckets: exact to the microsecond below 64 µs,
// then 32 buckets per power of two (each under 3.2 % wide) up to 35 minutes. Memory stays the same
// however long the run is, and recording a sample is one array increment.

const LINEAR = 64;
const SUB_BITS = 5;
const SUB = 1 << SUB_BITS;
const MAX_US = 2 ** 31 - 1;
const BUCKETS = LINEAR + (31 - 6) * SUB;

function bucketOf(us: number): number {
  if (us < LINEAR) return us;
  const exponent = 31 - Math.clz32(us);
  return LINEAR + (exponent - 6) * SUB + ((us >>> (exponent - SUB_BITS)) & (SUB - 1));
}

/** Smallest µs value of a bucket (the next bucket's lower bound is this one's exclusive upper bound). */
function lowerUs(bucket: number): number {
  if (bucket < LINEAR) return bucket;
  const exponent = 6 + Math.floor((bucket - LINEAR) / SUB);
  return (SUB + ((bucket - LINEAR) % SUB)) * 2 ** (exponent - SUB_BITS);
}

/** One non-empty bucket: `count` samples of at least `fromMs` and less than `toMs`. */
export interface LatencyBucket { fromMs: number; toMs: number; count: number }

/** Percentiles in milliseconds, as every bench summary reports them. */
export interface LatencyStats { p50: number; p90: number; p99: number; max: number; mean: number }

const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private sumUs = 0;
  private minUs = Infinity;
  private maxUs = 0;
  count = 0;

  record(ms: number): void {
    const us = Math.min(MAX_US, Math.max(0, Math.round(ms * 1000)));
    this.counts[bucketOf(us)]!++;
    this.count++;
    this.sumUs += us;
    if (us < this.minUs) this.minUs = us;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** The latency (ms) that a share `q` (0..1) of the samples do not exceed: the bucket's middle, kept within min..max. */
  percentile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) {
        const middle = b < LINEAR ? b : (lowerUs(b) + lowerUs(b + 1) - 1) / 2;
        return round3(Math.min(this.maxUs, Math.max(this.minUs, middle)) / 1000);
      }
    }
    return round3(this.maxUs / 1000);
  }

  stats(): LatencyStats {
    return {
      p50: this.percentile(0.5), p90: this.percentile(0.9), p99: this.percentile(0.99),
      max: round3(this.maxUs / 1000), mean: this.count === 0 ? 0 : round3(this.sumUs / this.count / 1000),
    };
  }

  /** The non-empty buckets, fastest first (what the report's latency chart draws). */
  buckets(): LatencyBucket[] {
    const out: LatencyBucket[] = [];
    for (let b = 0; b < BUCKETS; b++) {
      const count = this.counts[b]!;
      if (count > 0) out.push({ fromMs: lowerUs(b) / 1000, toMs: lowerUs(b + 1) / 1000, count });
    }
    return out;
  }
}
