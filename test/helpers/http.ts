// HTTP origins and clients for the HTTPS edge tests. An origin records every request it gets
// (method, target, headers, body hash and length, which TCP connection carried it) and answers
// through a handler: report what it saw, echo the body, never answer, fail mid-body, switch to
// WebSocket. Clients reach the edge by name (SNI + Host) on 127.0.0.1, over HTTP/1.1 or HTTP/2.
import type { Pki } from './pki.js';
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import { WebSocketServer } from 'ws';

interface Teardown { teardown(fn: () => unknown): void }

/** Bodies up to this size are kept whole in SeenRequest.body; larger ones only hashed and counted. */
const KEEP_BODY_BYTES = 1024 * 1024;

export interface SeenRequest {
  method: string;
  /** The request-target exactly as the origin received it. */
  url: string;
  httpVersion: string;
  /** Node's parsed headers (lower-case names, repeats joined). */
  headers: http.IncomingHttpHeaders;
  /** Names as sent, in order, repeats kept. */
  rawHeaders: string[];
  /** Which origin TCP connection carried it (1, 2, ... in accept order). */
  connection: number;
  bodyLength: number;
  bodySha256: string;
  /** The body when it was at most 1 MiB. */
  body: Buffer;
  /** Resolves when the whole request body has arrived (or the request was aborted). */
  bodyDone: Promise<void>;
}

export type OriginHandler = (req: http.IncomingMessage, res: http.ServerResponse, seen: SeenRequest) => void;

export interface Origin {
  port: number;
  address: string;
  server: http.Server;
  requests: SeenRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Requests received with this path prefix. */
  requestsTo(prefix: string): SeenRequest[];
  waitForRequests(count: number, timeoutMs?: number): Promise<SeenRequest[]>;
}

/** Names in a raw header list, lower case. */
export function rawNames(raw: string[]): string[] {
  const names: string[] = [];
  for (let i = 0; i < raw.length; i += 2) names.push(raw[i]!.toLowerCase());
  return names;
}

function seenRequest(req: http.IncomingMessage, connection: number): SeenRequest {
  const hash = createHash('sha256');
  const kept: Buffer[] = [];
  const seen: SeenRequest = {
    method: req.method ?? '',
    url: req.url ?? '',
    httpVersion: req.httpVersion,
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    connection,
    bodyLength: 0,
    bodySha256: '',
    body: Buffer.alloc(0),
    bodyDone: Promise.resolve(),
  };
  seen.bodyDone = new Promise<void>((resolve) => {
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      seen.bodyLength += chunk.length;
      if (seen.bodyLength <= KEEP_BODY_BYTES) kept.push(chunk);
    });
    const finish = (): void => {
      if (seen.bodySha256 === '') seen.bodySha256 = hash.digest('hex');
      seen.body = seen.bodyLength <= KEEP_BODY_BYTES ? Buffer.concat(kept) : Buffer.alloc(0);
      resolve();
    };
    req.once('end', finish);
    req.once('close', finish);
  });
  return seen;
}

