// Control plane at scale (issue 9, part 5): a whole config of N hostnames and R routes pushed through the gRPC
// control API (ApplySnapshot), timed to "ok" and, independently, to "every worker serves it" (real HTTPS requests
// on fresh connections that only the new config can answer); the daemon's RSS before/after, the encoded message
// size, and a one-route ApplyDelta afterwards (push → ok → served). A fresh daemon per rep, so every rep measures
// the same transition (small config → big config) and its own memory peak.
// Usage: node dist/bench/control-scale.js [--hostnames 100000] [--routes 10000] [--workers 2] [--reps 3]
//        [--no-small] [--json FILE]
// The small point (hostnames/10, routes/10) runs too unless --no-small.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { documentToProto } from '../core/control/convert.js';
import { processTreePids } from './cpu.js';
import { collectMeta, edgeplaneBuildTime, log } from './meta.js';
import { waitPortOpen } from './ports.js';
import { isRunning, killAllChildren, startPinned, stopChild, type BenchChild } from './processes.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOMAIN = 'example.test';
const HOSTS_PER_EDGE = 100;
/** Fresh connections per probe target and round: enough that every worker gets some (spread is checked). */
const PROBE_CONNS = 8;
const SERVE_TIMEOUT_MS = 60_000;
const RPC_DEADLINE_MS = 600_000;

type Obj = Record<string, any>;

interface Options { hostnames: number; routes: number; workers: number; reps: number; small: boolean; json?: string }

