// The HTTP/1.1 engine: one client connection (cleartext or TLS) parsed with llhttp and served one
// request at a time. Pipelined requests queue behind the one in flight (their bodies are held, and
// reading stops while the queue is long), so responses go out in order.
import type net from 'node:net';
import type { GenerationSpec, HttpSettingsSpec } from '../../core/generation/spec.js';
import type { ConnectionInfo, EdgeResponse } from './exchange.js';
import { HTTPParser, METHODS, kOnBody, kOnExecute, kOnHeaders, kOnMessageBegin, kOnHeadersComplete, kOnMessageComplete, isParserError, type ParserError } from './llhttp.js';
import { Transaction, type BodyFraming, type ClientResponse, type ForwardContext } from './forward.js';
import { EDGE_ERRORS, reasonPhrase } from './errors.js';
import { pipeSockets } from '../pipe.js';
import type { RequestStart, Routed } from './request.js';

/** Picks the edge and route for a request: an Exchange to serve, or an answer before any route. */
export type RequestRouter = (start: RequestStart) => Routed;

export interface Http1Options {
  conn: ConnectionInfo;
  settings: HttpSettingsSpec;
  ctx: ForwardContext;
  route: RequestRouter;
  /** Called once when the connection is finished. */
  onClose(): void;
  /** The config generation serving this connection: retireHttp1 finds the superseded ones by it. Absent: never retired. */
  generation?: GenerationSpec;
  /** Its generation was already superseded when the connection started (see retire). */
  retired?: boolean;
}

/** Per-request connection state: whether the connection ends after this response. */
interface RequestState { close: boolean }

interface StreamHandle { isStreamBase?: boolean; _consumed?: boolean; readStart(): number; readStop(): number }

/** EDGEPLANE_HTTP_CONSUME=0 keeps client reads on JS 'data' events (to compare, or if a Node release breaks consume). */
const CONSUME = process.env.EDGEPLANE_HTTP_CONSUME !== '0';
const MAX_QUEUED = 8;
/** How long a closing connection keeps reading (and dropping) the client's bytes before it is destroyed. */
const LINGER_MS = 5000;
/** Resolution of header and keep-alive timeouts (configured in seconds). */
const SWEEP_MS = 250;
/** Bodies up to this size are sent in the same write as the head (latin1 copy is cheaper than writev). */
const MERGE_LIMIT = 16 * 1024;

export function serveHttp1(socket: net.Socket, opts: Http1Options): void {
  new Http1Connection(socket, opts).start();
}

class Http1Connection {
  private readonly parser = new HTTPParser();
  private headerChunks: string[] = [];
  private urlChunks = '';
  private current: Transaction | null = null;
  private readonly queue: Transaction[] = [];
  /** The transaction the parser is currently delivering body bytes to. */
  private receiving: Transaction | null = null;
  /** The connection ends once the requests already read are answered (client FIN, drain, bad request). */
  private closing = false;
  private upgraded = false;
  /** An answer given before routing, waiting for the requests ahead of it. */
  private pendingAnswer: string | null = null;
  private readonly states = new WeakMap<Transaction, RequestState>();
  private upgrading: Buffer[] | null = null;
  /** Wall-clock ms by which the next step must happen (see sweepConnections); Infinity = none. */
  private headerDeadline = Infinity;
  private idleDeadline = Infinity;
  private inRequestHead = false;
  /**
   * Bytes of the current request line seen in earlier reads, and whether it ended in them: llhttp's size limit may trip reads later, and only these tell a long URL (414) from long
   * headers (431) then.
   */
  private requestLineBytes = 0;
  private requestLineEnded = false;
  /** Set once a request was refused or the connection failed: llhttp may still hold pipelined requests after it, which are ignored. */
  private refusing = false;
  private closed = false;
  private handle: StreamHandle | null = null;
  /** Its generation was superseded (config reload): the next response head written ends the connection (see retireIfServedBy). */
  private retiring: boolean;

