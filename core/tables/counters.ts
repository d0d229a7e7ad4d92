// Cross-thread counters in one SharedArrayBuffer, written with Atomics by every thread.
//
// Layout (all slots indexed by a stable slot number that survives reloads, see SlotMap):
//   ints  (Int32Array):     [CTRL_GENERATION, CTRL_DRAINING, ...pad] [worker active × MAX_WORKERS]
//                           [worker adopted handoff sequence × MAX_WORKERS]
//                           [backend round-robin cursor × MAX_BACKENDS]
//                           [worker gauges × WORKER_GAUGES × MAX_WORKERS] (sampled by each worker every second)
//                           [open connections per edge × MAX_EDGES, per worker × MAX_WORKERS] (see releaseWorkerEdges;
//                            16 MiB of address space, but only the pages of edges in use are ever touched)
//   bigs  (BigInt64Array):  [worker handled × MAX_WORKERS] [edge stats × EDGE_FIELDS × MAX_EDGES]
//                           [dispatch latency histogram × DISPATCH_BUCKETS_US.length+1, sum µs]
//                           [worker totals × WORKER_TOTALS × MAX_WORKERS]
//                           [route stats × ROUTE_FIELDS × MAX_ROUTES] [backend stats × BACKEND_FIELDS × MAX_BACKENDS]
//
// Accepted races (as Envoy's ResourceManagerImpl says of its own atomics): "least-loaded worker"
// reads the active counts without a lock, so two back-to-back dispatches may both pick the same
// worker; the counts are exact, the choice is approximate. Round-robin cursors wrap at 2^32.
// A scrape reads the fields of one route one by one, so a histogram may be a request behind its
// count for an instant; each field on its own is exact.
export const MAX_WORKERS = 256;
export const MAX_BACKENDS = 16_384;
export const MAX_EDGES = 16_384;
/**
 * Route slots ("<edge id>/<route id>") since start-up that get metrics. Beyond this, further routes
 * are served as usual but not counted per route (their edge, backend and worker figures still are).
 */
export const MAX_ROUTES = 4_096;

export const enum EdgeField {
  Active = 0, Total = 1, BytesIn = 2, BytesOut = 3, HandshakeFailures = 4, Refused = 5,
  /** https edges: requests finished, those answered by the edge itself (ngrok-error-code), and 5xx sent. */
  Requests = 6, EdgeAnswered = 7, Responses5xx = 8,
  /** Connections closed at once because the edge had max_connections open. */
  OverLimit = 9,
}
const EDGE_FIELDS = 10;

/** Upper bounds (µs) of the dispatch-latency histogram buckets; the last bucket is +Inf. */
export const DISPATCH_BUCKETS_US = [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000] as const;
/** Upper bounds (ms) of the per-route request-duration histogram buckets; the last bucket is +Inf. */
export const REQUEST_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000] as const;

// Per route: requests, responses by status class (1xx..5xx), body bytes in/out, duration sum (ms), buckets.
const R_REQUESTS = 0;
const R_CLASS = 1; // + class-1 for 1xx..5xx
const R_BYTES_IN = 6;
const R_BYTES_OUT = 7;
const R_DURATION_SUM_MS = 8;
const R_BUCKETS = 9;
const ROUTE_FIELDS = R_BUCKETS + REQUEST_BUCKETS_MS.length + 1;

// Per backend: requests sent its way, those that ended in a 5xx (upstream error or unreachable), and
// upstream failures by phase (see UpstreamFailurePhase).
const B_REQUESTS = 0;
const B_ERRORS = 1;
const B_FAILURES = 2; // + phase index
const BACKEND_FIELDS = 5;

/**
 * Where an upstream failed a request: a dial that failed (refused, DNS, timeout), an error after the
 * request went out but before a response head (a 502/504 at the edge), or a response cut after its
 * head went to the client (the client sees a truncated body or a reset stream, never a clean end).
 */
export const UPSTREAM_FAILURE_PHASES = ['connect', 'before_head', 'mid_body'] as const;
export type UpstreamFailurePhase = typeof UPSTREAM_FAILURE_PHASES[number];

