// Keep-alive HTTP/1.1 connections to upstream endpoints, one pool per endpoint per worker thread.
// Responses are parsed with llhttp (see llhttp.ts) and streamed to a handler chunk by chunk; the
// pool never buffers a body. A connection goes back to the pool only when its response ended
// cleanly, the request was fully written and both sides allowed keep-alive.
import type net from 'node:net';
import type { EndpointSpec } from '../../core/generation/spec.js';
import { dialEndpoint } from '../dial.js';
import { HTTPParser, kOnBody, kOnExecute, kOnHeaders, kOnHeadersComplete, kOnMessageComplete, isParserError, type HttpParser, type ParserError } from './llhttp.js';

/** Why an exchange with the upstream failed, as the ngrok error code it maps to (spec §1.10). */
export type UpstreamFailure = 'connect_refused' | 'connect_failed' | 'connect_timeout' | 'invalid_response' | 'reset' | 'timeout';

export interface UpstreamHandler {
  /** The final response head (1xx other than 101 are skipped). Header names are as received. */
  onHead(status: number, reason: string, rawHeaders: string[], keepAlive: boolean): void;
  onBody(chunk: Buffer): void;
  onEnd(): void;
  /** `retryable`: nothing of the response arrived on a reused connection, so a fresh one may be tried. */
  onError(failure: UpstreamFailure, retryable: boolean, err?: Error): void;
  /** 101 Switching Protocols: the socket now carries the upgraded protocol; `head` is what followed the response head. */
  onUpgrade?(socket: net.Socket, head: Buffer): void;
}

export interface PoolSettings {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxIdle: number;
}

interface StreamHandle { isStreamBase?: boolean; _consumed?: boolean; readStart(): number; readStop(): number }

/** EDGEPLANE_HTTP_CONSUME=0 keeps upstream reads on JS 'data' events (to compare, or if a Node release breaks consume). */
const CONSUME = process.env.EDGEPLANE_HTTP_CONSUME !== '0';
/** Agent streams of the pool carry HTTP/1.1 (reused across requests, so no per-request metadata). */
const HTTP_STREAM = { protocol: 'http' } as const;
const SKIP_BODY = 1;
const UPGRADE = 2;

export class UpstreamConnection {
  private readonly parser: HttpParser;
  private handler: UpstreamHandler | null = null;
  private headers: string[] = [];
  private headOnly = false;
  private sawResponse = false;
  private upgraded = false;
  private requestDone = false;
  private keepAlive = false;
  private responseDone = false;
  /** A final (non-1xx) response head has been seen for the current exchange. */
  private sawFinal = false;
  reused = false;
  /**
   * Deadlines are checked by the pools' sweep, not by a timer per socket: re-arming a socket timer
   * for every request and every read cost ~3% of a small proxied request.
   * Busy: no byte from the upstream for `timeoutMs` fails the exchange (504 before the head).
   * Idle in the pool: closed after the pool's idle timeout.
   */
  deadline = Infinity;
  private timeoutMs = 0;
  private handle: StreamHandle | null = null;
  private paused = false;

  constructor(readonly socket: net.Socket, private readonly pool: EndpointPool) {
    const parser = new HTTPParser();
    parser.initialize(HTTPParser.RESPONSE, {}, 0, 0);
    this.parser = parser;
    parser[kOnHeaders] = (headers: string[]) => { for (const h of headers) this.headers.push(h); };
    parser[kOnHeadersComplete] = (_maj: number, _min: number, headers: string[] | undefined, _method: number, _url: string, status: number, reason: string, upgrade: boolean, keepAlive: boolean): number => {
      let all = headers ?? [];
      if (this.headers.length > 0) { all = this.headers.concat(all); this.headers = []; }
      this.sawResponse = true;
      if (status < 200 && status !== 101) return 0; // 100 Continue, 103 Early Hints: not forwarded
      this.sawFinal = true;
      if (status === 101 && upgrade) {
        this.upgraded = true;
        this.handler?.onHead(status, reason, all, false);
        return UPGRADE;
      }
      this.keepAlive = keepAlive;
      this.handler?.onHead(status, reason, all, keepAlive);
      return this.headOnly ? SKIP_BODY : 0;
    };
    parser[kOnBody] = (chunk: Buffer) => { this.handler?.onBody(chunk); };
    parser[kOnMessageComplete] = () => {
      // A 1xx message completes too; the real response follows on the same connection.
      if (!this.sawFinal || this.upgraded || this.handler === null) return;
      this.responseDone = true;
      const handler = this.handler;
      this.release();
      handler.onEnd();
    };
    const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
    if (CONSUME && handle?.isStreamBase === true && handle._consumed !== true && !('encrypted' in socket)) {
      // The parser reads straight from the TCP handle in C++: no Buffer-to-JS 'data' event per read
      // (what node:http's server does). EOF and errors still reach the socket as usual.
      handle._consumed = true;
      this.handle = handle;
      parser.consume(handle);
      parser[kOnExecute] = (ret: number | ParserError) => this.afterExecute(ret, null);
    } else {
      socket.on('data', (data: Buffer) => this.onData(data));
    }
    socket.on('end', () => this.onEnd());
    socket.on('error', (err) => this.fail('reset', err));
    socket.on('close', () => {
      this.fail('reset');
      try { this.parser.close(); } catch { /* already closed */ }
    });
  }


