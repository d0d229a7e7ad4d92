// One HTTP request through a route: run the compiled pipeline, pick the backend (failover →
// weighted → tunnel group round-robin, per request), send it over a pooled upstream connection,
// and stream the response back through the response-side hooks. Engine-agnostic: the HTTP/1.1 and
// HTTP/2 engines drive it through ClientResponse and feed the request body in.
import type net from 'node:net';
import type { Transform } from 'node:stream';
import type { BackendSpec, EndpointSpec, RouteSpec } from '../../core/generation/spec.js';
import type { Counters, UpstreamFailurePhase } from '../../core/tables/counters.js';
import { MAX_READ_BODY_BYTES, type EdgeResponse, type Exchange, type HeaderList } from './exchange.js';
import type { CompiledPipeline } from './pipeline.js';
import { EDGE_ERRORS } from './errors.js';
import { clientResponseHeaders } from './headers.js';
import type { UpstreamConnection, UpstreamFailure, UpstreamHandler, UpstreamPools } from './upstream.js';
import { log } from '../../core/log.js';
import { collectPlan, type PlanItem } from '../dial.js';

/** The client side of one response, implemented by each engine. */
export interface ClientResponse {
  /** `length`: the body length when known (Content-Length), -1 otherwise. */
  head(status: number, headers: HeaderList, length: number): void;
  /** false = wait for onceDrain before writing more. */
  write(chunk: Buffer): boolean;
  onceDrain(fn: () => void): void;
  end(): void;
  /** The response cannot be completed (upstream died mid-body): the client must see a failure, not a short body. */
  abort(): void;
  /** `100 Continue`: the edge is about to read the body the client holds back for it. */
  sendContinue?(): void;
  /** 101 from the upstream: splice the client and `upstream` together (HTTP/1.1 only). */
  upgrade?(status: number, headers: HeaderList, upstream: net.Socket, head: Buffer): void;
}

/** Flow control over the client's request body. */
export interface ClientBody {
  pause(): void;
  resume(): void;
}

export interface CompiledRoute {
  spec: RouteSpec;
  pipeline: CompiledPipeline;
}

/** What every transaction of one worker and generation shares. */
export interface ForwardContext {
  backends: readonly BackendSpec[];
  counters: Counters;
  pools: UpstreamPools;
  responseHeaderTimeoutMs: number;
  /** http.client_write_timeout: a response waiting longer than this on a client that reads nothing is aborted. */
  clientWriteTimeoutMs: number;
  /** Called once per transaction, after the log-phase hooks. */
  onComplete(x: Exchange, tx: Transaction): void;
}

export type BodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };


const MAX_PENDING_BODY = 64 * 1024;
const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';

export class Transaction implements UpstreamHandler {
  private conn: UpstreamConnection | null = null;
  private pending: Buffer[] | null = null;
  private pendingBytes = 0;
  private requestComplete = false;
  private headSent = false;
  private done = false;
  private retried = false;
  /** The client's body is paused (waiting for an upstream connection or for its drain). */
  private bodyPaused = false;
  private transforms: Transform[] = [];
  /** The endpoint of the exchange in progress (a stale pooled connection is retried on it). */
  private currentEndpoint: EndpointSpec | null = null;
  /** Fires when the transaction is over (the engine moves on to the next request). */
  onDone: (() => void) | null = null;
  firstResponseByteMs = 0;
  private continueSent = false;
  /**
   * Armed while the response waits for the client to drain (ForwardContext.clientWriteTimeoutMs).
   * Without it a client that reads nothing keeps its connection, its upstream connection and the
   * buffered bytes forever.
   */
  private stallTimer: NodeJS.Timeout | null = null;
  /** The route this request matched, or null (metrics read its slot and backend). */
  get routeSpec(): RouteSpec | null { return this.route?.spec ?? null; }
  /** A module waiting for the whole request body (Exchange.readBody). */
  private bodyWaiter: { maxBytes: number; keep: boolean; resolve: (body: Buffer | null) => void } | null = null;