/** Sampled gauges each worker stores into its own slot. */
export const enum WorkerGauge { EventLoopUtilisationPpm = 0, UpstreamOpen = 1, UpstreamIdle = 2 }
const WORKER_GAUGES = 3;
/** Running totals per worker. */
const W_REQUESTS = 0;
const W_EVENT_DROPS = 1;
const WORKER_TOTALS = 2;

const CTRL_INTS = 4;
const INT_WORKER_ACTIVE = CTRL_INTS;
const INT_WORKER_ADOPTED = INT_WORKER_ACTIVE + MAX_WORKERS;
const INT_BACKEND_RR = INT_WORKER_ADOPTED + MAX_WORKERS;
const INT_WORKER_GAUGES = INT_BACKEND_RR + MAX_BACKENDS;
const INT_EDGE_OPEN_BY_WORKER = INT_WORKER_GAUGES + WORKER_GAUGES * MAX_WORKERS;
const INT_COUNT = INT_EDGE_OPEN_BY_WORKER + MAX_EDGES * MAX_WORKERS;

const BIG_WORKER_TOTAL = 0;
const BIG_EDGE = BIG_WORKER_TOTAL + MAX_WORKERS;
const BIG_DISPATCH = BIG_EDGE + EDGE_FIELDS * MAX_EDGES;
const BIG_DISPATCH_SUM = BIG_DISPATCH + DISPATCH_BUCKETS_US.length + 1;
const BIG_WORKER_TOTALS = BIG_DISPATCH_SUM + 1;
const BIG_ROUTE = BIG_WORKER_TOTALS + WORKER_TOTALS * MAX_WORKERS;
const BIG_BACKEND = BIG_ROUTE + ROUTE_FIELDS * MAX_ROUTES;
const BIG_COUNT = BIG_BACKEND + BACKEND_FIELDS * MAX_BACKENDS;

const INT_BYTES = INT_COUNT * 4;
const BIG_OFFSET = Math.ceil(INT_BYTES / 8) * 8;

export function createCounterBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(BIG_OFFSET + BIG_COUNT * 8);
}

/** A histogram as read at one instant: per-bucket (not cumulative) counts, the last one +Inf. */
export interface HistogramReading { buckets: bigint[]; sum: bigint }

export interface RouteReading {
  requests: bigint;
  /** Index 0..4 = 1xx..5xx. */
  statusClasses: bigint[];
  bytesIn: bigint;
  bytesOut: bigint;
  /** Durations in ms. */
  duration: HistogramReading;
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
  /** Sum of the workers' open connections (dispatched and not yet closed). */
  activeConnections(workers: number): number {
    let sum = 0;
    for (let w = 0; w < workers; w++) sum += Atomics.load(this.ints, INT_WORKER_ACTIVE + w);
    return sum;
  }
  /** A worker's books are closed when it exits: its connections went with the thread. */
  resetWorker(worker: number): void {
    this.releaseWorkerEdges(worker);
    Atomics.store(this.ints, INT_WORKER_ACTIVE + worker, 0);
    Atomics.store(this.ints, INT_WORKER_ADOPTED + worker, 0);
    for (let g = 0; g < WORKER_GAUGES; g++) Atomics.store(this.ints, INT_WORKER_GAUGES + worker * WORKER_GAUGES + g, 0);
  }
  /** Handoffs are numbered per worker; a worker publishes the last one it adopted (no ack message). */
  workerAdopted(worker: number): number { return Atomics.load(this.ints, INT_WORKER_ADOPTED + worker); }
  setWorkerAdopted(worker: number, seq: number): void { Atomics.store(this.ints, INT_WORKER_ADOPTED + worker, seq); }
  workerHandled(worker: number): bigint { return Atomics.load(this.bigs, BIG_WORKER_TOTAL + worker); }
  countWorkerHandled(worker: number): void { Atomics.add(this.bigs, BIG_WORKER_TOTAL + worker, 1n); }

