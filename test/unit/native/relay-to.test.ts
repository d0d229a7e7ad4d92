import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import t, { type Test } from 'tap';
import { loadNative, type NativeError, type Relay, type RelayResult } from '../../../core/native/index.js';
import { nativeDialable, relayToCapable, relayToEndpoint, type RelayToAddon } from '../../../workers/native-dial.js';
import {
  MiB, blackholePort, closedPort, hungUp, ipv6Loopback, listen, rawPair, receive, sendRandom, startWorker, type Pair,
} from './loopback.js';

const UNUSED_FD = 999_999;
const INDEX_URL = new URL('../../../core/native/index.js', import.meta.url).href;

const HAS_IPV6 = await ipv6Loopback();
const loaded = loadNative();
const relayToAddon = relayToCapable(loaded.addon);
if (relayToAddon === null) {
  t.fail(`native addon with relayTo() not loaded: ${loaded.error ?? 'this build has no relayTo'}`);
  t.end();
} else {
  defineTests(relayToAddon);
}

interface Dialled {
  relay: Relay;
  dial: Promise<NativeError | null>;
  result: Promise<RelayResult>;
  calls(): { dial: number; done: number };
}

/** relayTo with both callbacks counted; on a successful dial the client fd is handed off. */
function dial(t: Test, addon: RelayToAddon, client: Pair, ip: string, port: number, connectTimeoutMs = 5_000, idleMs = 0): Dialled {
  const calls = { dial: 0, done: 0 };
  let settleDial!: (err: NativeError | null) => void;
  let settle!: (r: RelayResult) => void;
  const dialPromise = new Promise<NativeError | null>((resolve) => { settleDial = resolve; });
  const result = new Promise<RelayResult>((resolve) => { settle = resolve; });
  const relay = addon.relayTo(client.fd, ip, port, connectTimeoutMs, idleMs, (err) => {
    calls.dial++;
    if (err === null) client.handOff();
    settleDial(err);
  }, (r) => { calls.done++; settle(r); });
  t.teardown(() => relay.stop());
  return { relay, dial: dialPromise, result, calls: () => ({ ...calls }) };
}

/** An upstream that answers everything it got, after the client's FIN, then FINs itself. */
async function echoAfterEnd(t: Test, host = '127.0.0.1'): Promise<{ port: number; peers: net.Socket[] }> {
  const peers: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    peers.push(socket);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => socket.end(`echo:${Buffer.concat(chunks).toString()}`));
    socket.on('error', () => {});
  });
  return { port: await listen(t, server, host), peers };
}

/** The client fd still works for its owner: wrapped in a socket, what it writes reaches the peer. */
async function stillUsable(t: Test, client: Pair, what: string): Promise<void> {
  const socket = new net.Socket({ fd: client.fd, readable: true, writable: true });
  client.handOff(); // the socket owns it now
  t.teardown(() => { socket.destroy(); });
  const got = receive(client.peer);
  socket.end(what);
  t.equal((await got).text, what, 'the client fd is still the caller\'s and still connected');
}

