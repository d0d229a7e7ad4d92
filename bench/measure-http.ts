import type { CpuList } from './processes.js';
// The HTTP scenarios' measured windows: wrk (or autocannon) keep-alive loads (S1, S2a), gzip with a byte check
// (S4), and the circuit breaker under load. Same shape as measure.ts: warm-up, host-speed probe,
// then the window over which the proxy's CPU is charged.
import { beginCpuWindow, endCpuWindow } from './cpu.js';
import { jsonBody } from './fixtures.js';
import { checkBody, type BodyCheck } from './load/body-check.js';
import { runBreaker, type BreakerResult } from './load/breaker.js';
import { runAutocannon } from './load/autocannon-load.js';
import { runWrk, type HttpClientKind, type WrkRequest, type WrkResult } from './load/wrk.js';
import { probes, type MeasureContext, type Measured } from './measure.js';
import { EDGEPLANE_BREAKER } from './peers/edgeplane.js';
import { flakyControlPort, SNI_NAMES } from './ports.js';

/** Every HTTP load names this host: edgeplane routes cleartext requests by Host (http.plain_mode: serve). */
export const APP_HOST = SNI_NAMES[0];

export type HttpDetail = WrkResult | (WrkResult & { body: BodyCheck }) | BreakerResult;

// Buckets of the breaker timeline: the resolution of its trip and recovery times.
const BREAKER_BUCKET_MS = 100;
// How long a proxy gets to trip once the origin fails. Hystrix counts the warm-up's successes in
// its rolling window, so it trips only once failures outweigh them: allow the whole window.
const BREAKER_TRIP_WAIT_S = EDGEPLANE_BREAKER.rolling_window + 2;

function wrkErrors(r: WrkResult): number {
  return r.err_connect + r.err_read + r.err_write + r.err_status + r.err_timeout;
}

// The keep-alive load of the whole run (run.ts sets it once from --http-client): wrk, or autocannon
// where wrk is not installed; both return wrk's result shape.
let httpClient: HttpClientKind = 'wrk';
export function setHttpClient(kind: HttpClientKind): void { httpClient = kind; }

function runHttpLoad(cpu: CpuList, req: WrkRequest, conns: number, seconds: number): Promise<WrkResult> {
  return httpClient === 'wrk' ? runWrk(cpu, req, conns, seconds) : runAutocannon(cpu, req, conns, seconds);
}

export async function measureWrk(m: MeasureContext, req: WrkRequest): Promise<Measured> {
  await runHttpLoad(m.cpuLoad, req, m.conns, m.warmupSeconds);
  const probe_ms = probes();
  const w = beginCpuWindow(m.pid, m.originPid);
  const r = await runHttpLoad(m.cpuLoad, req, m.conns, m.seconds);
  const cpu = endCpuWindow(w);
  return {
    rate: r.requests / (r.duration_us / 1e6), work: r.requests,
    cpu_per_unit: r.requests > 0 ? (cpu.proc_cpu_s * 1e6) / r.requests : NaN,
    errors: wrkErrors(r), cpu, probe_ms, detail: r,
  };
}

let expectedJson: Buffer | undefined;

// S4: one request checked byte for byte first (size on the wire, encoding, decodes to the origin's
// body), then the same request under load. A body that does not decode counts as an error.
export async function measureGzip(m: MeasureContext, port: number): Promise<Measured> {
  expectedJson ??= Buffer.from(jsonBody());
  const body = await checkBody(m.cpuLoad, port, APP_HOST, '/json', 'gzip', expectedJson);
  const r = await measureWrk(m, { port, tls: false, host: APP_HOST, path: '/json', headers: ['Accept-Encoding: gzip'] });
  const bad = body.status !== 200 || !body.body_matches ? 1 : 0;
  return { ...r, errors: r.errors + bad, detail: { ...(r.detail as WrkResult), body } };
}

// Breaker: the client drives the flaky origin through failing and recovering (bench/load/breaker-client.ts).
// rate = client responses/s while open; CPU is charged over the whole run (healthy, failing, open, recovering).
export async function measureBreaker(m: MeasureContext, port: number): Promise<Measured> {
  const probe_ms = probes();
  const w = beginCpuWindow(m.pid, m.originPid);
  const r = await runBreaker(m.cpuLoad, {
    port, host: APP_HOST, path: '/small', conns: m.conns, controlPort: flakyControlPort(),
    warmS: m.warmupSeconds, tripWaitS: m.direct ? 1 : BREAKER_TRIP_WAIT_S, openS: m.seconds,
    recoverS: 3 * EDGEPLANE_BREAKER.tripped_duration + 4, bucketMs: BREAKER_BUCKET_MS,
  });
  const cpu = endCpuWindow(w);
  const errors = r.timeline.reduce((a, b) => a + (b[4] ?? 0), 0);
  return {
    rate: r.open.seconds > 0 ? r.open.client / r.open.seconds : 0, work: r.requests,
    cpu_per_unit: r.requests > 0 ? (cpu.proc_cpu_s * 1e6) / r.requests : NaN,
    errors, cpu, probe_ms, detail: r,
  };
}