/** Answers 200 with JSON of what the origin saw, once the body is in. */
export const reportHandler: OriginHandler = (_req, res, seen) => {
  void seen.bodyDone.then(() => {
    const body = JSON.stringify({
      method: seen.method, url: seen.url, headers: seen.headers, rawHeaders: seen.rawHeaders,
      bodyLength: seen.bodyLength, bodySha256: seen.bodySha256,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
};

/** Streams the request body straight back; same framing as the request (Content-Length or chunked). */
export const echoHandler: OriginHandler = (req, res) => {
  const length = req.headers['content-length'];
  res.writeHead(200, length === undefined ? { 'content-type': 'application/octet-stream' } : { 'content-type': 'application/octet-stream', 'content-length': length });
  req.pipe(res);
};

/** Never answers (the request stays open until the peer goes away). */
export const silentHandler: OriginHandler = () => {};

/**
 * Sends a 200 head promising `length` bytes (or chunked when length is null), `sent` bytes of body,
 * then drops the connection: a response that can never be completed.
 */
export function closeMidBodyHandler(length: number | null, sent: number): OriginHandler {
  return (_req, res) => {
    res.writeHead(200, length === null ? { 'content-type': 'application/octet-stream' } : { 'content-type': 'application/octet-stream', 'content-length': length });
    res.write(Buffer.alloc(sent, 0x61), () => setTimeout(() => res.socket?.destroy(), 20));
  };
}

/** Starts an HTTP/1.1 origin on 127.0.0.1; `handler` answers every request (default: reportHandler). */
export async function startOrigin(t: Teardown, handler: OriginHandler = reportHandler): Promise<Origin> {
  const requests: SeenRequest[] = [];
  const waiters: Array<() => void> = [];
  let accepted = 0;
  const ids = new WeakMap<net.Socket, number>();
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const seen = seenRequest(req, ids.get(req.socket) ?? 0);
    requests.push(seen);
    for (const w of waiters.slice()) w();
    res.on('error', () => {});
    handler(req, res, seen);
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    ids.set(socket, ++accepted);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    server,
    requests,
    connections: () => accepted,
    requestsTo: (prefix) => requests.filter((r) => r.url.startsWith(prefix)),
    waitForRequests(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => { if (requests.length >= count) { resolve(requests); return true; } return false; };
        if (check()) return;
        const timer = setTimeout(() => { remove(); reject(new Error(`origin got ${requests.length} of ${count} requests`)); }, timeoutMs);
        const watcher = (): void => { if (check()) { clearTimeout(timer); remove(); } };
        const remove = (): void => { const i = waiters.indexOf(watcher); if (i >= 0) waiters.splice(i, 1); };
        waiters.push(watcher);
      });
    },
  };
}

/** Makes `origin` accept WebSocket upgrades (101) on `path` and echo every message, text or binary. */
export function webSocketEcho(t: Teardown, origin: Origin, path: string): { upgrades: http.IncomingMessage[] } {
  const upgrades: http.IncomingMessage[] = [];
  const wss = new WebSocketServer({ noServer: true });
  origin.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    if (req.url !== path) { socket.destroy(); return; }
    upgrades.push(req);
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  t.teardown(() => { for (const c of wss.clients) c.terminate(); wss.close(); });
  return { upgrades };
}

/** A TCP server that runs `onSocket` for every connection (garbage speakers, silent listeners). */
export async function rawOrigin(t: Teardown, onSocket: (socket: net.Socket) => void): Promise<{ port: number; address: string; connections(): number; open(): net.Socket[] }> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }));
  const port = (server.address() as net.AddressInfo).port;
  return { port, address: `127.0.0.1:${port}`, connections: () => accepted, open: () => [...sockets] };
}

/** DNS for tests: every name is 127.0.0.1 (handles both `all` forms node's connect may ask for). */
export const lookupLoopback: LookupFunction = ((_host: string, options: { all?: boolean } | number, cb: (...args: unknown[]) => void) => {
  if (typeof options === 'object' && options !== null && options.all === true) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
}) as unknown as LookupFunction;

export interface ClientResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  /** The response ended as framed (all promised bytes, final chunk); false = cut short. */
  complete: boolean;
  /** The error the client saw, if the response failed. */
  error: string | null;
  /** The client connection was reused from an earlier request (keep-alive). */
  reusedSocket: boolean;
  httpVersion: string;
}

export interface HttpsRequestOptions {
  port: number;
  host: string;
  ca: string;
  method?: string;
  path?: string;
  headers?: http.OutgoingHttpHeaders;
  /** A whole body, or chunks written one by one (no Content-Length unless headers give one). */
  body?: Buffer | Buffer[] | AsyncIterable<Buffer>;
  agent?: https.Agent | false;
  timeoutMs?: number;
}

/** One HTTP/1.1 request over TLS to `host` (SNI and Host) on 127.0.0.1:port; never rejects on HTTP errors. */
export function httpsRequest(o: HttpsRequestOptions): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: o.host, port: o.port, servername: o.host, lookup: lookupLoopback, ca: o.ca,
      method: o.method ?? 'GET', path: o.path ?? '/', headers: o.headers, agent: o.agent ?? false,
    });
    const timer = setTimeout(() => { req.destroy(new Error(`no response within ${o.timeoutMs ?? 15_000} ms`)); }, o.timeoutMs ?? 15_000);
    req.on('error', (err) => { clearTimeout(timer); reject(err); });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let error: string | null = null;
      let settled = false;
      const done = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks),
          complete: res.complete && error === null, error, reusedSocket: req.reusedSocket, httpVersion: res.httpVersion,
        });
      };
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => { error = err.message; });
      res.on('aborted', () => { error ??= 'aborted'; });
      res.on('end', done);
      res.on('close', done);
    });
    void writeBody(req, o.body).catch((err: Error) => req.destroy(err));
  });
}

async function writeBody(req: http.ClientRequest, body: HttpsRequestOptions['body']): Promise<void> {
  if (body === undefined) { req.end(); return; }
  if (Buffer.isBuffer(body)) { req.end(body); return; }
  const chunks: Iterable<Buffer> | AsyncIterable<Buffer> = body;
  for await (const chunk of chunks) {
    if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
  }
  req.end();
}

