// The message that carries one accepted connection from the acceptor to a worker.
export interface Handoff {
  /** The dup'd file descriptor (worker mode) or -1 when the socket object is passed in-process. */
  fd: number;
  /** Per-worker sequence number; the worker publishes the last one it adopted in shared counters. */
  seq: number;
  generation: number;
  /** Index into GenerationSpec.hostports, or PLAIN_HTTP_HOSTPORT / TUNNEL_HOSTPORT. */
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
  /** Agent legs: the worker this leg is meant for (-1: any). */
  preferredWorker: number;
}

/** Handoff.hostport of a connection to the cleartext HTTP listener (routed per request by Host). */
export const PLAIN_HTTP_HOSTPORT = -1;
/** Handoff.hostport of an agent connecting to the tunnel listener. */
export const TUNNEL_HOSTPORT = -2;
