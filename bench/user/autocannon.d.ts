// The part of autocannon's API edgeplane bench uses (the package ships no types).
declare module 'autocannon' {
  interface Histogram { average: number; mean: number; stddev: number; min: number; max: number; p50: number; p90: number; p99: number; p99_9?: number; total?: number }
  export interface Result {
    requests: Histogram & { sent: number };
    latency: Histogram & { p2_5: number; p97_5: number };
    throughput: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    duration: number;
    start: Date;
    finish: Date;
    statusCodeStats: Record<string, { count: number }>;
  }
  export interface Options {
    url: string;
    connections?: number;
    duration?: number;
    amount?: number;
    pipelining?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    servername?: string;
    timeout?: number;
  }
  export interface Instance {
    stop(): void;
    on(event: 'tick', fn: (counter: { counter: number; bytes: number }) => void): void;
    /** every response; responseTime in ms (fractional, from process.hrtime) */
    on(event: 'response', fn: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): void;
  }
  interface Autocannon {
    (opts: Options, cb: (err: Error | null, result: Result) => void): Instance;
    track(instance: Instance, opts?: { renderProgressBar?: boolean; renderResultsTable?: boolean; outputStream?: NodeJS.WritableStream }): void;
  }
  const autocannon: Autocannon;
  export default autocannon;
}
