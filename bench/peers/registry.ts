import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { originHttpPort, originTlsPorts, proxyPorts, waitPortClosed, waitPortOpen } from '../ports.js';
import { isRunning, startPinned, stopChild, type BenchChild } from '../processes.js';
import { edgeplaneConfig } from './edgeplane.js';
import { haproxyConfig } from './haproxy.js';
import { NGINX_STREAM_MODULE, nginxProxyConfig } from './nginx.js';

export const ALL_PEERS = ['direct', 'edgeplane', 'nginx', 'haproxy'] as const;
export type PeerName = (typeof ALL_PEERS)[number];
export type ProxyName = Exclude<PeerName, 'direct'>;

/** Where the peers' configs and logs go and which core the proxy gets. */
export interface PeerContext { repoRoot: string; confDir: string; tmpDir: string; logDir: string; cpuProxy: number }

const START_TIMEOUT_MS = 20_000;

function commandExists(cmd: string): boolean {
  try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true; } catch { return false; }
}

function configPath(ctx: PeerContext, peer: ProxyName): string {
  return join(ctx.confDir, { nginx: 'nginx.conf', haproxy: 'haproxy.cfg', edgeplane: 'edgeplane.yaml' }[peer]);
}

function firstLines(err: unknown): string {
  const e = err as { stderr?: Buffer | string; message?: string };
  return String(e.stderr ?? e.message ?? err).trim().split('\n').slice(-3).join(' | ');
}

/** Writes every proxy config; returns why a peer cannot run here (missing binary, bad config), by peer. */
export function preparePeers(ctx: PeerContext, wanted: readonly PeerName[]): Map<PeerName, string> {
  const unavailable = new Map<PeerName, string>();
  const asRoot = process.getuid?.() === 0;
  writeFileSync(configPath(ctx, 'nginx'), nginxProxyConfig(ctx.tmpDir, asRoot));
  writeFileSync(configPath(ctx, 'haproxy'), haproxyConfig());
  writeFileSync(configPath(ctx, 'edgeplane'), edgeplaneConfig());
  for (const peer of wanted) {
    if (peer === 'nginx') {
      if (!commandExists('nginx') || !existsSync(NGINX_STREAM_MODULE)) { unavailable.set(peer, 'skipped (not installed: nginx + libnginx-mod-stream; run bench/install-peers.sh)'); continue; }
      try { execFileSync('nginx', ['-t', '-p', ctx.tmpDir, '-e', join(ctx.tmpDir, 'nginx-t.err'), '-c', configPath(ctx, 'nginx')], { stdio: 'pipe' }); } catch (e) { unavailable.set(peer, `skipped (nginx -t failed: ${firstLines(e)})`); }
    } else if (peer === 'haproxy') {
      if (!commandExists('haproxy')) { unavailable.set(peer, 'skipped (not installed: haproxy; run bench/install-peers.sh)'); continue; }
      try { execFileSync('haproxy', ['-c', '-f', configPath(ctx, 'haproxy')], { stdio: 'pipe' }); } catch (e) { unavailable.set(peer, `skipped (haproxy -c failed: ${firstLines(e)})`); }
    } else if (peer === 'edgeplane') {
      if (!existsSync(join(ctx.repoRoot, 'dist/core/cli.js'))) unavailable.set(peer, 'skipped (dist/core/cli.js not built)');
    }
  }
  return unavailable;
}

export function peerPort(peer: PeerName, kind: 'tls' | 'tcp'): number {
  if (peer === 'direct') return kind === 'tls' ? originTlsPorts()[0] : originHttpPort();
  return proxyPorts(peer)[kind];
}

function tailOf(path: string, lines = 8): string {
  try { return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n'); } catch { return ''; }
}

/** Starts a proxy pinned to the proxy core and waits until both of its ports accept. */
export async function startProxy(peer: ProxyName, ctx: PeerContext, label: string): Promise<BenchChild> {
  const log = join(ctx.logDir, `${peer}-${label}.log`);
  const conf = configPath(ctx, peer);
  const child = peer === 'nginx'
    ? startPinned(peer, ctx.cpuProxy, 'nginx', ['-p', ctx.tmpDir, '-e', join(ctx.tmpDir, 'nginx-peer.err'), '-c', conf, '-g', 'daemon off;'], log)
    : peer === 'haproxy'
      ? startPinned(peer, ctx.cpuProxy, 'haproxy', ['-db', '-f', conf], log)
      : startPinned(peer, ctx.cpuProxy, process.execPath, [join(ctx.repoRoot, 'dist/core/cli.js'), 'serve', '--config', conf], log);
  const alive = (): boolean => isRunning(child);
  const { tls, tcp } = proxyPorts(peer);
  const ok = await waitPortOpen(tls, START_TIMEOUT_MS, alive) && await waitPortOpen(tcp, START_TIMEOUT_MS, alive);
  if (!ok) {
    const running = alive();
    await stopChild(child);
    const tail = tailOf(log);
    const cause = tail.split('\n').find((l) => /error|fatal|cannot|invalid/i.test(l))?.trim() ?? '';
    throw new Error(`${peer} ${running ? `did not open ports ${tls}/${tcp} within ${START_TIMEOUT_MS / 1000}s`
      : `exited (${child.proc.exitCode ?? child.proc.signalCode}) before opening ports ${tls}/${tcp}`}${cause ? `: ${cause}` : ''}\nlog ${log}:\n${tail}`);
  }
  return child;
}

export async function stopProxy(peer: ProxyName, child: BenchChild): Promise<void> {
  await stopChild(child);
  const { tls, tcp } = proxyPorts(peer);
  await waitPortClosed(tls, 5000);
  await waitPortClosed(tcp, 5000);
}
