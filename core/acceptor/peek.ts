// Reads the ClientHello without consuming it. With the native addon the bytes stay in the kernel
// (recv MSG_PEEK) so the worker, or the upstream on passthrough, sees the untouched stream.
// Without it (degraded mode) the bytes are read and unshifted back onto the socket.
import type net from 'node:net';
import type { NativeAddon, Poller } from '../native/index.js';
import { parseClientHello, type HelloResult } from './client-hello.js';

export type PeekOutcome =
  | HelloResult
  | { kind: 'timeout' }
  | { kind: 'closed' }
  | { kind: 'error'; reason: string };

export interface PeekOptions { timeoutMs: number; maxBytes: number }

// Record headers add 5 bytes per record on top of the handshake message; a (legal) hello split
// into 1-byte records is 6× its size on the wire. The parser bounds the message itself.
const peekLimit = (maxBytes: number): number => 6 * maxBytes + 5;

/** Peeks on a dup'd fd until a full ClientHello (or a verdict) is there; calls back exactly once. */
export function peekFd(addon: NativeAddon, fd: number, opts: PeekOptions, done: (outcome: PeekOutcome, bytesSeen: number) => void): void {
  const limit = peekLimit(opts.maxBytes);
  let want = Math.min(4096, limit);
  let seen = 0;
  let poller: Poller | null = null;
  let retry: NodeJS.Timeout | null = null;
  let backoff = 1;
  let settled = false;
  const finish = (outcome: PeekOutcome): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    if (retry !== null) clearTimeout(retry);
    poller?.stop();
    // A raised low-water mark would stall the worker's reads; put it back.
    if (lowered) addon.setRcvLowat?.(fd, 1);
    done(outcome, seen);
  };
  const timer = setTimeout(() => finish({ kind: 'timeout' }), opts.timeoutMs);
  let lowered = false;

  const waitFor = (needBytes: number): void => {
    if (addon.setRcvLowat !== undefined && needBytes > 1) {
      // Level-triggered poll + MSG_PEEK would spin on bytes already queued; SO_RCVLOWAT makes the
      // kernel report readable only once `needBytes` are there (or on EOF).
      try { addon.setRcvLowat(fd, Math.min(needBytes, limit)); lowered = true; } catch { /* fall back below */ }
    }
    if (lowered || seen === 0) { // with nothing queued yet, plain readiness is exactly "more bytes"
      poller = addon.waitReadable(fd, (err) => {
        poller = null;
        if (err !== null) finish({ kind: 'error', reason: err.message });
        else attempt();
      });
    } else {
      retry = setTimeout(() => { retry = null; attempt(); }, backoff);
      backoff = Math.min(backoff * 2, 50);
    }
  };

  const attempt = (): void => {
    if (settled) return;
    let buf: Buffer | null;
    try {
      buf = addon.peek(fd, want);
    } catch (err) {
      finish({ kind: 'error', reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
      return;
    }
    if (buf === null) { waitFor(seen + 1); return; }
    if (buf.length === 0) { finish({ kind: 'closed' }); return; }
    seen = buf.length;
    const result = parseClientHello(buf, opts.maxBytes);
    if (result.kind !== 'incomplete') { finish(result); return; }
    if (result.needBytes > limit) { finish({ kind: 'malformed', reason: `ClientHello larger than ${opts.maxBytes} bytes` }); return; }
    if (result.needBytes > want) want = Math.min(limit, Math.max(result.needBytes, want * 2));
    waitFor(Math.max(result.needBytes, seen + 1));
  };
  attempt();
}

/** Degraded mode: reads bytes until the ClientHello parses, then puts them back on the socket. */
export function peekSocket(socket: net.Socket, opts: PeekOptions, done: (outcome: PeekOutcome, bytesSeen: number) => void): void {
  const limit = peekLimit(opts.maxBytes);
  const chunks: Buffer[] = [];
  let total = 0;
  let settled = false;
  const finish = (outcome: PeekOutcome): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.pause();
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.removeListener('error', onError);
    if (total > 0) socket.unshift(Buffer.concat(chunks, total));
    done(outcome, total);
  };
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    total += chunk.length;
    const result = parseClientHello(chunks.length === 1 ? chunk : Buffer.concat(chunks, total), opts.maxBytes);
    if (result.kind !== 'incomplete') finish(result);
    else if (total > limit || result.needBytes > limit) finish({ kind: 'malformed', reason: `ClientHello larger than ${opts.maxBytes} bytes` });
  };
  const onEnd = (): void => finish({ kind: 'closed' });
  const onError = (err: Error): void => finish({ kind: 'error', reason: err.message });
  const timer = setTimeout(() => finish({ kind: 'timeout' }), opts.timeoutMs);
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('error', onError);
  socket.resume();
}