const remoteSettingsOf = new WeakMap<http2.ClientHttp2Session, Promise<http2.Settings>>();

/** The first SETTINGS the server sent on a session made by h2Connect. */
export function h2RemoteSettings(session: http2.ClientHttp2Session): Promise<http2.Settings> {
  return remoteSettingsOf.get(session) ?? Promise.reject(new Error('not a session from h2Connect'));
}

/** An HTTP/2 session to `host` on 127.0.0.1:port (TLS, ALPN h2). Closed in teardown. */
export async function h2Connect(t: Teardown, port: number, host: string, ca: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`https://${host}:${port}`, {
    createConnection: () => tls.connect({ host: '127.0.0.1', port, servername: host, ca, ALPNProtocols: ['h2'] }),
  });
  session.on('error', () => {});
  // Until the server's SETTINGS arrive, session.remoteSettings holds nghttp2's assumed defaults.
  remoteSettingsOf.set(session, new Promise((resolve) => session.once('remoteSettings', resolve)));
  t.teardown(() => { if (!session.destroyed) session.destroy(); });
  await new Promise<void>((resolve, reject) => { session.once('connect', () => resolve()); session.once('error', reject); });
  return session;
}

export interface H2Result {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  /** Stream ended cleanly with END_STREAM. */
  complete: boolean;
  /** RST_STREAM code when the stream was reset (0 = none). */
  rstCode: number;
  error: string | null;
}

/** One request on an HTTP/2 session; resolves when the stream closes, whatever happened. */
export function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<H2Result> {
  return new Promise((resolve) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let status = 0;
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let ended = false;
    let error: string | null = null;
    stream.on('response', (h) => { responseHeaders = h; status = Number(h[':status']); });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => { ended = true; });
    stream.on('error', (err) => { error = err.message; });
    stream.on('close', () => resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks), complete: ended && stream.rstCode === 0, rstCode: stream.rstCode ?? 0, error }));
    if (body !== undefined) void writeH2Body(stream, body);
  });
}

// In pieces, waiting for 'drain': node's client counts one big queued write against its own
// session memory (10 MB by default) and resets the stream with ENHANCE_YOUR_CALM.
async function writeH2Body(stream: http2.ClientHttp2Stream, body: Buffer): Promise<void> {
  for (let i = 0; i < body.length && !stream.destroyed; i += 64 * 1024) {
    if (stream.write(body.subarray(i, i + 64 * 1024))) continue;
    await new Promise<void>((resolve) => {
      const go = (): void => { stream.off('drain', go); stream.off('close', go); resolve(); };
      stream.on('drain', go);
      stream.on('close', go);
    });
  }
  if (!stream.destroyed) stream.end();
}

/** Opens a TLS connection to `servername` on 127.0.0.1:port (certificate checks off: raw protocol tests). */
export function tlsConnect(port: number, servername: string, alpn: string[] = ['http/1.1']): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ALPNProtocols: alpn }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Collects what a socket sends until `done(text)` holds; rejects on close or timeout first. */
export function readUntilMatch(socket: net.Socket, done: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => { cleanup(); reject(new Error(`condition not met within ${timeoutMs} ms; got ${JSON.stringify(text)}`)); }, timeoutMs);
    const onData = (d: Buffer | string): void => { text += d.toString('latin1'); if (done(text)) { cleanup(); resolve(text); } };
    const onClose = (): void => { cleanup(); reject(new Error(`closed before the condition was met; got ${JSON.stringify(text)}`)); };
    const cleanup = (): void => { clearTimeout(timer); socket.off('data', onData); socket.off('close', onClose); };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

/** Polls the daemon's event file until an event matches (events are flushed in batches every 50 ms). */
export async function waitForEvent(events: () => Array<Record<string, any>>, pred: (e: Record<string, any>) => boolean, timeoutMs = 10_000): Promise<Record<string, any>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hit = events().find(pred);
    if (hit !== undefined) return hit;
    if (Date.now() > until) throw new Error(`no matching event within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The config's tls_certificates + reserved_domains: *.example.test served with the test PKI's leaf (bundle.crt, leaf.key). */
export function exampleTestCertificates(pki: Pick<Pki, 'path'>): { tls_certificates: object[]; reserved_domains: object[] } {
  return {
    tls_certificates: [{ id: 'cert_edge', certificate_pem: { file: pki.path('bundle.crt') }, private_key_pem: { file: pki.path('leaf.key') } }],
    reserved_domains: [{ domain: '*.example.test', certificate_id: 'cert_edge' }],
  };
}
