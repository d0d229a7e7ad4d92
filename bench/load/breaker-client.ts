// Load client of the circuit-breaker scenario. Closed loop over `conns` keep-alive connections, and
// it drives the flaky origin's mode itself, so the phase switches and the response timeline share
// one clock:
//   warm-up (origin healthy) → origin fails at t0 → wait (≤ tripWaitS) for a bucket of ≥ 95 % 503
//   (the breaker is open) → the open window [ta, tb) of `openS` compares what the origin received
//   with what the client got → origin healthy again at t1 → run until a bucket is ≥ 95 % 200
//   (closed), plus 1 s, at most `recoverS`. When nothing trips (direct), the window starts at the
//   end of the wait, so it shows what a failing upstream gets without a breaker.
// Prints one line "LOADJSON {...}" (bench/load/breaker.ts parses it). Loopback only.
// Usage: node dist/bench/load/breaker-client.js '<BreakerPlan as JSON>'
import http from 'node:http';

export interface BreakerPlan {
  port: number; host: string; path: string; conns: number; controlPort: number;
  warmS: number; tripWaitS: number; openS: number; recoverS: number; bucketMs: number;
}

/** Per bucket: [200, 503, 500, other status, transport error]. */
type Bucket = [number, number, number, number, number];

const CLOSED_SHARE = 0.95;
const MIN_BUCKET_RESPONSES = 5;

const plan = JSON.parse(process.argv[2] ?? '{}') as BreakerPlan;
const agent = new http.Agent({ keepAlive: true, maxSockets: plan.conns });
const controlAgent = new http.Agent({ keepAlive: false });
const start = Date.now();
const now = (): number => Date.now() - start;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

const timeline: Bucket[] = [];
let requests = 0;
let stopped = false;
// open-window counts: set between the two stats reads
let inOpenWindow = false;
const open = { client: 0, s200: 0, s503: 0, s500: 0, other: 0, errors: 0 };

function record(status: number): void {
  const i = Math.floor(now() / plan.bucketMs);
  while (timeline.length <= i) timeline.push([0, 0, 0, 0, 0]);
  const b = timeline[i]!;
  const slot = status === 200 ? 0 : status === 503 ? 1 : status === 500 ? 2 : status > 0 ? 3 : 4;
  b[slot]++;
  if (status > 0) requests++;
  if (!inOpenWindow) return;
  if (status > 0) open.client++;
  if (status === 200) open.s200++; else if (status === 503) open.s503++; else if (status === 500) open.s500++; else if (status > 0) open.other++; else open.errors++;
}

function once(): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: plan.port, path: plan.path, agent, headers: { host: plan.host }, timeout: 5000 }, (res) => {
      res.resume();
      res.once('end', () => { record(res.statusCode ?? 0); resolve(); });
      res.once('error', () => { record(0); resolve(); });
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', () => { record(0); setTimeout(resolve, 10); });
    req.end();
  });
}

async function worker(): Promise<void> {
  while (!stopped) await once();
}

function control(method: 'GET' | 'POST', path: string): Promise<{ received: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: plan.controlPort, method, path, agent: controlAgent, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).once('end', () => {
        try { resolve(JSON.parse(body) as { received: number }); } catch (e) { reject(e); }
      });
    });
    req.once('timeout', () => req.destroy(new Error('control request timed out')));
    req.once('error', reject);
    req.end();
  });
}

/** End of the first whole bucket at or after `fromMs` whose responses are ≥ 95 % `slot`, relative to fromMs. */
function firstDominatedBucket(fromMs: number, slot: 0 | 1): number | null {
  // the newest bucket is still filling: judge only whole ones
  const whole = Math.floor(now() / plan.bucketMs);
  for (let i = Math.ceil(fromMs / plan.bucketMs); i < Math.min(timeline.length, whole); i++) {
    const b = timeline[i]!;
    const total = b[0] + b[1] + b[2] + b[3] + b[4];
    if (total >= MIN_BUCKET_RESPONSES && b[slot] / total >= CLOSED_SHARE) return (i + 1) * plan.bucketMs - fromMs;
  }
  return null;
}

await control('POST', '/reset');
const workers = Array.from({ length: plan.conns }, worker);
await sleep(plan.warmS * 1000);
await control('POST', '/mode/fail');
const t0 = now();
let trip: number | null = null;
while (trip === null && now() < t0 + plan.tripWaitS * 1000) {
  await sleep(plan.bucketMs);
  trip = firstDominatedBucket(t0, 1);
}
// one more bucket, so responses already on their way when it tripped are not in the window
await sleep((trip === null ? now() : t0 + trip + plan.bucketMs) - now());
const a = await control('GET', '/stats');
const ta = now();
inOpenWindow = true;
await sleep(ta + plan.openS * 1000 - now());
// the window closes when the origin's count is read back, so both sides count the same span
const b = await control('GET', '/stats');
inOpenWindow = false;
const tb = now();
await control('POST', '/mode/ok');
const t1 = now();
let recover: number | null = null;
while (now() < t1 + plan.recoverS * 1000) {
  await sleep(plan.bucketMs);
  recover = firstDominatedBucket(t1, 0);
  if (recover !== null && now() >= t1 + recover + 1000) break;
}
stopped = true;
await Promise.all(workers);
const upstream = b.received - a.received;
console.log(`LOADJSON ${JSON.stringify({
  requests, duration_us: now() * 1000,
  open: { ...open, upstream, seconds: (tb - ta) / 1000, share: open.client > 0 ? upstream / open.client : null },
  trip_ms: trip, recover_ms: recover,
  bucket_ms: plan.bucketMs, t0_ms: t0, t1_ms: t1, timeline,
})}`);
agent.destroy();