  constructor(
    private readonly ctx: ForwardContext,
    private readonly route: CompiledRoute | null,
    readonly x: Exchange,
    private readonly res: ClientResponse,
    private readonly body: ClientBody,
    private readonly framing: BodyFraming,
  ) {
    x.readBody = (maxBytes, options) => this.collectBody(Math.min(maxBytes, MAX_READ_BODY_BYTES), options?.keep === true);
  }

  get finished(): boolean { return this.done; }
  get requestFinished(): boolean { return this.requestComplete; }

  /** Runs the request side; answers at the edge or forwards. */
  start(): void {
    const route = this.route;
    if (route === null) { this.answer(EDGE_ERRORS.noRoute); return; }
    const limit = route.spec.maxRequestBodyBytes;
    if (limit > 0 && this.framing.kind === 'length' && this.framing.length > limit) { this.answer(EDGE_ERRORS.bodyTooLarge); return; }
    let result: EdgeResponse | undefined | Promise<EdgeResponse | undefined>;
    try {
      result = route.pipeline.request(this.x);
    } catch (err) {
      this.internalError(err);
      return;
    }
    if (result === undefined) this.forward();
    else if (result instanceof Promise) {
      result.then((r) => { if (!this.done) { if (r === undefined) this.forward(); else this.answer(r); } }, (err) => this.internalError(err));
    } else this.answer(result);
  }

  // ---- request body, fed by the engine ----

  requestData(chunk: Buffer): void {
    if (this.done && this.headSent) return;
    this.x.requestBodyBytes += chunk.length;
    const limit = this.route?.spec.maxRequestBodyBytes ?? 0;
    if (limit > 0 && this.x.requestBodyBytes > limit) {
      if (this.conn !== null) { this.conn.abandon(); this.conn = null; }
      if (!this.headSent) this.answer(EDGE_ERRORS.bodyTooLarge);
      return;
    }
    if (this.conn !== null) { this.writeBody(this.conn, chunk); return; }
    (this.pending ??= []).push(chunk);
    this.pendingBytes += chunk.length;
    const waiter = this.bodyWaiter;
    if (waiter !== null) {
      if (this.pendingBytes > waiter.maxBytes) { this.bodyWaiter = null; waiter.resolve(null); }
      return; // a module is collecting the body: read on, up to its limit
    }
    if (this.pendingBytes > MAX_PENDING_BODY && !this.bodyPaused) { this.bodyPaused = true; this.body.pause(); }
  }

  /** Exchange.readBody: the buffered body at the end of the request; forwarded afterwards only with `keep`. */
  private collectBody(maxBytes: number, keep: boolean): Promise<Buffer | null> {
    if (this.bodyWaiter !== null) return Promise.resolve(null); // one reader per request
    if (this.framing.kind === 'length' && this.framing.length > maxBytes) return Promise.resolve(null);
    if (this.pendingBytes > maxBytes) return Promise.resolve(null);
    if (this.requestComplete) return Promise.resolve(this.takePending(keep));
    if (this.done) return Promise.resolve(null);
    this.allowBody();
    return new Promise((resolve) => {
      this.bodyWaiter = { maxBytes, keep, resolve };
      if (this.bodyPaused) { this.bodyPaused = false; this.body.resume(); }
    });
  }

  /** The buffered body as one Buffer; with `keep` it also stays queued for the upstream (as that one chunk). */
  /**
   * A client that sent `Expect: 100-continue` waits for a go-ahead before its body. The upstream's own
   * 100 is not relayed (1xx heads are skipped), so the edge says it when it starts reading: a module
   * collecting the body, or forwarding. Without this curl stalls a second on every such request.
   */
  private allowBody(): void {
    if (this.continueSent || this.requestComplete || this.headSent || this.x.version === '1.0') return;
    this.continueSent = true;
    const h = this.x.requestHeaders;
    for (let i = 0; i < h.length; i += 2) {
      if (h[i] === 'expect' && h[i + 1]!.toLowerCase() === '100-continue') { this.res.sendContinue?.(); return; }
    }
  }

