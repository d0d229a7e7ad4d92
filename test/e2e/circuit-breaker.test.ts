// The circuit breaker end to end, with four workers sharing one breaker: a failing origin driven over
// many client connections (spread over several workers) trips it once for the whole process, so the
// origin stops seeing traffic soon after volume_threshold failures, not volume_threshold per worker;
// refusals are 503 ERR_NGROK_3202; after tripped_duration one trial request goes through
// (allow_while_open), a failing trial keeps it open, and a successful one closes it.
import t from 'tap';
import https from 'node:https';
import { makePki } from '../helpers/pki.js';
import { metricValue, startDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { httpsRequest, startOrigin, type SeenRequest, exampleTestCertificates } from '../helpers/http.js';

const pki = makePki();
t.teardown(() => pki.cleanup());
const CA = pki.read('ca.crt');
const APP = 'cb.example.test';
const WORKERS = 4;
const VOLUME = 20;
const TRIPPED_MS = 2000;
// Client connections driving the first burst: two per worker when the load spreads evenly. Fewer
// connections than VOLUME keeps "shared breaker" (≤ VOLUME + in-flight) and "one breaker per worker"
// (≥ VOLUME on each worker that served) far apart.
const BURST_CONNECTIONS = 8;
const BURST_PER_CONNECTION = 40;

let healthy = false;
const origin = await startOrigin(t, (req, res) => {
  req.resume();
  const body = healthy ? 'fine\n' : 'broken\n';
  res.writeHead(healthy ? 200 : 500, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});

const port = await freePort();
const daemon = await startDaemon(t, {
  workers: WORKERS,
  listen_address: '127.0.0.1',
  ...exampleTestCertificates(pki),
  backends: [{ id: 'bkd_origin', type: 'static_address', address: origin.address }],
  edges: [{
    id: 'edghts_cb', type: 'https', hostports: [`${APP}:${port}`],
    routes: [{
      id: 'rt_cb', match_type: 'path_prefix', match: '/cb', backend: { backend_id: 'bkd_origin' },
      circuit_breaker: { volume_threshold: VOLUME, error_threshold_percentage: 0.5, rolling_window: 10, num_buckets: 10, tripped_duration: TRIPPED_MS / 1000 },
      // the origin learns which breaker decision let each request through
      request_headers: { add: { 'x-breaker-decision': '${.circuit_breaker.decision}' } },
    }],
  }],
});

const decisionOf = (r: SeenRequest): string => String(r.headers['x-breaker-decision']);
const trials = (): SeenRequest[] => origin.requests.filter((r) => decisionOf(r) === 'allow_while_open');
const labels = '{edge="edghts_cb",route="rt_cb"}';

interface Shot { connection: number; status: number; code: string | undefined; at: number }

/**
 * Requests on `connections` keep-alive client connections at once, each sending one request after the
 * other (every `paceMs`), until `perConnection` requests each, or `until()` holds, or the deadline.
 */
async function drive(connections: number, opts: { perConnection?: number; paceMs?: number; until?: () => boolean; deadlineMs: number }): Promise<{ shots: Shot[]; timedOut: boolean }> {
  const shots: Shot[] = [];
  let stop = false;
  let timedOut = false;
  const deadline = Date.now() + opts.deadlineMs;
  const loop = async (connection: number): Promise<void> => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let n = 0; !stop && n < (opts.perConnection ?? Infinity); n++) {
        const res = await httpsRequest({ port, host: APP, ca: CA, path: `/cb/${connection}/${n}`, agent });
        shots.push({ connection, status: res.status, code: res.headers['ngrok-error-code'] as string | undefined, at: Date.now() });
        if (opts.until?.() === true) stop = true;
        if (Date.now() > deadline) { timedOut = true; stop = true; }
        if (!stop && opts.paceMs !== undefined) await new Promise((r) => setTimeout(r, opts.paceMs));
      }
    } finally {
      agent.destroy();
    }
  };
  await Promise.all(Array.from({ length: connections }, (_, i) => loop(i)));
  return { shots, timedOut };
}

