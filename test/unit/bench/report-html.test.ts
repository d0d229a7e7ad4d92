// The `--report` page: self-contained, its throughput chart carries one point per per-second sample
// with that sample's value, and its latency chart every latency sample, with the summary's percentiles.
import t from 'tap';
import { LatencyHistogram } from '../../../bench/user/histogram.js';
import { latencyBins, renderHtmlReport, renderSvgReport } from '../../../bench/user/report-html.js';
import type { TcpLoadSummary } from '../../../bench/user/tcp-load.js';

function summary(perSecond: number[], latencies: number[]): TcpLoadSummary {
  const h = new LatencyHistogram();
  for (const ms of latencies) h.record(ms);
  return {
    scenario: 'tcp', mode: 'connect', target: '127.0.0.1:9000', connections: 8, durationS: perSecond.length, sizeBytes: null,
    completed: latencies.length, stoppedAtEnd: 0, rate: 123, rateUnit: 'conn/s', bytes: { sent: 10, received: 20 },
    connectMs: h.stats(), latencyMs: h.stats(), latencyDistribution: h.buckets(),
    errors: { connect: 0, timeout: 0, transfer: 0, short: 0 }, perSecond,
  };
}

const attrs = (svg: string, element: string, name: string): string[] =>
  [...svg.matchAll(new RegExp(`<${element} [^>]*\\b${name}="([^"]*)"`, 'g'))].map((m) => m[1]!);

const latencies = Array.from({ length: 500 }, (_, i) => 0.2 + (i % 50) * 0.37 + Math.floor(i / 50) * 3.1);
const perSecond = [1200, 4100, 3975, 4230, 0, 4188];

t.test('HTML report: one point per second with its value, every latency sample in a bar', async (t) => {
  const s = summary(perSecond, latencies);
  const html = renderHtmlReport(s, { commandLine: "edgeplane bench tcp --url tcp://127.0.0.1:9000 --send '<b>&'" });
  t.match(html, /^<!doctype html>/);
  t.same(attrs(html, 'circle', 'data-value').map(Number), perSecond, 'the throughput points are the samples, in order');
  t.same(attrs(html, 'circle', 'data-second').map(Number), [1, 2, 3, 4, 5, 6], 'one point per second');
  // a larger sample is drawn higher (smaller y)
  const cy = attrs(html, 'circle', 'cy').map(Number);
  t.ok(cy[1]! < cy[0]! && cy[4]! > cy[3]!, `points follow the values (${cy.join(', ')})`);
  const counts = attrs(html, 'rect', 'data-count').map(Number);
  t.equal(counts.reduce((a, b) => a + b, 0), latencies.length, 'the bars hold every latency sample');
  t.ok(counts.length > 1 && counts.length <= 40, `a readable number of bars (${counts.length})`);
  t.same(attrs(html, 'g', 'data-ms').map(Number), [s.latencyMs.p50, s.latencyMs.p90, s.latencyMs.p99], 'p50, p90, p99 are marked');
  t.match(html, '<th>new connections/s</th><td>123</td>', 'the summary table');
  t.match(html, 'edgeplane bench tcp --url tcp://127.0.0.1:9000 --send &#39;&lt;b&gt;&amp;&#39;', 'the command line, escaped');
  t.notMatch(html, /<script|<link|\bsrc=|\bhref=/, 'nothing loaded from elsewhere');
});

t.test('SVG report: the same charts in one image', async (t) => {
  const s = summary(perSecond, latencies);
  const svg = renderSvgReport(s, { commandLine: 'edgeplane bench tcp', generatedAt: new Date('2026-01-02T03:04:05Z') });
  t.match(svg, /^<\?xml[^>]*>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  t.same(attrs(svg, 'circle', 'data-value').map(Number), perSecond);
  t.equal(attrs(svg, 'rect', 'data-count').map(Number).reduce((a, b) => a + b, 0), latencies.length);
  t.match(svg, '2026-01-02T03:04:05.000Z');
  t.equal((svg.match(/<svg /g) ?? []).length, 3, 'the image and its two charts');
});

t.test('a run without samples says so instead of drawing empty charts', async (t) => {
  const html = renderHtmlReport(summary([], []), { commandLine: 'x' });
  t.match(html, 'no per-second samples');
  t.match(html, 'no latency samples');
  t.equal(attrs(html, 'circle', 'data-value').length, 0);
});

t.test('latency bins: equal steps on a log scale, counts kept', async (t) => {
  const h = new LatencyHistogram();
  for (let i = 0; i < 3000; i++) h.record(0.01 * 1.004 ** i);
  const bins = latencyBins(h.buckets());
  t.equal(bins.length, 40);
  t.equal(bins.reduce((a, b) => a + b.count, 0), 3000);
  const ratios = bins.map((b) => b.toMs / b.fromMs);
  t.ok(ratios.every((r) => Math.abs(r - ratios[0]!) < 1e-9), 'every bin spans the same ratio');
  t.ok(bins.every((b, i) => i === 0 || Math.abs(b.fromMs - bins[i - 1]!.toMs) < 1e-9), 'contiguous');
});
