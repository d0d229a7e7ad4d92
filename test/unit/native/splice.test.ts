import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Worker } from 'node:worker_threads';
import t, { type Test } from 'tap';
import { loadNative, type Relay, type RelayResult } from '../../../core/native/index.js';
import { relayCapable, relaySockets, type RelayAddon } from '../../../workers/splice-pipe.js';
import { MiB, hungUp, rawPair, receive, sendRandom, type Pair } from './loopback.js';

const UNUSED_FD = 999_999;
const INDEX_URL = new URL('../../../core/native/index.js', import.meta.url).href;

const loaded = loadNative();
const relayAddon = relayCapable(loaded.addon);
if (relayAddon === null) {
  t.fail(`native addon with relay() not loaded: ${loaded.error ?? 'this build has no relay'}`);
  t.end();
} else {
  defineTests(relayAddon);
}

interface Running {
  relay: Relay;
  result: Promise<RelayResult>;
  calls(): number;
}

function startRelay(t: Test, addon: RelayAddon, client: Pair, upstream: Pair, idleMs = 0): Running {
  let calls = 0;
  let settle!: (r: RelayResult) => void;
  const result = new Promise<RelayResult>((resolve) => { settle = resolve; });
  const relay = addon.relay(client.fd, upstream.fd, idleMs, (r) => { calls++; settle(r); });
  client.handOff();
  upstream.handOff();
  t.teardown(() => relay.stop());
  return { relay, result, calls: () => calls };
}

/** Resolves once `read()` has not changed across several looks 50 ms apart (gives up after 20 s). */
async function settled(read: () => number): Promise<number> {
  let last = read();
  let same = 0;
  for (let look = 0; look < 400 && same < 6; look++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = read();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

interface WorkerMessage { kind: 'started' | 'done' | 'caught' | 'failed'; message?: string }

/** Runs WORKER_SOURCE; next() resolves with each message in order. */
function startWorker(t: Test, data: { mode: 'run' | 'throw'; client: number; upstream: number }): {
  worker: Worker; messages: WorkerMessage[]; next(): Promise<WorkerMessage>;
} {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ...data, indexUrl: INDEX_URL } });
  t.teardown(() => worker.terminate().then(() => undefined));
  const messages: WorkerMessage[] = [];
  let seen = 0;
  let wake: (() => void) | undefined;
  worker.on('message', (m: WorkerMessage) => { messages.push(m); wake?.(); });
  const next = async (): Promise<WorkerMessage> => {
    while (messages.length <= seen) await new Promise<void>((resolve) => { wake = resolve; });
    return messages[seen++]!;
  };
  return { worker, messages, next };
}

