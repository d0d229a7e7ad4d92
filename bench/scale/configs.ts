// Each proxy's config for the route-scale job at N hostnames, in two variants that differ only in where
// the probe hostname goes (a: origin A, b: origin B). Both variants are written in one streamed pass.
//
// The proxy always reads `live/<file>`, a symlink to `switch/<file>`, a symlink to the variant: a reload
// re-points the inner link. The outer link keeps the switch out of the directory the proxy's config
// lives in, because edgeplane also reloads on a change in that directory (fs.watch): only the SIGHUP
// being timed may trigger the reload.
import { mkdirSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { hostName, PROBE_NAME, SCALE_DOMAIN, type ScaleProxy, type Variant } from './names.js';
import { TextWriter } from './text-writer.js';

export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

export interface ConfigJob {
  proxy: ScaleProxy;
  hosts: number;
  workers: number;
  hostsPerEdge: number;
  /** the proxy's SNI port and the two origins */
  port: number;
  originA: number;
  originB: number;
  asRoot: boolean;
}

/** The files of one proxy at one N. `main` is what the proxy is started with. */
export interface ConfigSet {
  proxy: ScaleProxy;
  hosts: number;
  dir: string;
  main: string;
  /** the variable part (whole YAML, nginx map include, haproxy map file), per variant */
  variants: Record<Variant, string>;
  /** bytes of the variable part plus the main file */
  bytes: number;
  /** ms to write both variants */
  writeMs: number;
  /** symlink that `switchVariant` re-points */
  switchLink: string;
}

type LineSource = (emit: (variant: Variant | 'both', text: string) => void) => void;

function writeVariants(paths: Record<Variant, string>, source: LineSource): number {
  const a = new TextWriter(paths.a);
  const b = new TextWriter(paths.b);
  source((variant, text) => {
    if (variant !== 'b') a.write(text);
    if (variant !== 'a') b.write(text);
  });
  b.close();
  return a.close();
}

function origin(job: ConfigJob, v: Variant): number {
  return v === 'a' ? job.originA : job.originB;
}

// One passthrough edge for the probe, then the N hostnames in edges of hostsPerEdge each.
function edgeplaneLines(job: ConfigJob): LineSource {
  return (emit) => {
    emit('both', `# route-scale: ${job.hosts} hostnames + ${PROBE_NAME}, TLS passthrough by SNI (bench/scale/configs.ts)
workers: ${job.workers}
listen_address: 127.0.0.1
drain_timeout: 1
reserved_domains: [ { domain: "*.${SCALE_DOMAIN}" } ]
backends:
  - { id: bkd_a, type: static_address, address: "127.0.0.1:${job.originA}" }
  - { id: bkd_b, type: static_address, address: "127.0.0.1:${job.originB}" }
edges:
`);
    const tail = 'tls_termination: { terminate_at: upstream } }\n';
    for (const v of ['a', 'b'] as const) {
      emit(v, `  - { id: edgtls_probe, type: tls, hostports: [ "${PROBE_NAME}:${job.port}" ], backend: { backend_id: bkd_${v} }, ${tail}`);
    }
    for (let first = 0, e = 0; first < job.hosts; first += job.hostsPerEdge, e++) {
      const last = Math.min(job.hosts, first + job.hostsPerEdge);
      let hostports = '';
      for (let i = first; i < last; i++) hostports += `${i === first ? '' : ', '}"${hostName(i)}:${job.port}"`;
      emit('both', `  - { id: edgtls_s${e}, type: tls, hostports: [ ${hostports} ], backend: { backend_id: bkd_a }, ${tail}`);
    }
  };
}

function nginxMapLines(job: ConfigJob): LineSource {
  return (emit) => {
    for (const v of ['a', 'b'] as const) emit(v, `${PROBE_NAME} 127.0.0.1:${origin(job, v)};\n`);
    const line = ` 127.0.0.1:${job.originA};\n`;
    for (let i = 0; i < job.hosts; i++) emit('both', hostName(i) + line);
  };
}

function haproxyMapLines(job: ConfigJob): LineSource {
  return (emit) => {
    for (const v of ['a', 'b'] as const) emit(v, `${PROBE_NAME} be_${v}\n`);
    for (let i = 0; i < job.hosts; i++) emit('both', `${hostName(i)} be_a\n`);
  };
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

// nginx refuses a map whose hash it cannot build ("you should increase map_hash_max_size or
// map_hash_bucket_size"); sized as that message asks: ≥ 2 slots per key, 256-byte buckets.
function nginxMain(job: ConfigJob, dir: string, mapPath: string): string {
  const maxSize = Math.max(2048, nextPowerOfTwo(2 * (job.hosts + 1)));
  return `# route-scale: ${job.hosts} hostnames + ${PROBE_NAME}, ssl_preread + map (bench/scale/configs.ts)
worker_processes ${job.workers};
${job.asRoot ? 'user root;' : ''}
pid ${dir}/nginx.pid;
error_log ${dir}/nginx.err warn;
load_module ${NGINX_STREAM_MODULE};
events { worker_connections 8192; }
stream {
  map_hash_max_size ${maxSize};
  map_hash_bucket_size 256;
  map $ssl_preread_server_name $scale_upstream {
    default "";
    include ${mapPath};
  }
  server { listen 127.0.0.1:${job.port} backlog=4096; ssl_preread on; proxy_pass $scale_upstream; }
}
`;
}

// Master-worker mode (-W) so that SIGUSR2 reloads; the hostnames live in a map file (an ebtree),
// not in N ACL lines, which haproxy would test one by one.
function haproxyMain(job: ConfigJob, mapPath: string): string {
  return `# route-scale: ${job.hosts} hostnames + ${PROBE_NAME}, req.ssl_sni + map file (bench/scale/configs.ts)
global
  nbthread ${job.workers}
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe_scale
  bind 127.0.0.1:${job.port}
  tcp-request inspect-delay 5s
  tcp-request content accept if { req.ssl_hello_type 1 }
  use_backend %[req.ssl_sni,lower,map(${mapPath})]
  default_backend be_unrouted
backend be_a
  server a 127.0.0.1:${job.originA}
backend be_b
  server b 127.0.0.1:${job.originB}
backend be_unrouted
  # no server: an unknown SNI is closed
`;
}

const FILES: Record<ScaleProxy, { variable: string; ext: string }> = {
  edgeplane: { variable: 'edgeplane.yaml', ext: 'yaml' },
  nginx: { variable: 'map.conf', ext: 'conf' },
  haproxy: { variable: 'hosts.map', ext: 'map' },
};

/** Writes one proxy's configs for one N under baseDir/<proxy>-<N>/, pointing at variant a. */
export function writeConfigSet(baseDir: string, job: ConfigJob): ConfigSet {
  const dir = join(baseDir, `${job.proxy}-${job.hosts}`);
  for (const d of [dir, join(dir, 'live'), join(dir, 'switch')]) mkdirSync(d, { recursive: true });
  const { variable, ext } = FILES[job.proxy];
  const variants = { a: join(dir, `variant-a.${ext}`), b: join(dir, `variant-b.${ext}`) };
  const live = join(dir, 'live', variable);
  const switchLink = join(dir, 'switch', variable);
  symlinkSync(switchLink, live);
  const t0 = performance.now();
  const lines = job.proxy === 'edgeplane' ? edgeplaneLines(job) : job.proxy === 'nginx' ? nginxMapLines(job) : haproxyMapLines(job);
  let bytes = writeVariants(variants, lines);
  let main = live;
  if (job.proxy !== 'edgeplane') {
    main = join(dir, job.proxy === 'nginx' ? 'nginx.conf' : 'haproxy.cfg');
    const text = job.proxy === 'nginx' ? nginxMain(job, dir, live) : haproxyMain(job, live);
    const w = new TextWriter(main);
    w.write(text);
    bytes += w.close();
  }
  const set: ConfigSet = { proxy: job.proxy, hosts: job.hosts, dir, main, variants, bytes, writeMs: performance.now() - t0, switchLink };
  switchVariant(set, 'a');
  return set;
}

/** Points the proxy's live config at a variant (atomically: a new link renamed over the old one). */
export function switchVariant(set: ConfigSet, variant: Variant): void {
  const tmp = `${set.switchLink}.next`;
  symlinkSync(set.variants[variant], tmp);
  renameSync(tmp, set.switchLink);
}