  constructor(private readonly socket: net.Socket, private readonly opts: Http1Options) {
    const { settings } = opts;
    this.retiring = opts.retired === true;
    // llhttp's limit covers the request line too; URL and headers get their own checks (414/431).
    this.parser.initialize(HTTPParser.REQUEST, {}, settings.maxHeaderBytes + settings.maxUrlBytes, 0);
    // A request's first byte: from here its head must arrive within header_timeout (slow-client guard).
    this.parser[kOnMessageBegin] = () => {
      this.idleDeadline = Infinity;
      this.inRequestHead = true;
      this.requestLineBytes = 0;
      this.requestLineEnded = false;
      this.armHeaderTimer();
    };
    this.parser[kOnHeaders] = (headers: string[], url: string) => { for (const h of headers) this.headerChunks.push(h); this.urlChunks += url; };
    this.parser[kOnHeadersComplete] = this.onHeadersComplete.bind(this);
    this.parser[kOnBody] = (chunk: Buffer) => { this.receiving?.requestData(chunk); };
    this.parser[kOnMessageComplete] = () => {
      const tx = this.receiving;
      this.receiving = null;
      tx?.requestEnd();
    };
  }

  start(): void {
    const socket = this.socket;
    socket.setNoDelay(true);
    const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
    if (CONSUME && handle?.isStreamBase === true && handle._consumed !== true) {
      // llhttp reads straight from the TCP or TLS handle in C++ (as node:http's server does): no
      // Buffer and no 'data' event in JS per read. EOF and errors still reach the socket.
      handle._consumed = true;
      this.handle = handle;
      this.parser.consume(handle);
      this.parser[kOnExecute] = (ret: number | ParserError) => this.afterExecute(ret, null);
    } else {
      socket.on('data', (data: Buffer) => this.onData(data));
    }
    socket.on('end', () => this.onClientEnd());
    socket.on('error', () => socket.destroy());
    socket.once('close', () => this.onSocketClose());
    this.armHeaderTimer();
    watch(this);
    socket.resume();
  }

  /** The client finished sending (FIN). */
  private onClientEnd(): void {
    // Mid-body, the request can never complete: nothing else would ever end it (no timeout runs
    // while a request is in flight), so the connection would stay open for good. It is abandoned;
    // requests before it still get their answers.
    const cut = this.receiving;
    if (cut !== null && !cut.finished) {
      this.receiving = null;
      const queued = this.queue.indexOf(cut);
      if (queued >= 0) this.queue.splice(queued, 1);
      this.closing = true;
      cut.clientGone();
    }
    if (this.current === null && this.queue.length === 0) this.socket.end(); else this.closing = true;
  }

  // Timeouts are deadlines checked by one sweep per worker, not timers per connection: arming and
  // clearing a timer for every request's head was ~2% of a small proxied request.
  private armHeaderTimer(): void {
    if (this.headerDeadline === Infinity) this.headerDeadline = Date.now() + this.opts.settings.headerTimeoutMs;
  }

  private clearHeaderTimer(): void {
    this.headerDeadline = Infinity;
  }

  /** Drain: idle connections close now, busy ones after their current response. */
  drain(): void {
    this.closing = true;
    if (this.current === null && this.upgrading === null) this.socket.end();
  }

  /**
   * Its generation was superseded: the next response head written (the one in flight if its head
   * has not left yet) makes the connection closing: the last response of the requests already read
   * says connection: close, and the connection ends after it. An idle connection
   * is not closed now: a client may be sending on it this very moment, and that request would fail.
   */
  retireIfServedBy(old: ReadonlySet<GenerationSpec>): void {
    if (this.opts.generation !== undefined && old.has(this.opts.generation)) this.retiring = true;
  }

  /** Called by the sweep. */
  expire(now: number): void {
    if (now >= this.headerDeadline) {
      this.headerDeadline = Infinity;
      if (this.inRequestHead) this.failConnection(EDGE_ERRORS.headerTimeout);
      else if (this.current === null) this.socket.destroy();
      return;
    }
    if (now >= this.idleDeadline && this.current === null && this.queue.length === 0) this.socket.destroy();
  }

  private onData(data: Buffer): void {
    if (this.upgrading !== null) { this.upgrading.push(data); return; }
    this.afterExecute(this.parser.execute(data), data);
  }

