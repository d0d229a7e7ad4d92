// `edgeplane bench tcp`: the project's own TCP load generator (TCP edges, or any TCP server).
//   connect   closed loop of new connections: connect, optionally send a request, read until an expected
//             byte count or the server's close, close; reports connections/s.
//   bulk      each connection writes --size bytes and reads the same amount back (an echo upstream); MB/s.
//   download  each connection optionally sends a request, then reads until the server's close or --size; MB/s.
// It has to be cheaper per byte than what it measures: every socket reads into one shared buffer
// (the bytes are counted, never kept) and writes the same preallocated chunk over and over.
import net from 'node:net';
import { LatencyHistogram, type LatencyBucket, type LatencyStats } from './histogram.js';
import { PerSecondSampler } from './per-second.js';

export const TCP_MODES = ['connect', 'bulk', 'download'] as const;
export type TcpMode = (typeof TCP_MODES)[number];

export const DEFAULT_BULK_BYTES = 64 * 1024 * 1024;
const READ_BYTES = 256 * 1024;
const WRITE_CHUNK_BYTES = 256 * 1024;
const IDLE_TIMEOUT_MS = 10_000;

export interface TcpLoadOptions {
  host: string;
  port: number;
  mode: TcpMode;
  connections: number;
  durationS: number;
  /** connect, download: bytes written right after connecting (e.g. an HTTP/1.0 request) */
  send: Buffer | null;
  /** connect: close once this many bytes arrived; null: read until the server closes (or, with nothing to send, close at once) */
  expectBytes: number | null;
  /** bulk: bytes each connection writes and reads back (default 64 MiB); download: bytes to read, fewer is an error (null: until the server closes) */
  sizeBytes: number | null;
  progress: NodeJS.WritableStream | null;
}

export interface TcpErrors {
  /** refused, unreachable, reset before the connection was up */
  connect: number;
  /** nothing moved for 10 s */
  timeout: number;
  /** an error (reset) once connected */
  transfer: number;
  /** the server closed before the expected bytes arrived */
  short: number;
}

export interface TcpLoadSummary {
  scenario: 'tcp';
  mode: TcpMode;
  target: string;
  connections: number;
  durationS: number;
  /** bulk: bytes per transfer; download: bytes expected per transfer (null: until the server closes) */
  sizeBytes: number | null;
  /** connections (connect) or transfers (bulk, download) that completed */
  completed: number;
  /** bulk, download: transfers still running when the time was up (stopped; their bytes count) */
  stoppedAtEnd: number;
  /** conn/s, or MB/s of bytes read (1 MB = 10^6 B) */
  rate: number;
  rateUnit: 'conn/s' | 'MB/s';
  bytes: { sent: number; received: number };
  /** time to an established connection */
  connectMs: LatencyStats;
  /** whole connection (connect) or transfer (bulk, download), from connecting to the last byte wanted */
  latencyMs: LatencyStats;
  latencyDistribution: LatencyBucket[];
  errors: TcpErrors;
  /** `rate` in each second of the run */
  perSecond: number[];
}

