// How each proxy is started, reloaded and checked for the route-scale job.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startPinned, type BenchChild } from '../processes.js';
import { NGINX_STREAM_MODULE, type ConfigSet } from './configs.js';
import type { ScaleProxy } from './names.js';

/** The signal that makes each proxy re-read its config (haproxy in master-worker mode, -W). */
export const RELOAD_SIGNAL: Record<ScaleProxy, NodeJS.Signals> = { edgeplane: 'SIGHUP', nginx: 'SIGHUP', haproxy: 'SIGUSR2' };

function commandExists(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why a proxy cannot run here, or undefined when it can. */
export function missingReason(proxy: ScaleProxy, repoRoot: string): string | undefined {
  if (proxy === 'edgeplane') return existsSync(join(repoRoot, 'dist/core/cli.js')) ? undefined : 'skipped (not built: run npx tsc -p .)';
  if (proxy === 'nginx') {
    if (!commandExists('nginx')) return 'skipped (not installed: nginx; run bench/install-peers.sh)';
    return existsSync(NGINX_STREAM_MODULE) ? undefined : `skipped (not installed: ${NGINX_STREAM_MODULE}, libnginx-mod-stream; run bench/install-peers.sh)`;
  }
  return commandExists('haproxy') ? undefined : 'skipped (not installed: haproxy; run bench/install-peers.sh)';
}

/** Checks a config with the proxy's own checker; the checker's last lines when it refuses it. */
export function checkConfig(set: ConfigSet, repoRoot: string): string | undefined {
  const [cmd, args] = set.proxy === 'edgeplane'
    ? [process.execPath, [join(repoRoot, 'dist/core/cli.js'), 'check', '--config', set.main]]
    : set.proxy === 'nginx'
      ? ['nginx', ['-t', '-p', set.dir, '-e', join(set.dir, 'nginx-t.err'), '-c', set.main]]
      : ['haproxy', ['-c', '-f', set.main]];
  try {
    execFileSync(cmd, args, { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return `${set.proxy} config refused by its checker: ${String(err.stderr ?? err.message).trim().split('\n').slice(-3).join(' | ')}`;
  }
}

/** Starts the proxy on its config set, pinned to `cpu`; its stdout and stderr go to `logPath`. */
export function startProxy(set: ConfigSet, cpu: number, repoRoot: string, logPath: string): BenchChild {
  switch (set.proxy) {
    case 'edgeplane':
      return startPinned('edgeplane', cpu, process.execPath, [join(repoRoot, 'dist/core/cli.js'), 'serve', '--config', set.main], logPath);
    case 'nginx':
      return startPinned('nginx', cpu, 'nginx', ['-p', set.dir, '-e', join(set.dir, 'nginx.err'), '-c', set.main, '-g', 'daemon off;'], logPath);
    case 'haproxy':
      return startPinned('haproxy', cpu, 'haproxy', ['-W', '-db', '-f', set.main], logPath);
  }
}

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.error ? 'not installed' : `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
}

export function proxyVersions(): Record<string, string> {
  return {
    node: `${process.version} (OpenSSL ${process.versions.openssl})`,
    nginx: firstLine('nginx', ['-v']).replace(/^nginx version: /, ''),
    haproxy: firstLine('haproxy', ['-v']),
    caddy: firstLine('caddy', ['version']),
  };
}
