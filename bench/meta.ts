import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return 'not installed';
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
}

function readOr(path: string, fallback = ''): string {
  try { return readFileSync(path, 'utf8').trim(); } catch { return fallback; }
}

function cpuinfo(field: string): string {
  const m = new RegExp(`^${field}\\s*:\\s*(.*)$`, 'm').exec(readOr('/proc/cpuinfo'));
  return m?.[1] ?? '?';
}

/** Machine and tool facts written beside every run. */
export function collectMeta(extra: Record<string, string>): Record<string, string> {
  return {
    timestamp_utc: new Date().toISOString(),
    // os.cpus(), not availableParallelism(): the runner pins itself to one core
    nproc: String(os.cpus().length),
    cpu: `${cpuinfo('model name')} (family ${cpuinfo('cpu family')} model ${cpuinfo('model')}, ${cpuinfo('cpu MHz')} MHz)`,
    kernel: os.release(),
    os: `Debian ${readOr('/etc/debian_version', '?')}`,
    mem_gib: String(Math.round(os.totalmem() / 2 ** 30)),
    node: `${process.version} (OpenSSL ${process.versions.openssl})`,
    nginx: firstLine('nginx', ['-v']).replace(/^nginx version: /, ''),
    haproxy: firstLine('haproxy', ['-v']),
    caddy: firstLine('caddy', ['version']),
    openssl: firstLine('openssl', ['version']),
    curl: firstLine('curl', ['-V']),
    tcp_tw_reuse: readOr('/proc/sys/net/ipv4/tcp_tw_reuse'),
    ip_local_port_range: readOr('/proc/sys/net/ipv4/ip_local_port_range').replace(/\s+/g, ' '),
    tcp_congestion_control: readOr('/proc/sys/net/ipv4/tcp_congestion_control'),
    ...extra,
  };
}

/** A runner's progress line on stderr, stamped with the UTC time of day. */
export function log(msg: string): void { process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`); }

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** When the daemon was last built (newest dist/core|dist/workers .js): the tree may be rebuilt while a run goes on. */
export function edgeplaneBuildTime(): string {
  let newest = 0;
  for (const dir of ['dist/core', 'dist/workers']) {
    try {
      for (const f of readdirSync(join(REPO_ROOT, dir), { recursive: true }) as string[]) {
        if (f.endsWith('.js')) newest = Math.max(newest, statSync(join(REPO_ROOT, dir, f)).mtimeMs);
      }
    } catch { /* not built */ }
  }
  return newest ? new Date(newest).toISOString() : 'not built';
}
