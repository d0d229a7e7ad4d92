// Proxy CPU per GB (1e9 B) for the two byte movers of tcp / tls-passthrough edges: the JS pump
// (workers/pipe.ts) and the native splice(2) relay (workers/splice-pipe.ts). The source and sink
// run in a child process, so this process's CPU (process.cpuUsage: all its threads, user + sys)
// is the relay alone, plus one accept and one dial per transfer. Each transfer is 64 MiB, one
// direction at a time (client -> upstream, then upstream -> client). Prints, asserts nothing.
// Run: npx tsc -p . && node dist/bench/micro/relay.bench.js [transfers per row, default 16]
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadNative } from '../../core/native/index.js';
import { pipeSockets } from '../../workers/pipe.js';
import { relayCapable, relaySockets } from '../../workers/splice-pipe.js';

const TRANSFER_BYTES = 64 * 1024 * 1024;
const CHUNK = Buffer.alloc(1024 * 1024, 0x5a);

type Direction = 'up' | 'down';
type Mover = 'js-pump' | 'splice';
type ToPeer = { kind: 'run'; port: number; direction: Direction; bytes: number };
type FromPeer = { kind: 'upstream'; port: number } | { kind: 'done'; received: number };

// ---- the child: a fast source and sink at both ends ----

async function writeAll(socket: net.Socket, bytes: number): Promise<void> {
  for (let sent = 0; sent < bytes; sent += CHUNK.length) {
    if (!socket.write(CHUNK)) await once(socket, 'drain');
  }
  socket.end();
}

function drain(socket: net.Socket): Promise<number> {
  let received = 0;
  socket.on('data', (chunk: Buffer) => { received += chunk.length; });
  return new Promise((resolve, reject) => {
    socket.once('end', () => resolve(received));
    socket.once('error', reject);
  });
}

function runPeer(): void {
  const send = (m: FromPeer): void => { process.send!(m); };
  let current: ToPeer | undefined;
  const upstream = net.createServer({ allowHalfOpen: true }, (socket) => {
    const job = current!;
    if (job.direction === 'down') void writeAll(socket, job.bytes);
    void drain(socket).then(() => { if (job.direction === 'up') socket.end(); });
  });
  upstream.listen(0, '127.0.0.1', () => send({ kind: 'upstream', port: (upstream.address() as net.AddressInfo).port }));
  process.on('message', (job: ToPeer) => {
    current = job;
    const client = net.connect({ port: job.port, host: '127.0.0.1', allowHalfOpen: true }, () => {
      if (job.direction === 'up') void writeAll(client, job.bytes);
    });
    void drain(client).then((received) => {
      if (job.direction === 'down') client.end();
      client.once('close', () => send({ kind: 'done', received: job.direction === 'down' ? received : job.bytes }));
    });
  });
  process.on('disconnect', () => process.exit(0));
}

// ---- the parent: the proxy under test ----

interface Row { mover: Mover; direction: Direction; cpuSPerGb: number; mbPerS: number }

function startProxy(mover: Mover, upstreamPort: number, onRelayed: () => void): Promise<net.Server> {
  const addon = relayCapable(loadNative().addon);
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ port: upstreamPort, host: '127.0.0.1', allowHalfOpen: true });
    upstream.once('connect', () => {
      upstream.setNoDelay(true);
      if (mover === 'splice' && addon !== null) {
        // As the worker will: the client is a bare fd that no net.Socket ever read.
        const fd = addon.dup((client as unknown as { _handle: { fd: number } })._handle.fd);
        client.destroy();
        const relay = relaySockets(addon, fd, upstream, 0, () => onRelayed());
        if (relay === null) throw new Error('upstream not relayable');
      } else {
        client.setNoDelay(true);
        pipeSockets(client, upstream, 0, () => onRelayed());
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function measure(peer: ChildProcess, upstreamPort: number, mover: Mover, direction: Direction, transfers: number): Promise<Row> {
  let relayed = 0;
  let wakeRelay: (() => void) | undefined;
  const proxy = await startProxy(mover, upstreamPort, () => { relayed++; wakeRelay?.(); });
  const port = (proxy.address() as net.AddressInfo).port;
  const runOnce = async (): Promise<void> => {
    const target = relayed + 1;
    const done = once(peer, 'message') as Promise<[FromPeer]>;
    peer.send({ kind: 'run', port, direction, bytes: TRANSFER_BYTES } satisfies ToPeer);
    const [reply] = await done;
    if (reply.kind !== 'done' || reply.received !== TRANSFER_BYTES) throw new Error(`short transfer: ${JSON.stringify(reply)}`);
    while (relayed < target) await new Promise<void>((resolve) => { wakeRelay = resolve; });
  };
  await runOnce(); // warm-up
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < transfers; i++) await runOnce();
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  proxy.close();
  const gb = (transfers * TRANSFER_BYTES) / 1e9;
  return { mover, direction, cpuSPerGb: (cpu.user + cpu.system) / 1e6 / gb, mbPerS: (transfers * TRANSFER_BYTES) / 1e6 / wallS };
}

async function runParent(): Promise<void> {
  const transfers = Number(process.argv[2] ?? 16);
  if (relayCapable(loadNative().addon) === null) throw new Error(`no native relay: ${loadNative().error ?? 'old build'}`);
  const peer = fork(fileURLToPath(import.meta.url), ['peer']);
  const [hello] = (await once(peer, 'message')) as [FromPeer];
  if (hello.kind !== 'upstream') throw new Error('peer did not start');
  console.log(`node ${process.version}, ${transfers} x 64 MiB per row, proxy CPU = this process (user + sys)`);
  for (const direction of ['up', 'down'] as const) {
    for (const mover of ['js-pump', 'splice'] as const) {
      const r = await measure(peer, hello.port, mover, direction, transfers);
      const label = `${r.mover.padEnd(8)} ${direction === 'up' ? 'client -> upstream' : 'upstream -> client'}`;
      console.log(`${label.padEnd(30)} ${r.cpuSPerGb.toFixed(3).padStart(7)} CPU-s/GB  ${r.mbPerS.toFixed(0).padStart(6)} MB/s`);
    }
  }
  peer.disconnect();
}

if (process.argv[2] === 'peer') runPeer();
else await runParent();
