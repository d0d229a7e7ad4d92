// What every `edgeplane bench` scenario reports, read the same way by the text table, the JSON and
// the HTML/SVG report. Type-only imports: this module loads none of the load generators.
import type { LatencyStats } from './histogram.js';
import type { HttpLoadSummary } from './http-load.js';
import type { TcpLoadSummary } from './tcp-load.js';
import type { TlsLoadSummary } from './tls-load.js';

export type BenchSummary = HttpLoadSummary | TlsLoadSummary | TcpLoadSummary;

/** Throughput over time as the report charts it: one value per second of the run. */
export interface ThroughputSeries { label: string; unit: string; values: number[] }

// three significant digits or so: the percentiles are bucket middles, not exact to the microsecond
const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const latencyRow = (name: string, l: LatencyStats): [string, string] =>
  [`${name} p50 / p90 / p99 / max (ms)`, `${ms(l.p50)} / ${ms(l.p90)} / ${ms(l.p99)} / ${ms(l.max)}`];

const counts = (r: Record<string, number>): string => Object.entries(r).map(([k, n]) => `${k}: ${n}`).join(', ') || '–';

/** The summary table's rows, label then value. */
export function summaryRows(s: BenchSummary): Array<[string, string]> {
  switch (s.scenario) {
    case 'http': return [
      ['url', s.url],
      ['connections × seconds', `${s.connections} × ${s.durationS}`],
      ['requests', String(s.requests)],
      ['requests/s (mean)', s.requestsPerSecond.toFixed(0)],
      latencyRow('latency', s.latencyMs),
      ['throughput (MB/s)', (s.throughputBytesPerSecond / 1e6).toFixed(2)],
      ['status codes', counts(s.statusCodes)],
      ['non-2xx / errors / timeouts', `${s.non2xx} / ${s.errors} / ${s.timeouts}`],
      ['requests/s per second', s.perSecond.join(' ')],
    ];
    case 'tls': return [
      ['target', s.target],
      ['connections × seconds', `${s.connections} × ${s.durationS}`],
      ['completed connections', String(s.completed)],
      ['new connections/s', String(s.connectionsPerSecond)],
      latencyRow('latency', s.latencyMs),
      ['TLS versions', counts(s.protocols)],
      ['errors connect / handshake / response', `${s.errors.connect} / ${s.errors.handshake} / ${s.errors.response}`],
      ['connections/s per second', s.perSecond.join(' ')],
    ];
    case 'tcp': {
      const transfers = s.mode === 'connect' ? 'connections' : 'transfers';
      return [
        ['target', `${s.target} (${s.mode}${s.sizeBytes === null ? '' : `, ${s.sizeBytes} B each`})`],
        ['connections × seconds', `${s.connections} × ${s.durationS}`],
        [`completed ${transfers}`, s.mode === 'connect' ? String(s.completed) : `${s.completed} (${s.stoppedAtEnd} stopped at the end)`],
        [s.rateUnit === 'MB/s' ? 'throughput (MB/s, bytes read)' : 'new connections/s', String(s.rate)],
        ['bytes sent / received', `${s.bytes.sent} / ${s.bytes.received}`],
        latencyRow('connect', s.connectMs),
        latencyRow(s.mode === 'connect' ? 'connection' : 'transfer', s.latencyMs),
        ['errors connect / timeout / transfer / short', `${s.errors.connect} / ${s.errors.timeout} / ${s.errors.transfer} / ${s.errors.short}`],
        [`${s.rateUnit} per second`, s.perSecond.join(' ')],
      ];
    }
  }
}

/** The summary as an aligned two-column table for a terminal. */
export function formatSummary(s: BenchSummary): string {
  const rows = summaryRows(s);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}

export function throughputSeries(s: BenchSummary): ThroughputSeries {
  switch (s.scenario) {
    case 'http': return { label: 'requests per second', unit: 'req/s', values: s.perSecond };
    case 'tls': return { label: 'new TLS connections per second', unit: 'conn/s', values: s.perSecond };
    case 'tcp': return s.rateUnit === 'MB/s'
      ? { label: 'MB read per second', unit: 'MB/s', values: s.perSecond }
      : { label: 'new TCP connections per second', unit: 'conn/s', values: s.perSecond };
  }
}

/** What the latency figures time, for the chart's caption. */
export function latencyLabel(s: BenchSummary): string {
  switch (s.scenario) {
    case 'http': return 'request latency (request sent to response complete)';
    case 'tls': return 'connection latency (connect to close, a full handshake each)';
    case 'tcp': return s.mode === 'connect' ? 'connection latency (connect to close)' : 'transfer time (connect to the last byte)';
  }
}

/** How the run ended for a shell: 0 when it measured something. */
export function measuredAnything(s: BenchSummary): boolean {
  switch (s.scenario) {
    case 'http': return s.requests > 0;
    case 'tls': return s.completed > 0;
    case 'tcp': return s.mode === 'connect' ? s.completed > 0 : s.bytes.received > 0;
  }
}
