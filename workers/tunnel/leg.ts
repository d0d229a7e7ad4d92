// One authenticated leg of an agent session on this worker: a WebSocket carrying the stream
// multiplexer. It is routable from `agentLegs` until it closes or the agent says it is draining.
import type { WebSocket } from 'ws';
import { Mux, MuxStream, StreamOpenError } from '../../core/tunnel/mux.js';
import type { StreamOpen } from '../../core/tunnel/protocol.js';
import type { TunnelSpec } from '../../core/generation/spec.js';
import type { AgentLegHandle, AgentLegs } from './agent-legs.js';
import { log } from '../../core/log.js';

/** What a leg knows of its session (reported to the main thread, which keeps the session registry). */
export interface LegInfo {
  /** Unique per leg (process + thread + counter): the main thread tells a reconnected leg from the one it replaced. */
  key: string;
  sessionId: string;
  credentialId: string;
  labels: Record<string, string>;
  metadata: string;
  agentVersion: string;
  os: string;
  forwardsTo: string;
  terminatesTls: boolean;
  clientIp: string;
  clientPort: number;
  /** This worker's index (= the leg's index in its session). */
  leg: number;
  startedAt: string;
}

export interface LegReport { up: boolean; info: LegInfo; reason: string }

let nextKey = 1;

const OPEN_DEFAULTS: StreamOpen = { edge_id: '', backend_id: '', protocol: 'tcp', client_addr: '', terminate_tls: false, server_name: '' };

/** A leg key unique across the process's threads. */
export function newLegKey(workerIndex: number): string {
  return `${workerIndex}.${nextKey++}`;
}

export class AgentLeg implements AgentLegHandle {
  readonly mux: Mux;
  private heartbeat: NodeJS.Timeout | null = null;
  private lastPong = Date.now();
  private draining = false;
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    readonly info: LegInfo,
    private readonly tunnel: TunnelSpec,
    private readonly registry: AgentLegs,
    private readonly report: (report: LegReport) => void,
  ) {
    this.mux = new Mux({
      send: (frame) => { if (ws.readyState === ws.OPEN) ws.send(frame, { binary: true }); },
      maxStreams: tunnel.maxStreams,
      onControl: (message) => {
        if ('go_away' in message) this.drain(message.go_away.reason);
        else this.close(4002, 'unexpected control message after authentication');
      },
      onProtocolError: (err) => {
        log.warn('agent leg broke the protocol; closing it', { session_id: info.sessionId, leg: info.leg, error: err.message });
        this.close(4002, 'protocol error');
      },
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) { this.close(4002, 'text message'); return; }
      this.mux.onFrame(data);
    });
    ws.on('pong', () => { this.lastPong = Date.now(); });
    ws.on('close', (code: number) => this.closed || this.gone(`connection closed (${code})`));
    ws.on('error', (err: Error) => this.gone(`connection error: ${err.message}`));
    this.heartbeat = setInterval(() => this.beat(), tunnel.heartbeatMs);
    this.heartbeat.unref();
  }

  get key(): string { return this.info.key; }
  get sessionId(): string { return this.info.sessionId; }
  get labels(): Readonly<Record<string, string>> { return this.info.labels; }
  get terminatesTls(): boolean { return this.info.terminatesTls; }
  get credentialId(): string { return this.info.credentialId; }

  /** Routable from now on. */
  start(): void {
    this.registry.add(this);
    this.report({ up: true, info: this.info, reason: '' });
  }

  openStream(open: Partial<StreamOpen>, timeoutMs: number): Promise<MuxStream> {
    if (this.draining || this.closed) return Promise.reject(new StreamOpenError('draining'));
    const opening = this.mux.open({ ...OPEN_DEFAULTS, ...open });
    if (timeoutMs <= 0) return opening;
    return new Promise((resolve, reject) => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        reject(new StreamOpenError('connect_timeout', `agent did not open the stream within ${timeoutMs} ms`));
      }, timeoutMs);
      opening.then((stream) => {
        clearTimeout(timer);
        if (late) stream.destroy(); else resolve(stream);
      }, (err: Error) => {
        clearTimeout(timer);
        if (!late) reject(err);
      });
    });
  }

  private beat(): void {
    if (Date.now() - this.lastPong > this.tunnel.toleranceMs) {
      log.info('agent leg missed its heartbeats; closing it', { session_id: this.info.sessionId, leg: this.info.leg });
      this.ws.terminate();
      this.gone('heartbeat timeout');
      return;
    }
    try { this.ws.ping(); } catch { /* closing */ }
  }

  /** The agent is going away: no new streams here; close once the open ones are done. */
  private drain(reason: string): void {
    if (this.draining) return;
    this.draining = true;
    this.registry.remove(this);
    log.info('agent leg draining', { session_id: this.info.sessionId, leg: this.info.leg, reason, streams: this.mux.streamCount });
    const check = (): void => {
      if (this.closed) return;
      if (this.mux.streamCount === 0) this.close(1000, 'drained');
      else setTimeout(check, 50).unref();
    };
    check();
  }

  /** Closes the leg from our side (the edge is stopping, a credential was removed, a protocol error). */
  close(code: number, reason: string): void {
    if (this.closed) return;
    try { this.ws.close(code, reason); } catch { this.ws.terminate(); }
    // A peer that never completes the closing handshake is cut off.
    setTimeout(() => this.ws.terminate(), 2000).unref();
    this.gone(reason);
  }

  private gone(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat !== null) { clearInterval(this.heartbeat); this.heartbeat = null; }
    this.registry.remove(this);
    // In-flight streams on this leg fail now; other legs' streams are untouched.
    this.mux.close(new Error(`agent session leg closed: ${reason}`));
    this.report({ up: false, info: this.info, reason });
  }
}
