// Worker thread entry: installs generations, wraps handed-off fds in sockets and serves them.
import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Counters } from '../core/tables/counters.js';
import { WorkerRuntime } from './runtime.js';
import type { Handoff } from './handoff.js';
import type { GenerationSpec } from '../core/generation/spec.js';
import type { ToWorker, FromWorker } from '../core/dispatch/messages.js';
import { loadNative } from '../core/native/index.js';
import { relayCapable } from './splice-pipe.js';

const port = parentPort;
if (port === null) throw new Error('workers/main.js must run as a worker thread');
const { counterBuffer, breakerBuffer, sharedStoreBuffer, workerIndex, workerCount, authRootKey } = workerData as { counterBuffer: SharedArrayBuffer; breakerBuffer: SharedArrayBuffer; sharedStoreBuffer?: SharedArrayBuffer; workerIndex: number; workerCount: number; authRootKey?: Uint8Array };
const counters = new Counters(counterBuffer);
const send = (msg: FromWorker): void => port.postMessage(msg);
const runtime = new WorkerRuntime(counters, workerIndex, breakerBuffer, (data, count) => send({ type: 'events', data, count }), authRootKey, sharedStoreBuffer,
  { workerCount, report: (report) => send({ type: 'tunnel_leg', report }) });

const native = loadNative().addon;

const relayAddon = process.env.EDGEPLANE_DISABLE_RELAY === '1' ? null : relayCapable(native);

function adopt(h: Handoff): void {
  if (relayAddon !== null && runtime.relayable(h)) {
    counters.setWorkerAdopted(workerIndex, h.seq);
    counters.recordDispatch((performance.timeOrigin + performance.now() - h.sentAt) * 1000);
    runtime.relay(relayAddon, h.fd, h);
    return;
  }
  let socket: net.Socket;
  try {
    socket = new net.Socket({ fd: h.fd, readable: true, writable: true, allowHalfOpen: true });
  } catch (err) {
    // The fd is ours now either way (the acceptor forgets it once the sequence is published).
    try { native?.close(h.fd); } catch { /* already gone */ }
    counters.addWorkerActive(workerIndex, -1);
    send({ type: 'adopt_failed', error: (err as Error).message });
    return;
  } finally {
    counters.setWorkerAdopted(workerIndex, h.seq);
  }
  socket.pause();
  counters.recordDispatch((performance.timeOrigin + performance.now() - h.sentAt) * 1000);
  runtime.serve(socket, h);
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'generation':
      runtime.install(msg.spec as GenerationSpec);
      send({ type: 'installed', generation: msg.spec.generation });
      break;
    case 'conn':
      adopt(msg.handoff);
      break;
    case 'retire':
      runtime.retire(msg.below);
      break;
    case 'drain':
      void runtime.drain().then(() => { runtime.events.flush(); send({ type: 'drained' }); });
      break;
    case 'flush':
      runtime.events.flush();
      break;
    case 'crash':
      // Test hook (admin.debug_endpoints): end this thread the hard way, as a crash would.
      process.exit(70);
  }
});
send({ type: 'ready' });
