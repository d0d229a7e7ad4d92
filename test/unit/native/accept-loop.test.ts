import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import t, { type Test } from 'tap';
import { loadNative } from '../../../core/native/index.js';
import { acceptCapable, NativeListener, type AcceptAddon } from '../../../core/acceptor/native-listener.js';
import { connectOutcome, handleFd, ipv6Loopback, listen, startWorker } from './loopback.js';

const UNUSED_FD = 999_999;
const INDEX_URL = new URL('../../../core/native/index.js', import.meta.url).href;
const LISTENER_URL = new URL('../../../core/acceptor/native-listener.js', import.meta.url).href;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;

const HAS_IPV6 = await ipv6Loopback();
const HAS_PRLIMIT = (() => { try { execFileSync('prlimit', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const loaded = loadNative();
const acceptAddon = acceptCapable(loaded.addon);
if (acceptAddon === null) {
  t.fail(`native addon with acceptLoop() not loaded: ${loaded.error ?? 'this build has no acceptLoop'}`);
  t.end();
} else {
  defineTests(acceptAddon);
}

interface Accepted { fd: number; remoteAddress: string; remotePort: number; localAddress: string; localPort: number }

/** A NativeListener whose connections are collected; every fd and the listener close in teardown. */
async function openListener(t: Test, addon: AcceptAddon, address: string): Promise<{
  listener: NativeListener; accepted: Accepted[]; waitFor(n: number): Promise<void>;
}> {
  const accepted: Accepted[] = [];
  let wake: (() => void) | undefined;
  const listener = await NativeListener.open(addon, { address, port: 0, kind: 'sni' }, (fd, remoteAddress, remotePort, localAddress, localPort) => {
    accepted.push({ fd, remoteAddress, remotePort, localAddress, localPort });
    wake?.();
  });
  t.teardown(async () => {
    await listener.close();
    for (const c of accepted) addon.close(c.fd);
  });
  const waitFor = async (n: number): Promise<void> => {
    while (accepted.length < n) await new Promise<void>((resolve) => { wake = resolve; });
  };
  return { listener, accepted, waitFor };
}

/** Connects and keeps the client until teardown. */
async function connectClient(t: Test, port: number, host: string): Promise<net.Socket> {
  const socket = net.connect(port, host);
  socket.on('error', () => {});
  t.teardown(() => { socket.destroy(); });
  await once(socket, 'connect');
  return socket;
}

function fdFlags(fd: number): number {
  const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1');
  return parseInt(/flags:\s*([0-7]+)/.exec(info)![1]!, 8);
}

function defineTests(addon: AcceptAddon): void {
  t.test('accepts a burst of 200 connections with the right addresses and ports', async (t) => {
    const { listener, accepted, waitFor } = await openListener(t, addon, '127.0.0.1');
    const { port } = listener.address();
    t.not(port, 0, 'bound to a real port');
    const clients = await Promise.all(Array.from({ length: 200 }, () => connectClient(t, port, '127.0.0.1')));
    await waitFor(200);
    t.equal(accepted.length, 200);
    t.equal(listener.accepted, 200, 'accepted counter');
    t.equal(listener.acceptErrors, 0);
    t.same(accepted.map((c) => c.remotePort).sort(), clients.map((c) => c.localPort!).sort(), 'every client, once');
    t.ok(accepted.every((c) => c.remoteAddress === '127.0.0.1' && c.localAddress === '127.0.0.1' && c.localPort === port));
    t.equal(new Set(accepted.map((c) => c.fd)).size, 200, 'distinct fds');
    const flags = fdFlags(accepted[0]!.fd);
    t.ok(flags & O_NONBLOCK, 'O_NONBLOCK');
    t.ok(flags & O_CLOEXEC, 'O_CLOEXEC');
  });

  t.test('an accepted fd is the whole connection: peek sees the first byte, a socket over it talks', async (t) => {
    const { listener, accepted, waitFor } = await openListener(t, addon, '127.0.0.1');
    const client = await connectClient(t, listener.address().port, '127.0.0.1');
    client.write('hello');
    await waitFor(1);
    const { fd } = accepted.pop()!; // the socket below owns it now
    let peeked: Buffer | null = null;
    for (let turn = 0; turn < 10_000 && (peeked?.length ?? 0) < 5; turn++) {
      peeked = addon.peek(fd, 16);
      await new Promise((resolve) => setImmediate(resolve));
    }
    t.equal(peeked?.toString(), 'hello');
    const socket = new net.Socket({ fd, readable: true, writable: true });
    t.teardown(() => { socket.destroy(); });
    const [data] = await once(socket, 'data') as [Buffer];
    t.equal(data.toString(), 'hello', 'read from byte 0');
    socket.write('back');
    const [reply] = await once(client, 'data') as [Buffer];
    t.equal(reply.toString(), 'back');
  });

  t.test('IPv6: ::1 as is, and IPv4-mapped peers of a dual-stack listener as plain IPv4', { skip: HAS_IPV6 ? false : 'no IPv6 loopback here' }, async (t) => {
    const six = await openListener(t, addon, '::1');
    const client6 = await connectClient(t, six.listener.address().port, '::1');
    await six.waitFor(1);
    t.match(six.accepted[0], { remoteAddress: '::1', remotePort: client6.localPort, localAddress: '::1', localPort: six.listener.address().port });

    const dual = await openListener(t, addon, '::');
    const client4 = await connectClient(t, dual.listener.address().port, '127.0.0.1');
    await dual.waitFor(1);
    t.match(dual.accepted[0], { remoteAddress: '127.0.0.1', remotePort: client4.localPort, localAddress: '127.0.0.1' });
  });

  t.test('close() stops accepting and closes the listening socket', async (t) => {
    const { listener, accepted, waitFor } = await openListener(t, addon, '127.0.0.1');
    const { port } = listener.address();
    await connectClient(t, port, '127.0.0.1');
    await waitFor(1);
    await listener.close();
    await listener.close();
    t.equal(await connectOutcome(port), 'ECONNREFUSED', 'nothing listens any more');
    t.equal(accepted.length, 1);
  });

  t.test('stop() from inside the callback: no further callbacks; queued connections are dropped', async (t) => {
    const server = net.createServer();
    const port = await listen(t, server);
    const fd = addon.dup(handleFd(server));
    server.close();
    // Queue 5 connections before the loop starts, so one wakeup sees them all.
    const clients = await Promise.all(Array.from({ length: 5 }, () => connectClient(t, port, '127.0.0.1')));
    const fds: number[] = [];
    t.teardown(() => { for (const n of fds) addon.close(n); });
    const loop = addon.acceptLoop(fd, (n) => { fds.push(n); loop.stop(); });
    t.teardown(() => loop.stop());
    await new Promise<void>((resolve) => clients[4]!.once('close', () => resolve()));
    t.equal(fds.length, 1, 'one callback');
    t.equal(await connectOutcome(port), 'ECONNREFUSED');
  });

  t.test('bind errors come from net.Server, worded as core/acceptor/listeners.ts words them', async (t) => {
    const taken = net.createServer();
    const port = await listen(t, taken);
    await t.rejects(NativeListener.open(addon, { address: '127.0.0.1', port, kind: 'tcp' }, () => t.fail('no connection')),
      { message: `cannot listen on 127.0.0.1:${port} (tcp edge): EADDRINUSE` });
    await t.rejects(NativeListener.open(addon, { address: '127.0.0.1', port, kind: 'sni' }, () => t.fail('no connection')),
      { message: `cannot listen on 127.0.0.1:${port} (tls/https edges): EADDRINUSE` });
    await t.rejects(NativeListener.open(addon, { address: '192.0.2.1', port: 0, kind: 'sni' }, () => t.fail('no connection')),
      { message: 'cannot listen on 192.0.2.1:0 (tls/https edges): EADDRNOTAVAIL' }, 'an address this host does not have');
  });

  t.test('bad arguments and fds throw, and the caller keeps the fd', async (t) => {
    const cb = (): void => { t.fail('must not be called'); };
    const loose = addon as unknown as Record<string, (...args: unknown[]) => unknown>;
    t.throws(() => loose.acceptLoop!('3', cb), { code: 'ERR_INVALID_ARG_TYPE' });
    t.throws(() => loose.acceptLoop!(3, 'nope'), { code: 'ERR_INVALID_ARG_TYPE' });
    t.throws(() => loose.acceptLoop!(3, cb, 'nope'), { code: 'ERR_INVALID_ARG_TYPE' });
    t.throws(() => addon.acceptLoop(UNUSED_FD, cb), { code: 'EBADF' });
    const file = fs.openSync('/dev/null', 'r');
    t.teardown(() => fs.closeSync(file));
    t.throws(() => addon.acceptLoop(file, cb), { code: 'ENOTSOCK' });

    const peer = await connectClient(t, await listen(t, net.createServer()), '127.0.0.1');
    t.throws(() => addon.acceptLoop(handleFd(peer), cb), { code: 'EINVAL' }, 'a connected socket is not listening');

    const server = net.createServer();
    await listen(t, server);
    const fd = addon.dup(handleFd(server));
    t.teardown(() => addon.close(fd)); // throws on a double close: proves nobody else closed it
    const poller = addon.waitReadable(fd, () => {});
    t.throws(() => addon.acceptLoop(fd, cb), { code: 'EEXIST' }, 'this thread already polls it');
    poller.stop();
  });

  t.test('EMFILE: the loop pauses, counts and reports the error, and accepts the rest once fds are free', { skip: HAS_PRLIMIT ? false : 'prlimit(1) is not installed' }, async (t) => {
    // RLIMIT_NOFILE is per process, so the listener runs in a child whose limit prlimit lowers.
    const child = spawn(process.execPath, ['--input-type=module', '-e', EMFILE_CHILD, LISTENER_URL, INDEX_URL], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    t.teardown(() => { child.kill(); });
    const messages: Array<Record<string, unknown>> = [];
    let wake: (() => void) | undefined;
    child.on('message', (m: Record<string, unknown>) => { messages.push(m); wake?.(); });
    const waitFor = async (kind: string): Promise<Record<string, unknown>> => {
      for (;;) {
        const found = messages.find((m) => m.kind === kind);
        if (found !== undefined) return found;
        await new Promise<void>((resolve) => { wake = resolve; });
      }
    };
    const { port, softLimit, limit } = await waitFor('ready') as { port: number; softLimit: number; limit: string };
    execFileSync('prlimit', ['--pid', String(child.pid), `--nofile=${softLimit}:`]); // room for 2 more fds
    const clients = await Promise.all(Array.from({ length: 30 }, () => connectClient(t, port, '127.0.0.1')));
    const error = await waitFor('error');
    t.match(error, { code: 'EMFILE', syscall: 'accept4' });
    execFileSync('prlimit', ['--pid', String(child.pid), `--nofile=${limit}:`]);
    child.send({ kind: 'release' }); // and it closes what it holds
    const all = await waitFor('all');
    t.equal(all.accepted, clients.length, 'every queued connection was accepted after the pause');
    t.ok((all.acceptErrors as number) >= 1, `errors counted (${String(all.acceptErrors)})`);
  });

  t.test('in a worker: terminating it closes the listening fd it accepted on, without a crash', async (t) => {
    const server = net.createServer();
    const port = await listen(t, server);
    const fd = addon.dup(handleFd(server));
    server.close();
    const { worker, next } = startWorker(t, WORKER_SOURCE, { indexUrl: INDEX_URL, fd });
    t.equal((await next()).kind, 'started');
    await connectClient(t, port, '127.0.0.1');
    t.match(await next(), { kind: 'accepted', remoteAddress: '127.0.0.1' });
    const exited = once(worker, 'exit');
    await worker.terminate();
    t.equal((await exited)[0], 1, 'terminated, not crashed');
    t.equal(await connectOutcome(port), 'ECONNREFUSED', 'the listening socket died with the loop');
  });

  t.test('a throw in the callback reaches uncaughtException and the loop goes on', async (t) => {
    const server = net.createServer();
    const port = await listen(t, server);
    const fd = addon.dup(handleFd(server));
    server.close();
    const { next } = startWorker(t, WORKER_SOURCE, { indexUrl: INDEX_URL, fd, throwing: true });
    t.equal((await next()).kind, 'started');
    await connectClient(t, port, '127.0.0.1');
    t.same(await next(), { kind: 'caught', message: 'thrown from an accept callback' });
    await connectClient(t, port, '127.0.0.1');
    t.same(await next(), { kind: 'caught', message: 'thrown from an accept callback' });
  });
}

// Inline so the test needs no fixture file; CommonJS because eval workers are.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const send = (m) => parentPort.postMessage(m);
import(workerData.indexUrl).then(({ loadNative }) => {
  const { addon, error } = loadNative();
  if (addon === null || typeof addon.acceptLoop !== 'function') {
    send({ kind: 'failed', message: String(error) });
    return;
  }
  if (workerData.throwing) {
    process.on('uncaughtException', (err) => send({ kind: 'caught', message: err.message }));
  }
  addon.acceptLoop(workerData.fd, (fd, remoteAddress) => {
    addon.close(fd);
    if (workerData.throwing) throw new Error('thrown from an accept callback');
    send({ kind: 'accepted', remoteAddress });
  });
  send({ kind: 'started' });
});
`;

// ESM child: argv[1] is native-listener.js, argv[2] core/native/index.js. It holds every accepted
// fd until told to release them, so the lowered RLIMIT_NOFILE runs out.
const EMFILE_CHILD = `
import fs from 'node:fs';
const [listenerUrl, indexUrl] = process.argv.slice(1);
const { NativeListener, acceptCapable } = await import(listenerUrl);
const { loadNative } = await import(indexUrl);
const addon = acceptCapable(loadNative().addon);
const held = [];
let releasing = false;
let reported = false;
const listener = await NativeListener.open(addon, { address: '127.0.0.1', port: 0, kind: 'tcp' }, (fd) => {
  if (releasing) addon.close(fd); else held.push(fd);
  if (listener.accepted === 30) {
    process.send({ kind: 'all', accepted: listener.accepted, acceptErrors: listener.acceptErrors });
  }
}, (err) => {
  if (!reported) process.send({ kind: 'error', code: err.code, syscall: err.syscall });
  reported = true;
});
const limit = fs.readFileSync('/proc/self/limits', 'latin1').match(/Max open files\\s+(\\d+)/)[1];
// The soft limit that leaves exactly 2 fd numbers free below it (the kernel hands out the lowest).
const open = new Set(fs.readdirSync('/proc/self/fd').map(Number));
let softLimit = 0;
for (let free = 0; free < 2; softLimit++) if (!open.has(softLimit)) free++;
process.on('message', () => {
  releasing = true;
  for (const fd of held.splice(0)) addon.close(fd);
});
process.send({ kind: 'ready', port: listener.address().port, softLimit, limit });
`;
