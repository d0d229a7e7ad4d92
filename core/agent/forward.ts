// One stream the edge opened, on the agent side: dial the upstream, answer the OPEN (accept or refuse
// with the reason the edge maps to a gateway error), optionally terminate TLS on the stream with the
// agent's own certificate, then pump bytes both ways until both halves are done.
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { pipeSockets, type PipeEnd } from '../../workers/pipe.js';
import type { MuxStream } from '../tunnel/mux.js';
import type { OpenError, StreamOpen } from '../tunnel/protocol.js';
import type { ForwardTarget } from './options.js';

export interface ForwardSettings {
  target: ForwardTarget;
  /** Given: a TLS upstream's certificate must chain to it. Absent: not verified (like upstream_tls_verify=false). */
  upstreamCa: string | Buffer | undefined;
  /** The agent's own certificate, for streams with terminate_tls; null = the agent cannot terminate. */
  terminator: tls.SecureContext | null;
  connectTimeoutMs: number;
  streamIdleMs: number;
}

export type StreamOutcome =
  | { accepted: false; refused: OpenError; error?: Error }
  /** The edge reset the stream (or the leg dropped) while the agent was still dialing. */
  | { accepted: false; refused: null; error: Error }
  | { accepted: true; how: PipeEnd; error?: Error };

/** Which refusal the edge gets for a failed dial (it maps them to failover and gateway errors). */
export function dialErrorReason(err: unknown): OpenError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED') return 'connect_refused';
  if (code === 'ETIMEDOUT') return 'connect_timeout';
  return 'connect_failed';
}

/** Resolves with a connected (for TLS: handshaken) upstream socket; rejects with the dial error. */
export function dialUpstream(settings: ForwardSettings): Promise<net.Socket> {
  const { target } = settings;
  return new Promise((resolve, reject) => {
    const socket = target.kind === 'tls'
      ? tls.connect({
        host: target.host,
        port: target.port,
        // SNI carries names only; an IP literal is verified against the certificate's IP SANs instead.
        servername: net.isIP(target.host) === 0 ? target.host : undefined,
        ca: settings.upstreamCa,
        rejectUnauthorized: settings.upstreamCa !== undefined,
        allowHalfOpen: true,
      } as tls.ConnectionOptions)
      : net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => {
      fail(Object.assign(new Error(`connecting to ${target.address} timed out after ${settings.connectTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, settings.connectTimeoutMs);
    socket.once('error', fail);
    socket.once(target.kind === 'tls' ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

/** Wraps the stream in a server-side TLS session: the edge relays the client's TLS bytes unchanged. */
function terminateTls(stream: MuxStream, context: tls.SecureContext): Duplex & { setTimeout(ms: number, cb?: () => void): unknown } {
  const secure = new tls.TLSSocket(stream, { isServer: true, secureContext: context });
  // The TLS layer may close without ending the stream cleanly (handshake failure): tell the edge.
  secure.on('close', () => { if (!stream.destroyed) stream.destroy(); });
  return secure;
}

/** Serves one stream the edge opened; `onDone` runs exactly once when the stream is finished. */
export function serveStream(stream: MuxStream, open: StreamOpen, settings: ForwardSettings, onDone: (outcome: StreamOutcome) => void): void {
  if (open.terminate_tls && settings.terminator === null) {
    stream.refuse('no_certificate');
    onDone({ accepted: false, refused: 'no_certificate' });
    return;
  }
  dialUpstream(settings).then(
    (upstream) => {
      // The edge reset the stream (or the leg dropped) while we dialed: nobody wants this upstream.
      if (stream.destroyed) {
        upstream.destroy();
        onDone({ accepted: false, refused: null, error: new Error('the edge closed the stream before the upstream answered') });
        return;
      }
      stream.accept();
      const client = open.terminate_tls ? terminateTls(stream, settings.terminator!) : stream;
      pipeSockets(client, upstream, settings.streamIdleMs, (how, error) => onDone({ accepted: true, how, error }));
    },
    (error: Error) => {
      const refused = dialErrorReason(error);
      if (!stream.destroyed) stream.refuse(refused);
      onDone({ accepted: false, refused, error });
    },
  );
}
