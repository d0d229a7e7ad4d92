// `edgeplane bench http`: keep-alive HTTP load with autocannon against any URL (an edge, or the upstream
// directly for the comparison), with a live progress line and a summary a person or a machine can read.
import autocannon, { type Result } from 'autocannon';

export interface HttpLoadOptions {
  url: string;
  connections: number;
  durationS: number;
  headers: Record<string, string>;
  method: string;
  body?: string;
  /** SNI for https:// URLs that name an IP (autocannon never verifies certificates: load tests hit self-signed edges). */
  servername?: string;
  /** Live progress on this stream (a TTY), or none. */
  progress: NodeJS.WritableStream | null;
}

export interface HttpLoadSummary {
  scenario: 'http';
  url: string;
  connections: number;
  durationS: number;
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  throughputBytesPerSecond: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** Requests per second in each second of the run (throughput over time). */
  perSecond: number[];
}

export function runHttpLoad(o: HttpLoadOptions): Promise<HttpLoadSummary> {
  return new Promise((resolve, reject) => {
    const perSecond: number[] = [];
    const instance = autocannon({
      url: o.url,
      connections: o.connections,
      duration: o.durationS,
      method: o.method,
      headers: o.headers,
      ...(o.body === undefined ? {} : { body: o.body }),
      ...(o.servername === undefined ? {} : { servername: o.servername }),
    }, (err, result) => (err !== null ? reject(err) : resolve(summarize(o, result, perSecond))));
    instance.on('tick', (c) => { perSecond.push(c.counter); });
    if (o.progress !== null) autocannon.track(instance, { renderProgressBar: true, renderResultsTable: false, outputStream: o.progress });
  });
}

function summarize(o: HttpLoadOptions, r: Result, perSecond: number[]): HttpLoadSummary {
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = stat.count;
  return {
    scenario: 'http',
    url: o.url,
    connections: o.connections,
    durationS: r.duration,
    requests: r.requests.total ?? r.requests.sent,
    requestsPerSecond: r.requests.average,
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: r.latency.mean },
    throughputBytesPerSecond: r.throughput.average,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
    // autocannon may tick once more as it stops; keep one sample per second of the run.
    perSecond: perSecond.slice(0, Math.max(1, Math.round(r.duration))),
  };
}

/** A short table for people. */
export function formatHttpSummary(s: HttpLoadSummary): string {
  const rows: Array<[string, string]> = [
    ['url', s.url],
    ['connections × seconds', `${s.connections} × ${s.durationS}`],
    ['requests', String(s.requests)],
    ['requests/s (mean)', s.requestsPerSecond.toFixed(0)],
    ['latency p50 / p90 / p99 / max (ms)', `${s.latencyMs.p50} / ${s.latencyMs.p90} / ${s.latencyMs.p99} / ${s.latencyMs.max}`],
    ['throughput (MB/s)', (s.throughputBytesPerSecond / 1e6).toFixed(2)],
    ['status codes', Object.entries(s.statusCodes).map(([c, n]) => `${c}: ${n}`).join(', ') || '–'],
    ['non-2xx / errors / timeouts', `${s.non2xx} / ${s.errors} / ${s.timeouts}`],
    ['requests/s per second', s.perSecond.join(' ')],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}
