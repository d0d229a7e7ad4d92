// One leg of an agent session: a TLS WebSocket to the edge that authenticates, then carries streams
// through a Mux. A leg that drops reconnects by itself (jittered exponential back-off) and re-sends
// Auth with the session id, so the edge puts it back into the same session with the same labels.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import WebSocket from 'ws';
import { Mux, type MuxStream } from '../tunnel/mux.js';
import {
  DEFAULT_WINDOW, FRAME_HEADER, FrameType, MAX_MESSAGE, ProtocolError, TUNNEL_ALPN, TUNNEL_PATH,
  decodeControl, encodeControl, type AuthResult, type Control, type StreamOpen,
} from '../tunnel/protocol.js';
import type { BackoffOptions, ResolvedAgentOptions } from './options.js';

/** A leg with no ping or message for this many heartbeat intervals is considered dead. */
const MISSED_HEARTBEATS = 3;
/** The edge picks the window; past this it could make us buffer without bound, so we refuse it. */
const MAX_WINDOW = 16 * 1024 * 1024;
/** After a clean close(1000) the edge gets this long to answer before the socket is cut. */
const CLOSE_GRACE_MS = 2_000;

/** Full jitter: a random delay in [0, min(cap, base × 2^attempt)], so reconnecting agents spread out. */
export function backoffDelay(attempt: number, backoff: BackoffOptions): number {
  return Math.floor(Math.random() * Math.min(backoff.capMs, backoff.baseMs * 2 ** attempt));
}

export interface LegContext {
  options: ResolvedAgentOptions;
  agentVersion: string;
  /** The session id to present: '' until the edge has given one. */
  sessionId(): string;
  onStream(stream: MuxStream, open: StreamOpen, leg: Leg): void;
}

export interface LegDown {
  error: Error;
  /** Whether the leg had authenticated (false: a connect or handshake attempt failed). */
  wasUp: boolean;
  /** null: the leg is stopped and will not reconnect. */
  retryInMs: number | null;
}

/**
 * Events: 'up' (AuthResult), 'down' (LegDown), 'refused' (edge's error text: fatal, the leg stops),
 * 'go_away' (reason: the edge will close this leg once its streams are done).
 */
export class Leg extends EventEmitter {
  private ws: WebSocket | null = null;
  private mux: Mux | null = null;
  private stopped = false;
  private attempt = 0;
  private upSince = 0;
  private lastSeen = 0;
  private lastError: Error | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private authTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private closeWaiters: Array<() => void> = [];

  /** The worker index this leg serves; null for a session's first leg until the edge has placed it. */
  constructor(private readonly context: LegContext, public index: number | null) {
    super();
  }

  get isUp(): boolean { return this.mux !== null && !this.mux.isClosed; }
  get streamCount(): number { return this.mux?.streamCount ?? 0; }
  get alpn(): string { return this.index === null ? TUNNEL_ALPN : `${TUNNEL_ALPN}-w${this.index}`; }

  start(): void {
    if (!this.stopped && this.ws === null && this.retryTimer === null) this.connect();
  }

  private connect(): void {
    this.retryTimer = null;
    const { options } = this.context;
    const { host, port } = options.edge;
    const url = `wss://${net.isIP(host) === 6 ? `[${host}]` : host}:${port}${TUNNEL_PATH}`;
    this.lastError = null;
    // ws hands the TLS options through to tls.connect; the ALPN places the leg on its worker.
    let ws: WebSocket;
    try {
      ws = this.createSocket(url);
    } catch (err) {
      // Bad TLS material can throw synchronously: count it as a failed attempt, never crash the agent.
      this.lastError = err as Error;
      this.onClose(1006, '');
      return;
    }
    this.ws = ws;
    ws.on('open', () => this.onOpen(ws));
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('ping', () => { this.lastSeen = Date.now(); });
    ws.on('pong', () => { this.lastSeen = Date.now(); });
    ws.on('error', (err) => { this.lastError ??= err; });
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
  }

  private createSocket(url: string): WebSocket {
    const { options } = this.context;
    return new WebSocket(url, {
      ALPNProtocols: [this.alpn],
      ca: options.edgeCa,
      servername: options.serverName,
      rejectUnauthorized: options.rejectUnauthorized,
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE,
      handshakeTimeout: options.authTimeoutMs || undefined,
      followRedirects: false,
      // An all-zero mask, which ws then skips on both ends. Masking protects proxies that read WebSocket
      // frames in the clear (RFC 6455 §10.3); inside TLS nothing between agent and edge sees them, and
      // masking costs a pass over every byte on each side (ws's JS fallback without bufferutil).
      generateMask: (mask: Buffer) => { mask.fill(0); },
    } as WebSocket.ClientOptions);
  }

