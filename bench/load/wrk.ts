import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runPinned, type CpuList, cpuListCores } from '../processes.js';

/** One wrk run, as the Lua script reports it (latencies in µs; err_status = non-2xx/3xx answers). */
export interface WrkResult {
  requests: number; duration_us: number; bytes: number;
  err_connect: number; err_read: number; err_write: number; err_status: number; err_timeout: number;
  p50_us: number; p90_us: number; p99_us: number; p999_us: number; mean_us: number; max_us: number;
}

/** What to ask for: every load sends `host` as its Host header (edgeplane routes cleartext by Host). */
export interface WrkRequest { port: number; tls: boolean; host: string; path: string; headers?: string[] }

// The script lives beside the sources (tsc does not copy it into dist/).
const SCRIPT = fileURLToPath(new URL('../../../bench/load/wrk-report.lua', import.meta.url));

/** Whether a `wrk` binary is on PATH (`wrk -v` exits 1 even when it works, so only a spawn error means absent). */
export function wrkInstalled(): boolean {
  return spawnSync('wrk', ['-v'], { stdio: 'ignore' }).error === undefined;
}

export type HttpClientKind = 'wrk' | 'autocannon';

/** The keep-alive HTTP load of `--http-client`: auto = wrk when installed, else autocannon (a dependency). */
export function chooseHttpClient(wanted: 'auto' | HttpClientKind): HttpClientKind {
  if (wanted === 'autocannon') return 'autocannon';
  if (wrkInstalled()) return 'wrk';
  if (wanted === 'wrk') throw new Error('--http-client wrk: wrk is not installed (run bench/install-peers.sh, or use --http-client autocannon)');
  return 'autocannon';
}

export function wrkVersion(): string {
  try { return execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0].trim(); } catch (e) {
    const out = String((e as { stdout?: string }).stdout ?? '');
    return out ? out.split('\n')[0].trim() : 'not installed';
  }
}

// wrk, as peers-bench: one thread, `conns` keep-alive connections, closed loop, 5 s request timeout.
// TLS: the URL names the SNI host; the script connects to 127.0.0.1:port whatever the name.
export async function runWrk(cpu: CpuList, req: WrkRequest, conns: number, seconds: number): Promise<WrkResult> {
  const url = req.tls ? `https://${req.host}:${req.port}${req.path}` : `http://127.0.0.1:${req.port}${req.path}`;
  // one wrk thread per load core (peers-bench: -t1 on its one load core)
  const threads = Math.min(conns, cpuListCores(cpu).length);
  const args = [`-t${threads}`, `-c${conns}`, `-d${seconds}s`, '--timeout', '5s', '-s', SCRIPT, '-H', `Host: ${req.host}`];
  for (const h of req.headers ?? []) args.push('-H', h);
  args.push(url);
  const out = await runPinned(cpu, 'wrk', args, (seconds + 30) * 1000, { ...process.env, WRK_CONNECT_PORT: String(req.port) });
  const line = out.stdout.split('\n').find((l) => l.startsWith('LOADJSON '));
  if (!line) throw new Error(`wrk gave no result (rc ${out.code}${out.timedOut ? ', timed out' : ''}): ${(out.stderr || out.stdout).slice(-400)}`);
  return JSON.parse(line.slice('LOADJSON '.length)) as WrkResult;
}
