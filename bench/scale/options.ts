import { PROXIES, type ScaleProxy } from './names.js';

/** Command-line options of `node dist/bench/route-scale.js`. */
export interface ScaleOptions {
  hosts: number[];
  reps: number;
  /** edgeplane `workers`, nginx `worker_processes`, haproxy `nbthread` */
  workers: number;
  peers: ScaleProxy[];
  /** hostnames per edgeplane edge (edgeplane caps edges at 16,384, so N hostnames cannot be N edges) */
  hostsPerEdge: number;
  /** concurrent connections and measured seconds of each new-connection point */
  conns: number;
  connSeconds: number;
  /** a start or a reload slower than this is reported as failed */
  timeoutS: number;
  /** max seconds to wait for quiet cores before a point (0 = do not wait) */
  settle: number;
  portOffset: number;
  cpuProxy: number;
  cpuLoad: number;
  keepConfigs: boolean;
  /** origin and client: Go sniload (auto when Go is installed) or the node scripts */
  tools: 'auto' | 'go' | 'node';
  json?: string;
}

export const SCALE_USAGE = `usage: node dist/bench/route-scale.js [--hosts 100000,1000000] [--reps 3] [--workers 2]
  [--peers ${PROXIES.join(',')}] [--json out.json]
  [--hosts-per-edge 100] [--conns 32] [--conn-seconds 3] [--timeout 300] [--settle 10]
  [--port-offset 0] [--cpu-proxy 0] [--cpu-load 1] [--tools auto|go|node] [--keep-configs]
       node dist/bench/route-scale.js --render bench/out/route-scale-<UTC>.json

Route-table scale: TLS passthrough routed by SNI among N hostnames, for each proxy: build time (spawn →
first routed handshake), memory after ready, new TLS connections/s at N vs 3 hostnames (edgeplane also
its host-table lookup in ns), and the time a reload takes to reach the clients. Markdown on stdout, raw
JSON in bench/out/route-scale-<UTC>.json (and --json FILE). caddy is listed as "not the same job".`;

function fail(message: string): never {
  throw new UsageError(`${message}\n\n${SCALE_USAGE}`);
}

/** A user mistake on the command line: printed without a stack trace. */
export class UsageError extends Error {}

function count(value: string, flag: string, min = 1): number {
  // 1e6 and 1_000_000 read as numbers too
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min) fail(`${flag}: expected an integer ≥ ${min}, got "${value}"`);
  return n;
}

export function parseScaleOptions(argv: string[]): ScaleOptions {
  const o: ScaleOptions = {
    hosts: [100_000, 1_000_000], reps: 3, workers: 2, peers: [...PROXIES], hostsPerEdge: 100,
    conns: 32, connSeconds: 3, timeoutS: 300, settle: 10, portOffset: 0, cpuProxy: 0, cpuLoad: 1, keepConfigs: false, tools: 'auto',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--help' || flag === '-h') throw new HelpRequested(SCALE_USAGE);
    if (flag === '--keep-configs') { o.keepConfigs = true; continue; }
    const v = argv[++i];
    if (v === undefined || v.startsWith('--')) fail(`${flag}: missing value`);
    switch (flag) {
      case '--hosts': {
        o.hosts = [...new Set(v.split(',').filter(Boolean).map((s) => count(s.trim(), flag)))].sort((a, b) => a - b);
        if (o.hosts.length === 0) fail('--hosts: give at least one count');
        break;
      }
      case '--peers': {
        const names = v.split(',').map((s) => s.trim()).filter(Boolean);
        const unknown = names.filter((n) => !PROXIES.includes(n as ScaleProxy) && n !== 'caddy');
        if (unknown.length > 0) fail(`--peers: unknown "${unknown.join(', ')}" (one of ${PROXIES.join(', ')}, caddy)`);
        // caddy is always listed (as not the same job), asked for or not
        o.peers = PROXIES.filter((p) => names.includes(p));
        break;
      }
      case '--reps': o.reps = count(v, flag); break;
      case '--workers': o.workers = count(v, flag); if (o.workers > 256) fail('--workers: at most 256'); break;
      case '--hosts-per-edge': o.hostsPerEdge = count(v, flag); break;
      case '--conns': o.conns = count(v, flag); break;
      case '--conn-seconds': o.connSeconds = count(v, flag); break;
      case '--timeout': o.timeoutS = count(v, flag); break;
      case '--settle': o.settle = count(v, flag, 0); break;
      case '--port-offset': o.portOffset = count(v, flag, 0); break;
      case '--cpu-proxy': o.cpuProxy = count(v, flag, 0); break;
      case '--cpu-load': o.cpuLoad = count(v, flag, 0); break;
      case '--json': o.json = v; break;
      case '--tools': {
        if (v !== 'auto' && v !== 'go' && v !== 'node') fail(`--tools: expected auto, go or node, got "${v}"`);
        o.tools = v;
        break;
      }
      default: fail(`unknown option ${flag}`);
    }
  }
  if (o.cpuProxy === o.cpuLoad) fail('--cpu-proxy and --cpu-load must be different cores');
  return o;
}

/** --help: the usage goes to stdout and the exit code is 0. */
export class HelpRequested extends Error {}
