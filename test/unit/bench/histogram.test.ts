// The bench's latency histogram: bounded buckets that keep percentiles within a bucket's width of
// the exact ones, and lose no sample.
import t from 'tap';
import { LatencyHistogram } from '../../../bench/user/histogram.js';

// a deterministic spread of latencies from 1 µs to about 2 s (log-uniform), as a load run sees them
function samples(n: number): number[] {
  let seed = 12345;
  const random = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
  return Array.from({ length: n }, () => Math.round(10 ** (random() * 6.3)) / 1000);
}

t.test('percentiles stay within a bucket of the exact order statistic', async (t) => {
  const values = samples(20_000);
  const h = new LatencyHistogram();
  for (const v of values) h.record(v);
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of [0.01, 0.25, 0.5, 0.9, 0.99, 0.999]) {
    const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
    const got = h.percentile(q);
    // buckets are under 3.2 % wide, and exact below 64 µs; the middle is at most half a width off (+ rounding to 1 µs)
    t.ok(Math.abs(got - exact) <= exact * 0.017 + 0.001, `p${q * 100}: ${got} ms vs exact ${exact} ms`);
  }
  t.equal(h.stats().max, sorted[sorted.length - 1], 'max is exact');
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  t.ok(Math.abs(h.stats().mean - mean) < 0.001, `mean ${h.stats().mean} vs ${mean}`);
});

t.test('buckets hold every sample, in order, each inside its bounds', async (t) => {
  const values = samples(5_000);
  const h = new LatencyHistogram();
  for (const v of values) h.record(v);
  const buckets = h.buckets();
  t.equal(buckets.reduce((a, b) => a + b.count, 0), values.length, 'no sample lost');
  t.ok(buckets.every((b, i) => b.fromMs < b.toMs && (i === 0 || buckets[i - 1]!.toMs <= b.fromMs)), 'ascending, not overlapping');
  for (const v of [0, 0.001, 0.063, 0.064, 0.065, 0.127, 0.128, 1.5, 99.999, 1234.5]) {
    const one = new LatencyHistogram();
    one.record(v);
    const [b] = one.buckets();
    t.ok(b !== undefined && b.fromMs <= v && v < b.toMs, `${v} ms lands in [${b?.fromMs}, ${b?.toMs})`);
    t.ok(b!.toMs - b!.fromMs <= Math.max(0.001, b!.fromMs * 0.032), `its bucket is narrow (${b!.toMs - b!.fromMs} ms)`);
  }
});

t.test('an empty histogram reports zeros and no buckets', async (t) => {
  const h = new LatencyHistogram();
  t.same(h.stats(), { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
  t.same(h.buckets(), []);
});