const workerConnections = async (): Promise<number[]> => {
  const text = await daemon.metrics();
  return Array.from({ length: WORKERS }, (_, i) => metricValue(text, 'edgeplane_worker_connections_total', `{worker="${i}"}`) ?? 0);
};

let firstRefusalAt = 0;

t.test('a failing origin trips one breaker for all workers', async (t) => {
  const before = await workerConnections();
  const { shots } = await drive(BURST_CONNECTIONS, { perConnection: BURST_PER_CONNECTION, deadlineMs: 20_000 });
  const after = await workerConnections();
  const busyWorkers = after.filter((n, i) => n > before[i]!).length;
  t.ok(busyWorkers >= 2, `the ${BURST_CONNECTIONS} client connections were served by ${busyWorkers} of ${WORKERS} workers`);

  t.equal(shots.length, BURST_CONNECTIONS * BURST_PER_CONNECTION, 'every request was answered');
  const failures = shots.filter((s) => s.status === 500);
  const refusals = shots.filter((s) => s.status === 503);
  t.equal(failures.length + refusals.length, shots.length, 'only the origin\'s 500s and the breaker\'s 503s');
  t.ok(failures.every((s) => s.code === undefined), 'the origin\'s 500s carry no error code');
  t.ok(refusals.length > 0 && refusals.every((s) => s.code === 'ERR_NGROK_3202'), `${refusals.length} refusals, each 503 with ngrok-error-code: ERR_NGROK_3202`);
  const refusedConnections = new Set(refusals.map((s) => s.connection));
  t.equal(refusedConnections.size, BURST_CONNECTIONS, 'every client connection, whichever worker owns it, saw the breaker open');
  firstRefusalAt = Math.min(...refusals.map((s) => s.at));

  // Requests let through while closed: the VOLUME that trips it, plus those already in flight on the
  // other connections when it tripped (and a little for counts racing at a bucket boundary).
  const admittedClosed = origin.requests.filter((r) => decisionOf(r) === 'allow').length;
  const bound = VOLUME + BURST_CONNECTIONS + 4;
  t.ok(admittedClosed >= VOLUME, `the breaker waited for volume_threshold (${admittedClosed} ≥ ${VOLUME})`);
  t.ok(admittedClosed <= bound, `the origin saw ${admittedClosed} requests before the trip (≤ ${bound}; one breaker per worker would let ≥ ${VOLUME * busyWorkers} through)`);
  t.ok(origin.requests.length <= bound + trials().length, `origin total ${origin.requests.length}, trials included`);

  const metrics = await daemon.metrics();
  t.equal(metricValue(metrics, 'edgeplane_circuit_breaker_trips_total', labels), 1, 'tripped exactly once for the process');
  t.equal(metricValue(metrics, 'edgeplane_circuit_breaker_open', labels), 1, 'and is open');
});

t.test('after tripped_duration one trial goes through; a failing trial keeps the breaker open', async (t) => {
  const hitsBefore = origin.requests.length;
  let trialSeenAt = 0;
  // Load from several connections until the trial has reached the origin, then 700 ms more: well
  // inside the next tripped_duration, so nothing else may pass.
  const { shots, timedOut } = await drive(4, {
    paceMs: 25,
    deadlineMs: TRIPPED_MS + 5000,
    until: () => {
      if (trialSeenAt === 0 && origin.requests.length > hitsBefore) trialSeenAt = Date.now();
      return trialSeenAt !== 0 && Date.now() - trialSeenAt > 700;
    },
  });
  t.notOk(timedOut, 'a trial request came');
  const newHits = origin.requests.slice(hitsBefore);
  t.equal(newHits.length, 1, 'exactly one request reached the origin');
  t.equal(decisionOf(newHits[0]!), 'allow_while_open', 'as a trial (allow_while_open)');
  const failed = shots.filter((s) => s.status !== 503);
  t.same(failed.map((s) => s.status), [500], 'the client got the trial\'s 500; everything else was refused');
  t.ok(shots.filter((s) => s.status === 503).every((s) => s.code === 'ERR_NGROK_3202'));
  const waited = failed[0]!.at - firstRefusalAt;
  t.ok(waited >= TRIPPED_MS - 300, `the trial came ${waited} ms after the first refusal (tripped_duration ${TRIPPED_MS} ms)`);
  t.ok(shots.some((s) => s.at > failed[0]!.at && s.status === 503), 'requests after the failed trial are refused again');

  const metrics = await daemon.metrics();
  t.equal(metricValue(metrics, 'edgeplane_circuit_breaker_open', labels), 1, 'still open');
  t.equal(metricValue(metrics, 'edgeplane_circuit_breaker_trips_total', labels), 1, 'no new trip: it never closed');
});

