// The message that carries one accepted connection from the acceptor to a worker.
export interface Handoff {
  /** The dup'd file descriptor (worker mode) or -1 when the socket object is passed in-process. */
  fd: number;
  /** Per-worker sequence number; the worker publishes the last one it adopted in shared counters. */
  seq: number;
  generation: number;
  /** Index into GenerationSpec.hostports. */
  hostport: number;
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  /** SNI from the peeked ClientHello ('' on tcp edges). */
  serverName: string;
  ja4: string;
  /** Wall-clock accept time, ms since the epoch (event start_ts). */
  startMs: number;
  /** performance.timeOrigin + performance.now() when the acceptor posted it (dispatch latency). */
  sentAt: number;
  ipDecision: 'allow' | 'block' | '';
}
