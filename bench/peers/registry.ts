import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertFiles } from '../fixtures.js';
import { flakyHttpPort, hasProxyPorts, httpProxyPorts, originHttpPort, originTlsPorts, proxyPorts, waitPortClosed, waitPortOpen, type HttpProxyPorts } from '../ports.js';
import { isRunning, startPinned, stopChild, type BenchChild, type CpuList } from '../processes.js';
import { caddyEnv, caddyHttpConfig } from './caddy.js';
import { edgeplaneConfig, edgeplaneHttpConfig } from './edgeplane.js';
import { haproxyConfig, haproxyHttpConfig } from './haproxy.js';
import { NGINX_STREAM_MODULE, nginxHttpConfig, nginxProxyConfig } from './nginx.js';

export const ALL_PEERS = ['direct', 'edgeplane', 'nginx', 'haproxy', 'caddy', 'http-proxy', 'fastify'] as const;
export type PeerName = (typeof ALL_PEERS)[number];
export type ProxyName = Exclude<PeerName, 'direct'>;

/**
 * Which of a peer's ports a scenario drives. `tls`/`tcp`: the L4 jobs; `http` cleartext reverse
 * proxy; `https` TLS terminated at the proxy; `gzip` cleartext with compression; `breaker`
 * cleartext to the flaky origin behind a circuit breaker.
 */
export type PortKind = 'tls' | 'tcp' | keyof Omit<HttpProxyPorts, 'edge'>;

/** One proxy process (one config) serves one job; a scenario's job follows from its port kind. */
export type Job = 'l4' | 'http' | 'gzip' | 'breaker';
export function jobOf(kind: PortKind): Job {
  return kind === 'tls' || kind === 'tcp' ? 'l4' : kind === 'https' ? 'http' : kind;
}

/** Where the peers' configs and logs go and which core the proxy gets. */
export interface PeerContext {
  repoRoot: string; confDir: string; tmpDir: string; logDir: string; cpuProxy: CpuList;
  /** certificate of the TLS-terminating jobs; needed for any job but l4 */
  certs?: CertFiles;
}

// Why a peer has no row in a scenario it cannot do the same job in (said in the report).
const NOT_THE_SAME_JOB: Partial<Record<PeerName, Partial<Record<PortKind, string>>>> = {
  nginx: { breaker: 'nginx has no circuit breaker (its passive max_fails is ignored for a one-server upstream)' },
  caddy: { tls: "Debian's caddy has no layer4 module", tcp: "Debian's caddy has no layer4 module" },
  'http-proxy': {
    tls: 'not an L4 proxy', tcp: 'not an L4 proxy',
    https: 'compared on cleartext HTTP only (S1)', gzip: 'compared on cleartext HTTP only (S1)', breaker: 'compared on cleartext HTTP only (S1)',
  },
  fastify: {
    tls: 'not an L4 proxy', tcp: 'not an L4 proxy',
    https: 'compared on cleartext HTTP only, as in peers-bench', gzip: 'compared on cleartext HTTP only, as in peers-bench',
    breaker: 'compared on cleartext HTTP only, as in peers-bench',
  },
};

/** Node peers: one script under dist/bench/peers/, started as `node <script> <listen port> <origin port>` (S1 only). */
const NODE_PEER_SCRIPT = { fastify: 'fastify-peer.js', 'http-proxy': 'http-proxy-peer.js' } as const;
type NodePeer = keyof typeof NODE_PEER_SCRIPT;
function isNodePeer(peer: PeerName): peer is NodePeer { return Object.hasOwn(NODE_PEER_SCRIPT, peer); }

/** Why `peer` does not take part in scenarios on `kind`, or undefined when it does. */
export function notApplicable(peer: PeerName, kind: PortKind): string | undefined {
  return NOT_THE_SAME_JOB[peer]?.[kind];
}

const START_TIMEOUT_MS = 20_000;

function commandExists(cmd: string): boolean {
  try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true; } catch { return false; }
}

const CONFIG_EXT = { nginx: 'conf', haproxy: 'cfg', edgeplane: 'yaml', caddy: 'json', 'http-proxy': 'json', fastify: 'json' } as const;

function configPath(ctx: PeerContext, peer: ProxyName, job: Job = 'l4'): string {
  // l4 keeps the names it had before the HTTP jobs existed
  return join(ctx.confDir, job === 'l4' ? `${peer}.${CONFIG_EXT[peer]}` : `${peer}-${job}.${CONFIG_EXT[peer]}`);
}

