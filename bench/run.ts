// Side-by-side bench: TLS passthrough, TCP forwarding and the HTTP jobs (reverse proxy, TLS
// termination, gzip, circuit breaker) through edgeplane, nginx, haproxy, caddy (and http-proxy, fastify for plain HTTP),
// each beside going direct to the origin in the same run. Method (pinning, /proc CPU accounting,
// interleaved repetitions) follows the peer harness in /work/shared/peers-bench.
// Usage: node dist/bench/run.js [--scenarios a,b] [--peers direct,edgeplane,nginx,haproxy,caddy] [--reps 3] [--duration 10] [--json out.json]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { ensureFixtures } from './fixtures.js';
import { prepareConnsClient, type ConnsClient } from './load/tls-conns.js';
import { collectMeta, edgeplaneBuildTime, log } from './meta.js';
import { parseOptions, type BenchOptions } from './options.js';
import { startFlakyOrigin, startOrigin, type Origin } from './origin/origin.js';
import { measurePoint, type PointSetup } from './point.js';
import { cpuListCores, isRunning, killAllChildren, stopChild, type BenchChild } from './processes.js';
import { setProxyWorkers } from './peers/workers.js';
import { flakyControlPort, flakyHttpPort, isPortFree, originHttpPort, originTlsPorts, setPortOffset } from './ports.js';
import { jobKey, jobOf, jobPorts, notApplicable, preparePeers, type Job, type PeerContext, type PeerName } from './peers/registry.js';
import { autocannonVersion } from './load/autocannon-load.js';
import { chooseHttpClient, wrkVersion } from './load/wrk.js';
import { setHttpClient } from './measure-http.js';
import { CADDY_PASSIVE_HEALTH } from './peers/caddy.js';
import { EDGEPLANE_BREAKER } from './peers/edgeplane.js';
import { HAPROXY_BREAKER_CHECK_S } from './peers/haproxy.js';
import { proxyWorkers } from './peers/workers.js';
import { renderMarkdown, type PointRecord, type RunRecord } from './report.js';
import { SCENARIOS } from './scenarios.js';

// a core counts as quiet below this busy % (this machine is shared with builds and tests)
const QUIET_PCT = 10;
// a point is retried (up to --retries) when either core had more than this much foreign work
const NOISY_PCT = 15;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));


function noise(p: PointRecord): number { return Math.max(0, ...(p.other_pct ?? [])); }

function logPoint(p: PointRecord, cpuProxy: string): void {
  const sc = SCENARIOS[p.scenario];
  const waited = p.settle && p.settle.waited_ms > 600 ? ` [waited ${(p.settle.waited_ms / 1000).toFixed(1)}s for quiet cores, then ${p.settle.busy_pct.join('/')} %]` : '';
  log(`rep ${p.rep} ${p.scenario} ${p.peer} try ${p.attempts}${waited}: ${p.ok
    ? `${p.rate?.toFixed(1)} ${sc.rateUnit}, ${p.cpu_per_unit?.toFixed(2)} ${sc.cpuUnit}, cores ${p.core_pct?.join('/')} % busy (other ${p.other_pct?.join('/')} %; proxy core CPU${cpuProxy}), errors ${p.errors}`
    : `FAILED: ${(p.error ?? '').split('\n').slice(0, 3).join(' | ')}`}`);
}

async function checkPorts(o: BenchOptions, jobs: readonly Job[], skipped: Map<PeerName, string>): Promise<void> {
  const origins = [originHttpPort(), ...originTlsPorts(), ...(jobs.includes('breaker') ? [flakyHttpPort(), flakyControlPort()] : [])];
  for (const port of origins) {
    if (!(await isPortFree(port))) throw new Error(`origin port ${port} is in use; stop whatever holds it, or move every port with --port-offset`);
  }
  for (const peer of o.peers) {
    if (peer === 'direct' || skipped.has(peer)) continue;
    const ports = jobs.flatMap((job) => jobPorts(peer, job));
    for (const port of ports) {
      if (!(await isPortFree(port))) { skipped.set(peer, `skipped (port ${port} in use)`); break; }
    }
  }
}