  workerGauge(worker: number, gauge: WorkerGauge): number { return Atomics.load(this.ints, INT_WORKER_GAUGES + worker * WORKER_GAUGES + gauge); }
  setWorkerGauge(worker: number, gauge: WorkerGauge, value: number): void {
    Atomics.store(this.ints, INT_WORKER_GAUGES + worker * WORKER_GAUGES + gauge, value);
  }
  workerRequests(worker: number): bigint { return Atomics.load(this.bigs, BIG_WORKER_TOTALS + worker * WORKER_TOTALS + W_REQUESTS); }
  workerEventDrops(worker: number): bigint { return Atomics.load(this.bigs, BIG_WORKER_TOTALS + worker * WORKER_TOTALS + W_EVENT_DROPS); }
  addWorkerEventDrops(worker: number, n: number): void {
    if (n > 0) Atomics.add(this.bigs, BIG_WORKER_TOTALS + worker * WORKER_TOTALS + W_EVENT_DROPS, BigInt(n));
  }

  /** Process-wide round robin: every worker advances the same cursor, so a group is shared fairly. */
  nextRoundRobin(backendSlot: number): number {
    return Atomics.add(this.ints, INT_BACKEND_RR + backendSlot, 1) >>> 0;
  }

  edge(slot: number, field: EdgeField): bigint { return Atomics.load(this.bigs, BIG_EDGE + slot * EDGE_FIELDS + field); }
  addEdge(slot: number, field: EdgeField, delta: number): void {
    Atomics.add(this.bigs, BIG_EDGE + slot * EDGE_FIELDS + field, BigInt(delta));
  }

