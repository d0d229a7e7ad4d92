import { cpuListCores } from './processes.js';
import { ALL_PEERS, type PeerName } from './peers/registry.js';
import { ALL_SCENARIOS, type ScenarioName } from './scenarios.js';

/** Command-line options of `node dist/bench/run.js`. */
export interface BenchOptions {
  scenarios: ScenarioName[];
  peers: PeerName[];
  reps: number;
  /** measured seconds per point */
  duration: number;
  warmup: number;
  /** concurrent connections of the new-connection client */
  conns: number;
  /** 64 MiB downloads per bulk connection */
  bulkPerConn: number;
  /** the whole run stops starting new points after this */
  maxMinutes: number;
  /** max seconds to wait before each point for the cores to go quiet (0 = do not wait) */
  settle: number;
  /** extra attempts at a point whose cores were busy with other work */
  retries: number;
  client: 'auto' | 'tlsload' | 'node';
  /** keep-alive HTTP load (S1, S2a, S4): wrk when installed, else autocannon */
  httpClient: 'auto' | 'wrk' | 'autocannon';
  origin: 'auto' | 'nginx' | 'node';
  /** added to every loopback port */
  portOffset: number;
  /** taskset CPU lists: the proxy's cores, and the load generator's + origin's + runner's */
  cpuProxy: string;
  cpuLoad: string;
  /** workers of every proxy (edgeplane workers, nginx worker_processes, haproxy nbthread, caddy GOMAXPROCS) */
  workers: number;
  json?: string;
}

const USAGE = `usage: node dist/bench/run.js [--scenarios ${ALL_SCENARIOS.join(',')}] [--peers ${ALL_PEERS.join(',')}]
  [--reps 3] [--duration 10] [--warmup 2] [--conns 64] [--bulk-per-conn 8] [--max-minutes 45] [--settle 30] [--retries 2]
  [--client auto|tlsload|node] [--http-client auto|wrk|autocannon] [--origin auto|nginx|node] [--port-offset 0] [--cpu-proxy 0] [--cpu-load 1] [--workers 1] [--json out.json]
       node dist/bench/run.js --render bench/out/run-<UTC>.json`;

function list<T extends string>(value: string, allowed: readonly T[], flag: string): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!allowed.includes(i as T)) throw new Error(`${flag}: unknown "${i}" (one of ${allowed.join(', ')})\n${USAGE}`);
  return items as T[];
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag}: expected a positive number, got "${value}"\n${USAGE}`);
  return n;
}

function choice<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  return list(value, allowed, flag)[0] ?? allowed[0];
}

function cpuListArg(value: string, flag: string): string {
  try { cpuListCores(value); } catch (e) { throw new Error(`${flag}: ${(e as Error).message}\n${USAGE}`); }
  return value;
}

export function parseOptions(argv: string[]): BenchOptions {
  const o: BenchOptions = {
    scenarios: [...ALL_SCENARIOS], peers: [...ALL_PEERS], reps: 3, duration: 10, warmup: 2, conns: 64,
    bulkPerConn: 8, maxMinutes: 45, settle: 30, retries: 2, client: 'auto', httpClient: 'auto', origin: 'auto', portOffset: 0, cpuProxy: '0', cpuLoad: '1', workers: 1,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--help' || flag === '-h') throw new Error(USAGE);
    const v = argv[++i];
    if (v === undefined) throw new Error(`${flag}: missing value\n${USAGE}`);
    switch (flag) {
      case '--scenarios': o.scenarios = list(v, ALL_SCENARIOS, flag); break;
      case '--peers': o.peers = list(v, ALL_PEERS, flag); break;
      case '--reps': o.reps = Math.round(positive(v, flag)); break;
      case '--duration': o.duration = positive(v, flag); break;
      case '--warmup': o.warmup = positive(v, flag); break;
      case '--conns': o.conns = Math.round(positive(v, flag)); break;
      case '--bulk-per-conn': o.bulkPerConn = Math.round(positive(v, flag)); break;
      case '--max-minutes': o.maxMinutes = positive(v, flag); break;
      case '--settle': o.settle = Number(v) >= 0 ? Number(v) : positive(v, flag); break;
      case '--retries': o.retries = Math.max(0, Math.round(Number(v)) || 0); break;
      case '--client': o.client = choice(v, ['auto', 'tlsload', 'node'] as const, flag); break;
      case '--http-client': o.httpClient = choice(v, ['auto', 'wrk', 'autocannon'] as const, flag); break;
      case '--origin': o.origin = choice(v, ['auto', 'nginx', 'node'] as const, flag); break;
      case '--port-offset': o.portOffset = Math.round(Number(v)) || 0; break;
      case '--cpu-proxy': o.cpuProxy = cpuListArg(v, flag); break;
      case '--cpu-load': o.cpuLoad = cpuListArg(v, flag); break;
      case '--workers': o.workers = Math.round(positive(v, flag)); break;
      case '--json': o.json = v; break;
      default: throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  // direct is the denominator of every ratio
  if (!o.peers.includes('direct')) o.peers.unshift('direct');
  return o;
}
