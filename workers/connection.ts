// Serves one connection of a tls or tcp edge on the generation it was accepted under:
// terminate TLS when the edge says so, dial the backend, pipe bytes, then count and report.
import net from 'node:net';
import tls from 'node:tls';
import type { EdgeSpec, GenerationSpec } from '../core/generation/spec.js';
import { EdgeField, type Counters } from '../core/tables/counters.js';
import type { TcpConnectionClosed } from '../core/events/types.js';
import { dialBackend, dialEndpoint, dialPlan, type DialContext } from './dial.js';
import { nativeDialable, relayToCapable, relayToEndpoint } from './native-dial.js';
import type { RelayResult } from '../core/native/index.js';
import { pipeSockets } from './pipe.js';
import { secureContextFor } from './secure-contexts.js';
import type { Handoff } from './handoff.js';
import { log } from '../core/log.js';
import { RateLimitedWarning } from '../core/log-rate.js';
import { relaySockets, type RelayAddon } from './splice-pipe.js';
import { connectionInfo, serveHttps, type HttpWorkerState } from './http/serve.js';
import { clientCertificateInfo } from './http/mtls-headers.js';

export interface ConnectionEnv {
  counters: Counters;
  http: HttpWorkerState;
  workerIndex: number;
  emitClosed(event: TcpConnectionClosed, spec: GenerationSpec): void;
}

/** The edge a handoff is for, or undefined when the generation has no such hostport. */
export function edgeOf(h: Handoff, spec: GenerationSpec): EdgeSpec | undefined {
  const hostport = spec.hostports[h.hostport];
  return hostport === undefined ? undefined : spec.edges[hostport.edge];
}

/**
 * Counts a connection open on its edge; the returned function closes the books exactly once. Null
 * when the edge already has max_connections open: the caller closes the connection at once.
 */
function openRecord(h: Handoff, edge: EdgeSpec, spec: GenerationSpec, env: ConnectionEnv, onClose: () => void): ((bytesIn: number, bytesOut: number) => void) | null {
  const { counters, workerIndex } = env;
  if (!counters.openEdgeConnection(workerIndex, edge.slot, edge.maxConnections)) {
    overLimitWarning.note(() => ({ msg: 'edge at max_connections; closing new connections', fields: { edge: edge.id, max_connections: edge.maxConnections } }), edge.id);
    return null;
  }
  let finished = false;
  return (bytesIn, bytesOut) => {
    if (finished) return;
    finished = true;
    counters.closeEdgeConnection(workerIndex, edge.slot);
    counters.addEdge(edge.slot, EdgeField.BytesIn, bytesIn);
    counters.addEdge(edge.slot, EdgeField.BytesOut, bytesOut);
    env.emitClosed(closedEvent(h, edge, bytesIn, bytesOut), spec);
    onClose();
  };
}

const overLimitWarning = new RateLimitedWarning(10_000);

const dialContext = (spec: GenerationSpec, env: ConnectionEnv): DialContext =>
  ({ backends: spec.backends, counters: env.counters, connectTimeoutMs: spec.connectTimeoutMs });

/**
 * Non-terminating edges with the native relay: the client fd is never wrapped in a socket; once
 * the upstream is dialled the kernel moves the bytes (splice) until both sides are done.
 */
export function relayConnection(addon: RelayAddon, fd: number, h: Handoff, spec: GenerationSpec, env: ConnectionEnv, onClose: () => void): void {
  const edge = edgeOf(h, spec);
  const closeFd = (): void => { try { addon.close(fd); } catch { /* already closed */ } };
  if (edge === undefined) { closeFd(); onClose(); return; }
  const finish = openRecord(h, edge, spec, env, onClose);
  if (finish === null) { closeFd(); onClose(); return; }
  const plan = edge.backend < 0 ? [] : dialPlan(dialContext(spec, env), edge.backend);
  const idleMs = spec.tcpIdleTimeoutMs;
  const done = (r: RelayResult): void => finish(r.clientToUpstream, r.upstreamToClient);
  const native = relayToCapable(addon);
  // Failover (spec §1.7): the next endpoint only when a dial fails; the client fd stays ours until one connects.
  const attempt = (i: number, lastError?: Error): void => {
    const endpoint = plan[i];
    if (endpoint === undefined) {
      log.debug('backend dial failed; closing client', { edge: edge.id, error: lastError?.message ?? 'no online endpoint' });
      closeFd();
      finish(0, 0);
      return;
    }
    if (native !== null && nativeDialable(endpoint)) {
      // The whole upstream side in C: connect, then splice, no net.Socket at all.
      relayToEndpoint(native, fd, endpoint, spec.connectTimeoutMs, idleMs, done).catch((err: Error) => attempt(i + 1, err));
      return;
    }
    dialEndpoint(endpoint, spec.connectTimeoutMs).then((upstream) => adoptUpstream(upstream), (err: Error) => attempt(i + 1, err));
  };
  const adoptUpstream = (upstream: net.Socket): void => {
    let relay;
    try {
      relay = relaySockets(addon, fd, upstream, idleMs, done);
    } catch (err) {
      log.debug('relay failed to start; closing', { edge: edge.id, error: (err as Error).message });
      upstream.destroy();
      closeFd();
      finish(0, 0);
      return;
    }
    if (relay !== null) return;
    // Not relayable (a TLS upstream): the JS pump, on a socket over the same fd.
    const socket = new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
    socket.setNoDelay(true);
    upstream.setNoDelay(true);
    socket.once('close', () => finish(socket.bytesRead, socket.bytesWritten));
    pipeSockets(socket, upstream, idleMs, () => socket.destroy());
  };
  attempt(0);
}

