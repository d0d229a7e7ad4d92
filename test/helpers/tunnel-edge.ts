// An in-process fake edge for unit-testing the tunnel agent: a real TLS (https) server with a `ws`
// WebSocketServer that speaks the session protocol through the real Mux. It can answer with any worker
// count, refuse tokens, ping (or stay silent), open streams, and cut legs.
import { EventEmitter } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { Mux, type MuxStream } from '../../core/tunnel/mux.js';
import {
  FRAME_HEADER, FrameType, MAX_MESSAGE, TUNNEL_ALPN, TUNNEL_PATH, decodeControl, encodeControl,
  type Auth, type Control, type StreamOpen,
} from '../../core/tunnel/protocol.js';

export interface FakeEdgeOptions {
  cert: string;
  key: string;
  /** Worker count announced in AuthResult (default 1). */
  legs?: number;
  /** Tokens accepted; anything else is refused (default: every token). */
  tokens?: string[];
  /** Worker a first leg (plain ALPN) lands on (default 0). */
  firstLeg?: number;
  heartbeatMs?: number;
  /** Announce heartbeatMs but never ping (to test the agent's dead-edge detection). */
  silent?: boolean;
  window?: number;
}

export interface EdgeLeg {
  ws: WebSocket;
  alpn: string;
  auth: Auth;
  index: number;
  sessionId: string;
  mux: Mux;
  controls: Control[];
  closed: Promise<{ code: number }>;
}

/** Events: 'auth' (Auth, alpn), 'leg' (EdgeLeg), 'control' (EdgeLeg, Control), 'leg_closed' (EdgeLeg, code). */
export class FakeEdge extends EventEmitter {
  readonly auths: Array<{ auth: Auth; alpn: string }> = [];
  readonly legs: EdgeLeg[] = [];
  private readonly server: https.Server;
  private readonly wss: WebSocketServer;
  private readonly timers = new Set<NodeJS.Timeout>();
  port = 0;

  constructor(readonly options: FakeEdgeOptions) {
    super();
    const alpns = [TUNNEL_ALPN, ...Array.from({ length: 16 }, (_, i) => `${TUNNEL_ALPN}-w${i}`)];
    this.server = https.createServer({ cert: options.cert, key: options.key, ALPNProtocols: alpns });
    this.wss = new WebSocketServer({ server: this.server, path: TUNNEL_PATH, perMessageDeflate: false, maxPayload: MAX_MESSAGE });
    this.wss.on('connection', (ws, req) => this.onConnection(ws, (req.socket as TLSSocket).alpnProtocol || ''));
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => {
      this.port = (this.server.address() as AddressInfo).port;
      resolve(this.port);
    }));
  }

  get address(): string { return `127.0.0.1:${this.port}`; }
  /** Legs whose WebSocket is open right now. */
  get openLegs(): EdgeLeg[] { return this.legs.filter((l) => l.ws.readyState === l.ws.OPEN); }

  private onConnection(ws: WebSocket, alpn: string): void {
    ws.once('message', (data: Buffer) => {
      let control: Control;
      try {
        if (data[0] !== FrameType.Control) throw new Error('first frame is not control');
        control = decodeControl(data.subarray(FRAME_HEADER));
      } catch {
        ws.terminate();
        return;
      }
      if (!('auth' in control)) { ws.terminate(); return; }
      const auth = control.auth;
      this.auths.push({ auth, alpn });
      this.emit('auth', auth, alpn);
      const legs = this.options.legs ?? 1;
      const tokens = this.options.tokens;
      if (tokens !== undefined && !tokens.includes(auth.authtoken)) {
        ws.send(encodeControl({ auth_result: { ok: false, error: 'invalid authtoken', session_id: '', legs: 0, leg: 0, heartbeat_interval_ms: 0, window: 0 } }));
        ws.close(1008, 'authentication failed');
        return;
      }
      const worker = /-w(\d+)$/.exec(alpn);
      const index = worker !== null ? Number(worker[1]) : (this.options.firstLeg ?? 0);
      const sessionId = auth.session_id || `ses_${randomUUID()}`;
      const controls: Control[] = [];
      const leg: EdgeLeg = {
        ws, alpn, auth, index, sessionId, controls,
        mux: new Mux({
          send: (frame) => ws.send(frame),
          window: this.options.window,
          onControl: (c) => { controls.push(c); this.emit('control', leg, c); },
          onProtocolError: () => ws.terminate(),
        }),
        closed: new Promise((resolve) => ws.once('close', (code) => resolve({ code }))),
      };
      ws.on('message', (frame: Buffer) => leg.mux.onFrame(frame));
      ws.on('close', (code) => { leg.mux.close(new Error('leg closed')); this.emit('leg_closed', leg, code); });
      this.legs.push(leg);
      const heartbeat = this.options.heartbeatMs ?? 0;
      ws.send(encodeControl({ auth_result: { ok: true, error: '', session_id: sessionId, legs, leg: index, heartbeat_interval_ms: heartbeat, window: this.options.window ?? 0 } }));
      if (heartbeat > 0 && this.options.silent !== true) {
        const timer = setInterval(() => { if (ws.readyState === ws.OPEN) ws.ping(); }, heartbeat);
        this.timers.add(timer);
        ws.once('close', () => { clearInterval(timer); this.timers.delete(timer); });
      }
      this.emit('leg', leg);
    });
  }

  /** Opens a stream on an open leg (the newest for `index`, or the first open one). */
  openStream(open: Partial<StreamOpen> = {}, index?: number): Promise<MuxStream> {
    const candidates = this.openLegs.filter((l) => index === undefined || l.index === index);
    const leg = candidates[candidates.length - 1];
    if (leg === undefined) return Promise.reject(new Error(`no open leg${index === undefined ? '' : ` for worker ${index}`}`));
    return leg.mux.open({ edge_id: 'edg_test', backend_id: 'bkd_test', protocol: 'tcp', client_addr: '192.0.2.1:5000', terminate_tls: false, server_name: '', ...open });
  }

  /** Resolves when `predicate` holds (polled every 10 ms), or rejects after `ms`. */
  waitFor(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
    return waitUntil(predicate, ms, what);
  }

  close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    for (const client of this.wss.clients) client.terminate();
    return new Promise((resolve) => { this.wss.close(); this.server.close(() => resolve()); this.server.closeAllConnections(); });
  }
}

export function waitUntil(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (predicate()) { resolve(); return; }
      if (Date.now() > deadline) { reject(new Error(`timed out after ${ms} ms waiting for ${what}`)); return; }
      setTimeout(poll, 10);
    };
    poll();
  });
}
