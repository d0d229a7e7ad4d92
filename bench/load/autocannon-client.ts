// Keep-alive HTTP load with autocannon, for machines without wrk: run by autocannon-load.ts under
// taskset, so it is pinned to the load core and its CPU is charged as load. One process, closed loop,
// `conns` connections, 5 s request timeout (as wrk). Prints one line "LOADJSON {...}" in wrk's shape
// (wrk-report.lua): latencies in µs, but autocannon records them in whole milliseconds.
// Usage: node dist/bench/load/autocannon-client.js '<AutocannonPlan as JSON>'
import autocannon, { type Options } from 'autocannon';
import type { ConnectionOptions } from 'node:tls';
import type { WrkRequest, WrkResult } from './wrk.js';

export interface AutocannonPlan extends WrkRequest { conns: number; seconds: number }

const plan = JSON.parse(process.argv[2] ?? '{}') as AutocannonPlan;
const headers: Record<string, string> = { host: plan.host };
for (const h of plan.headers ?? []) {
  const colon = h.indexOf(':');
  if (colon > 0) headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
}
const options: Options & { tlsOptions: ConnectionOptions } = {
  // the URL names 127.0.0.1; the SNI and Host name the app (as wrk with WRK_CONNECT_PORT)
  url: `${plan.tls ? 'https' : 'http'}://127.0.0.1:${plan.port}${plan.path}`,
  connections: plan.conns, duration: plan.seconds, timeout: 5, headers,
  ...(plan.tls ? { servername: plan.host } : {}),
  tlsOptions: { minVersion: 'TLSv1.3' },
};

autocannon(options, (err, r) => {
  if (err) { process.stderr.write(`autocannon: ${err.message}\n`); process.exit(1); }
  const ms = (v: number | undefined): number => Math.round((v ?? 0) * 1000);
  const result: WrkResult = {
    requests: r.requests.total ?? 0, duration_us: Math.round(r.duration * 1e6), bytes: r.throughput.total ?? 0,
    // autocannon counts timeouts among its errors and does not tell connect from read errors
    err_connect: r.errors - r.timeouts, err_read: 0, err_write: 0, err_status: r.non2xx, err_timeout: r.timeouts,
    p50_us: ms(r.latency.p50), p90_us: ms(r.latency.p90), p99_us: ms(r.latency.p99), p999_us: ms(r.latency.p99_9),
    mean_us: ms(r.latency.mean), max_us: ms(r.latency.max),
  };
  console.log(`LOADJSON ${JSON.stringify(result)}`);
});
