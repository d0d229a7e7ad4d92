import { join } from 'node:path';
import type { CertFiles } from '../fixtures.js';
import { flakyHttpPort, httpProxyPorts, originHttpPort } from '../ports.js';
import { proxyWorkers } from './workers.js';

/**
 * Passive health checks of the breaker job: Caddy has no circuit breaker; its nearest equivalent
 * marks the upstream down after `max_fails` 5xx answers within `fail_duration` (each failure is
 * forgotten fail_duration later), and answers 503 "no upstreams available" meanwhile.
 * fail_duration = edgeplane's tripped_duration; max_fails = haproxy's error-limit.
 */
export const CADDY_PASSIVE_HEALTH = { fail_duration: '3s', max_fails: 10, unhealthy_status: [5] } as const;

// Caddy's JSON config, not a Caddyfile: Caddy 2.6's Caddyfile cannot turn TLS session tickets off
// (apps.tls.session_tickets.disabled), which peers-bench also worked around by adapting to JSON.
// Settings after peers-bench's Caddyfile: reverse_proxy with 128 idle upstream connections per host,
// TLS 1.3 only (S2), `encode gzip` (S4, here at level 1 like nginx's default), admin API off,
// automatic HTTPS off (no extra :80/:443 listeners, no redirects), HTTP/1.1 only (nginx and haproxy
// offer no h2; no HTTP/3 UDP listener), no access log.

type Json = Record<string, unknown>;

function proxyTo(port: number, extra: Json = {}): Json {
  return {
    handler: 'reverse_proxy',
    upstreams: [{ dial: `127.0.0.1:${port}` }],
    transport: { protocol: 'http', keep_alive: { max_idle_conns_per_host: 128 } },
    ...extra,
  };
}

function server(port: number, handlers: Json[], tls = false): Json {
  return {
    listen: [`127.0.0.1:${port}`],
    routes: [{ handle: handlers }],
    automatic_https: { disable: true },
    protocols: ['h1'],
    ...(tls ? { tls_connection_policies: [{ protocol_min: 'tls1.3', certificate_selection: { any_tag: ['bench'] } }] } : {}),
  };
}

/** One Caddy process per job: `http` = cleartext (S1) + TLS terminated (S2a/S2b), `gzip` (S4), `breaker`. */
export function caddyHttpConfig(job: 'http' | 'gzip' | 'breaker', certs: CertFiles, tmpDir: string, logDir: string): string {
  const p = httpProxyPorts('caddy');
  const port = (k: 'http' | 'https' | 'gzip' | 'breaker'): number => {
    const v = p[k];
    if (v === undefined) throw new Error(`caddy has no ${k} port`);
    return v;
  };
  const servers: Record<string, Json> = job === 'http'
    ? { plain: server(port('http'), [proxyTo(originHttpPort())]), terminated: server(port('https'), [proxyTo(originHttpPort())], true) }
    : job === 'gzip'
      ? { gzip: server(port('gzip'), [{ handler: 'encode', encodings: { gzip: { level: 1 } }, prefer: ['gzip'] }, proxyTo(originHttpPort())]) }
      : { breaker: server(port('breaker'), [proxyTo(flakyHttpPort(), { health_checks: { passive: CADDY_PASSIVE_HEALTH } })]) };
  const config = {
    admin: { disabled: true, config: { persist: false } },
    // http.log.error would write one line per 503 while the breaker is open: not part of the job
    logging: { logs: { default: { writer: { output: 'file', filename: join(logDir, `caddy-${job}.log`) }, level: 'INFO', exclude: ['http.log.error'] } } },
    storage: { module: 'file_system', root: join(tmpDir, 'caddy') },
    apps: {
      http: { servers },
      tls: {
        certificates: { load_files: [{ certificate: certs.cert, key: certs.key, tags: ['bench'] }] },
        session_tickets: { disabled: true },
      },
    },
  };
  return JSON.stringify(config, null, 1) + '\n';
}

/**
 * Environment of `caddy run`/`validate`: GOMAXPROCS = the proxy's workers (1: one core, like nginx's one
 * worker; Go would otherwise size it from the affinity mask), and its data dirs under tmpDir, not $HOME.
 */
export function caddyEnv(tmpDir: string): NodeJS.ProcessEnv {
  const home = join(tmpDir, 'caddy-home');
  return { ...process.env, GOMAXPROCS: String(proxyWorkers()), HOME: home, XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config') };
}
