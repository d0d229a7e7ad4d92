// Proxy CPU per connection for connection setup, the cost that dominates a new-connections/s
// benchmark: accepting (net.Server, which makes a net.Socket the acceptor only dups and destroys,
// vs the addon's acceptLoop) and dialling the upstream for the splice relay (net.connect, a
// net.Socket made only to dup its fd, vs the addon's relayTo). The clients and the upstream run in
// a child process, so this process's CPU (process.cpuUsage: all its threads, user + sys, GC
// helpers included) is the proxy's alone. Each client connects, sends 1 byte (to relayed rows
// only: a proxy that closes with unread bytes would reset) and closes.
// The two relay rows accept with acceptLoop, so they differ only in the dial.
// Prints, asserts nothing. Run: npx tsc -p . && node dist/bench/micro/accept.bench.js [connections per row,
// default 20000] [only the rows whose name contains this]
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadNative, type NativeAddon } from '../../core/native/index.js';
import { acceptCapable, NativeListener, type AcceptAddon } from '../../core/acceptor/native-listener.js';
import { relayToCapable, type RelayToAddon } from '../../workers/native-dial.js';
import { relayCapable, relaySockets, type RelayAddon } from '../../workers/splice-pipe.js';

const CONCURRENCY = 64;

type Mode = 'net.Server + dup' | 'acceptLoop' | 'net.connect + dup + relay' | 'relayTo';
type ToPeer = { kind: 'run'; port: number; count: number; payload: boolean };
type FromPeer = { kind: 'upstream'; port: number } | { kind: 'done'; failed: number };

// ---- the child: clients and an upstream ----

function runPeer(): void {
  const send = (m: FromPeer): void => { process.send!(m); };
  const upstream = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    socket.on('end', () => socket.end());
    socket.resume();
  });
  upstream.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => send({ kind: 'upstream', port: (upstream.address() as net.AddressInfo).port }));
  process.on('message', (job: ToPeer) => {
    let started = 0;
    let finished = 0;
    let failed = 0;
    const next = (): void => {
      if (started >= job.count) return;
      started++;
      const socket = net.connect({ port: job.port, host: '127.0.0.1' }, () => (job.payload ? socket.end('x') : socket.end()));
      socket.on('error', () => { failed++; });
      socket.resume();
      socket.once('close', () => {
        finished++;
        if (finished === job.count) send({ kind: 'done', failed });
        else next();
      });
    };
    for (let i = 0; i < CONCURRENCY; i++) next();
  });
  process.on('disconnect', () => process.exit(0));
}

// ---- the parent: the proxy under test ----

interface Proxy { port: number; close(): Promise<void> }
type Addon = NativeAddon & AcceptAddon & RelayAddon & RelayToAddon;

function startNetServer(addon: NativeAddon): Promise<Proxy> {
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    // What core/acceptor/acceptor.ts does with each connection before the peek.
    void socket.remoteAddress; void socket.remotePort; void socket.localAddress; void socket.localPort;
    const fd = addon.dup((socket as unknown as { _handle: { fd: number } })._handle.fd);
    socket.destroy();
    addon.close(fd);
  });
  return new Promise((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => resolve({
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((done) => server.close(() => done())),
  })));
}

async function startNative(addon: Addon, mode: Mode, upstreamPort: number, onRelayed: () => void): Promise<Proxy> {
  const dial = (fd: number): void => {
    if (mode === 'relayTo') {
      addon.relayTo(fd, '127.0.0.1', upstreamPort, 5_000, 0, (err) => { if (err !== null) { addon.close(fd); onRelayed(); } }, onRelayed);
      return;
    }
    const upstream = net.connect({ port: upstreamPort, host: '127.0.0.1', allowHalfOpen: true });
    upstream.once('connect', () => { relaySockets(addon, fd, upstream, 0, onRelayed); });
  };
  const listener = await NativeListener.open(addon, { address: '127.0.0.1', port: 0, kind: 'tcp' }, (fd) => {
    if (mode === 'acceptLoop') addon.close(fd);
    else dial(fd);
  });
  return { port: listener.address().port, close: () => listener.close() };
}

interface Cost { user: number; system: number }

async function measure(peer: ChildProcess, addon: Addon, upstreamPort: number, mode: Mode, count: number): Promise<Cost> {
  let relayed = 0;
  let wake: (() => void) | undefined;
  const relays = mode === 'relayTo' || mode === 'net.connect + dup + relay';
  const proxy = mode === 'net.Server + dup'
    ? await startNetServer(addon)
    : await startNative(addon, mode, upstreamPort, () => { relayed++; wake?.(); });
  const run = async (n: number): Promise<void> => {
    const target = relayed + n;
    const done = once(peer, 'message') as Promise<[FromPeer]>;
    peer.send({ kind: 'run', port: proxy.port, count: n, payload: relays } satisfies ToPeer);
    const [reply] = await done;
    if (reply.kind !== 'done' || reply.failed > 0) throw new Error(`${mode}: ${JSON.stringify(reply)}`);
    while (relays && relayed < target) await new Promise<void>((resolve) => { wake = resolve; });
  };
  await run(Math.min(2_000, count)); // warm-up
  const cpu0 = process.cpuUsage();
  await run(count);
  const cpu = process.cpuUsage(cpu0);
  await proxy.close();
  return { user: cpu.user / count, system: cpu.system / count };
}

async function runParent(): Promise<void> {
  const count = Number(process.argv[2] ?? 20_000);
  const loaded = loadNative().addon;
  if (acceptCapable(loaded) === null || relayToCapable(loaded) === null || relayCapable(loaded) === null) {
    throw new Error(`no native acceptLoop/relayTo: ${loadNative().error ?? 'old build'}`);
  }
  const addon = loaded as Addon;
  const peer = fork(fileURLToPath(import.meta.url), ['peer']);
  const [hello] = (await once(peer, 'message')) as [FromPeer];
  if (hello.kind !== 'upstream') throw new Error('peer did not start');
  console.log(`node ${process.version}, ${count} connections per row, ${CONCURRENCY} at a time; proxy CPU = this process (user + sys, all threads)`);
  const only = process.argv[3] ?? '';
  for (const mode of ['net.Server + dup', 'acceptLoop', 'net.connect + dup + relay', 'relayTo'] as const) {
    if (!mode.includes(only)) continue;
    const { user, system } = await measure(peer, addon, hello.port, mode, count);
    const total = `${(user + system).toFixed(1).padStart(6)} µs CPU per connection`;
    console.log(`${mode.padEnd(28)} ${total}  (user ${user.toFixed(1).padStart(5)}, sys ${system.toFixed(1).padStart(5)})`);
  }
  peer.disconnect();
}

if (process.argv[2] === 'peer') runPeer();
else await runParent();
