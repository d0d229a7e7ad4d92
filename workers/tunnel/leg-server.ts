// Serves agent connections handed to this worker by the acceptor: TLS with the tunnel certificate,
// an HTTP upgrade to WebSocket (ws), then the Auth handshake. An accepted leg joins `agentLegs`.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import type { GenerationSpec, TunnelSpec } from '../../core/generation/spec.js';
import { MAX_MESSAGE, TUNNEL_ALPN, TUNNEL_PATH, FrameType, decodeControl, encodeControl, type Auth } from '../../core/tunnel/protocol.js';
import { labelProblem } from '../../core/config/syntax.js';
import { secureContextFor } from '../secure-contexts.js';
import type { Handoff } from '../handoff.js';
import { AgentLeg, newLegKey, type LegReport } from './leg.js';
import { agentLegs } from './agent-legs.js';
import { log } from '../../core/log.js';

/** TLS, upgrade and Auth must all be done within this long, or the connection is dropped. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
const MAX_LABELS = 64;
const MAX_LABEL_BYTES = 256;
const MAX_METADATA_BYTES = 4096;
const SESSION_ID = /^ts_[A-Za-z0-9]{10,64}$/;

export class TunnelServer {
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  private readonly legs = new Set<AgentLeg>();
  /** One leg per session on this worker: a session's newer leg replaces an older one (a half-open leftover). */
  private readonly bySession = new Map<string, AgentLeg>();

  constructor(private readonly workerIndex: number, private readonly workerCount: number, private readonly report: (report: LegReport) => void) {
    // Never listens: the acceptor owns the port; sockets arrive through accept().
    this.http = http.createServer({ requestTimeout: HANDSHAKE_TIMEOUT_MS, headersTimeout: HANDSHAKE_TIMEOUT_MS, maxHeaderSize: 8192 });
    this.http.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', connection: 'close', upgrade: 'websocket' });
      res.end('edgeplane tunnel listener: agents connect with `edgeplane agent`\n');
    });
    this.http.on('clientError', (_err, socket) => socket.destroy());
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE, perMessageDeflate: false });
  }

  get legCount(): number { return this.legs.size; }

  accept(raw: net.Socket, h: Handoff, spec: GenerationSpec, onClose: () => void): void {
    const tunnel = spec.tunnel;
    if (tunnel === null) { raw.destroy(); onClose(); return; }
    raw.once('close', onClose);
    // A leg meant for another worker (down, so the acceptor placed it here) offers only that worker's
    // protocol: the handshake fails (no_application_protocol) and the agent retries with back-off until
    // its worker is back, so a session keeps one leg per worker.
    const alpn = [TUNNEL_ALPN, `${TUNNEL_ALPN}-w${this.workerIndex}`];
    const secure = new tls.TLSSocket(raw, {
      isServer: true,
      secureContext: secureContextFor(tunnel.certificate, { minVersion: 'TLSv1.2', clientCaPems: null }),
      ALPNProtocols: alpn,
    });
    const deadline = setTimeout(() => { secure.destroy(); raw.destroy(); }, HANDSHAKE_TIMEOUT_MS);
    deadline.unref();
    secure.on('error', (err) => { log.debug('agent connection failed', { client_ip: h.clientIp, error: err.message }); secure.destroy(); raw.destroy(); });
    secure.once('close', () => { clearTimeout(deadline); raw.destroy(); });
    secure.once('secure', () => {
      const upgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer): void => {
        if (socket !== secure) return;
        this.http.removeListener('upgrade', upgrade);
        if (req.url !== TUNNEL_PATH) { socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'); return; }
        this.wss.handleUpgrade(req, socket, head, (ws) => this.authenticate(ws, h, tunnel, deadline));
      };
      this.http.on('upgrade', upgrade);
      secure.once('close', () => this.http.removeListener('upgrade', upgrade));
      this.http.emit('connection', secure);
    });
  }

  /** The first message must be Auth; a leg that is not authenticated carries nothing. */
  private authenticate(ws: WebSocket, h: Handoff, tunnel: TunnelSpec, deadline: NodeJS.Timeout): void {
    ws.on('error', () => ws.terminate());
    ws.once('message', (data: Buffer, isBinary: boolean) => {
      clearTimeout(deadline);
      let auth: Auth;
      try {
        if (!isBinary || data.length < 5 || data[0] !== FrameType.Control) throw new Error('the first message must be Auth');
        const control = decodeControl(data.subarray(5));
        if (!('auth' in control)) throw new Error('the first message must be Auth');
        auth = control.auth;
      } catch (err) {
        this.refuse(ws, `malformed handshake: ${(err as Error).message}`, 4002);
        return;
      }
      const credentialId = matchToken(tunnel, auth.authtoken);
      if (credentialId === null) {
        log.info('agent refused: invalid authtoken', { client_ip: h.clientIp });
        this.refuse(ws, 'ERR_NGROK_107: the authtoken is not valid', 4001);
        return;
      }
      const problem = authProblem(auth);
      if (problem !== null) { this.refuse(ws, problem, 4003); return; }
      const sessionId = auth.session_id !== '' ? auth.session_id : `ts_${randomBytes(16).toString('hex').slice(0, 26)}`;
      const leg = new AgentLeg(ws, {
        key: newLegKey(this.workerIndex), sessionId, credentialId, labels: { ...auth.labels }, metadata: auth.metadata, agentVersion: auth.agent_version, os: auth.os,
        forwardsTo: auth.forwards_to, terminatesTls: auth.terminates_tls, clientIp: h.clientIp, clientPort: h.clientPort,
        leg: this.workerIndex, startedAt: new Date().toISOString(),
      }, tunnel, agentLegs, (report) => {
        if (!report.up) {
          this.legs.delete(leg);
          if (this.bySession.get(sessionId) === leg) this.bySession.delete(sessionId);
        }
        this.report(report);
      });
      this.bySession.get(sessionId)?.close(4004, 'replaced by a newer connection of the session');
      this.legs.add(leg);
      this.bySession.set(sessionId, leg);
      ws.send(encodeControl({ auth_result: {
        ok: true, error: '', session_id: sessionId, legs: this.workerCount, leg: this.workerIndex,
        heartbeat_interval_ms: tunnel.heartbeatMs, window: leg.mux.window,
      } }));
      leg.start();
    });
  }

  private refuse(ws: WebSocket, error: string, code: number): void {
    ws.send(encodeControl({ auth_result: { ok: false, error, session_id: '', legs: 0, leg: 0, heartbeat_interval_ms: 0, window: 0 } }));
    ws.close(code, error.slice(0, 120));
    setTimeout(() => ws.terminate(), 2000).unref();
  }

  /** A reload removed or changed authtokens: legs authenticated with a credential that is gone are closed. */
  revalidate(spec: GenerationSpec): void {
    const ids = new Set(spec.tunnel?.tokens.map((t) => t.id) ?? []);
    for (const leg of this.legs) {
      if (!ids.has(leg.credentialId)) leg.close(4001, 'authtoken revoked');
    }
  }

  /** The worker is stopping: agents reconnect elsewhere (or to the next process). */
  closeAll(reason: string): void {
    for (const leg of this.legs) leg.close(1001, reason);
  }
}

