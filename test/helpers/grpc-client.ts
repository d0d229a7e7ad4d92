// A client of the gRPC control-plane API built the way another control plane would: from proto/control.proto
// (and events.proto) with @grpc/grpc-js + @grpc/proto-loader, nothing shared with the server's code.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

// dist/test/helpers → the repository root's proto/
const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'proto');

type Obj = Record<string, any>;

export interface ControlClient {
  raw: grpc.Client & Record<string, (...args: any[]) => any>;
  /** A unary call; rejects with the gRPC error (err.code is the status). */
  unary(method: 'ApplySnapshot' | 'ApplyDelta' | 'GetConfig', request: Obj): Promise<Obj>;
  /** Opens a server stream; messages arrive in `received`, `next(pred)` waits for a matching one. */
  stream(method: 'WatchStatus' | 'StreamEvents', request: Obj): ControlStream;
  close(): void;
}

export interface ControlStream {
  received: Obj[];
  next(pred: (message: Obj) => boolean, timeoutMs?: number): Promise<Obj>;
  /** Resolves with the error that ended the stream (or null at a clean end). */
  ended: Promise<grpc.ServiceError | null>;
  cancel(): void;
}

/** `tls`: the CA to verify the server with and the name to expect (default: cleartext HTTP/2). */
export function controlClient(address: string, apiKey: string, tls?: { ca: string; servername: string }): ControlClient {
  const definition = protoLoader.loadSync('control.proto', { keepCase: true, longs: Number, defaults: false, oneofs: true, includeDirs: [PROTO_DIR] });
  const pkg = grpc.loadPackageDefinition(definition) as any;
  const Client = pkg.edgeplane.control.v1.ControlPlane as grpc.ServiceClientConstructor;
  const credentials = tls === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(Buffer.from(tls.ca));
  const options = tls === undefined ? {} : { 'grpc.ssl_target_name_override': tls.servername, 'grpc.default_authority': tls.servername };
  const raw = new Client(address, credentials, options) as ControlClient['raw'];
  const metadata = (): grpc.Metadata => {
    const m = new grpc.Metadata();
    m.set('authorization', `Bearer ${apiKey}`);
    return m;
  };
  return {
    raw,
    unary: (method, request) => new Promise((resolve, reject) => {
      raw[method]!(request, metadata(), { deadline: Date.now() + 30_000 }, (err: grpc.ServiceError | null, response: Obj) => (err ? reject(err) : resolve(response)));
    }),
    stream(method, request) {
      const call = raw[method]!(request, metadata()) as grpc.ClientReadableStream<Obj>;
      const received: Obj[] = [];
      const waiters = new Set<() => void>();
      call.on('data', (message: Obj) => { received.push(message); for (const w of [...waiters]) w(); });
      const ended = new Promise<grpc.ServiceError | null>((resolve) => {
        call.on('error', (err: grpc.ServiceError) => resolve(err));
        call.on('end', () => resolve(null));
      });
      return {
        received,
        ended,
        cancel: () => call.cancel(),
        next: (pred, timeoutMs = 15_000) => new Promise((resolve, reject) => {
          const check = (): boolean => {
            const found = received.find(pred);
            if (found === undefined) return false;
            waiters.delete(waiter);
            clearTimeout(timer);
            resolve(found);
            return true;
          };
          const waiter = (): void => { check(); };
          const timer = setTimeout(() => { waiters.delete(waiter); reject(new Error(`no matching ${method} message within ${timeoutMs} ms (${received.length} received)`)); }, timeoutMs);
          if (!check()) waiters.add(waiter);
        }),
      };
    },
    close: () => raw.close(),
  };
}
