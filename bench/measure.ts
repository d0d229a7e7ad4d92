import type { CpuList } from './processes.js';
import { beginCpuWindow, endCpuWindow, probeCoreMs, type CpuSample } from './cpu.js';
import { BIG_BYTES } from './fixtures.js';
import { runBulk } from './load/bulk.js';
import { runConns, type ConnsClient, type ConnsResult } from './load/tls-conns.js';
import { SNI_NAMES } from './ports.js';
import type { HttpDetail } from './measure-http.js';

/** What one measured point needs: where the load runs and whose CPU is charged. */
export interface MeasureContext {
  cpuLoad: CpuList;
  /** root pid of the proxy (or of the origin for direct rows); its whole tree is charged */
  pid: number | undefined;
  originPid: number;
  seconds: number;
  warmupSeconds: number;
  conns: number;
  bulkPerConn: number;
  client: ConnsClient;
  /** set for direct rows: nothing between the load and the upstream */
  direct?: boolean;
}

/** One measured window: the rate, the work done and the CPU it cost. */
export interface Measured {
  rate: number;
  /** connections completed, or bytes moved */
  work: number;
  /** proxy µs per connection, or proxy CPU-s per GB (1e9 B) */
  cpu_per_unit: number;
  errors: number;
  cpu: CpuSample;
  probe_ms: number[];
  detail: ConnsResult | { transfers: number; bytes: number; secs: number; connections: number } | HttpDetail;
}

export function probes(): number[] { return [probeCoreMs(0), probeCoreMs(1)]; }

export async function measureConns(m: MeasureContext, port: number): Promise<Measured> {
  await runConns(m.client, m.cpuLoad, port, SNI_NAMES[0], m.conns, m.warmupSeconds);
  const probe_ms = probes();
  const w = beginCpuWindow(m.pid, m.originPid);
  const r = await runConns(m.client, m.cpuLoad, port, SNI_NAMES[0], m.conns, m.seconds);
  const cpu = endCpuWindow(w);
  return {
    rate: r.requests / (r.duration_us / 1e6), work: r.requests,
    cpu_per_unit: r.requests > 0 ? (cpu.proc_cpu_s * 1e6) / r.requests : NaN,
    errors: r.err_connect + r.err_read + r.err_status, cpu, probe_ms, detail: r,
  };
}

// Bulk: connections of `bulkPerConn` sequential 64 MiB downloads, repeated until `seconds` have passed.
export async function measureBulk(m: MeasureContext, port: number, tls: boolean): Promise<Measured> {
  await runBulk(m.cpuLoad, port, tls, 1, BIG_BYTES, 60);
  const probe_ms = probes();
  const w = beginCpuWindow(m.pid, m.originPid);
  const end = Date.now() + m.seconds * 1000;
  let bytes = 0;
  let secs = 0;
  let transfers = 0;
  let errors = 0;
  let connections = 0;
  do {
    const r = await runBulk(m.cpuLoad, port, tls, m.bulkPerConn, BIG_BYTES, 120);
    bytes += r.bytes; secs += r.secs; transfers += r.downloads; errors += r.errors; connections++;
    if (r.downloads === 0) break;
  } while (Date.now() < end);
  const cpu = endCpuWindow(w);
  return {
    rate: secs > 0 ? bytes / secs / 1e6 : 0, work: bytes,
    cpu_per_unit: bytes > 0 ? cpu.proc_cpu_s / (bytes / 1e9) : NaN,
    errors, cpu, probe_ms, detail: { transfers, bytes, secs, connections },
  };
}