/** The id of the authtoken presented, or null. Every token is compared (constant time, by hash). */
function matchToken(tunnel: TunnelSpec, presented: string): string | null {
  const digest = createHash('sha256').update(presented).digest();
  let found: string | null = null;
  for (const token of tunnel.tokens) {
    if (timingSafeEqual(digest, Buffer.from(token.sha256, 'hex')) && found === null) found = token.id;
  }
  return found;
}

function authProblem(auth: Auth): string | null {
  if (auth.session_id !== '' && !SESSION_ID.test(auth.session_id)) return 'session_id is malformed';
  const entries = Object.entries(auth.labels);
  if (entries.length === 0) return 'an agent needs at least one label (tunnel groups select agents by label)';
  if (entries.length > MAX_LABELS) return `at most ${MAX_LABELS} labels`;
  for (const [key, value] of entries) {
    if (Buffer.byteLength(key) > MAX_LABEL_BYTES || Buffer.byteLength(value) > MAX_LABEL_BYTES) return `label '${key.slice(0, 40)}' is longer than ${MAX_LABEL_BYTES} bytes`;
    const problem = labelProblem(key, value);
    if (problem !== null) return problem;
  }
  if (Buffer.byteLength(auth.metadata) > MAX_METADATA_BYTES) return `metadata is longer than ${MAX_METADATA_BYTES} bytes`;
  if (auth.agent_version.length > 64 || auth.os.length > 64 || auth.forwards_to.length > 512) return 'agent_version, os or forwards_to is too long';
  return null;
}
