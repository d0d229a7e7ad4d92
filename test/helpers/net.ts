// Loopback servers and clients for end-to-end tests. Every server is closed in teardown.
import net from 'node:net';
import tls from 'node:tls';
import { spawn } from 'node:child_process';

interface Teardown { teardown(fn: () => unknown): void }

/** A port that was free a moment ago (for configs that need a port before the daemon binds it). */
// Ports for listeners under test come from below the kernel's ephemeral range (32768+ here) and
// below the bench's fixed ports (18080+): a port handed out by listen(0) is free only until some
// other test's outgoing connection takes it as its source port, which made daemons fail with
// EADDRINUSE now and then.
const PORT_LOW = 10_000;
const PORT_HIGH = 18_000;

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = PORT_LOW + Math.floor(Math.random() * (PORT_HIGH - PORT_LOW));
    if (await tryListen(port)) return port;
  }
  throw new Error(`no free port in ${PORT_LOW}-${PORT_HIGH} after 200 tries`);
}

function track(t: Teardown, server: net.Server): void {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  t.teardown(() => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }));
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

/** TCP server that greets with `name\n` and then echoes; half-close aware (answers "bye" after the client's FIN). */
export async function echoServer(t: Teardown, name: string): Promise<{ port: number; server: net.Server; received: () => number }> {
  let received = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    socket.write(`${name}\n`);
    socket.on('data', (d) => { received += d.length; socket.write(d); });
    socket.on('end', () => socket.end('bye\n'));
  });
  track(t, server);
  return { port: await listen(server), server, received: () => received };
}

/** TLS server with its own certificate that greets with `name` then echoes. */
export async function tlsEchoServer(t: Teardown, name: string, cert: string, key: string): Promise<{ port: number }> {
  const server = tls.createServer({ cert, key }, (socket) => {
    socket.on('error', () => {});
    socket.write(`${name}\n`);
    socket.pipe(socket);
  });
  track(t, server);
  return { port: await listen(server) };
}

/** Connects and collects everything until close; resolves with the text (and whether it was a clean end). */
export function readAll(socket: net.Socket, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no close within ${timeoutMs} ms; got ${JSON.stringify(text)}`)); }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => { text += d; });
    socket.on('error', () => {});
    socket.on('end', () => socket.end()); // the peer is done: finish our half too (allowHalfOpen sockets)
    socket.on('close', () => { clearTimeout(timer); resolve(text); });
  });
}

/** Reads from a socket until `text` contains `want`. */
export function readUntil(socket: net.Socket, want: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => { cleanup(); reject(new Error(`did not see ${JSON.stringify(want)} within ${timeoutMs} ms; got ${JSON.stringify(text)}`)); }, timeoutMs);
    const onData = (d: Buffer | string): void => { text += d.toString(); if (text.includes(want)) { cleanup(); resolve(text); } };
    const onClose = (): void => { cleanup(); reject(new Error(`closed before ${JSON.stringify(want)}; got ${JSON.stringify(text)}`)); };
    const cleanup = (): void => { clearTimeout(timer); socket.off('data', onData); socket.off('close', onClose); };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

export function connectTcp(port: number, opts: { localAddress?: string } = {}): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: opts.localAddress, allowHalfOpen: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Outcome of a closed-or-open probe: did the server close the connection without answering? */
export function closedWithoutData(socket: net.Socket, timeoutMs = 10_000): Promise<boolean> {
  return readAll(socket, timeoutMs).then((text) => text.length === 0);
}

export interface ProcessResult { code: number | null; stdout: string; stderr: string }

/** Runs a program (openssl, curl) with stdin text; resolves on exit, kills it at the timeout. */
export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; keepStdinOpenMs?: number } = {}): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    child.stdin.on('error', () => {});
    if (opts.input !== undefined) child.stdin.write(opts.input);
    if (opts.keepStdinOpenMs !== undefined) setTimeout(() => child.stdin.end(), opts.keepStdinOpenMs);
    else child.stdin.end();
  });
}