  private takePending(keep = false): Buffer {
    const body = this.pending === null ? Buffer.alloc(0) : this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    if (keep) {
      this.pending = body.length === 0 ? null : [body];
      return body;
    }
    this.pending = null;
    this.pendingBytes = 0;
    return body;
  }

  requestEnd(): void {
    if (this.requestComplete) return;
    this.requestComplete = true;
    const waiter = this.bodyWaiter;
    if (waiter !== null) { this.bodyWaiter = null; waiter.resolve(this.takePending(waiter.keep)); }
    const conn = this.conn;
    if (conn === null) return;
    if (this.framing.kind === 'chunked') conn.write(LAST_CHUNK);
    conn.finishRequest();
  }

  /** The client went away: stop everything, count what happened. */
  clientGone(): void {
    const waiter = this.bodyWaiter;
    if (waiter !== null) { this.bodyWaiter = null; waiter.resolve(null); }
    if (this.done) return;
    if (this.conn !== null) { this.conn.abandon(); this.conn = null; }
    for (const t of this.transforms) t.destroy();
    this.finish();
  }

  private writeBody(conn: UpstreamConnection, chunk: Buffer): void {
    let ok: boolean;
    if (this.framing.kind === 'chunked') {
      conn.write(chunk.length.toString(16) + CRLF);
      conn.write(chunk);
      ok = conn.write(CRLF);
    } else ok = conn.write(chunk);
    if (!ok && !this.bodyPaused) {
      // Backpressure: the client's bytes wait until the upstream has taken these (one listener at a time).
      this.bodyPaused = true;
      this.body.pause();
      conn.socket.once('drain', () => { this.bodyPaused = false; this.body.resume(); });
    }
  }

  // ---- upstream side ----

  private forward(): void {
    const route = this.route!;
    const plan: PlanItem[] = [];
    if (route.spec.backend >= 0) {
      this.x.vars.backendId = this.ctx.backends[route.spec.backend]?.id;
      collectPlan(this.ctx, route.spec.backend, plan, true); // per request (spec §1.7)
    }
    this.attempt(plan, 0, null);
  }

  private attempt(plan: PlanItem[], i: number, lastFailure: EdgeResponse | null): void {
    if (this.done) return;
    const item = plan[i];
    if (item === undefined) { this.answer(lastFailure ?? EDGE_ERRORS.noBackend); return; }
    if ('kind' in item) {
      this.x.vars.backendId = item.id;
      this.answerStatic(item);
      return;
    }
    const started = Date.now();
    this.ctx.pools.get(item).acquire((err, conn) => {
      if (this.done) { if (conn !== null) conn.abandon(); return; }
      if (err !== null || conn === null) {
        this.countUpstreamFailure('connect');
        // Failover (spec §1.7): the next child only when this one could not be dialled.
        const code = (err as NodeJS.ErrnoException | null)?.code;
        this.attempt(plan, i + 1, code === 'ECONNREFUSED' ? EDGE_ERRORS.connectRefused : code === 'ETIMEDOUT' ? EDGE_ERRORS.upstreamTimeout : EDGE_ERRORS.connectFailed);
        return;
      }
      this.x.vars.backendConnectionReused = conn.reused;
      this.x.vars.backendDialMs = conn.reused ? 0 : Date.now() - started;
      this.send(conn, item);
    });
  }

  private send(conn: UpstreamConnection, endpoint: EndpointSpec): void {
    this.conn = conn;
    this.currentEndpoint = endpoint;
    conn.begin(this, requestHead(this.x, this.framing), this.x.method === 'HEAD', this.ctx.responseHeaderTimeoutMs);
    this.allowBody();
    const pending = this.pending;
    if (pending !== null) {
      this.pending = null;
      this.pendingBytes = 0;
      const pausedForPending = this.bodyPaused;
      if (pausedForPending) this.bodyPaused = false;
      for (const chunk of pending) this.writeBody(conn, chunk);
      // Resume only if the upstream did not push back on what was just flushed.
      if (pausedForPending && !this.bodyPaused) this.body.resume();
    }
    if (this.requestComplete) {
      if (this.framing.kind === 'chunked') conn.write(LAST_CHUNK);
      conn.finishRequest();
    }
  }