  /**
   * Opens a connection on an edge for `worker`, unless the edge already has `limit` open (0 = no
   * limit): then nothing is counted but OverLimit, and false says to close it. The check and the
   * increment are one atomic add, so workers racing for the last place cannot both get it.
   */
  openEdgeConnection(worker: number, slot: number, limit: number): boolean {
    const active = BIG_EDGE + slot * EDGE_FIELDS + EdgeField.Active;
    const before = Atomics.add(this.bigs, active, 1n);
    if (limit > 0 && before >= BigInt(limit)) {
      Atomics.sub(this.bigs, active, 1n);
      Atomics.add(this.bigs, BIG_EDGE + slot * EDGE_FIELDS + EdgeField.OverLimit, 1n);
      return false;
    }
    Atomics.add(this.bigs, BIG_EDGE + slot * EDGE_FIELDS + EdgeField.Total, 1n);
    Atomics.add(this.ints, INT_EDGE_OPEN_BY_WORKER + worker * MAX_EDGES + slot, 1);
    return true;
  }
  closeEdgeConnection(worker: number, slot: number): void {
    Atomics.sub(this.bigs, BIG_EDGE + slot * EDGE_FIELDS + EdgeField.Active, 1n);
    Atomics.sub(this.ints, INT_EDGE_OPEN_BY_WORKER + worker * MAX_EDGES + slot, 1);
  }
  /**
   * Takes a dead worker's open connections off the edges' counts. Without this a crashed worker's
   * connections would count against max_connections forever. Only the main thread calls it, after
   * the thread has exited, so nothing else writes that worker's row.
   */
  releaseWorkerEdges(worker: number): void {
    const row = INT_EDGE_OPEN_BY_WORKER + worker * MAX_EDGES;
    for (let slot = 0; slot < MAX_EDGES; slot++) {
      const open = Atomics.load(this.ints, row + slot);
      if (open === 0) continue;
      Atomics.sub(this.bigs, BIG_EDGE + slot * EDGE_FIELDS + EdgeField.Active, BigInt(open));
      Atomics.store(this.ints, row + slot, 0);
    }
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

  /**
   * One finished HTTP request: its worker, route (slot -1 = not counted per route) and backend
   * (slot -1 = none reached). `status` 0 (no response) counts in no status class.
   */
  recordRequest(r: { worker: number; routeSlot: number; backendSlot: number; status: number; bytesIn: number; bytesOut: number; durationMs: number }): void {
    const b = this.bigs;
    Atomics.add(b, BIG_WORKER_TOTALS + r.worker * WORKER_TOTALS + W_REQUESTS, 1n);
    if (r.routeSlot >= 0 && r.routeSlot < MAX_ROUTES) {
      const base = BIG_ROUTE + r.routeSlot * ROUTE_FIELDS;
      Atomics.add(b, base + R_REQUESTS, 1n);
      const statusClass = Math.floor(r.status / 100);
      if (statusClass >= 1 && statusClass <= 5) Atomics.add(b, base + R_CLASS + statusClass - 1, 1n);
      if (r.bytesIn > 0) Atomics.add(b, base + R_BYTES_IN, BigInt(r.bytesIn));
      if (r.bytesOut > 0) Atomics.add(b, base + R_BYTES_OUT, BigInt(r.bytesOut));
      const ms = Math.max(0, Math.round(r.durationMs));
      let bucket = 0;
      while (bucket < REQUEST_BUCKETS_MS.length && ms > REQUEST_BUCKETS_MS[bucket]!) bucket++;
      Atomics.add(b, base + R_BUCKETS + bucket, 1n);
      Atomics.add(b, base + R_DURATION_SUM_MS, BigInt(ms));
    }
    if (r.backendSlot >= 0 && r.backendSlot < MAX_BACKENDS) {
      const base = BIG_BACKEND + r.backendSlot * BACKEND_FIELDS;
      Atomics.add(b, base + B_REQUESTS, 1n);
      if (r.status >= 500) Atomics.add(b, base + B_ERRORS, 1n);
    }
  }

  route(slot: number): RouteReading {
    const base = BIG_ROUTE + slot * ROUTE_FIELDS;
    const b = this.bigs;
    const statusClasses: bigint[] = [];
    for (let c = 0; c < 5; c++) statusClasses.push(Atomics.load(b, base + R_CLASS + c));
    const buckets: bigint[] = [];
    for (let i = 0; i <= REQUEST_BUCKETS_MS.length; i++) buckets.push(Atomics.load(b, base + R_BUCKETS + i));
    return {
      requests: Atomics.load(b, base + R_REQUESTS),
      statusClasses,
      bytesIn: Atomics.load(b, base + R_BYTES_IN),
      bytesOut: Atomics.load(b, base + R_BYTES_OUT),
      duration: { buckets, sum: Atomics.load(b, base + R_DURATION_SUM_MS) },
    };
  }

  backend(slot: number): { requests: bigint; errors: bigint; failures: bigint[] } {
    const base = BIG_BACKEND + slot * BACKEND_FIELDS;
    const failures = UPSTREAM_FAILURE_PHASES.map((_, i) => Atomics.load(this.bigs, base + B_FAILURES + i));
    return { requests: Atomics.load(this.bigs, base + B_REQUESTS), errors: Atomics.load(this.bigs, base + B_ERRORS), failures };
  }

  recordUpstreamFailure(backendSlot: number, phase: UpstreamFailurePhase): void {
    if (backendSlot < 0 || backendSlot >= MAX_BACKENDS) return;
    Atomics.add(this.bigs, BIG_BACKEND + backendSlot * BACKEND_FIELDS + B_FAILURES + UPSTREAM_FAILURE_PHASES.indexOf(phase), 1n);
  }
}

/** Stable slot numbers for ids (edge ids, backend ids), kept across generations by the main thread. */
export class SlotMap {
  private readonly slots = new Map<string, number>();
  constructor(private readonly capacity: number, private readonly what: string) {}
  slotFor(id: string): number {
    const slot = this.trySlotFor(id);
    if (slot < 0) throw new Error(`more than ${this.capacity} ${this.what} ids since start-up`);
    return slot;
  }
  /** Like slotFor, but -1 once the map is full (for slots that only serve metrics). */
  trySlotFor(id: string): number {
    let slot = this.slots.get(id);
    if (slot === undefined) {
      if (this.slots.size >= this.capacity) return -1;
      slot = this.slots.size;
      this.slots.set(id, slot);
    }
    return slot;
  }
  get size(): number { return this.slots.size; }
  entries(): IterableIterator<[string, number]> { return this.slots.entries(); }
}

/**
 * The per-route and per-backend slot maps of one daemon, reached from its edge map: the generation
 * builder and the metrics snapshot both hold the edge map, so route slots need no extra plumbing.
 * `backends` is set by the builder (it is the daemon's backend map, also used for round robin).
 */
export interface MetricSlots { routes: SlotMap; backends: SlotMap | null }
const metricSlotsByEdges = new WeakMap<SlotMap, MetricSlots>();
export function metricSlotsOf(edges: SlotMap): MetricSlots {
  let found = metricSlotsByEdges.get(edges);
  if (found === undefined) {
    found = { routes: new SlotMap(MAX_ROUTES, 'route (edge/route)'), backends: null };
    metricSlotsByEdges.set(edges, found);
  }
  return found;
}