/** A package's version as installed under node_modules/<dir>, if it is. */
function installedVersion(dir: string): string | undefined {
  try { return (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', dir, 'package.json'), 'utf8')) as { version: string }).version; } catch { return undefined; }
}

/** fastify and @fastify/http-proxy versions as installed (the peer's row names them). */
function fastifyVersions(): string {
  // reply-from may carry its own undici (the one that does the proxying)
  const undici = installedVersion('@fastify/reply-from/node_modules/undici') ?? installedVersion('undici');
  return `fastify ${installedVersion('fastify') ?? '?'}, @fastify/http-proxy ${installedVersion('@fastify/http-proxy') ?? '?'}, @fastify/reply-from ${installedVersion('@fastify/reply-from') ?? '?'}, undici ${undici ?? '?'}`;
}

async function main(): Promise<void> {
  // `--render run.json`: print the report of a saved run again (no measuring)
  if (process.argv[2] === '--render' && process.argv[3]) {
    const saved = JSON.parse(readFileSync(process.argv[3], 'utf8')) as RunRecord & { options: BenchOptions };
    process.stdout.write(renderMarkdown(saved, saved.options.peers, saved.options.scenarios));
    return;
  }
  const o = parseOptions(process.argv.slice(2));
  const deadline = Date.now() + o.maxMinutes * 60_000;
  setPortOffset(o.portOffset);
  setProxyWorkers(o.workers);
  // keep the runner itself off the proxy core
  execFileSync('taskset', ['-pc', String(o.cpuLoad), String(process.pid)], { stdio: 'ignore' });

  const outDir = join(REPO_ROOT, 'bench/out');
  const workDir = join(outDir, 'work');
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  // configs, pids and logs per run, so two runners on one tree do not rewrite each other's configs
  const runDir = join(workDir, `run-${stamp}-${process.pid}`);
  const ctx: PeerContext = {
    repoRoot: REPO_ROOT, confDir: join(runDir, 'conf'), tmpDir: join(runDir, 'tmp'), logDir: join(runDir, 'logs'), cpuProxy: o.cpuProxy,
  };
  for (const d of [ctx.confDir, ctx.tmpDir, ctx.logDir]) mkdirSync(d, { recursive: true });

  const fixtures = ensureFixtures(workDir);
  ctx.certs = { cert: fixtures.cert, key: fixtures.key, combined: fixtures.combined };
  const jobs = [...new Set(o.scenarios.map((sc) => jobOf(SCENARIOS[sc].port)))];
  const { skipped, jobSkipped } = preparePeers(ctx, o.peers, jobs);
  await checkPorts(o, jobs, skipped);
  for (const [peer, reason] of skipped) log(`${peer}: ${reason}`);
  for (const [key, reason] of jobSkipped) log(`${key}: ${reason}`);
  const needsConns = o.scenarios.includes('tls-passthrough-conns') || o.scenarios.includes('https-handshake');
  const usesHttpLoad = o.scenarios.some((sc) => ['http-keepalive', 'https-keepalive', 'http-gzip-json'].includes(sc));
  const httpClient = usesHttpLoad ? chooseHttpClient(o.httpClient) : 'wrk';
  setHttpClient(httpClient);
  const client: ConnsClient = needsConns ? prepareConnsClient(REPO_ROOT, workDir, o.client) : { kind: 'node-tls', script: '', version: 'unused' };

  const run: RunRecord = { meta: {}, options: o, points: [], skipped: [], notes: [] };
  if (o.scenarios.includes('http-breaker')) {
    const b = EDGEPLANE_BREAKER;
    run.notes.push(`http-breaker settings: edgeplane circuit_breaker ${Object.entries(b).map(([k, v]) => `${k}=${v}`).join(', ')} `
      + `(target: the upstream sees ≤ 1 % of requests while open; closes within tripped_duration + one bucket = ${b.tripped_duration + b.rolling_window / b.num_buckets} s); `
      + `haproxy has no Hystrix breaker: observe layer7, error-limit 10, on-error mark-down, health check GET /small every ${HAPROXY_BREAKER_CHECK_S} s (also while down), rise 1 — `
      + 'its health checks count as upstream traffic. Times have the resolution of the client\'s 100 ms buckets.');
    if (o.peers.includes('caddy')) {
      const h = CADDY_PASSIVE_HEALTH;
      run.notes.push(`http-breaker, caddy: no circuit breaker either; its nearest equivalent is passive health checks (fail_duration ${h.fail_duration}, `
        + `max_fails ${h.max_fails}, unhealthy_status 5xx): the upstream is down while ${h.max_fails} or more 5xx answers are less than ${h.fail_duration} old, `
        + 'and caddy answers 503 meanwhile; there is no half-open probe, so traffic resumes when the failures age out.');
    }
  }
  if (usesHttpLoad && httpClient === 'autocannon') {
    run.notes.push('Keep-alive HTTP load by autocannon, not wrk (titles that say wrk: same connections, request and timeout): one node process costs '
      + 'the shared load core several times what wrk does per request, so direct rows and the faster proxies are bounded by the load core '
      + '(see CPU1 %): compare CPU per request, not rates, and not with wrk runs. Latencies have whole-millisecond resolution.');
  }
  if (o.peers.includes('caddy') && o.scenarios.some((sc) => jobOf(SCENARIOS[sc].port) !== 'l4')) {
    run.notes.push('caddy: JSON config (peers-bench\'s settings; the Caddyfile cannot turn session tickets off): TLS 1.3 only, session tickets off; '
      + 'its TLS stack (Go crypto/tls) keeps no server-side session cache, so there is no cache to turn off; HTTP/1.1 only; gzip at level 1 (encode); '
      + `GOMAXPROCS=${proxyWorkers()}; admin API and automatic HTTPS off; error log of proxied requests (http.log.error) not written.`);
  }
  let origin: Origin | undefined;
  let flaky: BenchChild | undefined;
  try {
    origin = await startOrigin(o.origin, fixtures, ctx, o.cpuLoad);
    if (jobs.includes('breaker')) flaky = await startFlakyOrigin(ctx, o.cpuLoad);
    run.meta = collectMeta({
      origin: `${origin.kind} (1 process${origin.kind === 'nginx' ? ', 1 worker' : ''}, TLS 1.3, ECDSA P-256, no session resumption) pinned to CPU${o.cpuLoad}`,
      conns_client: needsConns ? client.version : 'unused',
      http_client: !usesHttpLoad ? 'unused' : httpClient === 'wrk' ? `${wrkVersion()} (1 thread, ${o.conns} connections)`
        : `${autocannonVersion()} on node ${process.version} (1 process, ${o.conns} connections; latencies in whole ms)${o.httpClient === 'auto' ? ', because wrk is not installed' : ''}`,
      ...(o.peers.includes('fastify') ? { fastify: fastifyVersions() } : {}),
      ...(o.peers.includes('http-proxy') ? { http_proxy: `http-proxy ${installedVersion('http-proxy') ?? '?'} behind node:http, keep-alive http.Agent (maxSockets 256)` } : {}),
      ...(jobs.includes('breaker') ? { breaker_upstream: `node flaky origin (bench/origin/flaky-origin.ts) pinned to CPU${o.cpuLoad}; breaker load: node client, ${o.conns} keep-alive connections` } : {}),
      edgeplane_build: `newest dist/core|dist/workers .js at ${edgeplaneBuildTime()}`,
      pinning: `proxy CPU${o.cpuProxy} (${o.workers} worker${o.workers > 1 ? 's' : ''}${cpuListCores(o.cpuProxy).some((c) => cpuListCores(o.cpuLoad).includes(c)) ? ', sharing cores with the load' : ', alone'}); load generator + origin + this runner CPU${o.cpuLoad}`,
      params: `reps=${o.reps} duration=${o.duration}s warmup=${o.warmup}s settle≤${o.settle}s (cores <${QUIET_PCT} % busy) retries≤${o.retries} (other work >${NOISY_PCT} % of a core) conns=${o.conns} port-offset=${o.portOffset} bulk=${o.bulkPerConn}×64MiB per connection, repeated for the duration`,
    });
    log(`origin: ${run.meta.origin}; client: ${run.meta.conns_client}; keep-alive HTTP client: ${run.meta.http_client}`);
    const active = o.peers.filter((p) => !skipped.has(p));

    const setup: PointSetup = {
      ctx, origin, flaky, cpuProxy: o.cpuProxy, settleMs: o.settle * 1000, quietPct: QUIET_PCT,
      base: { cpuLoad: o.cpuLoad, seconds: o.duration, warmupSeconds: o.warmup, conns: o.conns, bulkPerConn: o.bulkPerConn, client },
    };
    // keyed by peer/job: a proxy that cannot start one job's config may still run the others
    const broken = new Map<string, string>();
    points: for (let rep = 1; rep <= o.reps; rep++) {
      for (const sc of o.scenarios) {
        const job = jobOf(SCENARIOS[sc].port);
        for (const peer of active) {
          if (notApplicable(peer, SCENARIOS[sc].port) !== undefined) continue;
          if (Date.now() > deadline) { run.notes.push(`stopped at rep ${rep} ${sc} ${peer}: --max-minutes ${o.maxMinutes} reached`); break points; }
          if (!isRunning(origin.child)) throw new Error('origin exited');
          if (flaky && !isRunning(flaky)) throw new Error('flaky origin exited');
          const refused = jobSkipped.get(jobKey(peer, job));
          if (refused !== undefined) {
            run.points.push({ scenario: sc, peer, rep, ok: false, error: refused });
            continue;
          }
          const failedStart = broken.get(jobKey(peer, job));
          if (failedStart !== undefined) {
            run.points.push({ scenario: sc, peer, rep, ok: false, error: `not started (failed to start earlier: ${failedStart})` });
            continue;
          }
          let best: PointRecord | undefined;
          for (let attempt = 1; attempt <= 1 + o.retries; attempt++) {
            let p: PointRecord;
            try {
              p = await measurePoint(setup, sc, peer, rep);
            } catch (e) {
              const msg = (e as Error).message;
              broken.set(jobKey(peer, job), msg.split('\n')[0]);
              p = { scenario: sc, peer, rep, ok: false, error: msg };
            }
            p.attempts = attempt;
            logPoint(p, o.cpuProxy);
            if (!best || noise(p) < noise(best)) best = p;
            if (!p.ok || noise(p) <= NOISY_PCT || Date.now() > deadline) break;
          }
          run.points.push(best as PointRecord);
        }
      }
    }
  } finally {
    if (flaky) await stopChild(flaky);
    if (origin) await stopChild(origin.child);
    killAllChildren();
  }

  for (const [peer, reason] of skipped) run.skipped.push({ peer, reason });
  const buildAfter = `newest dist/core|dist/workers .js at ${edgeplaneBuildTime()}`;
  if (o.peers.includes('edgeplane') && buildAfter !== run.meta.edgeplane_build) {
    run.notes.push(`edgeplane was rebuilt during this run (${run.meta.edgeplane_build} → ${buildAfter}): its rows mix builds.`);
  }
  const noisy = run.points.filter((p) => p.ok && noise(p) > NOISY_PCT).length;
  if (noisy) run.notes.push(`${noisy} of ${run.points.filter((p) => p.ok).length} measured points kept more than ${NOISY_PCT} % of a core busy with work not charged to the bench's processes (other jobs on this shared machine) even after ${o.retries} retries: see the "other %" column.`);
  mkdirSync(outDir, { recursive: true });
  const rawPath = join(outDir, `run-${stamp}.json`);
  const text = JSON.stringify(run, null, 1);
  writeFileSync(rawPath, text);
  if (o.json) writeFileSync(resolve(o.json), text);
  const md = renderMarkdown(run, o.peers, o.scenarios);
  writeFileSync(join(outDir, `run-${stamp}.md`), md);
  process.stdout.write(md);
  log(`raw JSON: ${rawPath}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error).message}\n`);
  killAllChildren();
  process.exit(1);
});