export function serveConnection(socket: net.Socket, h: Handoff, spec: GenerationSpec, env: ConnectionEnv, onClose: () => void): void {
  const edge = edgeOf(h, spec);
  const hostport = spec.hostports[h.hostport];
  if (hostport === undefined || edge === undefined) {
    socket.destroy();
    onClose();
    return;
  }
  const { counters } = env;
  const finish = openRecord(h, edge, spec, env, onClose);
  if (finish === null) { socket.destroy(); onClose(); return; }
  socket.setNoDelay(true);
  // The raw socket closes last, whatever path the connection took: byte counts are final then.
  socket.once('close', () => finish(socket.bytesRead, socket.bytesWritten));

  const dialCtx = dialContext(spec, env);
  const connectUpstream = (client: net.Socket | tls.TLSSocket): void => {
    if (edge.backend < 0) { client.destroy(); return; }
    // What an agent needs to know about the stream (static endpoints ignore it).
    const open = {
      edge_id: edge.id, backend_id: spec.backends[edge.backend]?.id ?? '', protocol: edge.type === 'tcp' ? 'tcp' as const : 'tls' as const,
      client_addr: `${h.clientIp}:${h.clientPort}`, terminate_tls: edge.terminateAtAgent, server_name: h.serverName,
    };
    dialBackend(dialCtx, edge.backend, open).then(
      ({ socket: upstream }) => {
        if (client.destroyed) { upstream.destroy(); return; }
        upstream.setNoDelay(true);
        pipeSockets(client, upstream, spec.tcpIdleTimeoutMs, (how, err) => {
          if (how !== 'closed' && how !== 'idle_timeout') log.debug('connection ended with an error', { edge: edge.id, how, error: err?.message });
          socket.destroy();
        });
      },
      (err: Error) => {
        log.debug('backend dial failed; closing client', { edge: edge.id, error: err.message });
        client.destroy();
      },
    );
  };

  if (!edge.terminate) {
    connectUpstream(socket);
    return;
  }
  const cert = hostport.certificateId === null ? undefined : spec.certificates[hostport.certificateId];
  if (cert === undefined) { socket.destroy(); return; }
  const mutual = edge.clientCaPems !== null;
  const https = edge.type === 'https';
  const secure = new tls.TLSSocket(socket, {
    isServer: true,
    secureContext: secureContextFor(cert, edge),
    ALPNProtocols: https ? HTTPS_ALPN : undefined,
    requestCert: mutual,
    rejectUnauthorized: mutual, // spec §1.6: a missing or untrusted client certificate aborts the handshake
  });
  let handshaken = false;
  secure.once('secure', () => {
    // Node's TLS accepts any client certificate during the handshake and reports the verdict
    // afterwards; a missing one already failed with an alert (SSL_VERIFY_FAIL_IF_NO_PEER_CERT),
    // an untrusted one is refused here before a single application byte moves.
    const refusal = mutual ? clientCertificateProblem(secure) : null;
    if (refusal !== null) {
      counters.addEdge(edge.slot, EdgeField.HandshakeFailures, 1);
      log.debug('client certificate refused', { edge: edge.id, reason: refusal });
      secure.destroy();
      socket.destroy();
      return;
    }
    handshaken = true;
    if (https) {
      const peer = mutual ? secure.getPeerX509Certificate() : undefined;
      const conn = connectionInfo(h, secure, peer === undefined ? null : clientCertificateInfo(peer));
      serveHttps(env.http, { socket: secure, spec, hostport: h.hostport, conn, onClose: () => socket.destroy() });
      return;
    }
    connectUpstream(secure);
  });
  secure.on('error', (err) => {
    if (!handshaken) {
      counters.addEdge(edge.slot, EdgeField.HandshakeFailures, 1);
      log.debug('TLS handshake failed', { edge: edge.id, error: err.message });
    }
    secure.destroy();
    socket.destroy();
  });
  secure.once('close', () => socket.destroy());
}

const HTTPS_ALPN = ['h2', 'http/1.1'];

// A standalone server TLSSocket never fills in `authorized` (only tls.Server does, from the same
// handle call used here), so ask the handle for OpenSSL's verification result directly.
function clientCertificateProblem(secure: tls.TLSSocket): string | null {
  const handle = (secure as unknown as { ssl?: { verifyError(): Error | null } }).ssl;
  if (handle === undefined) return 'no TLS handle';
  const error = handle.verifyError();
  if (error !== null) return (error as NodeJS.ErrnoException).code ?? error.message;
  return secure.getPeerX509Certificate() === undefined ? 'no client certificate' : null;
}

function closedEvent(h: Handoff, edge: EdgeSpec, bytesIn: number, bytesOut: number): TcpConnectionClosed {
  return {
    conn: {
      bytes_in: bytesIn,
      bytes_out: bytesOut,
      client_ip: h.clientIp,
      server_ip: h.serverIp,
      server_name: h.serverName,
      server_port: h.serverPort,
      start_ts: new Date(h.startMs).toISOString(),
      end_ts: new Date().toISOString(),
    },
    ip_policy: { decision: h.ipDecision },
    ja4_fingerprint: h.ja4,
    edge: { id: edge.id },
  };
}