  private onOpen(ws: WebSocket): void {
    const { options, agentVersion } = this.context;
    ws.send(encodeControl({
      auth: {
        authtoken: options.authtoken,
        session_id: this.context.sessionId(),
        labels: options.labels,
        metadata: options.metadata,
        agent_version: agentVersion,
        os: process.platform,
        forwards_to: options.forward.address,
        terminates_tls: options.terminator !== null,
      },
    }));
    if (options.authTimeoutMs > 0) {
      this.authTimer = setTimeout(() => this.fail(new Error(`the edge did not answer Auth within ${options.authTimeoutMs} ms`)), options.authTimeoutMs);
    }
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    // Frames still buffered when the leg was cut (fail(), stop()) belong to a connection we gave up on.
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    this.lastSeen = Date.now();
    if (!isBinary) { this.fail(new ProtocolError('text message on a tunnel leg')); return; }
    if (this.mux === null) { this.onAuthAnswer(data); return; }
    this.mux.onFrame(data);
  }

  /** Before authentication the only valid frame is the edge's AuthResult. */
  private onAuthAnswer(data: Buffer): void {
    let message: Control;
    try {
      if (data.length < FRAME_HEADER || data[0] !== FrameType.Control) throw new ProtocolError('the first frame from the edge is not a control message');
      message = decodeControl(data.subarray(FRAME_HEADER));
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    if (!('auth_result' in message)) { this.fail(new ProtocolError('the edge sent something other than AuthResult first')); return; }
    this.clearAuthTimer();
    const result = message.auth_result;
    if (!result.ok) {
      // A refused credential does not get better by retrying; the owner decides what to do.
      this.stopped = true;
      this.lastError = new Error(`authentication refused: ${result.error || 'no reason given'}`);
      this.emit('refused', result.error || 'no reason given');
      this.ws?.close(1000);
      return;
    }
    const problem = resultProblem(result);
    if (problem !== null) { this.fail(new ProtocolError(problem)); return; }
    const ws = this.ws!;
    this.mux = new Mux({
      send: (frame) => ws.send(frame),
      window: result.window || DEFAULT_WINDOW,
      onOpen: (stream, open) => this.context.onStream(stream, open, this),
      onControl: (control) => this.onControl(control),
      onProtocolError: (err) => this.fail(err),
    });
    this.upSince = Date.now();
    this.lastSeen = this.upSince;
    this.startHeartbeatWatch(result.heartbeat_interval_ms);
    this.emit('up', result);
  }

  private onControl(control: Control): void {
    if ('go_away' in control) { this.emit('go_away', control.go_away.reason); return; }
    this.fail(new ProtocolError(`unexpected control message ${Object.keys(control)[0]} after authentication`));
  }

  private startHeartbeatWatch(intervalMs: number): void {
    if (intervalMs <= 0) return;
    const limit = MISSED_HEARTBEATS * intervalMs;
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastSeen > limit) this.fail(new Error(`no heartbeat from the edge for ${limit} ms`));
    }, intervalMs);
    this.heartbeatTimer.unref();
  }

  /** This connection is unusable (protocol violation, dead peer): cut it; onClose reconnects. */
  private fail(err: Error): void {
    this.lastError ??= err;
    this.ws?.terminate();
  }

  private clearAuthTimer(): void {
    if (this.authTimer !== null) { clearTimeout(this.authTimer); this.authTimer = null; }
  }

  private onClose(code: number, reason: string): void {
    this.clearAuthTimer();
    if (this.heartbeatTimer !== null) { clearInterval(this.heartbeatTimer); this.heartbeatTimer = null; }
    const error = this.lastError ?? new Error(`the edge closed the leg (code ${code}${reason === '' ? '' : `: ${reason}`})`);
    this.mux?.close(error);
    this.mux = null;
    this.ws = null;
    const wasUp = this.upSince > 0;
    if (wasUp && Date.now() - this.upSince >= this.context.options.backoff.resetAfterMs) this.attempt = 0;
    this.upSince = 0;
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    for (const resolve of waiters) resolve();
    if (this.stopped) {
      this.emit('down', { error, wasUp, retryInMs: null } satisfies LegDown);
      return;
    }
    const delay = backoffDelay(this.attempt++, this.context.options.backoff);
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.emit('down', { error, wasUp, retryInMs: delay } satisfies LegDown);
  }

  sendControl(control: Control): void {
    this.mux?.sendControl(control);
  }

  /** No more reconnects; the current connection (if any) stays until stop() or the edge closes it. */
  stopReconnecting(): void {
    this.stopped = true;
    if (this.retryTimer !== null) { clearTimeout(this.retryTimer); this.retryTimer = null; }
  }

  /** Closes the leg for good (WebSocket code 1000); resolves once the connection is gone. */
  stop(): Promise<void> {
    this.stopReconnecting();
    const ws = this.ws;
    if (ws === null) return Promise.resolve();
    return new Promise((resolve) => {
      this.closeWaiters.push(resolve);
      if (ws.readyState === WebSocket.CONNECTING) { ws.terminate(); return; }
      ws.close(1000, 'agent closing');
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    });
  }
}

function resultProblem(result: AuthResult): string | null {
  if (result.session_id === '') return 'AuthResult without a session id';
  if (!(result.legs >= 1 && result.legs <= 1024)) return `AuthResult asks for ${result.legs} legs`;
  if (!(result.leg < result.legs)) return `AuthResult places the leg at ${result.leg} of ${result.legs}`;
  if (result.window > MAX_WINDOW) return `AuthResult window ${result.window} is larger than ${MAX_WINDOW}`;
  return null;
}