function parseOptions(argv: string[]): Options {
  const o: Options = { hostnames: 100_000, routes: 10_000, workers: 2, reps: 3, small: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const count = (): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer`);
      return n;
    };
    switch (flag) {
      case '--hostnames': o.hostnames = count(); break;
      case '--routes': o.routes = count(); break;
      case '--workers': o.workers = count(); break;
      case '--reps': o.reps = count(); break;
      case '--no-small': o.small = false; break;
      case '--json': o.json = value(); break;
      case '-h': case '--help':
        process.stdout.write('node dist/bench/control-scale.js [--hostnames 100000] [--routes 10000] [--workers 2] [--reps 3] [--no-small] [--json FILE]\n');
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default: throw new Error(`unknown option ${flag}`);
    }
  }
  return o;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => res(port));
    });
  });
}

/** VmRSS / VmHWM (KiB) summed over the daemon's process tree (its worker threads share the process). */
function memoryKiB(pid: number): { rss: number; hwm: number } {
  let rss = 0;
  let hwm = 0;
  for (const p of processTreePids(pid)) {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      rss += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      hwm += Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch { /* exited */ }
  }
  return { rss, hwm };
}

/** Self-signed ECDSA P-256 certificate for *.example.test (made once, kept under the work dir). */
function ensureCert(workDir: string): { cert: string; key: string } {
  const dir = join(workDir, 'control-scale-certs');
  const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  if (!existsSync(files.cert) || !existsSync(files.key)) {
    mkdirSync(dir, { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', files.key, '-out', files.cert, '-days', '3650', '-subj', `/CN=routes.${DOMAIN}`,
      '-addext', `subjectAltName=DNS:*.${DOMAIN}`], { stdio: 'ignore' });
  }
  return { cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
}

// A plain HTTP origin (its own process) that answers every request with its Host and URL, so a probe can tell
// that the request went through the route it aimed at.
const ORIGIN_SOURCE = `
const http = require('node:http');
const port = Number(process.argv[1]);
http.createServer((req, res) => {
  const body = JSON.stringify({ host: req.headers.host, url: req.url });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(port, '127.0.0.1');
`;

interface Ports { https: number; grpc: number; origin: number }

const hostName = (i: number): string => `h${i}.${DOMAIN}`;
const ROUTES_HOST = `routes.${DOMAIN}`;
const routePrefix = (i: number): string => `/r${i}/`;

function baseDocument(ports: Ports, apiKey: string, workers: number, stateDir: string, cert: { cert: string; key: string }): Obj {
  return {
    workers,
    listen_address: '127.0.0.1',
    drain_timeout: 1,
    admin: { listen: '127.0.0.1:0', api_keys: [apiKey], state_dir: stateDir },
    control: { grpc_listen: `127.0.0.1:${ports.grpc}` },
    tls_certificates: [{ id: 'cert_scale', certificate_pem: cert.cert, private_key_pem: cert.key }],
    reserved_domains: [{ domain: `*.${DOMAIN}`, certificate_id: 'cert_scale' }],
  };
}

function routesEdge(ports: Ports, routes: number, extra?: string): Obj {
  const list: Obj[] = [];
  for (let i = 0; i < routes; i++) list.push({ id: `rt_r${i}`, match_type: 'path_prefix', match: routePrefix(i), backend: { backend_id: 'bkd_origin' } });
  if (extra !== undefined) list.push({ id: 'rt_added', match_type: 'path_prefix', match: extra, backend: { backend_id: 'bkd_origin' } });
  return { id: 'edghts_routes', type: 'https', hostports: [`${ROUTES_HOST}:${ports.https}`], routes: list };
}

/** The big config: the base, one static backend, N hostnames in https edges of 100 hostports, one edge of R routes. */
function bigDocument(base: Obj, ports: Ports, hostnames: number, routes: number): Obj {
  const edges: Obj[] = [routesEdge(ports, routes)];
  for (let first = 0, e = 0; first < hostnames; first += HOSTS_PER_EDGE, e++) {
    const hostports: string[] = [];
    for (let i = first; i < Math.min(hostnames, first + HOSTS_PER_EDGE); i++) hostports.push(`${hostName(i)}:${ports.https}`);
    edges.push({ id: `edghts_h${e}`, type: 'https', hostports, routes: [{ id: `rt_h${e}`, match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_origin' } }] });
  }
  return { ...base, backends: [{ id: 'bkd_origin', type: 'static_address', address: `127.0.0.1:${ports.origin}` }], edges };
}

// ---- gRPC client, built from proto/control.proto as an outside control plane would ----

interface Client {
  call(method: 'ApplySnapshot' | 'ApplyDelta', request: Obj): Promise<Obj>;
  size(method: 'ApplySnapshot' | 'ApplyDelta', request: Obj): number;
  watch(): { latest: () => Obj | undefined; count: () => number; cancel: () => void };
  close(): void;
}

function controlClient(address: string, apiKey: string): Client {
  const definition = protoLoader.loadSync('control.proto', { keepCase: true, longs: Number, defaults: false, oneofs: true, includeDirs: [join(REPO_ROOT, 'proto')] });
  const service = definition['edgeplane.control.v1.ControlPlane'] as unknown as Record<string, { requestSerialize: (m: Obj) => Buffer }>;
  const pkg = grpc.loadPackageDefinition(definition) as any;
  const Ctor = pkg.edgeplane.control.v1.ControlPlane as grpc.ServiceClientConstructor;
  const raw = new Ctor(address, grpc.credentials.createInsecure(), {}) as any;
  const metadata = (): grpc.Metadata => {
    const m = new grpc.Metadata();
    m.set('authorization', `Bearer ${apiKey}`);
    return m;
  };
  return {
    call: (method, request) => new Promise((res, rej) => {
      raw[method](request, metadata(), { deadline: Date.now() + RPC_DEADLINE_MS }, (err: grpc.ServiceError | null, out: Obj) => (err ? rej(err) : res(out)));
    }),
    size: (method, request) => service[method]!.requestSerialize(request).length,
    watch: () => {
      const call = raw.WatchStatus({ interval_ms: 100 }, metadata()) as grpc.ClientReadableStream<Obj>;
      let last: Obj | undefined;
      let n = 0;
      call.on('data', (m: Obj) => { last = m; n++; });
      call.on('error', () => { /* cancelled at the end */ });
      return { latest: () => last, count: () => n, cancel: () => call.cancel() };
    },
    close: () => raw.close(),
  };
}

// ---- probes ----

interface Target { name: string; path: string }

function probeOnce(port: number, ca: string, t: Target): Promise<boolean> {
  return new Promise((res) => {
    const req = https.request({
      host: '127.0.0.1', port, servername: t.name, path: t.path, ca, agent: false, headers: { host: t.name, connection: 'close' }, timeout: 5000,
    }, (r) => {
      let body = '';
      r.setEncoding('utf8').on('data', (d: string) => { body += d; });
      r.on('end', () => {
        try {
          const seen = JSON.parse(body) as { host?: string; url?: string };
          res(r.statusCode === 200 && seen.url === t.path && (seen.host ?? '').split(':')[0] === t.name);
        } catch { res(false); }
      });
      r.on('error', () => res(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => res(false));
    req.end();
  });
}

/** Rounds of PROBE_CONNS fresh connections per target until one round is answered right everywhere. */
async function untilServed(port: number, ca: string, targets: Target[]): Promise<{ ms: number; rounds: number }> {
  const t0 = performance.now();
  for (let rounds = 1; ; rounds++) {
    const results = await Promise.all(targets.flatMap((t) => Array.from({ length: PROBE_CONNS }, () => probeOnce(port, ca, t))));
    if (results.every(Boolean)) return { ms: performance.now() - t0, rounds };
    if (performance.now() - t0 > SERVE_TIMEOUT_MS) throw new Error(`not served after ${SERVE_TIMEOUT_MS} ms (${results.filter(Boolean).length}/${results.length} in the last round)`);
    await sleep(5);
  }
}

function handledPerWorker(status: Obj | undefined): Map<number, number> {
  const out = new Map<number, number>();
  for (const w of (status?.workers ?? []) as Obj[]) out.set(Number(w.worker ?? 0), Number(w.handled ?? 0));
  return out;
}

async function nextStatus(w: ReturnType<Client['watch']>, timeoutMs = 3000): Promise<Obj | undefined> {
  const start = w.count();
  const end = Date.now() + timeoutMs;
  while (w.count() <= start + 1 && Date.now() < end) await sleep(20);
  return w.latest();
}

// ---- one rep ----

interface Rep {
  rep: number;
  ok: boolean;
  error?: string;
  generation?: number;
  doc_build_ms?: number;
  convert_ms?: number;
  snapshot_bytes?: number;
  apply_ms?: number;
  served_after_ok_ms?: number;
  served_rounds?: number;
  probe_round_ms?: number;
  push_to_served_ms?: number;
  rss_before_kib?: number;
  rss_after_kib?: number;
  rss_settled_kib?: number;
  hwm_kib?: number;
  workers_hit?: number;
  workers?: number;
  delta_bytes?: number;
  delta_apply_ms?: number;
  delta_served_after_ok_ms?: number;
  delta_push_to_served_ms?: number;
}

interface Ctx { workDir: string; logDir: string; cert: { cert: string; key: string }; origin: number; cpus: string; workers: number }

async function runRep(ctx: Ctx, hostnames: number, routes: number, rep: number): Promise<Rep> {
  const out: Rep = { rep, ok: false };
  const ports: Ports = { https: await freePort(), grpc: await freePort(), origin: ctx.origin };
  const apiKey = randomBytes(24).toString('hex');
  const runDir = join(ctx.workDir, `h${hostnames}-r${routes}-rep${rep}`);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const base = baseDocument(ports, apiKey, ctx.workers, join(runDir, 'state'), ctx.cert);
  const configPath = join(runDir, 'edgeplane.yaml');
  writeFileSync(configPath, JSON.stringify(base, null, 1)); // JSON is YAML
  const logPath = join(ctx.logDir, `daemon-h${hostnames}-r${routes}-rep${rep}.log`);
  const daemon: BenchChild = startPinned('edgeplane', ctx.cpus, process.execPath, [join(REPO_ROOT, 'dist/core/cli.js'), 'serve', '--config', configPath], logPath);
  let client: Client | undefined;
  let watch: ReturnType<Client['watch']> | undefined;
  try {
    if (!(await waitPortOpen(ports.grpc, 30_000, () => isRunning(daemon)))) throw new Error(`the daemon did not open the gRPC port (see ${logPath})`);
    client = controlClient(`127.0.0.1:${ports.grpc}`, apiKey);
    watch = client.watch();
    await sleep(1000); // let the fresh daemon settle before "before"
    out.rss_before_kib = memoryKiB(daemon.pid).rss;

    let t = performance.now();
    const doc = bigDocument(base, ports, hostnames, routes);
    out.doc_build_ms = performance.now() - t;
    t = performance.now();
    const message = documentToProto(doc);
    out.convert_ms = performance.now() - t;
    out.snapshot_bytes = client.size('ApplySnapshot', message);

    const targets: Target[] = [
      { name: ROUTES_HOST, path: `${routePrefix(routes - 1)}probe` },
      { name: hostName(hostnames - 1), path: '/probe' },
    ];
    const before = handledPerWorker(await nextStatus(watch));
    const pushed = performance.now();
    const result = await client.call('ApplySnapshot', message);
    const okAt = performance.now();
    if (!result.ok) throw new Error(`ApplySnapshot refused: ${JSON.stringify(result.problems).slice(0, 500)}`);
    out.generation = Number(result.generation);
    out.apply_ms = okAt - pushed;
    const served = await untilServed(ports.https, ctx.cert.cert, targets);
    out.served_after_ok_ms = served.ms;
    out.served_rounds = served.rounds;
    out.push_to_served_ms = performance.now() - pushed;
    out.rss_after_kib = memoryKiB(daemon.pid).rss;
    // the same round again, now that it serves: what one probe round costs by itself on this box
    out.probe_round_ms = (await untilServed(ports.https, ctx.cert.cert, targets)).ms;
    const after = handledPerWorker(await nextStatus(watch));
    out.workers = after.size;
    out.workers_hit = [...after].filter(([w, n]) => n > (before.get(w) ?? 0)).length;

    // one route more, as a control plane would send it: the edge is upserted whole (its 10k routes + 1)
    const added = `/added-${rep}/`;
    const edge = (documentToProto({ edges: [routesEdge(ports, routes, added)] }).edges as Obj[])[0]!;
    const delta = { upsert_edges: [edge] };
    out.delta_bytes = client.size('ApplyDelta', delta);
    const dPushed = performance.now();
    const dResult = await client.call('ApplyDelta', delta);
    const dOk = performance.now();
    if (!dResult.ok) throw new Error(`ApplyDelta refused: ${JSON.stringify(dResult.problems).slice(0, 500)}`);
    out.delta_apply_ms = dOk - dPushed;
    const dServed = await untilServed(ports.https, ctx.cert.cert, [{ name: ROUTES_HOST, path: `${added}probe` }]);
    out.delta_served_after_ok_ms = dServed.ms;
    out.delta_push_to_served_ms = performance.now() - dPushed;
    await sleep(2000);
    const settled = memoryKiB(daemon.pid);
    out.rss_settled_kib = settled.rss;
    out.hwm_kib = settled.hwm;
    out.ok = true;
  } catch (err) {
    out.error = err instanceof Error ? err.message : String(err);
  } finally {
    watch?.cancel();
    client?.close();
    await stopChild(daemon, 5000);
    rmSync(runDir, { recursive: true, force: true });
  }
  return out;
}

// ---- report ----

interface Point { hostnames: number; routes: number; reps: Rep[] }

const f0 = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '–');
const mib = (kib: number): string => f0(kib / 1024);

function render(points: Point[]): string {
  const rows = points.map((p) => {
    const ok = p.reps.filter((r) => r.ok);
    const m = (k: keyof Rep): number => median(ok.map((r) => Number(r[k])));
    const hit = ok.map((r) => `${r.workers_hit}/${r.workers}`).join(', ');
    return `| ${f0(p.hostnames)} / ${f0(p.routes)} | ${ok.length}/${p.reps.length} | ${f1(m('snapshot_bytes') / 2 ** 20)} | ${f0(m('convert_ms'))} `
      + `| ${f0(m('apply_ms'))} | ${f0(m('served_after_ok_ms'))} (${f0(m('probe_round_ms'))}) | ${f0(m('push_to_served_ms'))} `
      + `| ${mib(m('rss_before_kib'))} → ${mib(m('rss_after_kib'))} (${mib(m('rss_settled_kib'))}) | ${mib(m('hwm_kib'))} `
      + `| ${f0(m('delta_bytes') / 1024)} | ${f0(m('delta_apply_ms'))} | ${f0(m('delta_served_after_ok_ms'))} | ${hit} |`;
  });
  return [
    '| hostnames / routes | reps ok | snapshot MiB | doc→proto ms (client) | ApplySnapshot push→ok ms | ok→all served ms (one probe round once serving) | push→served ms | daemon RSS MiB before → after (after the delta +2 s) | peak RSS (VmHWM) MiB | delta KiB | ApplyDelta push→ok ms | ok→served ms | workers hit |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n') + '\n';
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const loadStart = readFileSync('/proc/loadavg', 'utf8').trim();
  const cpus = `0-${os.cpus().length - 1}`;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  const workDir = join(REPO_ROOT, 'bench/out/work', `control-scale-${stamp}`);
  const logDir = join(workDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const cert = ensureCert(join(REPO_ROOT, 'bench/out/work'));
  const originPort = await freePort();
  const origin = startPinned('origin', cpus, process.execPath, ['-e', ORIGIN_SOURCE, String(originPort)], join(logDir, 'origin.log'));
  const points: Point[] = [];
  const meta = collectMeta({ edgeplane_build: edgeplaneBuildTime() });
  try {
    if (!(await waitPortOpen(originPort, 10_000, () => isRunning(origin)))) throw new Error('the origin did not start');
    const sizes = o.small
      ? [{ h: Math.max(1, Math.round(o.hostnames / 10)), r: Math.max(1, Math.round(o.routes / 10)) }, { h: o.hostnames, r: o.routes }]
      : [{ h: o.hostnames, r: o.routes }];
    const ctx: Ctx = { workDir, logDir, cert, origin: originPort, cpus, workers: o.workers };
    for (const s of sizes) {
      const point: Point = { hostnames: s.h, routes: s.r, reps: [] };
      points.push(point);
      for (let rep = 1; rep <= o.reps; rep++) {
        const r = await runRep(ctx, s.h, s.r, rep);
        point.reps.push(r);
        log(`${f0(s.h)} hostnames / ${f0(s.r)} routes rep ${rep}: ${r.ok
          ? `${f1(r.snapshot_bytes! / 2 ** 20)} MiB, ApplySnapshot ${f0(r.apply_ms!)} ms, served +${f0(r.served_after_ok_ms!)} ms (${r.served_rounds} round(s), ${r.workers_hit}/${r.workers} workers), `
            + `RSS ${mib(r.rss_before_kib!)} → ${mib(r.rss_after_kib!)} MiB (peak ${mib(r.hwm_kib!)}), delta ${f0(r.delta_apply_ms!)} ms +${f0(r.delta_served_after_ok_ms!)} ms`
          : `FAILED: ${r.error}`}`);
      }
    }
  } finally {
    await stopChild(origin, 2000);
    killAllChildren();
  }
  const loadEnd = readFileSync('/proc/loadavg', 'utf8').trim();
  const command = `node dist/bench/control-scale.js ${process.argv.slice(2).join(' ')}`.trim();
  const run = { meta: { ...meta, loadavg_start: loadStart, loadavg_end: loadEnd, command }, options: o, points };
  if (o.json !== undefined) writeFileSync(resolve(o.json), JSON.stringify(run, null, 1));
  process.stdout.write(`\nControl plane at scale — ${command}\n${meta.cpu}, nproc ${meta.nproc}, node ${meta.node}; loadavg ${loadStart} → ${loadEnd}; medians of ${o.reps}\n\n`);
  process.stdout.write(render(points));
  log(`logs in ${logDir}`);
  return points.every((p) => p.reps.every((r) => r.ok)) ? 0 : 1;
}

main().then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    killAllChildren();
    process.stderr.write(`control-scale: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
