// The pool of worker threads that serve connections. The acceptor hands each connection to the
// least-loaded ready worker (active connections, read from shared counters). A worker that dies
// is replaced; only its own connections are lost, and handed-off fds it never adopted are closed.
import { Worker } from 'node:worker_threads';
import type { GenerationSpec } from '../generation/spec.js';
import type { Handoff } from '../../workers/handoff.js';
import type { Counters } from '../tables/counters.js';
import type { FromWorker, ToWorker } from './messages.js';
import type { LegReport } from '../../workers/tunnel/leg.js';
import { log } from '../log.js';
import { generateRootKey } from '../../workers/http/auth/keys.js';

const WORKER_ENTRY = new URL('../../workers/main.js', import.meta.url);
const MAX_RESTART_DELAY_MS = 5_000;

interface Slot {
  index: number;
  worker: Worker | null;
  ready: boolean;
  /** fds posted to this worker by handoff sequence, until it publishes their adoption. */
  /** Handoffs posted and not yet adopted (by sequence number): if the worker dies they go to another. */
  inflight: Map<number, Handoff>;
  nextSeq: number;
  restarts: number;
  restartDelay: number;
  installed: number;
  drainWaiter: (() => void) | null;
}

export interface WorkerPoolOptions {
  size: number;
  counters: Counters;
  /** The process-wide circuit breaker table (core/tables/breakers.ts). */
  breakerBuffer: SharedArrayBuffer;
  /** The process-wide key → bytes store (core/tables/shared-store.ts); absent: workers keep that state per thread. */
  sharedStoreBuffer?: SharedArrayBuffer;
  closeFd: (fd: number) => void;
  onEvents: (data: string, count: number) => void;
  /** An agent session leg came up or went down on a worker. */
  onTunnelLeg?: (report: LegReport) => void;
  /** A worker exited (its agent legs went with it). */
  onWorkerExit?: (index: number) => void;
  /** Root key of the identity modules' cookies, given to every worker (restarted ones too); default: a fresh one. */
  authRootKey?: Uint8Array;
}