  /** Starts one exchange: `head` is the serialized request head (latin1). */
  begin(handler: UpstreamHandler, head: string, headOnly: boolean, responseTimeoutMs: number): void {
    this.handler = handler;
    this.headOnly = headOnly;
    this.sawResponse = false;
    this.sawFinal = false;
    this.requestDone = false;
    this.responseDone = false;
    this.keepAlive = false;
    this.timeoutMs = responseTimeoutMs;
    this.deadline = Date.now() + responseTimeoutMs;
    this.resume(); // a previous exchange may have ended while its client was still draining
    this.socket.write(head, 'latin1');
  }

  /** Writes request body bytes (already framed by the caller); false = wait for 'drain'. */
  write(data: Buffer | string): boolean {
    // A slow upload is not a silent upstream: the clock restarts while the request is still going out.
    this.deadline = Date.now() + this.timeoutMs;
    return this.socket.write(data as Buffer);
  }

  /** The request has been written completely. */
  finishRequest(): void {
    this.requestDone = true;
    if (this.responseDone) this.release();
  }

  /** Gives up on the current exchange (client went away): the connection cannot be reused. */
  abandon(): void {
    this.handler = null;
    this.socket.destroy();
  }

  /** Called by the sweep. */
  expire(now: number): void {
    if (now < this.deadline) return;
    if (this.handler === null) { this.pool.forget(this); this.socket.destroy(); }
    else this.fail('timeout');
  }

  private onData(data: Buffer): void {
    this.afterExecute(this.parser.execute(data), data);
  }

  private afterExecute(result: number | ParserError, data: Buffer | null): void {
    if (this.handler !== null && !this.paused) this.deadline = Date.now() + this.timeoutMs;
    if (isParserError(result)) {
      this.fail('invalid_response', result);
      return;
    }
    if (this.upgraded && this.handler !== null) {
      const handler = this.handler;
      const buffer = data ?? this.parser.getCurrentBuffer();
      this.handler = null;
      this.detach();
      handler.onUpgrade?.(this.socket, buffer.subarray(result));
    }
  }

  /** Flow control for the response body (the client is slower than the upstream). */
  pause(): void {
    this.paused = true;
    this.deadline = Infinity; // waiting for a slow client is not the upstream's silence
    if (this.handle !== null) this.handle.readStop();
    else this.socket.pause();
  }

  resume(): void {
    if (!this.paused || this.socket.destroyed) return;
    this.paused = false;
    if (this.handler !== null) this.deadline = Date.now() + this.timeoutMs;
    if (this.handle !== null) this.handle.readStart();
    else this.socket.resume();
  }

  private onEnd(): void {
    // A close-delimited body ends with the connection: finish() completes it.
    if (this.handler !== null && this.sawFinal) {
      const result = this.parser.finish();
      if (isParserError(result)) { this.fail('invalid_response', result); return; }
    }
    this.keepAlive = false;
    if (this.handler !== null) this.fail('reset');
    else this.socket.destroy();
  }

