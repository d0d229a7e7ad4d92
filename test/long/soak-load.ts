// The soak run's clients: one operation per kind (HTTP/1.1 keep-alive and new-connection over TLS, HTTP/2,
// cleartext HTTP, 64 KiB uploads, compressed responses, TLS- and TCP-edge echoes, deliberate aborts, and
// connections that close without sending), picked at random by weight and paced at a fixed overall rate.
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { lookupLoopback } from '../helpers/http.js';

const gunzipAsync = promisify(gunzip);
const OP_TIMEOUT_MS = 20_000;
export const ZIP_BYTES = 32 * 1024;
export const UPLOAD_BYTES = 64 * 1024;
const ECHO_BYTES = 1024;

export interface Target {
  host: string; // SNI + Host of the https edge
  echoHost: string; // SNI of the terminating tls edge
  httpsPort: number;
  plainPort: number;
  tcpPort: number;
  ca: string;
}

/** 'ok', 'aborted' (we cut it on purpose) or a failure kind. */
export type Result = { outcome: string; ms: number };

/** Thrown inside an operation to fail it with a named kind. */
class Failure extends Error { constructor(readonly kind: string) { super(kind); } }

function errorKind(err: unknown): string {
  if (err instanceof Failure) return err.kind;
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(err);
}

function withTimeout<T>(work: (done: (err: unknown, value?: T) => void) => (() => void)): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let cancel: () => void = () => {};
    const timer = setTimeout(() => done(new Failure('timeout')), OP_TIMEOUT_MS);
    function done(err: unknown, value?: T): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err !== null && err !== undefined) { cancel(); reject(err); } else resolve(value as T);
    }
    cancel = work(done);
  });
}

interface H1Response { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

function h1(request: (cb: (res: http.IncomingMessage) => void) => http.ClientRequest, body?: Buffer): Promise<H1Response> {
  return withTimeout<H1Response>((done) => {
    const req = request((res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('aborted', () => done(new Failure('response_aborted')));
      res.on('error', (err) => done(err));
    });
    req.on('error', (err) => done(err));
    req.end(body);
    return () => req.destroy();
  });
}

export class SoakClients {
  /** Keep-alive pools; their idle sockets time out client-side before the edge's keep_alive_timeout would race them. */
  private readonly tlsAgent: https.Agent;
  private readonly plainAgent: http.Agent;
  private readonly h2Sessions: Array<{ session: http2.ClientHttp2Session; used: number } | null> = [null, null];
  private readonly upload = randomBytes(UPLOAD_BYTES);
  /** GOAWAY frames the HTTP/2 sessions received (the edge closing a session). */
  readonly h2Goaways: Array<{ at: number; code: number; lastStreamId: number; clientClosed: boolean }> = [];
  /** The x-soak header the last compressed response carried (it changes with every config reload). */
  lastHeader = '';

  constructor(private readonly target: Target, private readonly h2RequestsPerSession = 500) {
    this.tlsAgent = new https.Agent({ keepAlive: true, maxSockets: 16, timeout: 4000, ca: target.ca, servername: target.host });
    this.plainAgent = new http.Agent({ keepAlive: true, maxSockets: 16, timeout: 4000 });
  }

  private httpsGet(path: string, agent: https.Agent | false, headers: http.OutgoingHttpHeaders = {}): Promise<H1Response> {
    const { host, httpsPort, ca } = this.target;
    return h1((cb) => https.request({ host: '127.0.0.1', port: httpsPort, servername: host, ca, agent, path, headers: { host, ...headers } }, cb));
  }

  private expect(res: { status: number }, status = 200): void {
    if (res.status !== status) throw new Failure(`status_${res.status}`);
  }

  private async checkZip(headers: Record<string, unknown>, body: Buffer): Promise<void> {
    if (headers['content-encoding'] !== 'gzip') throw new Failure('not_compressed');
    const plain = await gunzipAsync(body);
    if (plain.length !== ZIP_BYTES) throw new Failure('zip_length');
    if (headers['x-origin-secret'] !== undefined) throw new Failure('header_not_removed');
    const header = headers['x-soak'];
    if (typeof header !== 'string') throw new Failure('missing_x_soak');
    this.lastHeader = header;
  }

  /** A compressed response over a new connection: a new connection is served by the newest config generation. */
  async freshGzip(): Promise<string> {
    const res = await this.httpsGet('/zip/fresh', false, { 'accept-encoding': 'gzip' });
    this.expect(res);
    await this.checkZip(res.headers, res.body);
    return this.lastHeader;
  }