  onHead(status: number, _reason: string, rawHeaders: string[], _keepAlive: boolean): void {
    if (this.done) return;
    this.firstResponseByteMs = Date.now();
    const x = this.x;
    const response = clientResponseHeaders(rawHeaders, status === 101);
    x.status = status;
    x.responseHeaders = response.headers;
    if (status === 101) return; // onUpgrade follows
    this.emitHead(response.length);
  }

  private emitHead(upstreamLength: number): void {
    const x = this.x;
    const pipeline = this.route?.pipeline;
    if (pipeline !== undefined) {
      pipeline.responseHead(x);
      this.transforms = pipeline.responseBody(x);
    }
    const bodyless = x.method === 'HEAD' || x.status === 204 || x.status === 304 || (x.status >= 100 && x.status < 200);
    let length = this.transforms.length > 0 ? -1 : upstreamLength;
    if (bodyless) length = -1;
    this.headSent = true;
    if (this.transforms.length > 0) this.wireTransforms();
    this.res.head(x.status, x.responseHeaders, bodyless && upstreamLength >= 0 && x.method === 'HEAD' ? upstreamLength : length);
  }

  private wireTransforms(): void {
    const chain = this.transforms;
    for (let i = 0; i < chain.length - 1; i++) chain[i]!.pipe(chain[i + 1]!);
    const last = chain[chain.length - 1]!;
    last.on('data', (chunk: Buffer) => {
      this.x.responseBodyBytes += chunk.length;
      if (!this.res.write(chunk)) { last.pause(); this.waitForClient(() => last.resume()); }
    });
    last.once('end', () => { this.res.end(); this.finish(); });
    for (const t of chain) t.once('error', (err) => { log.debug('response transform failed', { error: err.message }); this.res.abort(); this.finish(); });
  }

  onBody(chunk: Buffer): void {
    if (this.done) return;
    if (this.transforms.length > 0) {
      const first = this.transforms[0]!;
      if (!first.write(chunk)) {
        const conn = this.conn;
        if (conn !== null) { conn.pause(); first.once('drain', () => conn.resume()); }
      }
      return;
    }
    this.x.responseBodyBytes += chunk.length;
    if (!this.res.write(chunk)) {
      const conn = this.conn;
      if (conn !== null) { conn.pause(); this.waitForClient(() => conn.resume()); }
    }
  }