export async function runTcpLoad(o: TcpLoadOptions): Promise<TcpLoadSummary> {
  const moving = o.mode !== 'connect';
  const size = o.mode === 'bulk' ? o.sizeBytes ?? DEFAULT_BULK_BYTES : o.sizeBytes;
  // bytes wanted per connection before it counts as done; null: until the server closes
  const want = o.mode === 'connect' ? o.expectBytes : size;
  const readBuffer = Buffer.allocUnsafe(READ_BYTES);
  const chunk = Buffer.alloc(WRITE_CHUNK_BYTES, 'edgeplane bench tcp ');
  const connectTimes = new LatencyHistogram();
  const doneTimes = new LatencyHistogram();
  const errors: TcpErrors = { connect: 0, timeout: 0, transfer: 0, short: 0 };
  const bytes = { sent: 0, received: 0 };
  let completed = 0;
  let stoppedAtEnd = 0;
  const sampler = new PerSecondSampler((second, value) => {
    o.progress?.write(`\r${second}s: ${moving ? `${(value / 1e6).toFixed(1)} MB/s` : `${value} conn/s`}   `);
  });
  // bulk and download transfers are cut when the time is up, so the window is exact however long one is
  const inFlight = new Set<() => void>();
  const started = performance.now();
  const deadline = started + o.durationS * 1000;
  let timeUp = false;
  const stopTimer = moving ? setTimeout(() => { timeUp = true; for (const cut of inFlight) cut(); }, o.durationS * 1000) : undefined;

  const one = (): Promise<void> => new Promise((resolve) => {
    const t0 = performance.now();
    let connected = false;
    let finished = false;
    let failed = false;
    let timedOut = false;
    let cutAtEnd = false;
    let received = 0;
    let written = 0;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      completed++;
      doneTimes.record(performance.now() - t0);
      if (!moving) sampler.add(1);
    };
    const socket = net.connect({
      host: o.host, port: o.port,
      onread: {
        buffer: readBuffer,
        callback: (n: number): boolean => {
          received += n;
          bytes.received += n;
          if (moving) sampler.add(n);
          if (want !== null && received >= want && !finished) {
            finish();
            // bulk, connect: the exchange is over, close politely; download: the server may send more
            if (o.mode === 'download') socket.destroy(); else socket.end();
          }
          return true;
        },
      },
    });
    const cut = (): void => { if (!finished) { cutAtEnd = true; stoppedAtEnd++; socket.destroy(); } };
    if (moving) inFlight.add(cut);
    const pump = (): void => {
      while (written < size!) {
        const n = Math.min(WRITE_CHUNK_BYTES, size! - written);
        written += n;
        bytes.sent += n;
        if (!socket.write(n === WRITE_CHUNK_BYTES ? chunk : chunk.subarray(0, n))) { socket.once('drain', pump); return; }
      }
    };
    socket.setTimeout(IDLE_TIMEOUT_MS, () => { timedOut = true; socket.destroy(); });
    socket.once('connect', () => {
      connected = true;
      connectTimes.record(performance.now() - t0);
      if (o.mode === 'bulk') pump();
      else if (o.send !== null) { bytes.sent += o.send.length; socket.write(o.send); }
      else if (want === null && o.mode === 'connect') socket.end();
    });
    socket.on('end', () => { if (want === null) finish(); });
    socket.on('error', () => { failed = true; });
    socket.once('close', () => {
      inFlight.delete(cut);
      if (!finished && !cutAtEnd) {
        if (timedOut) errors.timeout++;
        else if (!connected) errors.connect++;
        else if (failed) errors.transfer++;
        else errors.short++;
      }
      resolve();
    });
  });

  const worker = async (): Promise<void> => { while (!timeUp && performance.now() < deadline) await one(); };
  await Promise.all(Array.from({ length: o.connections }, worker));
  clearTimeout(stopTimer);
  const samples = sampler.stop();
  o.progress?.write('\n');
  const elapsedS = (performance.now() - started) / 1000;
  const toMB = (b: number): number => Math.round(b / 1e4) / 100;
  return {
    scenario: 'tcp',
    mode: o.mode,
    target: `${o.host}:${o.port}`,
    connections: o.connections,
    durationS: Math.round(elapsedS * 100) / 100,
    sizeBytes: size,
    completed,
    stoppedAtEnd,
    rate: moving ? toMB(bytes.received / elapsedS) : Math.round(completed / elapsedS),
    rateUnit: moving ? 'MB/s' : 'conn/s',
    bytes,
    connectMs: connectTimes.stats(),
    latencyMs: doneTimes.stats(),
    latencyDistribution: doneTimes.buckets(),
    errors,
    perSecond: moving ? samples.map(toMB) : samples,
  };
}