  readonly ops: Record<string, { weight: number; run: () => Promise<'ok' | 'aborted'> }> = {
    h1_keepalive: { weight: 22, run: async () => { this.expect(await this.httpsGet('/plain/ka', this.tlsAgent)); return 'ok'; } },
    h1_new_connection: { weight: 8, run: async () => { this.expect(await this.httpsGet('/plain/new', false)); return 'ok'; } },
    h1_post_64k: {
      weight: 8,
      run: async () => {
        const { host, httpsPort, ca } = this.target;
        const res = await h1((cb) => https.request({ method: 'POST', host: '127.0.0.1', port: httpsPort, servername: host, ca, agent: this.tlsAgent, path: '/plain/upload',
          headers: { host, 'content-type': 'application/octet-stream', 'content-length': UPLOAD_BYTES } }, cb), this.upload);
        this.expect(res);
        if (res.body.toString() !== String(UPLOAD_BYTES)) throw new Failure('upload_length');
        return 'ok';
      },
    },
    h1_gzip: {
      weight: 10,
      run: async () => {
        const res = await this.httpsGet('/zip/text', this.tlsAgent, { 'accept-encoding': 'gzip' });
        this.expect(res);
        await this.checkZip(res.headers, res.body);
        return 'ok';
      },
    },
    h2_get: { weight: 12, run: async () => { this.expectH2(await this.h2('/plain/h2')); return 'ok'; } },
    h2_gzip: {
      weight: 8,
      run: async () => {
        const res = await this.h2('/zip/h2', { 'accept-encoding': 'gzip' });
        this.expectH2(res);
        await this.checkZip(res.headers, res.body);
        return 'ok';
      },
    },
    plain_http: {
      weight: 12,
      run: async () => {
        const res = await h1((cb) => http.request({ host: '127.0.0.1', port: this.target.plainPort, agent: this.plainAgent, path: '/plain/cleartext', headers: { host: this.target.host } }, cb));
        this.expect(res);
        return 'ok';
      },
    },
    h1_abort_mid_response: { weight: 3, run: () => this.h1Abort() },
    h2_abort_mid_response: { weight: 2, run: () => this.h2Abort() },
    tls_edge_echo: { weight: 6, run: () => this.echo(true) },
    tcp_edge_echo: { weight: 6, run: () => this.echo(false) },
    open_close_silent: { weight: 2, run: () => this.openClose(false) },
    tls_handshake_then_close: { weight: 1, run: () => this.openClose(true) },
  };

  private expectH2(res: { status: number }): void { this.expect(res); }

  /** One of two long-lived HTTP/2 sessions, replaced after `h2RequestsPerSession` requests or when it broke. */
  private h2Session(): http2.ClientHttp2Session {
    const slot = Math.floor(Math.random() * this.h2Sessions.length);
    let entry = this.h2Sessions[slot];
    if (entry !== null && entry !== undefined && (entry.session.closed || entry.session.destroyed || entry.used >= this.h2RequestsPerSession)) {
      const old = entry.session;
      // Graceful close (streams in flight finish), but not in this tick: node would send the GOAWAY ahead of the
      // HEADERS of a stream just opened on it, and the edge (rightly) refuses that stream with REFUSED_STREAM.
      setTimeout(() => old.close(), 1000);
      entry = null;
    }
    if (entry === null || entry === undefined) {
      const { host, httpsPort, ca } = this.target;
      const session = http2.connect(`https://${host}:${httpsPort}`, { ca, servername: host, lookup: lookupLoopback });
      session.on('error', () => {}); // failures show on the streams
      session.on('goaway', (code: number, last: number) => { this.h2Goaways.push({ at: Date.now(), code, lastStreamId: last, clientClosed: session.closed }); });
      entry = { session, used: 0 };
      this.h2Sessions[slot] = entry;
    }
    entry.used++;
    return entry.session;
  }