  /** The client pushes back: resume on its drain, or abort the response if it never comes. */
  private waitForClient(resume: () => void): void {
    if (this.stallTimer !== null) return; // already waiting for this drain
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      if (this.done) return;
      log.debug('client stopped reading; response aborted', { edge: this.x.edgeId, route: this.x.routeId, timeoutMs: this.ctx.clientWriteTimeoutMs });
      // The engine's close handling then calls clientGone, which drops the upstream connection.
      this.res.abort();
    }, this.ctx.clientWriteTimeoutMs);
    this.res.onceDrain(() => {
      if (this.stallTimer !== null) { clearTimeout(this.stallTimer); this.stallTimer = null; }
      resume();
    });
  }

  onEnd(): void {
    if (this.done) return;
    this.conn = null;
    if (this.transforms.length > 0) { this.transforms[0]!.end(); return; }
    this.res.end();
    this.finish();
  }

  onError(failure: UpstreamFailure, retryable: boolean): void {
    if (this.done) return;
    const endpoint = this.currentEndpoint;
    this.conn = null;
    // A pooled connection the upstream had already closed: one fresh try, if nothing of a body was sent.
    if (retryable && !this.retried && !this.headSent && endpoint !== null && this.x.requestBodyBytes === 0) {
      this.retried = true;
      this.attempt([endpoint], 0, null);
      return;
    }
    this.countUpstreamFailure(this.headSent ? 'mid_body' : 'before_head');
    if (this.headSent) { this.res.abort(); this.finish(); return; }
    this.answer(failure === 'timeout' ? EDGE_ERRORS.upstreamTimeout : failure === 'invalid_response' ? EDGE_ERRORS.invalidResponse : EDGE_ERRORS.connectFailed);
  }

  /** Counted on the route's backend, as the request itself is (edgeplane_backend_http_upstream_failures_total). */
  private countUpstreamFailure(phase: UpstreamFailurePhase): void {
    const index = this.route?.spec.backend ?? -1;
    const slot = index >= 0 ? this.ctx.backends[index]?.slot ?? -1 : -1;
    this.ctx.counters.recordUpstreamFailure(slot, phase);
  }

  onUpgrade(socket: net.Socket, head: Buffer): void {
    this.conn = null;
    if (this.done || this.res.upgrade === undefined) { socket.destroy(); return; }
    this.headSent = true;
    this.res.upgrade(this.x.status, this.x.responseHeaders, socket, head);
    this.finish();
  }

  // ---- answers at the edge ----

  // An http_response backend answers like an upstream would: response modules (compression,
  // response_headers) apply to it.
  private answerStatic(backend: Extract<BackendSpec, { kind: 'http_response' }>): void {
    const headers: HeaderList = [];
    for (const [name, value] of Object.entries(backend.headers)) headers.push(name.toLowerCase(), value);
    const body = Buffer.from(backend.body);
    this.x.status = backend.statusCode;
    this.x.responseHeaders = headers;
    this.emitHead(body.length);
    if (body.length > 0 && this.x.method !== 'HEAD') this.onBody(body);
    this.onEnd();
  }

  /** Answers with an edge response (module refusal or gateway error). */
  answer(r: EdgeResponse): void {
    if (this.done || this.headSent) return;
    const headers: HeaderList = r.headers === undefined ? [] : [...r.headers];
    if (r.errorCode !== '') { headers.push('ngrok-error-code', r.errorCode); this.x.errorCode = r.errorCode; }
    const body = Buffer.from(r.body ?? (r.errorCode === '' ? '' : `${r.errorCode}\n`));
    if (r.body !== undefined && !headers.includes('content-type')) headers.push('content-type', 'text/plain; charset=utf-8');
    this.respond(r.status, headers, body);
  }

  // Edge answers skip the response modules: a refusal must read the same whatever the route does.
  private respond(status: number, headers: HeaderList, body: Buffer): void {
    if (this.conn !== null) { this.conn.abandon(); this.conn = null; }
    this.x.status = status;
    this.x.responseHeaders = headers;
    this.headSent = true;
    const bodyless = this.x.method === 'HEAD' || status === 204 || status === 304;
    this.res.head(status, this.x.responseHeaders, bodyless ? (this.x.method === 'HEAD' ? body.length : -1) : body.length);
    if (!bodyless && body.length > 0) { this.x.responseBodyBytes += body.length; this.res.write(body); }
    this.res.end();
    this.finish();
  }

  private internalError(err: unknown): void {
    log.warn('module failed; answering 500', { edge: this.x.edgeId, route: this.x.routeId, error: (err as Error)?.message });
    this.answer({ status: 500, errorCode: 'ERR_EDGEPLANE_500', body: 'Internal error at the edge.' });
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.stallTimer !== null) { clearTimeout(this.stallTimer); this.stallTimer = null; }
    if (this.conn !== null) { this.conn.abandon(); this.conn = null; }
    try { this.route?.pipeline.complete(this.x); } catch { /* complete hooks guard themselves */ }
    this.ctx.onComplete(this.x, this);
    const done = this.onDone;
    this.onDone = null;
    done?.();
  }
}

/** The request head for the upstream (latin1: header bytes pass through unchanged). */
function requestHead(x: Exchange, framing: BodyFraming): string {
  const target = x.query === '' ? x.path : `${x.path}?${x.query}`;
  let head = `${x.method} ${target} HTTP/1.1\r\n`;
  const h = x.upstreamHeaders;
  for (let i = 0; i < h.length; i += 2) head += `${h[i]}: ${h[i + 1]}\r\n`;
  if (framing.kind === 'length') head += `content-length: ${framing.length}\r\n`;
  else if (framing.kind === 'chunked') head += 'transfer-encoding: chunked\r\n';
  return head + CRLF;
}
