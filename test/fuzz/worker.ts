// The fuzz worker: loads one target and runs fuzzLoop on it (see engine.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { fuzzLoop, sharedExec, type LoopOptions, type WorkerMessage } from './engine.js';
import { loadTarget } from './targets/index.js';

// Parsers under test log what they refuse (xmldom warnings, …): noise at thousands of execs a second.
if (process.env.EDGEPLANE_FUZZ_VERBOSE !== '1') for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) console[level] = () => {};

const { target: name, loop, buffer } = workerData as { target: string; loop: LoopOptions; buffer: SharedArrayBuffer };
const port = parentPort!;
const target = await loadTarget(name);
// Keeps the worker's event loop alive: an exec whose promise can never settle (nothing left to wake
// it) must show as a hang with its input, not as the worker quietly running out of things to do.
const keepAlive = setInterval(() => {}, 60_000);
await fuzzLoop(target, loop, sharedExec(buffer), (m: WorkerMessage) => port.postMessage(m));
clearInterval(keepAlive);
// Targets may leave sockets or timers behind; the parent terminates this worker once 'done' is read.
