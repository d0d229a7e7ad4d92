import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import t, { type Test } from 'tap';
import { loadNative, type NativeAddon, type NativeError } from '../../../core/native/index.js';
import type { PeekWorkerData, PeekWorkerMessage } from '../../fixtures/native/peek-worker.js';

const WORKER_URL = new URL('../../fixtures/native/peek-worker.js', import.meta.url);
// Far above any fd this process opens, well below INT_MAX.
const UNUSED_FD = 999_999;

const loaded = loadNative();
if (loaded.addon === null) {
  t.fail(`native addon not loaded: ${loaded.error}`);
  t.end();
} else {
  defineTests(loaded.addon);
}

interface Accepted {
  client: net.Socket;
  /** The dup'd fd; the main thread's own handle is already destroyed. */
  fd: number;
  /** Ownership moved (net.Socket or a worker): teardown must not close it. */
  handOff(): void;
}

/** Accepts one loopback connection the way the acceptor does: paused, dup'd, original handle destroyed. */
async function acceptDup(t: Test, addon: NativeAddon): Promise<Accepted> {
  const server = net.createServer({ pauseOnConnect: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as net.AddressInfo;

  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => {}); // a reset at teardown is fine
  t.teardown(() => { client.destroy(); });
  await once(client, 'connect');
  const [socket] = await accepted;

  const original = (socket as unknown as { _handle: { fd: number } })._handle.fd;
  const fd = addon.dup(original);
  socket.destroy(); // closes `original`; the dup keeps the connection open
  let owned = true;
  t.teardown(() => { if (owned) addon.close(fd); });
  return { client, fd, handOff: () => { owned = false; } };
}

function waitReadable(addon: NativeAddon, fd: number): Promise<NativeError | null> {
  return new Promise((resolve) => { addon.waitReadable(fd, resolve); });
}

function write(socket: net.Socket, data: string): Promise<void> {
  return new Promise((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())));
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Peeks until at least `length` bytes are queued. Loopback delivery is near-instant, so this rarely loops. */
async function peekUntil(addon: NativeAddon, fd: number, length: number): Promise<Buffer> {
  for (let turn = 0; turn < 100_000; turn++) {
    const bytes = addon.peek(fd, 4096);
    if (bytes !== null && bytes.length >= length) return bytes;
    await nextTurn();
  }
  throw new Error(`never saw ${length} bytes queued`);
}

function readAll(socket: net.Socket): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    socket.once('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.once('error', reject);
  });
}

/** Wraps the fd like a worker does; the socket then owns it. */
function wrap(t: Test, accepted: Accepted): net.Socket {
  // allowHalfOpen: the tests answer after the client's FIN.
  const socket = new net.Socket({ fd: accepted.fd, readable: true, writable: true, allowHalfOpen: true });
  accepted.handOff();
  t.teardown(() => { socket.destroy(); });
  return socket;
}

function startWorker(t: Test, data: PeekWorkerData): { worker: Worker; messages: PeekWorkerMessage[]; next(kind: PeekWorkerMessage['kind']): Promise<PeekWorkerMessage> } {
  const worker = new Worker(WORKER_URL, { workerData: data });
  t.teardown(() => worker.terminate().then(() => undefined));
  const messages: PeekWorkerMessage[] = [];
  const waiters: Array<() => void> = [];
  worker.on('message', (message: PeekWorkerMessage) => {
    messages.push(message);
    for (const wake of waiters.splice(0)) wake();
  });
  const next = async (kind: PeekWorkerMessage['kind']): Promise<PeekWorkerMessage> => {
    for (;;) {
      const found = messages.find((m) => m.kind === kind || m.kind === 'failed');
      if (found !== undefined) {
        if (found.kind === 'failed' && kind !== 'failed') throw new Error(`worker failed: ${found.message}`);
        return found;
      }
      await new Promise<void>((resolve, reject) => {
        waiters.push(resolve);
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`worker exited (${code}) before '${kind}'`)));
      });
    }
  };
  return { worker, messages, next };
}

