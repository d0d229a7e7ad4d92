// Misbehaving upstreams for fault-injection tests: raw TCP servers that read an HTTP/1.1 request
// head and then reset, stall or never answer, and a listener whose accept queue is full (connects
// to it hang). Every server and child is closed in teardown.
import net from 'node:net';
import { spawn } from 'node:child_process';
import { rawOrigin as socketServer } from '../http.js';

interface Teardown { teardown(fn: () => unknown): void }

export interface RawOrigin {
  port: number;
  address: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Sockets still open on the origin's side. */
  open(): net.Socket[];
  /** Resolves when every accepted connection has closed (the edge gave up on it). */
  allClosed(timeoutMs?: number): Promise<void>;
  /** Request body bytes (after the head) received over all connections. */
  bodyBytes(): number;
}

/** What the origin does once a request head has arrived; `socket` already read past the head. */
export type HeadHandler = (socket: net.Socket, head: string) => void;

/** A TCP server that hands each request head (up to the blank line) to `onHead`; later bytes are counted. */
export async function rawOrigin(t: Teardown, onHead: HeadHandler): Promise<RawOrigin> {
  let body = 0;
  const server = await socketServer(t, (socket) => {
    let buffered = '';
    let headSeen = false;
    socket.on('data', (d: Buffer) => {
      if (headSeen) { body += d.length; return; }
      buffered += d.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      headSeen = true;
      body += buffered.length - end - 4;
      onHead(socket, buffered.slice(0, end));
    });
  });
  return {
    ...server,
    bodyBytes: () => body,
    async allClosed(timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (server.open().length > 0) {
        if (Date.now() > until) throw new Error(`${server.open().length} origin connection(s) still open after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/** A 200 head promising `length` bytes (chunked when null) and `sent` bytes of body (one chunk if chunked). */
export function partialResponse(length: number | null, sent: number): Buffer {
  const head = length === null
    ? 'HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n'
    : `HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${length}\r\n\r\n`;
  const body = Buffer.alloc(sent, 0x61);
  return length === null
    ? Buffer.concat([Buffer.from(head + sent.toString(16) + '\r\n'), body, Buffer.from('\r\n')])
    : Buffer.concat([Buffer.from(head), body]);
}

/**
 * Writes a partial response and keeps the socket until `reset()` is called (when the test's client has
 * seen the head, so the reset is surely mid-body), then sends a TCP RST.
 */
export function resetMidBody(length: number | null, sent: number): { onHead: HeadHandler; reset(): void } {
  const waiting: net.Socket[] = [];
  return {
    onHead(socket) { socket.write(partialResponse(length, sent)); waiting.push(socket); },
    reset() { for (const s of waiting.splice(0)) s.resetAndDestroy(); },
  };
}

/** Resets as soon as the request head is in: nothing of a response ever leaves. */
export const resetOnHead: HeadHandler = (socket) => { socket.resetAndDestroy(); };

/** Reads `bytes` of the request body, then resets (the client is still uploading). */
export function resetAfterBody(bytes: number): HeadHandler {
  return (socket) => {
    let got = 0;
    socket.on('data', (d: Buffer) => { got += d.length; if (got >= bytes && !socket.destroyed) socket.resetAndDestroy(); });
  };
}

/** Reads everything and never answers. */
export const neverAnswer: HeadHandler = () => {};

/** Sends the head and `sent` bytes of a `length`-byte body, then nothing more, ever. */
export function headThenStall(length: number, sent: number): HeadHandler {
  return (socket) => { socket.write(partialResponse(length, sent)); };
}

/**
 * A listening socket that never accepts: a child process listens with backlog 1 and then blocks its
 * event loop, so the kernel's accept queue fills with `fill` connections and later SYNs are dropped
 * (a connect to it hangs until the connector's own timeout, like an unresponsive host).
 */
export async function nonAcceptingListener(t: Teardown): Promise<{ port: number; address: string }> {
  const script = `
    const net = require('node:net');
    const s = net.createServer(() => {});
    s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      process.stdout.write(String(s.address().port) + '\\n');
      // Block the loop before libuv can accept anything: connections stay in the kernel's queue.
      setImmediate(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { text += d; if (text.includes('\n')) resolve(Number(text.trim())); });
    child.once('exit', (code) => reject(new Error(`listener child exited ${code}`)));
  });
  // Fill the accept queue (backlog 1 keeps two); these fillers are never accepted and are never used.
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    fillers.push(s);
  }
  t.teardown(() => { for (const s of fillers) s.destroy(); });
  await new Promise((r) => setTimeout(r, 200)); // the fillers' SYNs have been answered or dropped by now
  return { port, address: `127.0.0.1:${port}` };
}

/** Resolves true once a plain connect to `port` has stayed pending for `ms` (the queue is full). */
export function connectHangs(port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => resolve(false));
    s.on('connect', () => { s.destroy(); resolve(false); });
    setTimeout(() => { s.destroy(); resolve(true); }, ms);
  });
}
