// Webhook verification cost (issue 6): is the per-worker piscina pool (workers/http/webhooks/offload.ts)
// worth it? Two parts, each measured side by side in one run:
//  micro  — in this process, no network: µs per verify inline (findProvider(id).create(secret, ctx).verify)
//           and through a VerificationPool (wall µs at concurrency 1, verifies/s at concurrency 8, and the
//           event-loop time each verify costs the calling thread), for github (HMAC-SHA256), terraform
//           (HMAC-SHA512), sendgrid (ECDSA P-256) and sns (RSA 2048, certificate from a local HTTPS server),
//           at 1 KB and 1 MB bodies. Requests are signed here with node:crypto.
//  daemon — real sockets: edgeplane (1 worker, pinned) with a route without the module, a github route and
//           a sendgrid route, autocannon POSTing pre-signed requests, with webhooks.offload never vs auto,
//           beside going direct to the origin; plus a 1 KB latency probe to the plain route while 1 MB
//           webhooks are verified (the event-loop effect the pool exists for).
// Usage: node dist/bench/webhook-verify.js [--quick] [--part all|micro|daemon] [--json out.json] (--help)
import { execFileSync } from 'node:child_process';
import { createHash, createHmac, generateKeyPairSync, sign as signData, type KeyObject } from 'node:crypto';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { findProvider } from '../workers/http/webhooks/providers/index.js';
import { VerificationPool } from '../workers/http/webhooks/offload.js';
import { createSnsCertificateSource } from '../workers/http/webhooks/sns-certificates.js';
import type { ProviderContext, Verdict, WebhookRequest } from '../workers/http/webhooks/types.js';
import { beginCpuWindow, endCpuWindow } from './cpu.js';
import { ensureFixtures } from './fixtures.js';
import { fmt, median } from './format.js';
import { collectMeta, edgeplaneBuildTime, log } from './meta.js';
import { startOrigin, type Origin } from './origin/origin.js';
import { isPortFree, originHttpPort, originTlsPorts, portOffset, setPortOffset, SNI_NAMES, waitPortOpen } from './ports.js';
import { isRunning, startPinned, stopChild, type BenchChild } from './processes.js';
import { runHttpLoad, type HttpLoadSummary } from './user/http-load.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
// the edge's TLS port (moved by --port-offset like every other bench port)
const EDGE_PORT = 29743;

const USAGE = `webhook-verify: what webhook_verification costs per request, inline and in the piscina pool

Usage: node dist/bench/webhook-verify.js [options]

  --part all|micro|daemon  what to measure (default all)
  --quick                  short windows (micro 0.1 s per figure, daemon 1 s per load): a smoke run
  --duration S             daemon: measured seconds per load (default 5; --quick 1)
  --json FILE              also write every figure as JSON to FILE
  --port-offset N          move every bench port by N
  --cpu-proxy N            core of edgeplane (default 0)
  --cpu-load N             core of this runner (load, micro) and the origin (default 1)
  -h, --help               this text

Output: markdown tables on stdout, progress on stderr. Logs and configs under bench/out/work/webhook-<UTC>-<pid>/.
`;

class UsageError extends Error {}

interface Options { part: 'all' | 'micro' | 'daemon'; quick: boolean; durationS: number; json: string | null; cpuProxy: number; cpuLoad: number }

function intOption(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${text}"`);
  return n;
}

