// `edgeplane bench http`: keep-alive HTTP load with autocannon against any URL (an edge, or the upstream
// directly for the comparison), with a live progress line and a summary a person or a machine can read.
import autocannon, { type Result } from 'autocannon';
import { LatencyHistogram, type LatencyBucket, type LatencyStats } from './histogram.js';

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
  /** request sent to response complete, every response (autocannon's own figures are whole milliseconds) */
  latencyMs: LatencyStats;
  latencyDistribution: LatencyBucket[];
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
    const latencies = new LatencyHistogram();
    const instance = autocannon({
      url: o.url,
      connections: o.connections,
      duration: o.durationS,
      method: o.method,
      headers: o.headers,
      ...(o.body === undefined ? {} : { body: o.body }),
      ...(o.servername === undefined ? {} : { servername: o.servername }),
    }, (err, result) => (err !== null ? reject(err) : resolve(summarize(o, result, perSecond, latencies))));
    instance.on('tick', (c) => { perSecond.push(c.counter); });
    instance.on('response', (_client, _status, _bytes, responseTime) => { latencies.record(responseTime); });
    if (o.progress !== null) autocannon.track(instance, { renderProgressBar: true, renderResultsTable: false, outputStream: o.progress });
  });
}

function summarize(o: HttpLoadOptions, r: Result, perSecond: number[], latencies: LatencyHistogram): HttpLoadSummary {
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = stat.count;
  return {
    scenario: 'http',
    url: o.url,
    connections: o.connections,
    durationS: r.duration,
    requests: r.requests.total ?? r.requests.sent,
    requestsPerSecond: r.requests.average,
    latencyMs: latencies.stats(),
    latencyDistribution: latencies.buckets(),
    throughputBytesPerSecond: r.throughput.average,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
    // autocannon may tick once more as it stops; keep one sample per second of the run.
    perSecond: perSecond.slice(0, Math.max(1, Math.round(r.duration))),
  };
}
