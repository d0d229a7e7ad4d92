// Moves bytes both ways between a client and an upstream with backpressure, correct half-close
// (one side's FIN becomes a FIN to the other, the other direction keeps flowing) and an idle
// timeout. Hand-rolled instead of stream.pipeline: pipeline destroys both sides on the first
// 'end', which breaks half-close, and the manual pump is measurably cheaper per chunk.
import type { Duplex } from 'node:stream';

type Socketish = Duplex & { setTimeout(ms: number, cb?: () => void): unknown };

const LINGER_MS = 30_000;

export type PipeEnd = 'closed' | 'idle_timeout' | 'client_error' | 'upstream_error';

function pump(from: Socketish, to: Socketish): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.on('end', () => to.end());
}

export function pipeSockets(client: Socketish, upstream: Socketish, idleMs: number, onDone: (how: PipeEnd, err?: Error) => void): void {
  let open = 2;
  let how: PipeEnd = 'closed';
  let cause: Error | undefined;
  const finish = (): void => {
    if (--open === 0) onDone(how, cause);
  };
  const abort = (why: PipeEnd, err?: Error): void => {
    if (how === 'closed') { how = why; cause = err; }
    client.destroy();
    upstream.destroy();
  };
  pump(client, upstream);
  pump(upstream, client);
  client.on('error', (err) => abort('client_error', err));
  upstream.on('error', (err) => abort('upstream_error', err));
  // When one side is gone for good, the other gets a bounded grace period to finish its half.
  const linger = (other: Socketish) => (): void => {
    finish();
    if (!other.destroyed) other.setTimeout(idleMs > 0 ? idleMs : LINGER_MS, () => other.destroy());
  };
  client.on('close', linger(upstream));
  upstream.on('close', linger(client));
  if (idleMs > 0) client.setTimeout(idleMs, () => abort('idle_timeout'));
  // Sockets arrive paused (nothing may be read before the upstream is there); start both now.
  client.resume();
  upstream.resume();
}