function defineTests(addon: NativeAddon): void {
  t.test('waitReadable fires when the bytes arrive; peek shows them without consuming them', async (t) => {
    const accepted = await acceptDup(t, addon);
    let fired = 0;
    const readable = new Promise<NativeError | null>((resolve) => {
      addon.waitReadable(accepted.fd, (err) => { fired++; resolve(err); });
    });
    t.equal(addon.peek(accepted.fd, 64), null, 'nothing queued before the client writes');
    await write(accepted.client, 'hello edge');
    t.equal(await readable, null);
    t.equal(fired, 1);

    const first = await peekUntil(addon, accepted.fd, 10);
    t.equal(first.toString(), 'hello edge');
    t.equal(addon.peek(accepted.fd, 64)?.toString(), 'hello edge', 'a second peek sees the same bytes');
    t.equal(addon.peek(accepted.fd, 5)?.toString(), 'hello', 'maxBytes caps the peek');

    const socket = wrap(t, accepted);
    const stream = readAll(socket);
    const reply = readAll(accepted.client);
    accepted.client.end(' and the rest');
    t.equal(await stream, 'hello edge and the rest', 'the wrapped socket reads from the first byte');
    socket.end('pong');
    t.equal(await reply, 'pong', 'the wrapped socket writes to the client');
    t.equal(fired, 1, 'the callback ran exactly once');
  });

  t.test('peek returns null while nothing is queued (EAGAIN)', async (t) => {
    const accepted = await acceptDup(t, addon);
    t.equal(addon.peek(accepted.fd, 1), null);
    t.equal(addon.peek(accepted.fd, 65536), null, 'also with a heap-sized buffer');
  });

  t.test('a peer that closes without sending: wait fires and peek returns an empty buffer', async (t) => {
    const accepted = await acceptDup(t, addon);
    const readable = waitReadable(addon, accepted.fd);
    accepted.client.end();
    t.equal(await readable, null);
    const bytes = addon.peek(accepted.fd, 16);
    t.ok(Buffer.isBuffer(bytes), 'a Buffer, not null');
    t.equal(bytes?.length, 0, 'EOF is a 0-length buffer');
  });

  t.test('bytes followed by FIN: peek returns the bytes, not EOF', async (t) => {
    const accepted = await acceptDup(t, addon);
    const readable = waitReadable(addon, accepted.fd);
    accepted.client.end('last words');
    t.equal(await readable, null);
    t.equal((await peekUntil(addon, accepted.fd, 10)).toString(), 'last words');
  });

  t.test('a reset peer makes peek throw ECONNRESET', async (t) => {
    const accepted = await acceptDup(t, addon);
    const readable = waitReadable(addon, accepted.fd);
    accepted.client.resetAndDestroy();
    t.equal(await readable, null, 'a socket error is reported as ready, not as EBADF');
    t.throws(() => addon.peek(accepted.fd, 16), { code: 'ECONNRESET', syscall: 'recv' });
  });

  t.test('1-byte writes: the peek grows and nothing is consumed', async (t) => {
    const accepted = await acceptDup(t, addon);
    const message = '\x16\x03\x01\x00\x05hello';
    t.equal(await (async () => {
      const readable = waitReadable(addon, accepted.fd);
      await write(accepted.client, message[0]!);
      return readable;
    })(), null);
    for (let i = 1; i <= message.length; i++) {
      if (i > 1) await write(accepted.client, message[i - 1]!);
      const bytes = await peekUntil(addon, accepted.fd, i);
      t.equal(bytes.toString('latin1'), message.slice(0, i), `after ${i} byte(s)`);
    }
    const socket = wrap(t, accepted);
    const stream = readAll(socket);
    accepted.client.end();
    t.equal(await stream, message, 'the whole stream is still there');
  });

  t.test('stop() cancels a wait: no callback, and the fd can be waited on again', async (t) => {
    const accepted = await acceptDup(t, addon);
    let stoppedFired = false;
    const poller = addon.waitReadable(accepted.fd, () => { stoppedFired = true; });
    poller.stop();
    poller.stop(); // idempotent
    // A still-registered wait would make this throw EEXIST.
    const readable = waitReadable(addon, accepted.fd);
    await write(accepted.client, 'x');
    t.equal(await readable, null);
    await nextTurn();
    await nextTurn();
    t.equal(stoppedFired, false, 'the stopped callback never ran');
    poller.stop(); // still safe after the handle is gone
  });

  t.test('stop() after the callback fired is a no-op, also from inside the callback', async (t) => {
    const accepted = await acceptDup(t, addon);
    await write(accepted.client, 'x');
    let calls = 0;
    await new Promise<void>((resolve) => {
      const poller = addon.waitReadable(accepted.fd, () => {
        calls++;
        poller.stop();
        resolve();
      });
    });
    await nextTurn();
    t.equal(calls, 1);
  });

  t.test('a callback may start a new wait on the same fd', async (t) => {
    const accepted = await acceptDup(t, addon);
    await write(accepted.client, 'x');
    const second = await new Promise<NativeError | null>((resolve, reject) => {
      addon.waitReadable(accepted.fd, () => {
        try { addon.waitReadable(accepted.fd, resolve); } catch (err) { reject(err); }
      });
    });
    t.equal(second, null, 'level-triggered: still readable, so it fires again');
  });

  t.test('a second wait on an fd that is already waited on throws EEXIST', async (t) => {
    const accepted = await acceptDup(t, addon);
    const poller = addon.waitReadable(accepted.fd, () => {});
    t.teardown(() => poller.stop());
    t.throws(() => addon.waitReadable(accepted.fd, () => {}), { code: 'EEXIST', syscall: 'uv_poll_init' });
  });

  t.test('setRcvLowat holds the wait until that many bytes are queued', async (t) => {
    const accepted = await acceptDup(t, addon);
    t.ok(addon.setRcvLowat, 'this build has setRcvLowat');
    await write(accepted.client, 'abc');
    await peekUntil(addon, accepted.fd, 3);
    addon.setRcvLowat!(accepted.fd, 5);
    let fired = false;
    const readable = new Promise<NativeError | null>((resolve) => {
      addon.waitReadable(accepted.fd, (err) => { fired = true; resolve(err); });
    });
    // Each turn runs the poll phase, so a wait that could fire would have by now.
    await nextTurn();
    await nextTurn();
    await nextTurn();
    t.equal(fired, false, '3 queued bytes are below the low-water mark');
    await write(accepted.client, 'de');
    t.equal(await readable, null);
    t.equal(addon.peek(accepted.fd, 64)?.toString(), 'abcde');
    addon.setRcvLowat!(accepted.fd, 1);
  });

  t.test('bad fds and bad arguments throw errors with codes', async (t) => {
    t.throws(() => addon.dup(UNUSED_FD), { code: 'EBADF', syscall: 'dup', errno: -9 });
    t.throws(() => addon.close(UNUSED_FD), { code: 'EBADF', syscall: 'close' });
    t.throws(() => addon.peek(UNUSED_FD, 16), { code: 'EBADF', syscall: 'recv' });
    t.throws(() => addon.setRcvLowat!(UNUSED_FD, 1), { code: 'EBADF', syscall: 'setsockopt' });
    t.throws(() => addon.waitReadable(UNUSED_FD, () => t.fail('must not fire')), { code: 'EBADF' });

    const file = fs.openSync('/dev/null', 'r');
    t.teardown(() => fs.closeSync(file));
    t.throws(() => addon.peek(file, 16), { code: 'ENOTSOCK' }, 'peek on a non-socket');

    const loose = addon as unknown as Record<string, (...args: unknown[]) => unknown>;
    t.throws(() => loose.dup!('3'), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' });
    t.throws(() => loose.dup!(), { code: 'ERR_INVALID_ARG_TYPE' });
    t.throws(() => addon.dup(-1), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' });
    t.throws(() => addon.dup(1.5), { code: 'ERR_OUT_OF_RANGE' });
    t.throws(() => addon.dup(Number.NaN), { code: 'ERR_OUT_OF_RANGE' });
    t.throws(() => addon.dup(2 ** 31), { code: 'ERR_OUT_OF_RANGE' });
    t.throws(() => addon.peek(file, 0), { code: 'ERR_OUT_OF_RANGE' }, 'maxBytes 0 would look like EOF');
    t.throws(() => addon.peek(file, 2 ** 30), { code: 'ERR_OUT_OF_RANGE' });
    t.throws(() => loose.peek!(file), { code: 'ERR_INVALID_ARG_TYPE' });
    t.throws(() => loose.waitReadable!(file, 'not a function'), { code: 'ERR_INVALID_ARG_TYPE' });
  });

  t.test('dup gives a new close-on-exec fd for the same socket', async (t) => {
    const accepted = await acceptDup(t, addon);
    const second = addon.dup(accepted.fd);
    t.not(second, accepted.fd);
    addon.close(second); // the connection lives on through accepted.fd
    await write(accepted.client, 'still open');
    t.equal((await peekUntil(addon, accepted.fd, 10)).toString(), 'still open');
    t.throws(() => addon.close(second), { code: 'EBADF' }, 'a double close is reported');
    // F_GETFD is not reachable from JS; /proc shows the flag instead.
    const flags = fs.readFileSync(`/proc/self/fdinfo/${accepted.fd}`, 'utf8').match(/^flags:\s+(\d+)/m)?.[1];
    t.ok(flags !== undefined && (parseInt(flags, 8) & 0o2000000) !== 0, 'O_CLOEXEC is set');
  });

  t.test('loadNative reports a missing or foreign file instead of throwing', async (t) => {
    const missing = loadNative('/nonexistent/edgeplane_native.node');
    t.equal(missing.addon, null);
    t.match(missing.error, /not found/);
    const foreign = loadNative(new URL('../../../../package.json', import.meta.url).pathname);
    t.equal(foreign.addon, null);
    t.match(foreign.error, /not the edgeplane addon|cannot load/);
    t.equal(loadNative(), loadNative(), 'the default load is cached');
  });

  t.test('a worker thread waits, peeks and wraps an fd the main thread dup\'d', async (t) => {
    const accepted = await acceptDup(t, addon);
    const { next } = startWorker(t, { fd: accepted.fd, mode: 'relay' });
    accepted.handOff();
    await next('armed');
    const reply = readAll(accepted.client);
    await write(accepted.client, 'from client');
    const peeked = await next('peeked');
    t.same(peeked, { kind: 'peeked', bytes: 'from client', again: 'from client' });
    accepted.client.end(' and more');
    t.same(await next('stream'), { kind: 'stream', bytes: 'from client and more' });
    t.equal(await reply, 'ack');
  });

  t.test('a worker terminated mid-wait exits cleanly (no open poll handle left)', async (t) => {
    const accepted = await acceptDup(t, addon);
    const { worker, next } = startWorker(t, { fd: accepted.fd, mode: 'hang' });
    await next('armed');
    const exited = once(worker, 'exit');
    await worker.terminate();
    t.equal((await exited)[0], 1, 'terminated, not crashed');
    // The worker never wrapped the fd, so main still owns it and it still works.
    await write(accepted.client, 'after');
    t.equal((await peekUntil(addon, accepted.fd, 5)).toString(), 'after');
  });

  t.test('a throw inside the callback goes to process uncaughtException', async (t) => {
    const accepted = await acceptDup(t, addon);
    const { next } = startWorker(t, { fd: accepted.fd, mode: 'throw' });
    accepted.handOff();
    await next('armed');
    await write(accepted.client, 'x');
    t.same(await next('caught'), { kind: 'caught', message: 'thrown from a waitReadable callback' });
  });
}
