// A public listener whose connections are accepted by the addon (acceptLoop) instead of net.Server,
// which would make a net.Socket per connection only for the acceptor to dup and destroy it.
// net.Server still creates and binds the socket (so bind errors read as they always did); then
// its fd is dup'd, the server closed, and only the dup accepts. See native-notes.md.
import net from 'node:net';
import type { ListenerPlan } from '../generation/spec.js';
import type { AcceptCallback, AcceptLoop, NativeAddon, NativeError } from '../native/index.js';

/** An addon build that has acceptLoop(). */
export type AcceptAddon = NativeAddon & Required<Pick<NativeAddon, 'acceptLoop'>>;

/** What to listen on: a ListenerPlan, or the parts of one that matter here. */
export interface NativeListenerOptions {
  address: string;
  port: number;
  kind: ListenerPlan['kind'];
  /** listen(2) backlog; default 4096, as core/acceptor/listeners.ts. */
  backlog?: number;
}

const BACKLOG = 4096;

/** The addon when this build has acceptLoop(), else null (use net.Server then). */
export function acceptCapable(addon: NativeAddon | null): AcceptAddon | null {
  return addon !== null && typeof addon.acceptLoop === 'function' ? (addon as AcceptAddon) : null;
}

function listenError(options: NativeListenerOptions, err: NodeJS.ErrnoException): Error {
  const what = options.kind === 'tcp' ? 'tcp edge' : options.kind === 'tunnel' ? 'tunnel agents' : options.kind === 'http' ? 'plain http' : 'tls/https edges';
  return new Error(`cannot listen on ${options.address}:${options.port} (${what}): ${err.code ?? err.message}`);
}

export class NativeListener {
  private closed = false;

  private constructor(private readonly loop: AcceptLoop, private readonly bound: net.AddressInfo) {}

  /**
   * Binds and listens, then accepts natively: onConnection(fd, remoteAddress, remotePort,
   * localAddress, localPort) runs once per connection and owns fd (dup'd connections are plain,
   * non-blocking, close-on-exec fds; IPv4-mapped addresses come as plain IPv4). onError sees the
   * accept errors that pause the loop for a moment (EMFILE, ENFILE, ...). Rejects with the same
   * messages as core/acceptor/listeners.ts ("cannot listen on 0.0.0.0:443 (tls/https edges): EADDRINUSE").
   */
  static open(addon: AcceptAddon, options: NativeListenerOptions, onConnection: AcceptCallback,
    onError?: (err: NativeError) => void): Promise<NativeListener> {
    const server = net.createServer({ pauseOnConnect: true });
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(options, err)));
      server.listen({ host: options.address, port: options.port, backlog: options.backlog ?? BACKLOG }, () => {
        // Synchronously, inside 'listening': the loop has not polled the server's fd yet, so
        // net.Server never accepts a connection.
        const bound = server.address() as net.AddressInfo;
        const fd = (server as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
        let dup = -1;
        try {
          if (typeof fd !== 'number' || fd < 0) throw Object.assign(new Error('no listening fd'), { code: 'ENOTSOCK' });
          dup = addon.dup(fd);
        } catch (err) {
          server.close();
          reject(listenError(options, err as NodeJS.ErrnoException));
          return;
        }
        // Closes only the server's fd number (libuv unregisters it first); the dup keeps the
        // socket listening, and its accept queue, as it is.
        server.close();
        try {
          resolve(new NativeListener(addon.acceptLoop(dup, onConnection, onError), bound));
        } catch (err) {
          addon.close(dup);
          reject(listenError(options, err as NodeJS.ErrnoException));
        }
      });
    });
  }

  /** The bound address (the real port when asked for port 0). */
  address(): net.AddressInfo {
    return { ...this.bound };
  }

  /** Connections handed to onConnection so far. */
  get accepted(): number {
    return this.loop.accepted;
  }

  /** Accept errors that paused the loop (EMFILE, ENFILE, ...). */
  get acceptErrors(): number {
    return this.loop.acceptErrors;
  }

  /** Stops accepting and closes the listening socket (queued, unaccepted connections are reset). Idempotent. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.loop.stop();
    }
    return Promise.resolve();
  }
}
