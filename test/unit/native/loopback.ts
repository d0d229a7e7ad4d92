// Loopback helpers shared by the relayTo and acceptLoop tests: raw server-side fds, a blackhole
// port, byte-exact transfers. Every peer registers its own teardown.
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Test } from 'tap';
import type { NativeAddon } from '../../../core/native/index.js';

export const MiB = 1024 * 1024;

type HandleHolder = { _handle: { fd: number } };

export function handleFd(socket: net.Socket | net.Server): number {
  return (socket as unknown as HandleHolder)._handle.fd;
}

export async function listen(t: Test, server: net.Server, host = '127.0.0.1', backlog?: number): Promise<number> {
  server.listen({ port: 0, host, backlog });
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => { server.close(() => resolve()); }));
  return (server.address() as net.AddressInfo).port;
}

export interface Pair {
  /** The test's end of the connection. */
  peer: net.Socket;
  /** The other end as a raw dup'd fd; the net.Socket it came from is destroyed. */
  fd: number;
  /** Ownership moved on (to a relay): teardown must not close it. */
  handOff(): void;
}

/** A loopback connection whose server end is a bare fd, the way the acceptor hands it on. */
export async function rawPair(t: Test, addon: NativeAddon): Promise<Pair> {
  const server = net.createServer({ pauseOnConnect: true });
  const port = await listen(t, server);
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const peer = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  peer.on('error', () => {}); // resets are part of several tests
  t.teardown(() => { peer.destroy(); });
  await once(peer, 'connect');
  const [socket] = await accepted;
  const fd = addon.dup(handleFd(socket));
  socket.destroy();
  let owned = true;
  t.teardown(() => { if (owned) addon.close(fd); });
  return { peer, fd, handOff: () => { owned = false; } };
}

/** A port on which nothing listens (bound once, then closed): connecting is refused. */
export async function closedPort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => { server.close(() => resolve()); });
  return port;
}

/**
 * A loopback port whose accept queue is full, so the kernel drops new SYNs and a connect hangs:
 * a local blackhole. A listen backlog of 1 queues 2 connections (Linux admits backlog + 1); the
 * socket lives on as a dup nobody accepts on.
 */
export async function blackholePort(t: Test, addon: NativeAddon): Promise<number> {
  const server = net.createServer();
  server.listen({ port: 0, host: '127.0.0.1', backlog: 1 });
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const fd = addon.dup(handleFd(server));
  server.close();
  t.teardown(() => addon.close(fd));
  for (let i = 0; i < 2; i++) {
    const filler = net.connect(port, '127.0.0.1');
    filler.on('error', () => {});
    t.teardown(() => { filler.destroy(); });
    await once(filler, 'connect');
  }
  return port;
}

export interface Received { bytes: number; sha256: string; text: string }

/** Reads until FIN; keeps the text only for small transfers. */
export function receive(socket: net.Socket, keepText = true): Promise<Received> {
  const hash = createHash('sha256');
  let bytes = 0;
  const text: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
    if (keepText) text.push(chunk);
  });
  return new Promise((resolve, reject) => {
    socket.once('end', () => resolve({ bytes, sha256: hash.digest('hex'), text: Buffer.concat(text).toString('latin1') }));
    socket.once('error', reject);
  });
}

/** Writes `total` random bytes in 1 MiB chunks, honouring backpressure, then FIN. Returns their sha256. */
export async function sendRandom(socket: net.Socket, total: number, onChunk?: (written: number) => void): Promise<string> {
  const hash = createHash('sha256');
  for (let written = 0; written < total;) {
    const chunk = randomBytes(Math.min(MiB, total - written));
    hash.update(chunk);
    written += chunk.length;
    await new Promise<void>((resolve, reject) => socket.write(chunk, (err) => (err ? reject(err) : resolve())));
    onChunk?.(written);
  }
  socket.end();
  return hash.digest('hex');
}

/** Resolves once the peer sees its connection end: a FIN, a reset or a close. */
export function hungUp(socket: net.Socket): Promise<void> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    for (const event of ['end', 'error', 'close']) socket.once(event, () => resolve());
    socket.resume();
  });
}

/** Resolves with the connect error code of host:port ('ECONNREFUSED'), or 'connected'. */
export function connectOutcome(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => { socket.destroy(); resolve('connected'); });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

export function ipv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

export interface WorkerMessage { kind: string; [key: string]: unknown }

/** Runs inline CommonJS `source` as a worker; next() resolves with each message in order. */
export function startWorker(t: Test, source: string, workerData: unknown): {
  worker: Worker; messages: WorkerMessage[]; next(): Promise<WorkerMessage>;
} {
  const worker = new Worker(source, { eval: true, workerData });
  t.teardown(() => worker.terminate().then(() => undefined));
  const messages: WorkerMessage[] = [];
  let seen = 0;
  let wake: (() => void) | undefined;
  worker.on('message', (m: WorkerMessage) => { messages.push(m); wake?.(); });
  worker.on('error', (err) => { messages.push({ kind: 'error', message: err.message }); wake?.(); });
  const next = async (): Promise<WorkerMessage> => {
    while (messages.length <= seen) await new Promise<void>((resolve) => { wake = resolve; });
    return messages[seen++]!;
  };
  return { worker, messages, next };
}