function defineTests(addon: RelayAddon): void {
  t.test('64 MiB each way at once arrives byte-exact, with exact counts', async (t) => {
    const client = await rawPair(t, addon);
    const upstream = await rawPair(t, addon);
    const run = startRelay(t, addon, client, upstream);
    const atUpstream = receive(upstream.peer, false);
    const atClient = receive(client.peer, false);
    const [sentUp, sentDown] = await Promise.all([sendRandom(client.peer, 64 * MiB), sendRandom(upstream.peer, 64 * MiB)]);
    const [up, down] = await Promise.all([atUpstream, atClient]);
    t.equal(up.bytes, 64 * MiB);
    t.equal(up.sha256, sentUp, 'client -> upstream is byte-exact');
    t.equal(down.bytes, 64 * MiB);
    t.equal(down.sha256, sentDown, 'upstream -> client is byte-exact');
    t.same(await run.result, { clientToUpstream: 64 * MiB, upstreamToClient: 64 * MiB, reason: 'closed' });
    t.same(run.relay.bytes(), { clientToUpstream: 64 * MiB, upstreamToClient: 64 * MiB }, 'bytes() after the end');
    await Promise.all([hungUp(client.peer), hungUp(upstream.peer)]);
    t.equal(run.calls(), 1);
  });

  t.test('half-close: the client FIN reaches the upstream, whose later reply still reaches the client', async (t) => {
    const client = await rawPair(t, addon);
    const upstream = await rawPair(t, addon);
    const run = startRelay(t, addon, client, upstream);
    const atUpstream = receive(upstream.peer);
    const atClient = receive(client.peer);
    client.peer.end('ping');
    t.equal((await atUpstream).text, 'ping', 'upstream got the bytes, then end');
    t.equal(run.calls(), 0, 'one direction closed: still relaying');
    upstream.peer.write('pong, ');
    upstream.peer.end('after your FIN');
    t.equal((await atClient).text, 'pong, after your FIN');
    t.same(await run.result, { clientToUpstream: 4, upstreamToClient: 20, reason: 'closed' });
    await Promise.all([hungUp(client.peer), hungUp(upstream.peer)]);
  });

  t.test('bytes queued before the relay starts (a peeked ClientHello) are relayed first', async (t) => {
    const client = await rawPair(t, addon);
    const upstream = await rawPair(t, addon);
    client.peer.write('queued early|');
    for (let turn = 0; turn < 10_000 && (addon.peek(client.fd, 64)?.length ?? 0) < 13; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const run = startRelay(t, addon, client, upstream);
    const atUpstream = receive(upstream.peer);
    client.peer.end('then more');
    t.equal((await atUpstream).text, 'queued early|then more');
    upstream.peer.end();
    t.equal((await run.result).reason, 'closed');
  });

  t.test('a reader that does not read stops the relay reading (backpressure), and nothing is lost', async (t) => {
    const client = await rawPair(t, addon);
    const upstream = await rawPair(t, addon);
    const run = startRelay(t, addon, client, upstream);
    upstream.peer.pause();
    const total = 64 * MiB;
    let acked = 0;
    const sent = sendRandom(client.peer, total, (written) => { acked = written; });
    const stalledAt = await settled(() => run.relay.bytes().clientToUpstream);
    const ackedAtStall = acked;
    // What can be in flight is the socket buffers on both legs plus one pipe: far below 64 MiB.
    t.ok(stalledAt > 0, `the relay moved something first (${stalledAt} bytes)`);
    t.ok(stalledAt < total / 2, `the relay stalled at ${(stalledAt / MiB).toFixed(1)} MiB of 64`);
    t.ok(ackedAtStall < total, `the client's writes stopped completing at ${(ackedAtStall / MiB).toFixed(1)} MiB`);
    t.ok(ackedAtStall - stalledAt < 32 * MiB, 'the client leg holds a bounded amount');

    const atUpstream = receive(upstream.peer, false);
    upstream.peer.resume();
    const got = await atUpstream;
    t.equal(got.bytes, total, 'everything arrives once the reader reads');
    t.equal(got.sha256, await sent);
    upstream.peer.end();
    t.same(await run.result, { clientToUpstream: total, upstreamToClient: 0, reason: 'closed' });
  });

  t.test('a client reset ends the relay with client_error and closes the upstream', async (t) => {
    const client = await rawPair(t, addon);
    const upstream = await rawPair(t, addon);
    const run = startRelay(t, addon, client, upstream);
    const atUpstream = receive(upstream.peer);
    client.peer.write('before the reset');
    await settled(() => run.relay.bytes().clientToUpstream);
    client.peer.resetAndDestroy();
    const result = await run.result;
    t.equal(result.reason, 'client_error');
    t.equal(result.error, 'ECONNRESET');
    t.equal(result.clientToUpstream, 16);
    t.equal((await atUpstream).text, 'before the reset', 'the upstream got the bytes, then a FIN');
  });

  t.test('an upstream reset ends the relay with upstream_error and closes the client', async (t) => {
    const client = await rawPair(t, addon);
    const upstream = await rawPair(t, addon);
    const run = startRelay(t, addon, client, upstream);
    const clientClosed = hungUp(client.peer);
    upstream.peer.resetAndDestroy();
    const result = await run.result;
    t.equal(result.reason, 'upstream_error');
    t.equal(result.error, 'ECONNRESET');
    await clientClosed;
  });

  t.test('a reset while the relay is writing to that side is an error on that side', async (t) => {
    const client = await rawPair(t, addon);
    const upstream = await rawPair(t, addon);
    const run = startRelay(t, addon, client, upstream);
    upstream.peer.pause(); // so the relay has bytes queued for it
    const sending = sendRandom(client.peer, 64 * MiB).catch(() => 'client write failed');
    await settled(() => run.relay.bytes().clientToUpstream);
    upstream.peer.resetAndDestroy();
    const result = await run.result;
    t.equal(result.reason, 'upstream_error');
    t.match(result.error, /^(ECONNRESET|EPIPE)$/);
    t.equal(await sending, 'client write failed', 'the client connection is closed too');
  });

  t.test('idle timeout: ends when nothing moved for idleMs, not while traffic flows', async (t) => {
    const client = await rawPair(t, addon);
    const upstream = await rawPair(t, addon);
    const run = startRelay(t, addon, client, upstream, 1_500);
    const atUpstream = receive(upstream.peer);
    // 25 pings 100 ms apart span more than the idle timeout; each one resets it.
    for (let i = 0; i < 25; i++) {
      client.peer.write('.');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    t.equal(run.calls(), 0, 'traffic keeps the relay alive');
    const result = await run.result;
    t.same(result, { clientToUpstream: 25, upstreamToClient: 0, reason: 'idle_timeout' });
    t.equal((await atUpstream).text, '.'.repeat(25));
    await hungUp(client.peer);
  });

  t.test('stop() closes both sides; the callback fires once, later, with reason stopped', async (t) => {
    const client = await rawPair(t, addon);
    const upstream = await rawPair(t, addon);
    const run = startRelay(t, addon, client, upstream);
    const atUpstream = receive(upstream.peer);
    client.peer.write('some');
    await settled(() => run.relay.bytes().clientToUpstream);
    run.relay.stop();
    t.equal(run.calls(), 0, 'not called synchronously from stop()');
    run.relay.stop();
    t.same(await run.result, { clientToUpstream: 4, upstreamToClient: 0, reason: 'stopped' });
    t.equal((await atUpstream).text, 'some');
    await hungUp(client.peer);
    await new Promise((resolve) => setImmediate(resolve));
    run.relay.stop();
    t.equal(run.calls(), 1);
    t.same(run.relay.bytes(), { clientToUpstream: 4, upstreamToClient: 0 });
  });

  t.test('a throw in the callback reaches uncaughtException (in a worker, away from tap)', async (t) => {
    const client = await rawPair(t, addon);
    const upstream = await rawPair(t, addon);
    const { worker, next } = startWorker(t, { mode: 'throw', client: client.fd, upstream: upstream.fd });
    t.equal((await next()).kind, 'started');
    client.handOff();
    upstream.handOff();
    t.same(await next(), { kind: 'caught', message: 'thrown from a relay callback' });
    await Promise.all([hungUp(client.peer), hungUp(upstream.peer)]);
    void worker;
  });

  t.test('bad arguments and fds throw, and the caller keeps both fds', async (t) => {
    const client = await rawPair(t, addon);
    const upstream = await rawPair(t, addon);
    const cb = (): void => { t.fail('must not be called'); };
    const loose = addon as unknown as Record<string, (...args: unknown[]) => unknown>;
    t.throws(() => loose.relay!('3', upstream.fd, 0, cb), { code: 'ERR_INVALID_ARG_TYPE' });
    t.throws(() => addon.relay(client.fd, upstream.fd, -1, cb), { code: 'ERR_OUT_OF_RANGE' });
    t.throws(() => addon.relay(client.fd, upstream.fd, 2 ** 31, cb), { code: 'ERR_OUT_OF_RANGE' });
    t.throws(() => loose.relay!(client.fd, upstream.fd, 0, 'nope'), { code: 'ERR_INVALID_ARG_TYPE' });
    t.throws(() => addon.relay(client.fd, client.fd, 0, cb), { code: 'ERR_INVALID_ARG_VALUE' });
    t.throws(() => addon.relay(client.fd, UNUSED_FD, 0, cb), { code: 'EBADF', syscall: 'uv_poll_init' });
    const file = fs.openSync('/dev/null', 'r');
    t.teardown(() => fs.closeSync(file));
    t.throws(() => addon.relay(client.fd, file, 0, cb), { code: 'EPERM' }, 'not a pollable socket');
    const poller = addon.waitReadable(upstream.fd, () => {});
    t.throws(() => addon.relay(client.fd, upstream.fd, 0, cb), { code: 'EEXIST' }, 'this thread already polls it');
    poller.stop();

    // Still open and usable: a working relay over the same fds.
    const run = startRelay(t, addon, client, upstream);
    const atUpstream = receive(upstream.peer);
    client.peer.end('still mine');
    t.equal((await atUpstream).text, 'still mine');
    upstream.peer.end();
    t.equal((await run.result).reason, 'closed');
  });

  t.test('relaySockets takes over a dialled upstream, keeping what the upstream says first', async (t) => {
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.write('220 banner\r\n'); // a server that speaks first
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => socket.end(`echo:${Buffer.concat(chunks).toString()}`));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const client = await rawPair(t, addon);

    const dialled = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
    await once(dialled, 'connect');
    const { relay, result } = await new Promise<{ relay: Relay | null; result: Promise<RelayResult> }>((resolve) => {
      let settle!: (r: RelayResult) => void;
      const result = new Promise<RelayResult>((done) => { settle = done; });
      resolve({ relay: relaySockets(addon, client.fd, dialled, 0, settle), result });
    });
    t.ok(relay, 'relayed');
    client.handOff();
    t.teardown(() => relay?.stop());
    t.ok(dialled.destroyed, 'the JS upstream socket is gone');

    const atClient = receive(client.peer);
    client.peer.end('hello');
    t.equal((await atClient).text, '220 banner\r\necho:hello');
    t.same(await result, { clientToUpstream: 5, upstreamToClient: 22, reason: 'closed' });
  });

  t.test('relaySockets declines a TLS upstream and one that already read bytes', async (t) => {
    const client = await rawPair(t, addon);
    const upstreamTls = new tls.TLSSocket(new net.Socket());
    t.teardown(() => { upstreamTls.destroy(); });
    t.equal(relaySockets(addon, client.fd, upstreamTls, 0, () => t.fail('no relay')), null);

    const server = net.createServer((socket) => { socket.write('x'); });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.teardown(() => new Promise<void>((resolve) => { server.close(() => resolve()); }));
    const dialled = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    t.teardown(() => { dialled.destroy(); });
    await once(dialled, 'data');
    t.equal(relaySockets(addon, client.fd, dialled, 0, () => t.fail('no relay')), null);
    t.notOk(dialled.destroyed, 'declined: the caller keeps the upstream');
    // The client fd is still the caller's: teardown closes it, and a double close would throw.
  });

  t.test('inside a worker thread: relays, and terminating the worker mid-relay closes both sides cleanly', async (t) => {
    const client = await rawPair(t, addon);
    const upstream = await rawPair(t, addon);
    const { worker, next, messages } = startWorker(t, { mode: 'run', client: client.fd, upstream: upstream.fd });
    const first = await next();
    t.equal(first.kind, 'started', first.message ?? '');
    client.handOff();
    upstream.handOff();

    // Traffic is flowing through the worker's loop when it is terminated.
    let relayed = 0;
    upstream.peer.on('data', (chunk: Buffer) => { relayed += chunk.length; });
    const writing = sendRandom(client.peer, 256 * MiB).catch(() => 'stopped');
    while (relayed < 4 * MiB) await once(upstream.peer, 'data');
    const exited = once(worker, 'exit');
    await worker.terminate();
    t.equal((await exited)[0], 1, 'terminated, not crashed');
    await Promise.all([hungUp(client.peer), hungUp(upstream.peer)]);
    t.equal(await writing, 'stopped', 'the client saw its connection close');
    t.notOk(messages.some((m) => m.kind === 'done'), 'no callback into a dying thread');
  });
}

// Inline so the test needs no fixture file; CommonJS because eval workers are.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const send = (m) => parentPort.postMessage(m);
import(workerData.indexUrl).then(({ loadNative }) => {
  const { addon, error } = loadNative();
  if (addon === null || typeof addon.relay !== 'function') {
    send({ kind: 'failed', message: String(error) });
    return;
  }
  if (workerData.mode === 'throw') {
    process.on('uncaughtException', (err) => send({ kind: 'caught', message: err.message }));
    addon.relay(workerData.client, workerData.upstream, 0, () => {
      throw new Error('thrown from a relay callback');
    }).stop();
  } else {
    addon.relay(workerData.client, workerData.upstream, 0, (r) => send({ kind: 'done', message: r.reason }));
  }
  send({ kind: 'started' });
});
`;