function defineTests(addon: RelayToAddon): void {
  t.test('dials, then relays 16 MiB each way byte-exact with exact counts', async (t) => {
    const server = net.createServer({ allowHalfOpen: true });
    const port = await listen(t, server);
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    const client = await rawPair(t, addon);
    const run = dial(t, addon, client, '127.0.0.1', port);
    t.equal(run.calls().dial, 0, 'onDial never runs synchronously');
    t.equal(await run.dial, null, 'onDial(null)');
    const [upstream] = await accepted;
    t.teardown(() => { upstream.destroy(); });
    const atUpstream = receive(upstream, false);
    const atClient = receive(client.peer, false);
    const [sentUp, sentDown] = await Promise.all([sendRandom(client.peer, 16 * MiB), sendRandom(upstream, 16 * MiB)]);
    const [up, down] = await Promise.all([atUpstream, atClient]);
    t.equal(up.sha256, sentUp, 'client -> upstream is byte-exact');
    t.equal(down.sha256, sentDown, 'upstream -> client is byte-exact');
    t.same(await run.result, { clientToUpstream: 16 * MiB, upstreamToClient: 16 * MiB, reason: 'closed' });
    t.same(run.calls(), { dial: 1, done: 1 });
    t.same(run.relay.bytes(), { clientToUpstream: 16 * MiB, upstreamToClient: 16 * MiB });
  });

  t.test('half-close: the client FIN reaches the upstream, whose later reply still reaches the client', async (t) => {
    const upstream = await echoAfterEnd(t);
    const client = await rawPair(t, addon);
    const run = dial(t, addon, client, '127.0.0.1', upstream.port);
    t.equal(await run.dial, null);
    const atClient = receive(client.peer);
    client.peer.end('ping');
    t.equal((await atClient).text, 'echo:ping');
    t.same(await run.result, { clientToUpstream: 4, upstreamToClient: 9, reason: 'closed' });
  });

  t.test('bytes the client sent while the dial was in flight are relayed first', async (t) => {
    const upstream = await echoAfterEnd(t);
    const client = await rawPair(t, addon);
    client.peer.write('early|');
    const run = dial(t, addon, client, '127.0.0.1', upstream.port);
    t.equal(await run.dial, null);
    const atClient = receive(client.peer);
    client.peer.end('late');
    t.equal((await atClient).text, 'echo:early|late');
    t.equal((await run.result).reason, 'closed');
  });

  t.test('an upstream over IPv6 (::1)', { skip: HAS_IPV6 ? false : 'no IPv6 loopback here' }, async (t) => {
    const upstream = await echoAfterEnd(t, '::1');
    const client = await rawPair(t, addon);
    const run = dial(t, addon, client, '::1', upstream.port);
    t.equal(await run.dial, null);
    t.equal(upstream.peers[0]?.remoteAddress, '::1', 'dialled from ::1');
    const atClient = receive(client.peer);
    client.peer.end('six');
    t.equal((await atClient).text, 'echo:six');
    t.equal((await run.result).reason, 'closed');
  });

  t.test('refused: onDial(ECONNREFUSED) like net.connect, done never, and the client fd is still the caller\'s', async (t) => {
    const port = await closedPort();
    const client = await rawPair(t, addon);
    const run = dial(t, addon, client, '127.0.0.1', port);
    const err = await run.dial;
    t.ok(err instanceof Error, 'an Error');
    t.match(err, { code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1', port, message: `connect ECONNREFUSED 127.0.0.1:${port}` });
    t.equal(typeof err?.errno, 'number');
    await new Promise((resolve) => setTimeout(resolve, 20));
    t.same(run.calls(), { dial: 1, done: 0 });
    run.relay.stop(); // a no-op now
    t.same(run.relay.bytes(), { clientToUpstream: 0, upstreamToClient: 0 });
    await stillUsable(t, client, 'not relayed, still mine');
  });

  t.test('failover: after a refused dial the same client fd is relayed to the next endpoint', async (t) => {
    const refused = await closedPort();
    const upstream = await echoAfterEnd(t);
    const client = await rawPair(t, addon);
    const first = dial(t, addon, client, '127.0.0.1', refused);
    t.equal((await first.dial)?.code, 'ECONNREFUSED');
    const second = dial(t, addon, client, '127.0.0.1', upstream.port);
    t.equal(await second.dial, null);
    const atClient = receive(client.peer);
    client.peer.end('second try');
    t.equal((await atClient).text, 'echo:second try');
    t.equal((await second.result).reason, 'closed');
    t.same(first.calls(), { dial: 1, done: 0 });
  });

  t.test('connect timeout against a full accept queue: onDial(ETIMEDOUT), client fd untouched', async (t) => {
    const port = await blackholePort(t, addon);
    const client = await rawPair(t, addon);
    const run = dial(t, addon, client, '127.0.0.1', port, 300);
    const err = await run.dial;
    t.match(err, { code: 'ETIMEDOUT', syscall: 'connect', message: `connect ETIMEDOUT 127.0.0.1:${port}` });
    t.same(run.calls(), { dial: 1, done: 0 });
    await stillUsable(t, client, 'timed out, still mine');
  });

  t.test('stop() while dialling: onDial(ECANCELED) later, done never, client fd untouched', async (t) => {
    const port = await blackholePort(t, addon);
    const client = await rawPair(t, addon);
    const run = dial(t, addon, client, '127.0.0.1', port, 0);
    run.relay.stop();
    run.relay.stop();
    t.equal(run.calls().dial, 0, 'not called from inside stop()');
    t.match(await run.dial, { code: 'ECANCELED', syscall: 'connect' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    t.same(run.calls(), { dial: 1, done: 0 });
    await stillUsable(t, client, 'cancelled, still mine');
  });

  t.test('stop() from inside onDial(null) ends the relay: done(stopped), both sides closed', async (t) => {
    const upstream = await echoAfterEnd(t);
    const client = await rawPair(t, addon);
    let settle!: (r: RelayResult) => void;
    const result = new Promise<RelayResult>((resolve) => { settle = resolve; });
    const relay: Relay = addon.relayTo(client.fd, '127.0.0.1', upstream.port, 1_000, 0, (err) => {
      t.equal(err, null);
      client.handOff();
      relay.stop();
    }, settle);
    t.same(await result, { clientToUpstream: 0, upstreamToClient: 0, reason: 'stopped' });
    await hungUp(client.peer);
  });

  t.test('the idle timeout applies once relaying', async (t) => {
    const server = net.createServer();
    const port = await listen(t, server);
    server.on('connection', (socket) => { t.teardown(() => { socket.destroy(); }); });
    const client = await rawPair(t, addon);
    const run = dial(t, addon, client, '127.0.0.1', port, 1_000, 200);
    t.equal(await run.dial, null);
    t.same(await run.result, { clientToUpstream: 0, upstreamToClient: 0, reason: 'idle_timeout' });
    await hungUp(client.peer);
  });

  t.test('bad arguments and fds throw synchronously, and the caller keeps the client fd', async (t) => {
    const client = await rawPair(t, addon);
    const cb = (): void => { t.fail('must not be called'); };
    const loose = addon as unknown as Record<string, (...args: unknown[]) => unknown>;
    t.throws(() => loose.relayTo!('3', '127.0.0.1', 80, 0, 0, cb, cb), { code: 'ERR_INVALID_ARG_TYPE' });
    t.throws(() => loose.relayTo!(client.fd, 127, 80, 0, 0, cb, cb), { code: 'ERR_INVALID_ARG_TYPE' });
    t.throws(() => addon.relayTo(client.fd, 'localhost', 80, 0, 0, cb, cb), { code: 'ERR_INVALID_ARG_VALUE' }, 'no host names');
    t.throws(() => addon.relayTo(client.fd, '127.0.0.1'.repeat(10), 80, 0, 0, cb, cb), { code: 'ERR_INVALID_ARG_VALUE' });
    t.throws(() => addon.relayTo(client.fd, '127.0.0.1', 0, 0, 0, cb, cb), { code: 'ERR_OUT_OF_RANGE' });
    t.throws(() => addon.relayTo(client.fd, '127.0.0.1', 65_536, 0, 0, cb, cb), { code: 'ERR_OUT_OF_RANGE' });
    t.throws(() => addon.relayTo(client.fd, '127.0.0.1', 80, -1, 0, cb, cb), { code: 'ERR_OUT_OF_RANGE' });
    t.throws(() => addon.relayTo(client.fd, '127.0.0.1', 80, 0, 2 ** 31, cb, cb), { code: 'ERR_OUT_OF_RANGE' });
    t.throws(() => loose.relayTo!(client.fd, '127.0.0.1', 80, 0, 0, 'nope', cb), { code: 'ERR_INVALID_ARG_TYPE' });
    t.throws(() => loose.relayTo!(client.fd, '127.0.0.1', 80, 0, 0, cb), { code: 'ERR_INVALID_ARG_TYPE' });
    t.throws(() => addon.relayTo(UNUSED_FD, '127.0.0.1', 80, 0, 0, cb, cb), { code: 'EBADF', syscall: 'uv_poll_init' });
    const file = fs.openSync('/dev/null', 'r');
    t.teardown(() => fs.closeSync(file));
    t.throws(() => addon.relayTo(file, '127.0.0.1', 80, 0, 0, cb, cb), { code: 'EPERM' }, 'not a pollable socket');
    const poller = addon.waitReadable(client.fd, () => {});
    t.throws(() => addon.relayTo(client.fd, '127.0.0.1', 80, 0, 0, cb, cb), { code: 'EEXIST' }, 'this thread already polls it');
    poller.stop();
    await stillUsable(t, client, 'after bad calls, still mine');
  });

  t.test('relayToEndpoint resolves once connected and rejects, taking nothing, otherwise', async (t) => {
    t.ok(nativeDialable({ host: '127.0.0.1', port: 1, tls: false }));
    t.ok(nativeDialable({ host: '::1', port: 1, tls: false }));
    t.notOk(nativeDialable({ host: 'localhost', port: 1, tls: false }), 'a name needs resolving');
    t.notOk(nativeDialable({ host: '127.0.0.1', port: 1, tls: true }), 'TLS is encrypted in JS');
    t.notOk(nativeDialable({ host: 'fe80::1%lo', port: 1, tls: false }), 'zones are not parsed');

    const client = await rawPair(t, addon);
    const done = (): void => { t.fail('no relay'); };
    await t.rejects(relayToEndpoint(addon, client.fd, { host: 'localhost', port: 1, tls: false }, 1_000, 0, done), { code: 'ERR_INVALID_ARG_VALUE' });
    await t.rejects(relayToEndpoint(addon, client.fd, { host: '127.0.0.1', port: await closedPort(), tls: false }, 1_000, 0, done), { code: 'ECONNREFUSED' });
    await t.rejects(relayToEndpoint(addon, UNUSED_FD, { host: '127.0.0.1', port: 1, tls: false }, 1_000, 0, done), { code: 'EBADF' });

    const upstream = await echoAfterEnd(t);
    let settle!: (r: RelayResult) => void;
    const result = new Promise<RelayResult>((resolve) => { settle = resolve; });
    const relay = await relayToEndpoint(addon, client.fd, { host: '127.0.0.1', port: upstream.port, tls: false }, 1_000, 0, settle);
    client.handOff();
    t.teardown(() => relay.stop());
    const atClient = receive(client.peer);
    client.peer.end('via endpoint');
    t.equal((await atClient).text, 'echo:via endpoint');
    t.same(await result, { clientToUpstream: 12, upstreamToClient: 17, reason: 'closed' });
  });

  t.test('in a worker: terminating it mid-dial closes the client fd it was dialling for, without a crash', async (t) => {
    const port = await blackholePort(t, addon);
    const client = await rawPair(t, addon);
    const { worker, next, messages } = startWorker(t, WORKER_SOURCE, { indexUrl: INDEX_URL, client: client.fd, port });
    const first = await next();
    t.equal(first.kind, 'started', String(first.message ?? ''));
    client.handOff(); // the dying thread takes it with it
    const clientClosed = hungUp(client.peer);
    const exited = once(worker, 'exit');
    await worker.terminate();
    t.equal((await exited)[0], 1, 'terminated, not crashed');
    await clientClosed;
    t.notOk(messages.some((m) => m.kind === 'dial' || m.kind === 'done'), 'no callback into a dying thread');
  });

  t.test('in a worker: relays, and terminating it mid-transfer closes both sides', async (t) => {
    const server = net.createServer({ allowHalfOpen: true });
    const port = await listen(t, server);
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    const client = await rawPair(t, addon);
    const { worker, next } = startWorker(t, WORKER_SOURCE, { indexUrl: INDEX_URL, client: client.fd, port });
    t.equal((await next()).kind, 'started');
    t.same(await next(), { kind: 'dial', code: null });
    client.handOff();
    const [upstream] = await accepted;
    upstream.on('error', () => {});
    t.teardown(() => { upstream.destroy(); });
    let relayed = 0;
    upstream.on('data', (chunk: Buffer) => { relayed += chunk.length; });
    const writing = sendRandom(client.peer, 256 * MiB).catch(() => 'stopped');
    while (relayed < 4 * MiB) await once(upstream, 'data');
    const exited = once(worker, 'exit');
    await worker.terminate();
    t.equal((await exited)[0], 1, 'terminated, not crashed');
    await Promise.all([hungUp(client.peer), hungUp(upstream)]);
    t.equal(await writing, 'stopped', 'the client saw its connection close');
  });
}

// Inline so the test needs no fixture file; CommonJS because eval workers are.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const send = (m) => parentPort.postMessage(m);
import(workerData.indexUrl).then(({ loadNative }) => {
  const { addon, error } = loadNative();
  if (addon === null || typeof addon.relayTo !== 'function') {
    send({ kind: 'failed', message: String(error) });
    return;
  }
  addon.relayTo(workerData.client, '127.0.0.1', workerData.port, 0, 0,
    (err) => send({ kind: 'dial', code: err === null ? null : err.code }),
    (r) => send({ kind: 'done', reason: r.reason }));
  send({ kind: 'started' });
});
`;