  private afterExecute(result: number | ParserError, data: Buffer | null): void {
    if (isParserError(result)) {
      this.failConnection(result.code === 'HPE_HEADER_OVERFLOW' ? this.overflowAnswer(data) : EDGE_ERRORS.badRequest);
      return;
    }
    if (this.inRequestHead && !this.requestLineEnded) this.noteHeadProgress(data ?? this.parser.getCurrentBuffer());
    // An upgrade request ends llhttp's part: what followed its head belongs to the new protocol.
    const early = this.upgrading as Buffer[] | null;
    if (early === null) return;
    const buffer = data ?? this.parser.getCurrentBuffer();
    if (result < buffer.length) early.push(buffer.subarray(result));
    this.stopConsuming();
    this.socket.on('data', (d: Buffer) => { this.upgrading?.push(d); });
  }

  // llhttp's size limit covers the request line and the headers together: when it trips before the
  // request line ended, the URL was too long (414), otherwise the headers (431).
  private overflowAnswer(data: Buffer | null): EdgeResponse {
    if (this.requestLineEnded || this.headerChunks.length > 0) {
      return this.requestLineBytes > this.opts.settings.maxUrlBytes ? EDGE_ERRORS.urlTooLong : EDGE_ERRORS.headersTooLarge;
    }
    const buffer = data ?? this.parser.getCurrentBuffer();
    const lineEnd = buffer.indexOf('\r\n');
    return lineEnd < 0 || this.requestLineBytes + lineEnd > this.opts.settings.maxUrlBytes ? EDGE_ERRORS.urlTooLong : EDGE_ERRORS.headersTooLarge;
  }

  /** A read ended inside a request head: remember whether (and where) its request line ended. */
  private noteHeadProgress(buffer: Buffer): void {
    const lineEnd = buffer.indexOf('\n');
    if (lineEnd < 0) { this.requestLineBytes += buffer.length; return; }
    this.requestLineBytes += lineEnd;
    this.requestLineEnded = true;
  }

  /** Reads go back to the socket's JS stream (upgrades, protocol errors). */
  private stopConsuming(): void {
    const handle = this.handle;
    if (handle === null) return;
    this.handle = null;
    try { this.parser.unconsume(); } catch { /* parser already closed */ }
    handle._consumed = false;
    // A readStop() of ours bypassed net.Socket's bookkeeping, so it would not restart reading itself.
    if (!this.socket.destroyed) handle.readStart();
  }

  /** Flow control on the client's bytes: request bodies and pipelined requests. */
  private readonly body = {
    pause: (): void => { if (this.handle !== null) this.handle.readStop(); else this.socket.pause(); },
    resume: (): void => {
      if (this.socket.destroyed) return;
      if (this.handle !== null) this.handle.readStart(); else this.socket.resume();
    },
  };

