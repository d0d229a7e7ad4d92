// The `--report` file of `edgeplane bench`: a self-contained HTML page (or one SVG image) with the
// summary table, the command line, throughput over time and the latency distribution. Pure functions
// of a summary: no scripts, no external styles, so the file can be mailed or attached to an issue.
import type { LatencyBucket } from './histogram.js';
import { latencyLabel, summaryRows, throughputSeries, type BenchSummary, type ThroughputSeries } from './summary.js';

export interface ReportMeta {
  /** how the run was started, shown verbatim */
  commandLine: string;
  /** when it ran (left out of the page when absent, so equal runs give equal files) */
  generatedAt?: Date;
}

const WIDTH = 720;
const HEIGHT = 260;
const MARGIN = { left: 64, right: 16, top: 12, bottom: 44 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const MAX_BARS = 40;

const escapeXml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A figure for a label: four significant digits, no exponent for the values a bench produces. */
const fmt = (v: number): string => String(Number(v.toPrecision(4)));
const px = (v: number): string => v.toFixed(1);

/** A round axis maximum at or above `max`: 1, 2 or 5 times a power of ten. */
function niceCeil(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

function axes(xTicks: Array<{ x: number; label: string }>, yMax: number, xTitle: string, yTitle: string): string {
  const parts: string[] = [];
  const bottom = MARGIN.top + PLOT_H;
  for (let i = 0; i <= 4; i++) {
    const y = bottom - (i / 4) * PLOT_H;
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${px(y)}" y2="${px(y)}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${px(y + 4)}" text-anchor="end">${fmt((yMax * i) / 4)}</text>`);
  }
  for (const t of xTicks) {
    parts.push(`<line x1="${px(t.x)}" x2="${px(t.x)}" y1="${bottom}" y2="${bottom + 4}" stroke="#888"/>`);
    parts.push(`<text x="${px(t.x)}" y="${bottom + 16}" text-anchor="middle">${escapeXml(t.label)}</text>`);
  }
  parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${bottom}" y2="${bottom}" stroke="#888"/>`);
  parts.push(`<text x="${MARGIN.left + PLOT_W / 2}" y="${HEIGHT - 6}" text-anchor="middle">${escapeXml(xTitle)}</text>`);
  parts.push(`<text transform="translate(14 ${MARGIN.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yTitle)}</text>`);
  return parts.join('');
}

function svgOpen(className: string, extra = ''): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" class="${className}" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}"${extra} font-family="sans-serif" font-size="11">`;
}

const noData = (text: string): string =>
  `<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle" fill="#888">${escapeXml(text)}</text>`;

/** Throughput over time: one point per second of the run, joined by a line. */
export function throughputChart(series: ThroughputSeries, extra = ''): string {
  const n = series.values.length;
  if (n === 0) return `${svgOpen('throughput', extra)}${noData('no per-second samples (the run was shorter than a second)')}</svg>`;
  const yMax = niceCeil(Math.max(...series.values));
  const x = (second: number): number => MARGIN.left + (second / n) * PLOT_W;
  const y = (v: number): number => MARGIN.top + PLOT_H - (v / yMax) * PLOT_H;
  const step = Math.max(1, niceCeil(n / 10));
  const ticks = [];
  for (let s = 0; s <= n; s += step) ticks.push({ x: x(s), label: `${s}` });
  const points = series.values.map((v, i) => `${px(x(i + 1))},${px(y(v))}`).join(' ');
  const dots = series.values.map((v, i) =>
    `<circle class="sample" data-second="${i + 1}" data-value="${v}" cx="${px(x(i + 1))}" cy="${px(y(v))}" r="3" fill="#1f6feb"><title>second ${i + 1}: ${fmt(v)} ${escapeXml(series.unit)}</title></circle>`).join('');
  return `${svgOpen('throughput', extra)}${axes(ticks, yMax, 'seconds into the run', series.unit)}`
    + `<polyline points="${points}" fill="none" stroke="#1f6feb" stroke-width="1.5"/>${dots}</svg>`;
}

/** The histogram's buckets summed into at most MAX_BARS bins of equal width on a log scale. */
export function latencyBins(buckets: LatencyBucket[]): LatencyBucket[] {
  if (buckets.length === 0) return [];
  const lo = Math.max(0.001, buckets[0]!.fromMs);
  const hi = Math.max(lo * 1.001, buckets[buckets.length - 1]!.toMs);
  const bars = Math.min(MAX_BARS, buckets.length);
  const ratio = (hi / lo) ** (1 / bars);
  const bins = Array.from({ length: bars }, (_, i) => ({ fromMs: lo * ratio ** i, toMs: lo * ratio ** (i + 1), count: 0 }));
  for (const b of buckets) {
    const middle = Math.max(lo, Math.sqrt(Math.max(b.fromMs, 0.001) * b.toMs));
    const i = Math.min(bars - 1, Math.max(0, Math.floor(Math.log(middle / lo) / Math.log(ratio))));
    bins[i]!.count += b.count;
  }
  return bins;
}

/** The latency distribution: a histogram on a log time axis, with p50, p90 and p99 marked. */
export function latencyChart(buckets: LatencyBucket[], percentiles: Record<string, number>, extra = ''): string {
  const bins = latencyBins(buckets);
  if (bins.length === 0) return `${svgOpen('latency', extra)}${noData('no latency samples (nothing completed)')}</svg>`;
  const lo = bins[0]!.fromMs;
  const hi = bins[bins.length - 1]!.toMs;
  const x = (ms: number): number => MARGIN.left + (Math.log(Math.min(hi, Math.max(lo, ms)) / lo) / Math.log(hi / lo)) * PLOT_W;
  const yMax = niceCeil(Math.max(...bins.map((b) => b.count)));
  const barH = (count: number): number => (count / yMax) * PLOT_H;
  const ticks = [];
  for (let decade = 10 ** Math.floor(Math.log10(lo)); decade <= hi; decade *= 10) {
    for (const m of [1, 2, 5]) if (m * decade >= lo && m * decade <= hi) ticks.push({ x: x(m * decade), label: fmt(m * decade) });
  }
  if (ticks.length === 0) ticks.push({ x: x(lo), label: fmt(lo) }, { x: x(hi), label: fmt(hi) });
  const bars = bins.map((b) =>
    `<rect class="bar" data-from-ms="${fmt(b.fromMs)}" data-to-ms="${fmt(b.toMs)}" data-count="${b.count}" x="${px(x(b.fromMs))}" y="${px(MARGIN.top + PLOT_H - barH(b.count))}" width="${px(Math.max(0.5, x(b.toMs) - x(b.fromMs) - 1))}" height="${px(barH(b.count))}" fill="#2da44e"><title>${fmt(b.fromMs)}–${fmt(b.toMs)} ms: ${b.count}</title></rect>`).join('');
  // labels on separate lines (close percentiles would overlap), left of their line near the right edge
  const marks = Object.entries(percentiles).map(([name, ms], i) => {
    const at = x(ms);
    const left = at > MARGIN.left + PLOT_W - 90;
    return `<g class="percentile" data-name="${escapeXml(name)}" data-ms="${ms}"><line x1="${px(at)}" x2="${px(at)}" y1="${MARGIN.top}" y2="${MARGIN.top + PLOT_H}" stroke="#cf222e" stroke-dasharray="4 3"/>`
      + `<text x="${px(left ? at - 3 : at + 3)}" y="${MARGIN.top + 10 + 12 * i}" text-anchor="${left ? 'end' : 'start'}" fill="#cf222e">${escapeXml(name)} ${fmt(ms)}</text></g>`;
  }).join('');
  return `${svgOpen('latency', extra)}${axes(ticks, yMax, 'milliseconds (log scale)', 'count')}${bars}${marks}</svg>`;
}

function charts(s: BenchSummary): { throughput: ThroughputSeries; latencyCaption: string; percentiles: Record<string, number> } {
  return {
    throughput: throughputSeries(s),
    latencyCaption: latencyLabel(s),
    percentiles: { p50: s.latencyMs.p50, p90: s.latencyMs.p90, p99: s.latencyMs.p99 },
  };
}

const title = (s: BenchSummary): string => `edgeplane bench ${s.scenario}${s.scenario === 'tcp' ? ` --mode ${s.mode}` : ''}`;

/** A self-contained HTML page: summary table, command line and two inline SVG charts. */
export function renderHtmlReport(s: BenchSummary, meta: ReportMeta): string {
  const c = charts(s);
  const rows = summaryRows(s).map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${escapeXml(v)}</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeXml(title(s))}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; color: #1f2328; margin: 2em auto; max-width: ${WIDTH + 40}px; padding: 0 1em; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: .25em .9em .25em 0; border-bottom: 1px solid #d8dee4; vertical-align: top; }
th { font-weight: 600; white-space: nowrap; }
code { background: #f6f8fa; padding: .15em .35em; border-radius: 4px; word-break: break-all; }
figure { margin: 1em 0 2em; }
figcaption { color: #59636e; }
</style>
</head>
<body>
<h1>${escapeXml(title(s))}</h1>
<p>Command: <code>${escapeXml(meta.commandLine)}</code></p>
${meta.generatedAt === undefined ? '' : `<p>Run at ${escapeXml(meta.generatedAt.toISOString())}</p>\n`}<h2>Summary</h2>
<table>
${rows}
</table>
<h2>Throughput over time</h2>
<figure>
${throughputChart(c.throughput)}
<figcaption>${escapeXml(c.throughput.label)}, one point per second of the run.</figcaption>
</figure>
<h2>Latency distribution</h2>
<figure>
${latencyChart(s.latencyDistribution, c.percentiles)}
<figcaption>${escapeXml(c.latencyCaption)}: how many samples fell in each time range; dashed lines mark percentiles.</figcaption>
</figure>
</body>
</html>
`;
}

/** The same report as one SVG image: text lines for the table, then both charts. */
export function renderSvgReport(s: BenchSummary, meta: ReportMeta): string {
  const c = charts(s);
  const lines: string[] = [];
  let y = 24;
  const text = (t: string, attrs = ''): void => { lines.push(`<text x="16" y="${y}"${attrs}>${escapeXml(t)}</text>`); };
  text(title(s), ' font-size="18" font-weight="bold"'); y += 22;
  // monospace at 12 px: about 95 characters fit across
  for (let at = 0, first = true; at < meta.commandLine.length || first; at += 86, first = false) {
    text(`${first ? 'command: ' : '         '}${meta.commandLine.slice(at, at + 86)}`, ' font-family="monospace" xml:space="preserve"'); y += 16;
  }
  y += 2;
  if (meta.generatedAt !== undefined) { text(`run at ${meta.generatedAt.toISOString()}`); y += 18; }
  y += 6;
  for (const [k, v] of summaryRows(s)) {
    lines.push(`<text x="16" y="${y}" font-weight="bold">${escapeXml(k)}</text><text x="340" y="${y}">${escapeXml(v)}</text>`);
    y += 16;
  }
  y += 14;
  text(`throughput over time: ${c.throughput.label}`, ' font-weight="bold"'); y += 6;
  lines.push(throughputChart(c.throughput, ` x="0" y="${y}"`)); y += HEIGHT + 20;
  text(`latency distribution: ${c.latencyCaption}`, ' font-weight="bold"'); y += 6;
  lines.push(latencyChart(s.latencyDistribution, c.percentiles, ` x="0" y="${y}"`)); y += HEIGHT + 10;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
${lines.join('\n')}
</svg>
`;
}