  private h2(path: string, extra: http2.OutgoingHttpHeaders = {}): Promise<H1Response> {
    return withTimeout<H1Response>((done) => {
      const stream = this.h2Session().request({ ':path': path, ...extra });
      let status = 0;
      let headers: http.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => { status = Number(h[':status']); headers = h as http.IncomingHttpHeaders; });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => done(null, { status, headers, body: Buffer.concat(chunks) }));
      stream.on('error', (err) => done(new Failure(`h2_${(err as NodeJS.ErrnoException).code ?? 'error'}_rst${stream.rstCode ?? '-'}` +
        `${stream.session?.closed === true ? '_session_closed' : ''} (stream ${stream.id})`)));
      stream.on('close', () => { if (stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) done(new Failure(`h2_rst_${stream.rstCode}`)); });
      stream.end();
      return () => stream.close(http2.constants.NGHTTP2_CANCEL);
    });
  }

  /** A new TLS connection asks for a slow streamed response and drops the socket after its first bytes. */
  private h1Abort(): Promise<'aborted'> {
    const { host, httpsPort, ca } = this.target;
    return withTimeout<'aborted'>((done) => {
      const req = https.request({ host: '127.0.0.1', port: httpsPort, servername: host, ca, agent: false, path: '/plain/slow', headers: { host } }, (res) => {
        if (res.statusCode !== 200) { done(new Failure(`status_${res.statusCode}`)); return; }
        res.once('data', () => { req.destroy(); done(null, 'aborted'); });
        res.on('error', () => {});
      });
      req.on('error', (err) => done(err));
      req.end();
      return () => req.destroy();
    });
  }

  /** An HTTP/2 stream cancelled (RST_STREAM CANCEL) after the first bytes of a slow response. */
  private h2Abort(): Promise<'aborted'> {
    return withTimeout<'aborted'>((done) => {
      const stream = this.h2Session().request({ ':path': '/plain/slow' });
      stream.on('response', (h) => { if (h[':status'] !== 200) done(new Failure(`status_${h[':status']}`)); });
      stream.once('data', () => { stream.close(http2.constants.NGHTTP2_CANCEL); done(null, 'aborted'); });
      stream.on('error', (err) => done(err));
      stream.end();
      return () => stream.close(http2.constants.NGHTTP2_CANCEL);
    });
  }

  /** Through the terminating TLS edge or the TCP edge to the echo origin: 1 KiB out, the same back, close. */
  private echo(overTls: boolean): Promise<'ok'> {
    const { echoHost, httpsPort, tcpPort, ca } = this.target;
    const payload = randomBytes(ECHO_BYTES);
    return withTimeout<'ok'>((done) => {
      const socket: net.Socket = overTls
        ? tls.connect({ host: '127.0.0.1', port: httpsPort, servername: echoHost, ca }, () => socket.write(payload))
        : net.connect({ host: '127.0.0.1', port: tcpPort }, () => socket.write(payload));
      const chunks: Buffer[] = [];
      let got = 0;
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        got += c.length;
        if (got < ECHO_BYTES) return;
        if (!Buffer.concat(chunks).subarray(0, ECHO_BYTES).equals(payload)) { done(new Failure('echo_mismatch')); return; }
        socket.end();
      });
      socket.on('close', () => done(got >= ECHO_BYTES ? null : new Failure('echo_short'), 'ok'));
      socket.on('error', (err) => done(err));
      return () => socket.destroy();
    });
  }

  /** A TCP connection to the shared TLS port that sends nothing (or completes a handshake and sends nothing), then closes. */
  private openClose(handshake: boolean): Promise<'ok'> {
    const { host, httpsPort, ca } = this.target;
    return withTimeout<'ok'>((done) => {
      const socket: net.Socket = handshake
        ? tls.connect({ host: '127.0.0.1', port: httpsPort, servername: host, ca, ALPNProtocols: ['http/1.1'] }, () => socket.end())
        : net.connect({ host: '127.0.0.1', port: httpsPort }, () => socket.end());
      socket.resume();
      socket.on('close', () => done(null, 'ok'));
      socket.on('error', (err) => done(err));
      return () => socket.destroy();
    });
  }

  /** Closes every pooled connection the clients still hold. */
  close(): void {
    this.tlsAgent.destroy();
    this.plainAgent.destroy();
    for (const entry of this.h2Sessions) entry?.session.close();
  }

  /** Runs one operation and classifies the result. */
  async run(kind: string): Promise<Result> {
    const started = performance.now();
    try {
      const outcome = await this.ops[kind]!.run();
      return { outcome, ms: performance.now() - started };
    } catch (err) {
      return { outcome: errorKind(err), ms: performance.now() - started };
    }
  }
}

/** Picks operation kinds by weight from a seeded generator, so a run's mix is repeatable. */
export function kindPicker(ops: Record<string, { weight: number }>, seed = 1): () => string {
  const kinds = Object.keys(ops);
  const total = kinds.reduce((a, k) => a + ops[k]!.weight, 0);
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0;
    let r = (state / 0x1_0000_0000) * total;
    for (const k of kinds) { r -= ops[k]!.weight; if (r < 0) return k; }
    return kinds[kinds.length - 1]!;
  };
}