function needCerts(ctx: PeerContext): CertFiles {
  if (!ctx.certs) throw new Error('PeerContext.certs is required for the HTTP jobs');
  return ctx.certs;
}

/** The config text of one peer for one job; null when the peer has no config file (node peers) or no such job. */
function configText(ctx: PeerContext, peer: ProxyName, job: Job, asRoot: boolean): string | null {
  if (job === 'l4') {
    return peer === 'nginx' ? nginxProxyConfig(ctx.tmpDir, asRoot) : peer === 'haproxy' ? haproxyConfig() : peer === 'edgeplane' ? edgeplaneConfig() : null;
  }
  if (peer === 'nginx') return job === 'breaker' ? null : nginxHttpConfig(job, ctx.tmpDir, asRoot, needCerts(ctx));
  if (peer === 'haproxy') return haproxyHttpConfig(job, needCerts(ctx));
  if (peer === 'edgeplane') return edgeplaneHttpConfig(job, needCerts(ctx));
  if (peer === 'caddy') return caddyHttpConfig(job, needCerts(ctx), ctx.tmpDir, ctx.logDir);
  return null;
}

function firstLines(err: unknown): string {
  const e = err as { stderr?: Buffer | string; message?: string };
  return String(e.stderr ?? e.message ?? err).trim().split('\n').slice(-3).join(' | ');
}

/** Peers that cannot run here at all, and peer/job pairs whose config was refused (key `peer/job`). */
export interface Availability { skipped: Map<PeerName, string>; jobSkipped: Map<string, string> }

export function jobKey(peer: PeerName, job: Job): string { return `${peer}/${job}`; }

function hasModule(ctx: PeerContext, name: string): boolean {
  return existsSync(join(ctx.repoRoot, 'node_modules', name, 'package.json'));
}

/**
 * Writes every proxy config the jobs need and checks it with the peer's own checker (nginx -t,
 * haproxy -c, edgeplane check), so a refused config shows as a reason, not as a failed point.
 */
export function preparePeers(ctx: PeerContext, wanted: readonly PeerName[], jobs: readonly Job[] = ['l4']): Availability {
  const unavailable = new Map<PeerName, string>();
  const jobSkipped = new Map<string, string>();
  const asRoot = process.getuid?.() === 0;
  for (const peer of wanted) {
    if (peer === 'nginx') {
      if (!commandExists('nginx') || (jobs.includes('l4') && !existsSync(NGINX_STREAM_MODULE))) { unavailable.set(peer, 'skipped (not installed: nginx + libnginx-mod-stream; run bench/install-peers.sh)'); continue; }
    } else if (peer === 'haproxy') {
      if (!commandExists('haproxy')) { unavailable.set(peer, 'skipped (not installed: haproxy; run bench/install-peers.sh)'); continue; }
    } else if (peer === 'edgeplane') {
      if (!existsSync(join(ctx.repoRoot, 'dist/core/cli.js'))) { unavailable.set(peer, 'skipped (dist/core/cli.js not built)'); continue; }
    } else if (peer === 'caddy') {
      if (!commandExists('caddy')) { unavailable.set(peer, 'skipped (not installed: caddy; run bench/install-peers.sh)'); continue; }
    } else if (peer === 'fastify') {
      if (!hasModule(ctx, 'fastify') || !hasModule(ctx, '@fastify/http-proxy')) { unavailable.set(peer, 'skipped (not installed: npm install -D fastify @fastify/http-proxy)'); continue; }
    } else if (peer === 'http-proxy') {
      if (!hasModule(ctx, 'http-proxy')) { unavailable.set(peer, 'skipped (not installed: npm install -D http-proxy)'); continue; }
    }
    if (peer === 'direct' || isNodePeer(peer)) continue;
    for (const job of jobs) {
      const text = configText(ctx, peer, job, asRoot);
      if (text === null) continue;
      const conf = configPath(ctx, peer, job);
      writeFileSync(conf, text);
      try {
        if (peer === 'nginx') execFileSync('nginx', ['-t', '-p', ctx.tmpDir, '-e', join(ctx.tmpDir, `nginx-t-${job}.err`), '-c', conf], { stdio: 'pipe' });
        else if (peer === 'haproxy') execFileSync('haproxy', ['-c', '-f', conf], { stdio: 'pipe' });
        else if (peer === 'caddy') execFileSync('caddy', ['validate', '--config', conf], { stdio: 'pipe', env: caddyEnv(ctx.tmpDir) });
        // the L4 config has run for a long time; the HTTP ones check the schema as it grows
        else if (job !== 'l4') execFileSync(process.execPath, [join(ctx.repoRoot, 'dist/core/cli.js'), 'check', '--config', conf], { stdio: 'pipe' });
      } catch (e) {
        const checker = { edgeplane: 'edgeplane check', nginx: 'nginx -t', haproxy: 'haproxy -c', caddy: 'caddy validate' }[peer];
        const reason = `skipped (${checker} failed on ${conf}: ${firstLines(e)})`;
        if (job === 'l4') unavailable.set(peer, reason); else jobSkipped.set(jobKey(peer, job), reason);
      }
    }
  }
  return { skipped: unavailable, jobSkipped };
}

