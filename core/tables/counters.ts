// Cross-thread counters in one SharedArrayBuffer, written with Atomics by every thread.
//
// Layout (all slots indexed by a stable slot number that survives reloads, see SlotMap):
//   ints  (Int32Array):     [CTRL_GENERATION, CTRL_DRAINING, ...pad] [worker active × MAX_WORKERS]
//                           [worker adopted handoff sequence × MAX_WORKERS]
//                           [backend round-robin cursor × MAX_BACKENDS]
//   bigs  (BigInt64Array):  [worker handled × MAX_WORKERS] [edge stats × EDGE_FIELDS × MAX_EDGES]
//                           [dispatch latency histogram × DISPATCH_BUCKETS_US.length+1, sum µs]
//
// Accepted races (as Envoy's ResourceManagerImpl says of its own atomics): "least-loaded worker"
// reads the active counts without a lock, so two back-to-back dispatches may both pick the same
// worker; the counts are exact, the choice is approximate. Round-robin cursors wrap at 2^32.
export const MAX_WORKERS = 256;
export const MAX_BACKENDS = 16_384;
export const MAX_EDGES = 16_384;

export const enum EdgeField {
  Active = 0, Total = 1, BytesIn = 2, BytesOut = 3, HandshakeFailures = 4, Refused = 5,
  /** https edges: requests finished, those answered by the edge itself (ngrok-error-code), and 5xx sent. */
  Requests = 6, EdgeAnswered = 7, Responses5xx = 8,
}
const EDGE_FIELDS = 9;

/** Upper bounds (µs) of the dispatch-latency histogram buckets; the last bucket is +Inf. */
export const DISPATCH_BUCKETS_US = [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000] as const;

const CTRL_INTS = 4;
const INT_WORKER_ACTIVE = CTRL_INTS;
const INT_WORKER_ADOPTED = INT_WORKER_ACTIVE + MAX_WORKERS;
const INT_BACKEND_RR = INT_WORKER_ADOPTED + MAX_WORKERS;
const INT_COUNT = INT_BACKEND_RR + MAX_BACKENDS;

const BIG_WORKER_TOTAL = 0;
const BIG_EDGE = BIG_WORKER_TOTAL + MAX_WORKERS;
const BIG_DISPATCH = BIG_EDGE + EDGE_FIELDS * MAX_EDGES;
const BIG_DISPATCH_SUM = BIG_DISPATCH + DISPATCH_BUCKETS_US.length + 1;
const BIG_COUNT = BIG_DISPATCH_SUM + 1;

const INT_BYTES = INT_COUNT * 4;
const BIG_OFFSET = Math.ceil(INT_BYTES / 8) * 8;

export function createCounterBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(BIG_OFFSET + BIG_COUNT * 8);
}

export class Counters {
  private readonly ints: Int32Array;
  private readonly bigs: BigInt64Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.ints = new Int32Array(buffer, 0, INT_COUNT);
    this.bigs = new BigInt64Array(buffer, BIG_OFFSET, BIG_COUNT);
  }

  get generation(): number { return Atomics.load(this.ints, 0); }
  set generation(value: number) { Atomics.store(this.ints, 0, value); }

  workerActive(worker: number): number { return Atomics.load(this.ints, INT_WORKER_ACTIVE + worker); }
  addWorkerActive(worker: number, delta: number): void { Atomics.add(this.ints, INT_WORKER_ACTIVE + worker, delta); }
  resetWorker(worker: number): void {
    Atomics.store(this.ints, INT_WORKER_ACTIVE + worker, 0);
    Atomics.store(this.ints, INT_WORKER_ADOPTED + worker, 0);
  }
  /** Handoffs are numbered per worker; a worker publishes the last one it adopted (no ack message). */
  workerAdopted(worker: number): number { return Atomics.load(this.ints, INT_WORKER_ADOPTED + worker); }
  setWorkerAdopted(worker: number, seq: number): void { Atomics.store(this.ints, INT_WORKER_ADOPTED + worker, seq); }
  workerHandled(worker: number): bigint { return Atomics.load(this.bigs, BIG_WORKER_TOTAL + worker); }
  countWorkerHandled(worker: number): void { Atomics.add(this.bigs, BIG_WORKER_TOTAL + worker, 1n); }

  /** Process-wide round robin: every worker advances the same cursor, so a group is shared fairly. */
  nextRoundRobin(backendSlot: number): number {
    return Atomics.add(this.ints, INT_BACKEND_RR + backendSlot, 1) >>> 0;
  }

  edge(slot: number, field: EdgeField): bigint { return Atomics.load(this.bigs, BIG_EDGE + slot * EDGE_FIELDS + field); }
  addEdge(slot: number, field: EdgeField, delta: number): void {
    Atomics.add(this.bigs, BIG_EDGE + slot * EDGE_FIELDS + field, BigInt(delta));
  }

  recordDispatch(latencyUs: number): void {
    let bucket = 0;
    while (bucket < DISPATCH_BUCKETS_US.length && latencyUs > DISPATCH_BUCKETS_US[bucket]!) bucket++;
    Atomics.add(this.bigs, BIG_DISPATCH + bucket, 1n);
    Atomics.add(this.bigs, BIG_DISPATCH_SUM, BigInt(Math.round(latencyUs)));
  }
  dispatchHistogram(): { buckets: bigint[]; sumUs: bigint } {
    const buckets: bigint[] = [];
    for (let i = 0; i <= DISPATCH_BUCKETS_US.length; i++) buckets.push(Atomics.load(this.bigs, BIG_DISPATCH + i));
    return { buckets, sumUs: Atomics.load(this.bigs, BIG_DISPATCH_SUM) };
  }
}

/** Stable slot numbers for ids (edge ids, backend ids), kept across generations by the main thread. */
export class SlotMap {
  private readonly slots = new Map<string, number>();
  constructor(private readonly capacity: number, private readonly what: string) {}
  slotFor(id: string): number {
    let slot = this.slots.get(id);
    if (slot === undefined) {
      if (this.slots.size >= this.capacity) throw new Error(`more than ${this.capacity} ${this.what} ids since start-up`);
      slot = this.slots.size;
      this.slots.set(id, slot);
    }
    return slot;
  }
  entries(): IterableIterator<[string, number]> { return this.slots.entries(); }
}