  private fail(failure: UpstreamFailure, err?: Error): void {
    this.pool.forget(this);
    const handler = this.handler;
    this.handler = null;
    this.socket.destroy();
    if (handler !== null && !this.upgraded) handler.onError(failure, this.reused && !this.sawResponse, err);
  }

  // The response ended: back to the pool once the request is also fully written.
  private release(): void {
    const reusable = this.keepAlive && this.requestDone;
    this.handler = null;
    if (!this.requestDone) return; // finishRequest() decides (the upstream answered early)
    if (reusable) this.pool.putBack(this);
    else { this.pool.forget(this); this.socket.destroy(); }
  }

  private detach(): void {
    this.pool.forget(this);
    if (this.handle !== null) {
      // Hand reading back to the socket for the upgraded protocol.
      this.parser.unconsume();
      this.handle._consumed = false;
      this.handle = null;
    }
    // Still inside the parser's own callback here: freeing it now would free it under its feet.
    const parser = this.parser;
    setImmediate(() => { try { parser.close(); } catch { /* already closed */ } });
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('end');
    this.socket.removeAllListeners('close');
    this.socket.removeAllListeners('error');
    this.deadline = Infinity;
  }
}

/** Idle connections to one endpoint (LIFO: the warmest socket first). */
export class EndpointPool {
  private readonly idle: UpstreamConnection[] = [];
  private readonly all = new Set<UpstreamConnection>();

  /** `settings()` is read at each use, so a reload's timeouts and idle cap apply to pools that already exist. */
  constructor(readonly endpoint: EndpointSpec, private readonly settings: () => PoolSettings) {}

  get idleCount(): number { return this.idle.length; }
  get openCount(): number { return this.all.size; }

  /** An idle connection (reused = true) or a new one; calls back exactly once. */
  acquire(cb: (err: Error | null, conn: UpstreamConnection | null) => void): void {
    const conn = this.idle.pop();
    if (conn !== undefined) {
      conn.reused = true;
      cb(null, conn);
      return;
    }
    dialEndpoint(this.endpoint, this.settings().connectTimeoutMs, HTTP_STREAM).then((socket) => {
      socket.setNoDelay(true);
      const fresh = new UpstreamConnection(socket, this);
      this.all.add(fresh);
      cb(null, fresh);
    }, (err: Error) => cb(err, null));
  }

  putBack(conn: UpstreamConnection): void {
    const settings = this.settings();
    if (this.idle.length >= settings.maxIdle) { this.forget(conn); conn.socket.destroy(); return; }
    conn.deadline = Date.now() + settings.idleTimeoutMs;
    this.idle.push(conn);
  }

  /** Closes idle connections past their time and fails exchanges whose upstream went quiet. */
  sweep(now: number): void {
    for (const conn of [...this.all]) conn.expire(now);
  }

  forget(conn: UpstreamConnection): void {
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
  }

  close(): void {
    for (const conn of this.all) conn.socket.destroy();
    this.all.clear();
    this.idle.length = 0;
  }
}

/** Every endpoint pool of one worker, keyed by host:port:tls. */
export class UpstreamPools {
  private readonly pools = new Map<string, EndpointPool>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(private settings: PoolSettings) {}

  private startSweeping(): void {
    // Quarter-second resolution is plenty for timeouts configured in seconds.
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const pool of this.pools.values()) pool.sweep(now);
    }, 250);
    this.sweeper.unref();
  }

  /** Newer generations may change timeouts and the idle cap; pools keep their sockets and follow. */
  configure(settings: PoolSettings): void { this.settings = settings; }

  /** Closes and forgets the pool of an endpoint that is gone (an agent leg). */
  remove(endpoint: EndpointSpec): void {
    const key = `${endpoint.host}:${endpoint.port}:${endpoint.tls ? 1 : 0}`;
    this.pools.get(key)?.close();
    this.pools.delete(key);
  }

  get(endpoint: EndpointSpec): EndpointPool {
    const key = `${endpoint.host}:${endpoint.port}:${endpoint.tls ? 1 : 0}`;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      if (this.sweeper === null) this.startSweeping();
      pool = new EndpointPool(endpoint, () => this.settings);
      this.pools.set(key, pool);
    }
    return pool;
  }

  close(): void {
    if (this.sweeper !== null) { clearInterval(this.sweeper); this.sweeper = null; }
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }
}
