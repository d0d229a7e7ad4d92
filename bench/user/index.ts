// `edgeplane/bench`: the load generators of `edgeplane bench` as a library. Each call runs one load
// and resolves with the same summary the command prints with --json; renderHtmlReport/renderSvgReport
// turn a summary into the --report file. autocannon is loaded on the first benchHttp call only.
import type { HttpLoadOptions, HttpLoadSummary } from './http-load.js';
import { runTcpLoad, type TcpLoadOptions, type TcpLoadSummary, type TcpMode } from './tcp-load.js';
import { runTlsLoad, type TlsLoadOptions, type TlsLoadSummary } from './tls-load.js';

export type { HttpLoadSummary, TcpLoadSummary, TcpMode, TlsLoadSummary };
export type { LatencyBucket, LatencyStats } from './histogram.js';
export type { BenchSummary, ThroughputSeries } from './summary.js';
export { formatSummary, summaryRows, throughputSeries } from './summary.js';
export { renderHtmlReport, renderSvgReport, type ReportMeta } from './report-html.js';
export { DEFAULT_BULK_BYTES, TCP_MODES } from './tcp-load.js';

/** Defaults of every load: 64 connections for 10 s, no progress output. */
interface Common { connections?: number; durationS?: number; progress?: NodeJS.WritableStream | null }

export type BenchHttpOptions = Common & Pick<HttpLoadOptions, 'url'> & Partial<Pick<HttpLoadOptions, 'headers' | 'method' | 'body' | 'servername'>>;
export type BenchTlsOptions = Common & Pick<TlsLoadOptions, 'host' | 'port'> & Partial<Pick<TlsLoadOptions, 'servername' | 'path'>>;
/** connections default to 4 for bulk and download */
export type BenchTcpOptions = Common & Pick<TcpLoadOptions, 'host' | 'port'> & Partial<Pick<TcpLoadOptions, 'mode' | 'send' | 'expectBytes' | 'sizeBytes'>>;

const common = (o: Common, connections = 64): { connections: number; durationS: number; progress: NodeJS.WritableStream | null } =>
  ({ connections: o.connections ?? connections, durationS: o.durationS ?? 10, progress: o.progress ?? null });

/** Keep-alive HTTP/1.1 load with autocannon: requests/s, latencies, status codes. */
export async function benchHttp(o: BenchHttpOptions): Promise<HttpLoadSummary> {
  const { runHttpLoad } = await import('./http-load.js');
  return runHttpLoad({ ...common(o), url: o.url, headers: o.headers ?? {}, method: o.method ?? 'GET',
    ...(o.body === undefined ? {} : { body: o.body }), ...(o.servername === undefined ? {} : { servername: o.servername }) });
}

/** New TLS connections per second, a full handshake each; `path` sends one GET per connection (default: handshake only). */
export async function benchTls(o: BenchTlsOptions): Promise<TlsLoadSummary> {
  return runTlsLoad({ ...common(o), host: o.host, port: o.port, servername: o.servername ?? o.host, path: o.path ?? null });
}

/** New TCP connections per second (mode connect, the default), or MB/s of echoed (bulk) or downloaded bytes. */
export async function benchTcp(o: BenchTcpOptions): Promise<TcpLoadSummary> {
  const mode = o.mode ?? 'connect';
  return runTcpLoad({ ...common(o, mode === 'connect' ? 64 : 4), host: o.host, port: o.port, mode,
    send: o.send ?? null, expectBytes: o.expectBytes ?? null, sizeBytes: o.sizeBytes ?? null });
}