function parseOptions(argv: string[]): Options | null {
  let values;
  try {
    values = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        part: { type: 'string', default: 'all' }, quick: { type: 'boolean', default: false }, duration: { type: 'string' },
        json: { type: 'string' }, 'port-offset': { type: 'string', default: '0' }, 'cpu-proxy': { type: 'string', default: '0' },
        'cpu-load': { type: 'string', default: '1' }, help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return null;
  const part = values.part;
  if (part !== 'all' && part !== 'micro' && part !== 'daemon') throw new UsageError(`--part must be all, micro or daemon, got "${part}"`);
  setPortOffset(intOption('port-offset', values['port-offset'], 0));
  return {
    part, quick: values.quick, json: values.json ?? null,
    durationS: values.duration === undefined ? (values.quick ? 1 : 5) : intOption('duration', values.duration, 1),
    cpuProxy: intOption('cpu-proxy', values['cpu-proxy'], 0), cpuLoad: intOption('cpu-load', values['cpu-load'], 0),
  };
}

// ---------------------------------------------------------------- bodies and signing (bench code, from the providers' docs)

const SIZES = [{ label: '1 KB', bytes: 1000 }, { label: '1 MB', bytes: 1_000_000 }] as const;
const HMAC_SECRET = 'bench-webhook-secret-7f3a9c';

/** A JSON event of exactly `bytes` bytes (ASCII), shaped like a push event with a padded commit list. */
function jsonBody(bytes: number): string {
  const head = '{"action":"push","repository":{"id":1296269,"full_name":"octo/edge"},"commits":[';
  const tail = ']}';
  let commits = '';
  for (let i = 0; head.length + commits.length + tail.length + 120 < bytes; i++) {
    commits += `${i === 0 ? '' : ','}{"id":"${createHash('sha1').update(String(i)).digest('hex')}","message":"update ${i}","added":[]}`;
  }
  const fill = bytes - head.length - commits.length - tail.length - (commits === '' ? 0 : 1) - '{"pad":""}'.length;
  return `${head}${commits}${commits === '' ? '' : ','}{"pad":"${'x'.repeat(Math.max(0, fill))}"}${tail}`;
}

type Headers = Record<string, string>;
interface Signed { body: Buffer; headers: Headers }

const hmacHex = (alg: 'sha256' | 'sha512', body: Buffer): string => createHmac(alg, HMAC_SECRET).update(body).digest('hex');

function signGithub(body: Buffer): Signed { return { body, headers: { 'x-hub-signature-256': `sha256=${hmacHex('sha256', body)}` } }; }
function signTerraform(body: Buffer): Signed { return { body, headers: { 'x-tfe-notification-signature': hmacHex('sha512', body) } }; }

interface SendgridKeys { privateKey: KeyObject; secret: string }
function sendgridKeys(): SendgridKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKey, secret: publicKey.export({ format: 'der', type: 'spki' }).toString('base64') };
}
/** SendGrid: base64 DER ECDSA-SHA256 over `{timestamp}{body}`, timestamp in seconds. */
function signSendgrid(keys: SendgridKeys, body: Buffer): Signed {
  const ts = String(Math.floor(Date.now() / 1000));
  const signature = signData('sha256', Buffer.concat([Buffer.from(ts), body]), keys.privateKey).toString('base64');
  return { body, headers: { 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': ts } };
}

const SNS_CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-bench.pem';
/** SNS SignatureVersion 2: RSA-SHA256 over `key\nvalue\n` of the Notification's signed fields. */
function signSns(privateKey: KeyObject, bytes: number): Signed {
  const fields = {
    MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324', Timestamp: '2026-11-23T12:00:00.000Z',
    TopicArn: 'arn:aws:sns:us-east-1:123456789012:bench', Type: 'Notification',
  };
  const skeleton = JSON.stringify({ Type: '', MessageId: fields.MessageId, TopicArn: fields.TopicArn, Message: '', Timestamp: fields.Timestamp,
    SignatureVersion: '2', Signature: 'x'.repeat(344), SigningCertURL: SNS_CERT_URL });
  const message = 'm'.repeat(Math.max(1, bytes - skeleton.length - fields.Type.length));
  const canonical = `Message\n${message}\nMessageId\n${fields.MessageId}\nTimestamp\n${fields.Timestamp}\nTopicArn\n${fields.TopicArn}\nType\n${fields.Type}\n`;
  const Signature = signData('sha256', Buffer.from(canonical), privateKey).toString('base64');
  const body = Buffer.from(JSON.stringify({ ...fields, Message: message, SignatureVersion: '2', Signature, SigningCertURL: SNS_CERT_URL }));
  return { body, headers: { 'x-amz-sns-message-type': 'Notification' } };
}

/** A local stand-in for sns.<region>.amazonaws.com: one self-signed RSA certificate, used for TLS and served at every path. */
async function startSnsCertServer(): Promise<{ server: Server; origin: string; cert: string; privateKey: KeyObject }> {
  const selfsigned = createRequire(import.meta.url)('selfsigned') as typeof import('selfsigned');
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPair = { privateKey: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, publicKey: pair.publicKey.export({ format: 'pem', type: 'spki' }) as string };
  const { cert } = await selfsigned.generate([{ name: 'commonName', value: 'sns.amazonaws.com' }], {
    algorithm: 'sha256', keyPair,
    extensions: [{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  const server = createHttpsServer({ key: keyPair.privateKey, cert }, (_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(cert); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, cert, privateKey: pair.privateKey };
}

function webhookRequest(s: Signed): WebhookRequest {
  const headers = ['host', 'hooks.example.test', 'content-type', 'application/json', ...Object.entries(s.headers).flat()];
  return { method: 'POST', url: 'https://hooks.example.test/hook', rawPath: '/hook', query: '', headers, body: s.body, nowMs: Date.now() };
}

// ---------------------------------------------------------------- micro

interface MicroCase { provider: string; algorithm: string; size: string; secret: string; request: WebhookRequest; ctx: ProviderContext; poolable: boolean }

interface MicroRow {
  provider: string; algorithm: string; size: string;
  inline_us: number;
  /** null where the module never offloads (SNS: needs the worker's certificate cache) */
  pool: null | { wall_c1_us: number; per_s_c8: number; inline_per_s: number; loop_us: number; loop_delay_p99_ms_inline: number; loop_delay_p99_ms_pool: number };
}

const nowUs = (): number => performance.now() * 1000;

function expectAllowed(v: Verdict, what: string): void {
  if (!v.ok) throw new Error(`${what}: the bench's own signature was refused (${v.reason}${v.detail ? `: ${v.detail}` : ''}); the bench is wrong, not the verifier`);
}

/** Runs `step` (one verify) repeatedly for `ms`; returns µs per call, median of 3 rounds. */
async function timePerCall(ms: number, step: () => Verdict | Promise<Verdict>): Promise<number> {
  const rounds: number[] = [];
  for (let r = 0; r < 3; r++) {
    let n = 0;
    const t0 = nowUs();
    const end = t0 + (ms * 1000) / 3;
    while (nowUs() < end || n < 3) { const v = step(); if (v instanceof Promise) await v; n++; }
    rounds.push((nowUs() - t0) / n);
  }
  return median(rounds);
}

/**
 * `concurrency` verifies kept in flight for `ms`, each started from a fresh macrotask (as requests
 * arrive): verifies/s, the event loop's active µs per verify (ELU: the time this thread could not
 * serve anything else), and the p99 of how late a 1 ms timer fired meanwhile.
 */
async function loaded(ms: number, concurrency: number, step: () => Verdict | Promise<Verdict>): Promise<{ perS: number; loopUs: number; delayP99Ms: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  const elu0 = performance.eventLoopUtilization();
  histogram.enable();
  const t0 = nowUs();
  const end = t0 + ms * 1000;
  let n = 0;
  const lane = async (): Promise<void> => {
    while (nowUs() < end) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const v = await step();
      if (!v.ok) throw new Error(`verify refused under load: ${v.reason}`);
      n++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  histogram.disable();
  const elu = performance.eventLoopUtilization(elu0);
  const wallUs = nowUs() - t0;
  return { perS: (n * 1e6) / wallUs, loopUs: (elu.active * 1000) / n, delayP99Ms: histogram.percentile(99) / 1e6 };
}

async function microCases(): Promise<{ cases: MicroCase[]; close: () => Promise<void> }> {
  const sg = sendgridKeys();
  const sns = await startSnsCertServer();
  const snsCtx: ProviderContext = { snsCertificates: createSnsCertificateSource({ fetchOrigin: sns.origin, ca: sns.cert }) };
  const cases: MicroCase[] = [];
  for (const { label, bytes } of SIZES) {
    const body = Buffer.from(jsonBody(bytes));
    cases.push(
      { provider: 'github', algorithm: 'HMAC-SHA256', size: label, secret: HMAC_SECRET, request: webhookRequest(signGithub(body)), ctx: {}, poolable: true },
      { provider: 'terraform', algorithm: 'HMAC-SHA512', size: label, secret: HMAC_SECRET, request: webhookRequest(signTerraform(body)), ctx: {}, poolable: true },
      { provider: 'sendgrid', algorithm: 'ECDSA P-256', size: label, secret: sg.secret, request: webhookRequest(signSendgrid(sg, body)), ctx: {}, poolable: true },
      { provider: 'sns', algorithm: 'RSA-2048 SHA-256', size: label, secret: '', request: webhookRequest(signSns(sns.privateKey, bytes)), ctx: snsCtx, poolable: false },
    );
  }
  return { cases, close: () => new Promise<void>((resolve) => sns.server.close(() => resolve())) };
}

async function runMicro(o: Options): Promise<MicroRow[]> {
  const ms = o.quick ? 100 : 400;
  const { cases, close } = await microCases();
  const rows: MicroRow[] = [];
  // one thread, as each worker's pool has by default (webhooks.offload_threads: 1)
  const pool = new VerificationPool(1);
  try {
    for (const c of cases) {
      const provider = findProvider(c.provider);
      if (provider === undefined) throw new Error(`provider ${c.provider} is not registered`);
      const verifier = provider.create(c.secret, c.ctx);
      const what = `${c.provider} ${c.size}`;
      expectAllowed(await verifier.verify(c.request), what); // also fetches the SNS certificate once
      const inlineUs = await timePerCall(ms, () => verifier.verify(c.request));
      let poolRow: MicroRow['pool'] = null;
      if (c.poolable) {
        expectAllowed(await pool.verify(c.provider, c.secret, c.request), `${what} (pool)`);
        const wallC1 = await timePerCall(ms, () => pool.verify(c.provider, c.secret, c.request));
        const inlineLoaded = await loaded(ms, 8, () => verifier.verify(c.request));
        const pooled = await loaded(ms, 8, () => pool.verify(c.provider, c.secret, c.request));
        poolRow = { wall_c1_us: wallC1, per_s_c8: pooled.perS, inline_per_s: inlineLoaded.perS, loop_us: pooled.loopUs,
          loop_delay_p99_ms_inline: inlineLoaded.delayP99Ms, loop_delay_p99_ms_pool: pooled.delayP99Ms };
      }
      rows.push({ provider: c.provider, algorithm: c.algorithm, size: c.size, inline_us: inlineUs, pool: poolRow });
      log(`micro ${what}: inline ${inlineUs.toFixed(1)} µs${poolRow ? `, pool c1 ${poolRow.wall_c1_us.toFixed(1)} µs, loop ${poolRow.loop_us.toFixed(1)} µs/verify` : ''}`);
    }
  } finally {
    await pool.close();
    await close();
  }
  return rows;
}

function microTable(rows: MicroRow[]): string {
  const us = (v: number): string => fmt(v, v < 100 ? 1 : 0);
  const lines = [
    '| provider | signature | body | inline µs/verify | pool µs/verify (c1, wall) | verifies/s c8: inline / pool | loop µs/verify: inline / pool | 1 ms-timer delay p99 (ms) c8: inline / pool |',
    '|---|---|---|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    const p = r.pool;
    lines.push(`| ${r.provider} | ${r.algorithm} | ${r.size} | ${us(r.inline_us)} | ${p ? us(p.wall_c1_us) : 'never pooled'} | ${p ? `${fmt(p.inline_per_s)} / ${fmt(p.per_s_c8)}` : '–'} | ${p ? `${us(r.inline_us)} / ${us(p.loop_us)}` : `${us(r.inline_us)} / –`} | ${p ? `${fmt(p.loop_delay_p99_ms_inline, 2)} / ${fmt(p.loop_delay_p99_ms_pool, 2)}` : '–'} |`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- daemon

type Mode = 'never' | 'auto';
const HOSTS = { plain: SNI_NAMES[0], github: SNI_NAMES[1], sendgrid: SNI_NAMES[2] } as const;
type Target = keyof typeof HOSTS | 'direct';

interface DaemonRow {
  label: string; target: Target; mode: Mode | null; size: string; connections: number;
  req_s: number; p50_ms: number; p99_ms: number; non2xx: number; errors: number;
  /** edgeplane's CPU (all threads, pool included) per request, µs; null for direct */
  proxy_cpu_us: number | null;
  probe: null | { req_s: number; p50_ms: number; p99_ms: number; non2xx: number };
}

function edgeConfig(mode: Mode, certs: { cert: string; key: string }, sendgridSecret: string): string {
  const route = (host: string, module: string): string => `  - id: edghts_${host.split('.')[0]}
    type: https
    hostports: [ "${host}:${EDGE_PORT + portOffset()}" ]
    routes:
      - { id: edghtsrt_${host.split('.')[0]}, match_type: path_prefix, match: "/", backend: { backend_id: bkd_origin }${module} }`;
  return `workers: 1
listen_address: 127.0.0.1
tls_certificates:
  - { id: cert_bench, certificate_pem: { file: "${certs.cert}" }, private_key_pem: { file: "${certs.key}" } }
reserved_domains: [ { domain: "*.example.test", certificate_id: cert_bench } ]
webhooks: { offload: ${mode} }
backends:
  - { id: bkd_origin, type: static_address, address: "127.0.0.1:${originHttpPort()}" }
edges:
${route(HOSTS.plain, '')}
${route(HOSTS.github, `, webhook_verification: { provider: github, secret: "${HMAC_SECRET}" }`)}
${route(HOSTS.sendgrid, `, webhook_verification: { provider: sendgrid, secret: "${sendgridSecret}" }`)}
`;
}

interface LoadSpec { target: Target; body: Signed; connections: number }

function loadOptions(spec: LoadSpec, durationS: number): Parameters<typeof runHttpLoad>[0] {
  const host = spec.target === 'direct' ? HOSTS.plain : HOSTS[spec.target];
  const port = spec.target === 'direct' ? originTlsPorts()[0]! : EDGE_PORT + portOffset();
  return {
    // the origins answer POST /small (nginx `return 200`, node by path)
    url: `https://127.0.0.1:${port}/small`, connections: spec.connections, durationS, method: 'POST',
    headers: { host, 'content-type': 'application/json', ...spec.body.headers }, body: spec.body.body.toString('latin1'),
    servername: host, progress: null,
  };
}

/** One measured load (after a 1 s warm-up), with an optional 1 KB probe to the plain route beside it. */
async function measureLoad(o: Options, daemon: BenchChild | null, origin: Origin, label: string, mode: Mode | null, size: string,
  main: LoadSpec, probe: LoadSpec | null): Promise<DaemonRow> {
  await runHttpLoad(loadOptions(main, 1));
  const window = beginCpuWindow(daemon?.pid, origin.child.pid);
  const [m, p] = await Promise.all([
    runHttpLoad(loadOptions(main, o.durationS)),
    probe === null ? Promise.resolve(null) : runHttpLoad(loadOptions(probe, o.durationS)),
  ]);
  const cpu = endCpuWindow(window);
  const row: DaemonRow = {
    label, target: main.target, mode, size, connections: main.connections, req_s: m.requestsPerSecond,
    p50_ms: m.latencyMs.p50, p99_ms: m.latencyMs.p99, non2xx: m.non2xx, errors: m.errors + m.timeouts,
    proxy_cpu_us: daemon === null || m.requests === 0 ? null : (cpu.proc_cpu_s * 1e6) / (m.requests + (p?.requests ?? 0)),
    probe: p === null ? null : { req_s: p.requestsPerSecond, p50_ms: p.latencyMs.p50, p99_ms: p.latencyMs.p99, non2xx: p.non2xx },
  };
  const bad = (s: HttpLoadSummary): boolean => s.requests === 0 || s.non2xx > s.requests / 100;
  if (bad(m) || (p !== null && bad(p))) {
    const codes = JSON.stringify(m.statusCodes);
    throw new Error(`${label}: responses were not 200 (${codes}, ${m.errors} errors); see the daemon log${daemon ? ` ${daemon.logPath}` : ''}`);
  }
  log(`${label}: ${m.requestsPerSecond.toFixed(0)} req/s, p99 ${m.latencyMs.p99.toFixed(2)} ms${p ? `; probe p99 ${p.latencyMs.p99.toFixed(2)} ms` : ''}`);
  return row;
}

async function startEdge(o: Options, conf: string, logPath: string): Promise<BenchChild> {
  const cli = join(REPO_ROOT, 'dist/core/cli.js');
  try {
    execFileSync(process.execPath, [cli, 'check', '--config', conf], { stdio: 'pipe' });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`edgeplane check refused ${conf}: ${(e.stderr?.toString() ?? e.message).trim().split('\n').slice(-3).join(' | ')}`);
  }
  const child = startPinned('edgeplane', o.cpuProxy, process.execPath, [cli, 'serve', '--config', conf], logPath);
  if (!(await waitPortOpen(EDGE_PORT + portOffset(), 20_000, () => isRunning(child)))) {
    await stopChild(child);
    throw new Error(`edgeplane did not open port ${EDGE_PORT + portOffset()} (log ${logPath})`);
  }
  return child;
}

async function runDaemon(o: Options, runDir: string): Promise<DaemonRow[]> {
  const dirs = { confDir: join(runDir, 'conf'), tmpDir: join(runDir, 'tmp'), logDir: join(runDir, 'logs') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  for (const port of [EDGE_PORT + portOffset(), originHttpPort(), ...originTlsPorts()]) {
    if (!(await isPortFree(port))) throw new Error(`port ${port} is in use; stop whatever holds it, or move every port with --port-offset`);
  }
  const fixtures = ensureFixtures(join(REPO_ROOT, 'bench/out/work'));
  const sg = sendgridKeys();
  const small = Buffer.from(jsonBody(SIZES[0].bytes));
  const large = Buffer.from(jsonBody(SIZES[1].bytes));
  const plain = (body: Buffer): Signed => ({ body, headers: {} });
  const origin = await startOrigin('auto', fixtures, dirs, o.cpuLoad);
  const rows: DaemonRow[] = [];
  const C_SMALL = 16;
  const C_LARGE = 4;
  const probe: LoadSpec = { target: 'plain', body: plain(small), connections: 2 };
  try {
    rows.push(await measureLoad(o, null, origin, 'direct 1 KB', null, '1 KB', { target: 'direct', body: plain(small), connections: C_SMALL }, null));
    rows.push(await measureLoad(o, null, origin, 'direct 1 MB', null, '1 MB', { target: 'direct', body: plain(large), connections: C_LARGE }, null));
    for (const mode of ['never', 'auto'] as const) {
      const conf = join(dirs.confDir, `edgeplane-${mode}.yaml`);
      writeFileSync(conf, edgeConfig(mode, fixtures, sg.secret));
      const daemon = await startEdge(o, conf, join(dirs.logDir, `edgeplane-${mode}.log`));
      try {
        const at = (label: string): string => `${label} [offload ${mode}]`;
        if (mode === 'never') {
          // the same in both modes (1 KB HMAC is inline under auto too): measured once
          rows.push(await measureLoad(o, daemon, origin, 'no module 1 KB', null, '1 KB', { target: 'plain', body: plain(small), connections: C_SMALL }, null));
          rows.push(await measureLoad(o, daemon, origin, 'no module 1 MB', null, '1 MB', { target: 'plain', body: plain(large), connections: C_LARGE }, null));
          rows.push(await measureLoad(o, daemon, origin, 'no module 1 MB + probe', null, '1 MB', { target: 'plain', body: plain(large), connections: C_LARGE }, probe));
          rows.push(await measureLoad(o, daemon, origin, 'github 1 KB', null, '1 KB', { target: 'github', body: signGithub(small), connections: C_SMALL }, null));
        }
        rows.push(await measureLoad(o, daemon, origin, at('github 1 MB'), mode, '1 MB', { target: 'github', body: signGithub(large), connections: C_LARGE }, null));
        rows.push(await measureLoad(o, daemon, origin, at('github 1 MB + probe'), mode, '1 MB', { target: 'github', body: signGithub(large), connections: C_LARGE }, probe));
        // signed now: SendGrid's timestamp must stay inside the 180 s window for the load
        rows.push(await measureLoad(o, daemon, origin, at('sendgrid 1 KB'), mode, '1 KB', { target: 'sendgrid', body: signSendgrid(sg, small), connections: C_SMALL }, null));
      } finally {
        await stopChild(daemon);
      }
    }
  } finally {
    await stopChild(origin.child);
  }
  return rows;
}

function daemonTable(rows: DaemonRow[]): string {
  // a probe row compares with the no-module row that had the probe beside it too
  const base = (r: DaemonRow): DaemonRow | undefined => rows.find((b) => b.label === `no module ${r.size}${r.probe === null ? '' : ' + probe'}`);
  const direct = (size: string): DaemonRow | undefined => rows.find((r) => r.label === `direct ${size}`);
  const ratio = (r: DaemonRow, b: DaemonRow | undefined): string => (b === undefined || r === b ? '–' : fmt(r.req_s / b.req_s, 2));
  const lines = [
    '| load | conns | req/s | p50 / p99 ms | ÷ no module | ÷ direct | edgeplane CPU µs/req | probe (1 KB, 2 conns, plain route) req/s, p50 / p99 ms |',
    '|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    const p = r.probe;
    lines.push(`| ${r.label} | ${r.connections} | ${fmt(r.req_s)} | ${fmt(r.p50_ms, 2)} / ${fmt(r.p99_ms, 2)} | ${r.target === 'direct' ? '–' : ratio(r, base(r))} | ${ratio(r, direct(r.size))} | ${r.proxy_cpu_us === null ? '–' : fmt(r.proxy_cpu_us, 0)} | ${p ? `${fmt(p.req_s)}, ${fmt(p.p50_ms, 2)} / ${fmt(p.p99_ms, 2)}` : ''} |`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o === null) { process.stdout.write(USAGE); return; }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  const runDir = join(REPO_ROOT, 'bench/out/work', `webhook-${stamp}-${process.pid}`);
  const meta = collectMeta({ edgeplane_build: edgeplaneBuildTime(), command: `node dist/bench/webhook-verify.js ${process.argv.slice(2).join(' ')}`.trim() });
  const out: { meta: Record<string, string>; micro?: MicroRow[]; daemon?: DaemonRow[] } = { meta };
  let md = `# webhook verification cost (${meta.timestamp_utc}, ${meta.nproc} cores, ${meta.node})\n`;
  if (o.part !== 'daemon') {
    out.micro = await runMicro(o);
    md += `\n## In-process verify (${o.quick ? 'quick: ' : ''}pool = 1 piscina thread, as each worker has)\n\n${microTable(out.micro)}\n`;
  }
  if (o.part !== 'micro') {
    // the load generator stays off edgeplane's core (-a: every thread, libuv's included). The micro part
    // runs before this, unpinned: the pool thread then has a core of its own, as it would in production
    execFileSync('taskset', ['-a', '-pc', String(o.cpuLoad), String(process.pid)], { stdio: 'ignore' });
    out.daemon = await runDaemon(o, runDir);
    md += `\n## Through the daemon (edgeplane 1 worker on CPU${o.cpuProxy}; autocannon + origin on CPU${o.cpuLoad}; HTTPS POST, ${o.durationS} s per load after 1 s warm-up)\n\n${daemonTable(out.daemon)}\n`;
  }
  process.stdout.write(md);
  if (o.json !== null) writeFileSync(o.json, JSON.stringify(out, null, 2));
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) process.stderr.write(`webhook-verify: ${err.message}\n\n${USAGE}`);
  else process.stderr.write(`webhook-verify: ${(err as Error).message}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