  private onHeadersComplete(major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined, _s: number, _m: string, upgrade: boolean, keepAlive: boolean): number {
    this.inRequestHead = false;
    // The rest of the buffer llhttp is executing after a refusal: answering these would put their
    // responses before the refusal's (the client would pair responses with the wrong requests).
    if (this.refusing) { this.headerChunks = []; this.urlChunks = ''; return 1; }
    this.clearHeaderTimer();
    let raw = headers ?? [];
    if (this.headerChunks.length > 0) { raw = this.headerChunks.concat(raw); this.headerChunks = []; }
    const target = this.urlChunks + (url ?? '');
    this.urlChunks = '';
    const { settings } = this.opts;
    const methodName = METHODS[method] ?? 'GET';
    if (target.length > settings.maxUrlBytes) { this.failConnection(EDGE_ERRORS.urlTooLong, methodName); return 1; }
    let headerBytes = 0;
    for (let i = 0; i < raw.length; i++) headerBytes += raw[i]!.length + 2;
    if (headerBytes > settings.maxHeaderBytes) { this.failConnection(EDGE_ERRORS.headersTooLarge, methodName); return 1; }

    const version = major === 1 && minor === 0 ? '1.0' : '1.1';
    let framing: BodyFraming = { kind: 'none' };
    let upgradeProtocol: string | null = null;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      raw[i] = name;
      if (name === 'transfer-encoding') {
        // llhttp refuses a non-final chunked itself, but only after this callback; anything other
        // than exactly `chunked` is refused here: a final non-chunked coding leaves the body
        // length undefined (RFC 9112 §6.1: 400), and other codings we would silently drop (501).
        const codings = raw[i + 1]!.toLowerCase().split(',').map((c) => c.trim());
        if (codings[codings.length - 1] !== 'chunked') { this.failConnection(EDGE_ERRORS.badRequest, methodName); return 1; }
        if (codings.length > 1) { this.failConnection(EDGE_ERRORS.unsupportedTransferCoding, methodName); return 1; }
        framing = { kind: 'chunked' };
      }      else if (name === 'content-length' && framing.kind !== 'chunked') framing = { kind: 'length', length: Number(raw[i + 1]) };
      else if (name === 'upgrade' && upgrade) upgradeProtocol = raw[i + 1]!;
    }
    const start: RequestStart = { method: methodName, target, version, headers: raw, upgrade: upgradeProtocol, framing };
    const routed = this.opts.route(start);
    if ('answer' in routed) {
      // Answered before any transaction (bad host, bad path): the request body is not wanted, and
      // the connection ends after the answer (queued behind a request in flight, if any).
      this.answerBare(routed.answer, methodName);
      return 1;
    }
    // Unless the upstream switches protocols, an upgrade request's connection ends with its response.
    const state: RequestState = { close: !keepAlive || upgradeProtocol !== null };
    const tx = new Transaction(this.opts.ctx, routed.route, routed.x, this.clientResponse(routed.x.method, version, state), this.body, framing);
    this.states.set(tx, state);
    if (upgradeProtocol !== null) this.upgrading = [];
    this.receiving = tx;
    // No body: the request is complete now, so an early answer leaves the connection reusable.
    if (framing.kind === 'none' && upgradeProtocol === null) { this.receiving = null; tx.requestEnd(); }
    tx.onDone = () => this.next(tx);
    if (this.current === null) { this.current = tx; tx.start(); }
    else {
      this.queue.push(tx);
      if (this.queue.length >= MAX_QUEUED) this.body.pause();
    }
    return 0;
  }

  private next(tx: Transaction): void {
    if (this.current !== tx) return;
    this.current = null;
    if (this.upgraded) return; // the socket now belongs to the spliced upgrade
    // The client is still sending a body nobody will read: the connection cannot be reused.
    if (!tx.requestFinished || this.states.get(tx)?.close === true) { this.closeAfterWrites(); return; }
    const next = this.queue.shift();
    if (this.queue.length < MAX_QUEUED) this.body.resume();
    if (next !== undefined) { this.current = next; next.start(); return; }
    if (this.pendingAnswer !== null) { this.socket.end(this.pendingAnswer); this.pendingAnswer = null; this.discardInput(); return; }
    if (this.closing) { this.closeAfterWrites(); return; }
    this.idleDeadline = Date.now() + this.opts.settings.keepAliveTimeoutMs;
  }

  private clientResponse(method: string, version: '1.0' | '1.1', state: RequestState): ClientResponse {
    const socket = this.socket;
    let chunked = false;
    // The head waits until the end of this tick: a small response's head and body then leave in
    // one write (one syscall, no writev) instead of two.
    let pendingHead: string | null = null;
    const flush = (): void => { if (pendingHead !== null) { socket.write(pendingHead, 'latin1'); pendingHead = null; } };
    const self = this;
    return {
      head(status, headers, length) {
        let head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
        for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
        const bodyless = method === 'HEAD' || status === 204 || status === 304 || status < 200;
        if (length >= 0) head += `content-length: ${length}\r\n`;
        else if (!bodyless) {
          if (version === '1.1') { chunked = true; head += 'transfer-encoding: chunked\r\n'; }
          else state.close = true; // HTTP/1.0: the body ends with the connection
        }
        // Retired: this is the last response unless pipelined requests already read follow it (they are answered first).
        if (self.retiring) self.closing = true;
        // A pending bare answer (a refused request behind this one) still follows: not the last response.
        if (state.close || (self.closing && self.queue.length === 0 && self.pendingAnswer === null)) head += 'connection: close\r\n';
        else if (version === '1.0') head += 'connection: keep-alive\r\n';
        pendingHead = head + '\r\n';
        process.nextTick(flush);
      },
      write(chunk) {
        if (pendingHead !== null && !chunked && chunk.length <= MERGE_LIMIT) {
          const text = pendingHead + chunk.toString('latin1');
          pendingHead = null;
          return socket.write(text, 'latin1');
        }
        flush();
        if (!chunked) return socket.write(chunk);
        socket.write(chunk.length.toString(16) + '\r\n', 'latin1');
        socket.write(chunk);
        return socket.write('\r\n', 'latin1');
      },
      onceDrain(fn) { socket.once('drain', fn); },
      sendContinue() { if (pendingHead === null) socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1'); },
      end() {
        if (chunked) { flush(); socket.write('0\r\n\r\n', 'latin1'); } else flush();
      },
      abort() { socket.destroy(); },
      upgrade(status, headers, upstream, head) {
        flush();
        let text = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
        for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
        socket.write(text + '\r\n', 'latin1');
        if (head.length > 0) socket.write(head);
        for (const early of self.upgrading ?? []) upstream.write(early);
        self.upgrading = null;
        self.upgraded = true;
        self.clearHeaderTimer();
        unwatch(self);
        self.socket.removeAllListeners('data');
        self.socket.removeAllListeners('end');
        upstream.setNoDelay(true);
        pipeSockets(socket, upstream, self.opts.settings.keepAliveTimeoutMs * 10, () => socket.destroy());
      },
    };
  }

  /** An answer without a transaction: write it and close. A HEAD request's answer has no body (RFC 9110 §9.3.2). */
  private answerBare(r: EdgeResponse, method = ''): void {
    const text = r.body ?? `${r.errorCode}\n`;
    const body = method === 'HEAD' ? '' : text;
    let head = `HTTP/1.1 ${r.status} ${reasonPhrase(r.status)}\r\n`;
    for (let i = 0; i < (r.headers?.length ?? 0); i += 2) head += `${r.headers![i]}: ${r.headers![i + 1]}\r\n`;
    if (r.errorCode !== '') head += `ngrok-error-code: ${r.errorCode}\r\n`;
    head += `content-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n`;
    this.closing = true;
    // No request after this one is parsed; behind requests in flight or queued, the answer waits
    // for them so responses stay in order.
    if (this.current === null && this.queue.length === 0) { this.socket.end(head + body); this.discardInput(); }
    else { this.pendingAnswer = head + body; this.stopParsing(); }
  }

  /** Stops feeding llhttp: what the client sends from now on is not a request we will serve. */
  private stopParsing(): void {
    this.refusing = true;
    this.stopConsuming();
    this.socket.removeAllListeners('data');
    this.socket.on('data', () => { /* read and dropped: see discardInput */ });
  }

  // Our side is done: keep reading (and dropping) until the client closes, for at most LINGER_MS.
  // Not reading would leave the client's FIN unseen and the connection open for good; closing with
  // unread bytes would make the kernel send a reset that can destroy the response in flight.
  private discardInput(): void {
    this.stopParsing();
    this.socket.resume();
    this.idleDeadline = Date.now() + LINGER_MS;
  }

  /** Protocol error: answer (when nothing is being written) and close; other requests on it are abandoned. */
  private failConnection(r: EdgeResponse, method?: string): void {
    this.refusing = true;
    if (this.current === null) this.answerBare(r, method);
    else this.socket.destroy();
  }

  private closeAfterWrites(): void {
    for (const tx of this.queue) tx.clientGone();
    this.queue.length = 0;
    this.socket.end();
    this.discardInput();
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearHeaderTimer();
    unwatch(this);
    this.current?.clientGone();
    for (const tx of this.queue) tx.clientGone();
    this.queue.length = 0;
    try { this.parser.close(); } catch { /* already freed */ }
    this.opts.onClose();
  }
}



// One sweep per worker over its open HTTP/1.1 connections (header and keep-alive deadlines).
const watched = new Set<Http1Connection>();
let sweeper: NodeJS.Timeout | null = null;

function watch(conn: Http1Connection): void {
  watched.add(conn);
  if (sweeper === null) {
    sweeper = setInterval(() => {
      const now = Date.now();
      for (const c of watched) c.expire(now);
      if (watched.size === 0 && sweeper !== null) { clearInterval(sweeper); sweeper = null; }
    }, SWEEP_MS);
    sweeper.unref();
  }
}

function unwatch(conn: Http1Connection): void { watched.delete(conn); }

/** Config reload: connections served by a generation in `old` finish after their next response (see retireIfServedBy). */
export function retireHttp1(old: ReadonlySet<GenerationSpec>): void {
  for (const conn of watched) conn.retireIfServedBy(old);
}

/** Asks every HTTP/1.1 connection of this worker to finish (SIGTERM drain). */
export function drainHttp1(): void {
  for (const conn of watched) conn.drain();
}