export interface WorkerStats { index: number; threadId: number; ready: boolean; active: number; handled: bigint; restarts: number }

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private current: GenerationSpec | null = null;
  private stopping = false;
  private cursor = 0;
  private installWaiters: Array<{ generation: number; resolve: () => void }> = [];

  private readonly authRootKey: Uint8Array;

  constructor(private readonly opts: WorkerPoolOptions) {
    this.authRootKey = opts.authRootKey ?? generateRootKey();
    for (let i = 0; i < opts.size; i++) {
      this.slots.push({ index: i, worker: null, ready: false, inflight: new Map(), nextSeq: 1, restarts: 0, restartDelay: 100, installed: -1, drainWaiter: null });
    }
  }

  get size(): number { return this.slots.length; }

  start(): Promise<void> {
    return Promise.all(this.slots.map((slot) => this.spawn(slot))).then(() => undefined);
  }

  /** Installs a generation on every worker; resolves when all live workers have it. */
  publish(spec: GenerationSpec): Promise<void> {
    this.current = spec;
    for (const slot of this.slots) this.post(slot, { type: 'generation', spec });
    return new Promise((resolve) => {
      this.installWaiters.push({ generation: spec.generation, resolve });
      this.checkInstalled();
    });
  }

  /**
   * Tells every worker the acceptor now tags connections with `generation` or newer. Posted after the
   * acceptor switched, so it reaches each worker after every handoff tagged with an older one.
   */
  retire(generation: number): void {
    for (const slot of this.slots) this.post(slot, { type: 'retire', below: generation });
  }

  /** Hands a connection to the least-loaded ready worker. False when none is ready. */
  dispatch(handoff: Handoff): boolean {
    const preferred = handoff.preferredWorker >= 0 ? this.slots[handoff.preferredWorker] : undefined;
    const slot = preferred !== undefined && preferred.ready ? preferred : this.pickWorker();
    if (slot === null) return false;
    this.opts.counters.addWorkerActive(slot.index, 1);
    this.forgetAdopted(slot);
    handoff.seq = slot.nextSeq++;
    slot.inflight.set(handoff.seq, handoff);
    this.post(slot, { type: 'conn', handoff });
    return true;
  }

  stats(): WorkerStats[] {
    return this.slots.map((slot) => ({
      index: slot.index,
      threadId: slot.worker?.threadId ?? -1,
      ready: slot.ready,
      active: this.opts.counters.workerActive(slot.index),
      handled: this.opts.counters.workerHandled(slot.index),
      restarts: slot.restarts,
    }));
  }

  /** Test hook: makes one worker exit abruptly, as a crash would. */
  crash(index: number): boolean {
    const slot = this.slots[index];
    if (slot === undefined || slot.worker === null) return false;
    slot.ready = false; // no new connections for a thread about to die
    this.post(slot, { type: 'crash' });
    return true;
  }

  /** Resolves when every worker reports no open connection, or at the deadline. */
  drain(deadlineMs: number): Promise<boolean> {
    const waits = this.slots.map((slot) => new Promise<void>((resolve) => {
      if (slot.worker === null) return resolve();
      slot.drainWaiter = resolve;
      this.post(slot, { type: 'drain' });
    }));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), deadlineMs); });
    return Promise.race([Promise.all(waits).then(() => true), deadline]).finally(() => clearTimeout(timer));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.slots.map(async (slot) => {
      const worker = slot.worker;
      slot.worker = null;
      slot.ready = false;
      if (worker !== null) {
        worker.postMessage({ type: 'flush' } satisfies ToWorker);
        await worker.terminate();
      }
    }));
  }

  private pickWorker(): Slot | null {
    const n = this.slots.length;
    let best: Slot | null = null;
    let bestLoad = Infinity;
    // Start from a rotating cursor so equal loads spread instead of piling onto worker 0.
    for (let k = 0; k < n; k++) {
      const slot = this.slots[(this.cursor + k) % n]!;
      if (!slot.ready) continue;
      const load = this.opts.counters.workerActive(slot.index);
      if (load < bestLoad) { best = slot; bestLoad = load; }
    }
    this.cursor = (this.cursor + 1) % n;
    return best;
  }

  private post(slot: Slot, msg: ToWorker): void {
    slot.worker?.postMessage(msg);
  }

  private spawn(slot: Slot): Promise<void> {
    return new Promise((resolve) => {
      const worker = new Worker(WORKER_ENTRY, {
        workerData: { counterBuffer: this.opts.counters.buffer, breakerBuffer: this.opts.breakerBuffer, sharedStoreBuffer: this.opts.sharedStoreBuffer, workerIndex: slot.index, workerCount: this.slots.length, authRootKey: this.authRootKey },
        name: `edgeplane-worker-${slot.index}`,
      });
      slot.worker = worker;
      slot.installed = -1;
      worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg, resolve));
      worker.on('error', (err) => {
        // Its 'exit' follows; until then new connections must not be posted to it.
        slot.ready = false;
        log.error('worker crashed', { worker: slot.index, error: err.message, stack: err.stack });
      });
      worker.on('exit', (code) => this.onExit(slot, worker, code));
    });
  }

  private onMessage(slot: Slot, msg: FromWorker, started: () => void): void {
    switch (msg.type) {
      case 'ready':
        if (this.current !== null) this.post(slot, { type: 'generation', spec: this.current });
        else { slot.ready = true; started(); }
        break;
      case 'installed':
        slot.installed = Math.max(slot.installed, msg.generation);
        if (!slot.ready && this.current !== null && slot.installed >= this.current.generation) {
          slot.ready = true;
          slot.restartDelay = 100;
          started();
        }
        this.checkInstalled();
        break;
      case 'adopt_failed':
        log.warn('worker could not adopt a connection', { worker: slot.index, error: msg.error });
        break;
      case 'events':
        this.opts.onEvents(msg.data, msg.count);
        break;
      case 'tunnel_leg':
        this.opts.onTunnelLeg?.(msg.report);
        break;
      case 'drained': {
        const waiter = slot.drainWaiter;
        slot.drainWaiter = null;
        waiter?.();
        break;
      }
    }
  }

  private onExit(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    slot.ready = false;
    // fds it never adopted are still ours; its adopted sockets were closed with the thread.
    this.forgetAdopted(slot);
    const orphans = [...slot.inflight.values()];
    slot.inflight.clear();
    slot.nextSeq = 1;
    this.opts.counters.resetWorker(slot.index);
    this.opts.onWorkerExit?.(slot.index);
    slot.drainWaiter?.();
    slot.drainWaiter = null;
    this.checkInstalled();
    this.rehome(slot, orphans);
    if (this.stopping) return;
    slot.restarts++;
    log.error('worker exited; starting a replacement', { worker: slot.index, code, restarts: slot.restarts, in_ms: slot.restartDelay });
    const delay = slot.restartDelay;
    slot.restartDelay = Math.min(slot.restartDelay * 2, MAX_RESTART_DELAY_MS);
    setTimeout(() => { if (!this.stopping) void this.spawn(slot); }, delay).unref();
  }

  /**
   * Connections posted to a worker that died before adopting them: no byte of theirs was read, so
   * another ready worker serves them as if nothing happened. Closed only when none is ready, while
   * stopping, or for a tunnel leg meant for exactly this worker (its agent dials it again).
   */
  private rehome(dead: Slot, orphans: Handoff[]): void {
    let moved = 0;
    for (const handoff of orphans) {
      const pinned = handoff.preferredWorker === dead.index;
      if (!this.stopping && !pinned && this.dispatch(handoff)) { moved++; continue; }
      this.opts.closeFd(handoff.fd);
    }
    if (orphans.length > 0) log.warn('connections the dead worker had not taken up', { worker: dead.index, moved_to_other_workers: moved, closed: orphans.length - moved });
  }

  /** Drops the fds a worker has adopted (it publishes the last adopted sequence; Map order = seq order). */
  private forgetAdopted(slot: Slot): void {
    const adopted = this.opts.counters.workerAdopted(slot.index);
    for (const seq of slot.inflight.keys()) {
      if (seq > adopted) break;
      slot.inflight.delete(seq);
    }
  }

  private checkInstalled(): void {
    this.installWaiters = this.installWaiters.filter(({ generation, resolve }) => {
      const done = this.slots.every((slot) => slot.worker === null || slot.installed >= generation);
      if (done) resolve();
      return !done;
    });
  }
}