export function peerPort(peer: PeerName, kind: PortKind): number {
  if (peer === 'direct') return kind === 'tls' || kind === 'https' ? originTlsPorts()[0] : kind === 'breaker' ? flakyHttpPort() : originHttpPort();
  if (kind === 'tls' || kind === 'tcp') {
    if (!hasProxyPorts(peer)) throw new Error(`${peer} has no ${kind} port`);
    return proxyPorts(peer)[kind];
  }
  const port = httpProxyPorts(peer)[kind];
  if (port === undefined) throw new Error(`${peer} has no ${kind} port`);
  return port;
}

/** The ports a proxy opens for a job (all of them are waited for at start, and checked free before a run). */
export function jobPorts(peer: ProxyName, job: Job): number[] {
  if (job === 'l4') return hasProxyPorts(peer) ? Object.values(proxyPorts(peer)) : [];
  const p = httpProxyPorts(peer);
  const ports = job === 'http' ? [p.http, p.https] : job === 'gzip' ? [p.gzip] : [p.breaker];
  return ports.filter((x): x is number => x !== undefined);
}

function tailOf(path: string, lines = 8): string {
  try { return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n'); } catch { return ''; }
}

/** Starts a proxy pinned to the proxy core and waits until every port of its job accepts. */
export async function startProxy(peer: ProxyName, ctx: PeerContext, label: string, job: Job = 'l4'): Promise<BenchChild> {
  const log = join(ctx.logDir, `${peer}-${label}.log`);
  const conf = configPath(ctx, peer, job);
  const child = peer === 'nginx'
    ? startPinned(peer, ctx.cpuProxy, 'nginx', ['-p', ctx.tmpDir, '-e', join(ctx.tmpDir, 'nginx-peer.err'), '-c', conf, '-g', 'daemon off;'], log)
    : peer === 'haproxy'
      ? startPinned(peer, ctx.cpuProxy, 'haproxy', ['-db', '-f', conf], log)
      : peer === 'caddy'
        ? startPinned(peer, ctx.cpuProxy, 'caddy', ['run', '--config', conf], log, caddyEnv(ctx.tmpDir))
        : isNodePeer(peer)
          ? startPinned(peer, ctx.cpuProxy, process.execPath, [join(ctx.repoRoot, 'dist/bench/peers', NODE_PEER_SCRIPT[peer]), String(httpProxyPorts(peer).http), String(originHttpPort())], log)
          : startPinned(peer, ctx.cpuProxy, process.execPath, [join(ctx.repoRoot, 'dist/core/cli.js'), 'serve', '--config', conf], log);
  const alive = (): boolean => isRunning(child);
  const ports = jobPorts(peer, job);
  let ok = true;
  for (const port of ports) if (ok) ok = await waitPortOpen(port, START_TIMEOUT_MS, alive);
  if (!ok) {
    const running = alive();
    await stopChild(child);
    const tail = tailOf(log);
    const cause = tail.split('\n').find((l) => /error|fatal|cannot|invalid/i.test(l))?.trim() ?? '';
    throw new Error(`${peer} ${running ? `did not open ports ${ports.join('/')} within ${START_TIMEOUT_MS / 1000}s`
      : `exited (${child.proc.exitCode ?? child.proc.signalCode}) before opening ports ${ports.join('/')}`}${cause ? `: ${cause}` : ''}\nlog ${log}:\n${tail}`);
  }
  return child;
}

export async function stopProxy(peer: ProxyName, child: BenchChild, job: Job = 'l4'): Promise<void> {
  await stopChild(child);
  for (const port of jobPorts(peer, job)) await waitPortClosed(port, 5000);
}