t.test('once the origin recovers, a successful trial closes the breaker and traffic flows', async (t) => {
  healthy = true;
  const firstTrialAt = trials()[0]!;
  t.ok(firstTrialAt, 'the first trial is on record');
  const hitsBefore = origin.requests.length;
  const { shots, timedOut } = await drive(4, {
    paceMs: 25,
    deadlineMs: TRIPPED_MS + 5000,
    until: () => origin.requests.slice(hitsBefore).some((r) => decisionOf(r) === 'allow'),
  });
  t.notOk(timedOut, 'traffic flows again');
  const newHits = origin.requests.slice(hitsBefore);
  t.equal(decisionOf(newHits[0]!), 'allow_while_open', 'the first request through is a trial');
  t.equal(newHits.filter((r) => decisionOf(r) === 'allow_while_open').length, 1, 'one trial was enough');
  t.ok(newHits.slice(1).every((r) => decisionOf(r) === 'allow'), 'then the breaker is closed: plain allows');
  const firstOk = shots.findIndex((s) => s.status === 200);
  t.ok(firstOk >= 0, 'a 200 came back');
  t.ok(shots.slice(0, firstOk).every((s) => s.status === 503 && s.code === 'ERR_NGROK_3202'), 'refused until the trial');

  const burst = await drive(BURST_CONNECTIONS, { perConnection: 10, deadlineMs: 20_000 });
  t.same([...new Set(burst.shots.map((s) => s.status))], [200], `a burst of ${burst.shots.length} requests all get 200`);
  const metrics = await daemon.metrics();
  t.equal(metricValue(metrics, 'edgeplane_circuit_breaker_open', labels), 0, 'closed');
  t.equal(metricValue(metrics, 'edgeplane_circuit_breaker_trips_total', labels), 1, 'still one trip in all');
});

t.test('events record every decision: allow, block, and the two trials', async (t) => {
  const total = origin.requests.length;
  let events: Array<Record<string, any>> = [];
  const until = Date.now() + 10_000;
  // every request so far is in the events file once the sink has caught up
  for (;;) {
    events = daemon.events().filter((e) => e.event_type === 'http_request_complete.v0' && e.object.route?.id === 'rt_cb');
    if (events.filter((e) => e.object.circuit_breaker?.decision !== 'block').length >= total || Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const byDecision = (d: string) => events.filter((e) => e.object.circuit_breaker?.decision === d);
  t.equal(byDecision('allow').length + byDecision('allow_while_open').length, total, 'one allow event per request the origin saw');
  const trialEvents = byDecision('allow_while_open');
  t.same(trialEvents.map((e) => e.object.http.response.status_code), [500, 200], 'two trials: the failing one, then the one that closed it');
  t.ok(byDecision('block').length > 0, 'refusals are block');
  t.ok(byDecision('block').every((e) => e.object.http.response.status_code === 503), 'and 503');
  t.ok(events.every((e) => e.object.circuit_breaker !== undefined), 'every request on the route carries a decision');
});
