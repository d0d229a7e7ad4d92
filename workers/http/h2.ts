// The HTTP/2 engine: node:http2's session over our already-terminated TLS socket. Each stream
// becomes one Transaction; upstreams stay HTTP/1.1 (spec §1.5: HTTP/2 is offered to clients
// whatever the upstream speaks).
import http2 from 'node:http2';
import type tls from 'node:tls';
import type { GenerationSpec, HttpSettingsSpec } from '../../core/generation/spec.js';
import type { HeaderList } from './exchange.js';
import { Transaction, type BodyFraming, type ClientResponse, type ForwardContext } from './forward.js';
import { EDGE_ERRORS } from './errors.js';
import type { RequestStart, Routed } from './request.js';

export interface Http2Options {
  settings: HttpSettingsSpec;
  ctx: ForwardContext;
  route(start: RequestStart): Routed;
  onClose(): void;
  /** The config generation serving this session: retireHttp2 finds the superseded ones by it. Absent: never retired. */
  generation?: GenerationSpec;
  /** Its generation was already superseded when the session started (see retireHttp2). */
  retired?: boolean;
}

const { NGHTTP2_NO_ERROR } = http2.constants;
/** How often a closing idle session is checked for streams still open. */
const REAP_CHECK_MS = 1000;

/**
 * Per session: streams whose response is complete while the client has not finished its request
 * (a body it never ends). They are reset with NO_ERROR (RFC 9113 §8.1) when the session goes idle;
 * otherwise they keep the session open for ever, since close() waits for every stream.
 */
const answeredUnfinished = new WeakMap<http2.Http2Session, Set<http2.ServerHttp2Stream>>();

/** Streams open per session (node has no public count). */
const openStreams = new WeakMap<http2.Http2Session, number>();

/**
 * The session went idle: GOAWAY, reset the answered-but-unfinished streams, and destroy it once no
 * stream is left. close() alone also waits for unsent output, which a client that reads nothing
 * never takes: such a session (and its socket) would stay for ever.
 */
function closeIdleSession(session: http2.ServerHttp2Session, socket: tls.TLSSocket, writeTimeoutMs: number): void {
  if (session.closed || session.destroyed) return;
  session.close();
  for (const stream of answeredUnfinished.get(session) ?? []) stream.close(NGHTTP2_NO_ERROR);
  const reaper = setInterval(() => {
    if (!session.destroyed && (openStreams.get(session) ?? 0) > 0) return;
    clearInterval(reaper);
    if (!session.destroyed) session.destroy();
    // A closed session ends its socket and emits 'close' only once the socket has closed.
    destroyWhenStalled(socket, writeTimeoutMs);
  }, REAP_CHECK_MS);
  reaper.unref();
  socket.once('close', () => clearInterval(reaper));
}

/**
 * A closed session ends its socket with socket.end(), which waits for every byte to be written: a
 * client that reads nothing would hold it (and the session) for ever. Destroyed once its output
 * stops moving for a write timeout.
 */
function destroyWhenStalled(socket: tls.TLSSocket, writeTimeoutMs: number): void {
  let last = socket.bytesWritten;
  const timer = setInterval(() => {
    if (socket.destroyed) { clearInterval(timer); return; }
    if (socket.bytesWritten !== last) { last = socket.bytesWritten; return; }
    clearInterval(timer);
    socket.destroy();
  }, writeTimeoutMs);
  timer.unref();
}

function lingerUntilIdle(stream: http2.ServerHttp2Stream): void {
  const session = stream.session;
  if (session === undefined || stream.destroyed || stream.readableEnded) return;
  let set = answeredUnfinished.get(session);
  if (set === undefined) answeredUnfinished.set(session, set = new Set());
  set.add(stream);
  stream.once('close', () => set!.delete(stream));
}

/** Open sessions, each with its generation and how it winds down when that generation is superseded. */
const sessions = new Map<http2.ServerHttp2Session, { generation: GenerationSpec | undefined; retire(): void }>();
let draining = false;

/** SIGTERM drain: GOAWAY to every session; streams in flight finish, then the sessions close. */
export function drainHttp2(): void {
  draining = true;
  for (const session of sessions.keys()) session.close();
}

/**
 * Config reload: sessions served by a generation in `old` get GOAWAY. Their streams in flight finish;
 * the client opens new streams on a new connection, which the new generation serves. Wound down like
 * an idle session (closeIdleSession), so a client that stops reading cannot hold the old generation.
 */
export function retireHttp2(old: ReadonlySet<GenerationSpec>): void {
  for (const { generation, retire } of sessions.values()) if (generation !== undefined && old.has(generation)) retire();
}

export function serveHttp2(socket: tls.TLSSocket, opts: Http2Options): void {
  const { settings } = opts;
  const server = http2.createServer({
    maxSessionMemory: 32,
    maxHeaderListPairs: 256,
    settings: { maxConcurrentStreams: settings.maxConcurrentStreams, maxHeaderListSize: settings.maxHeaderBytes, enablePush: false },
  });
  server.on('stream', (stream: http2.ServerHttp2Stream, _headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
    const session = stream.session!;
    openStreams.set(session, (openStreams.get(session) ?? 0) + 1);
    stream.once('close', () => openStreams.set(session, (openStreams.get(session) ?? 1) - 1));
    onStream(stream, rawHeaders, opts);
  });
  server.on('session', (session: http2.ServerHttp2Session) => {
    // Idle, or its generation superseded: the session winds down the same way.
    const windDown = (): void => closeIdleSession(session, socket, settings.clientWriteTimeoutMs);
    sessions.set(session, { generation: opts.generation, retire: windDown });
    session.once('close', () => sessions.delete(session));
    if (draining) session.close();
    // Superseded while its TLS handshake ran: serve the request that opened it, then GOAWAY (a GOAWAY
    // before any stream would refuse the client's first request).
    else if (opts.retired === true) session.once('stream', () => process.nextTick(windDown));
    session.setTimeout(settings.keepAliveTimeoutMs, windDown);
    session.on('error', () => session.destroy());
    session.once('close', () => opts.onClose());
  });
  server.on('sessionError', () => { /* the session's own error handler closes it */ });
  // Only tls.Server clears this flag on server sockets; Http2Session waits for it (for a
  // 'secureConnect' that server sockets never emit) before it reads a byte.
  (socket as tls.TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
  // The client's FIN ends the session: with half-open sockets (ours are, for tcp edges) the
  // session would wait forever for a close that never comes.
  socket.allowHalfOpen = false;
  server.emit('connection', socket);
}

function onStream(stream: http2.ServerHttp2Stream, raw: string[], opts: Http2Options): void {
  stream.on('error', () => { /* reset by the peer; close handles the books */ });
  let method = 'GET';
  let path = '';
  let authority: string | undefined;
  let protocol: string | undefined;
  const headers: HeaderList = [];
  let framing: BodyFraming = stream.endAfterHeaders ? { kind: 'none' } : { kind: 'chunked' };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (name === ':method') method = value;
      else if (name === ':path') path = value;
      else if (name === ':authority') authority = value;
      else if (name === ':protocol') protocol = value;
      continue;
    }
    if (name === 'host') { authority ??= value; continue; }
    if (name === 'content-length' && framing.kind !== 'none') framing = { kind: 'length', length: Number(value) };
    headers.push(name, value);
  }
  if (authority !== undefined) headers.unshift('host', authority);
  if (method === 'CONNECT' || protocol !== undefined || path.length > opts.settings.maxUrlBytes) {
    const r = path.length > opts.settings.maxUrlBytes ? EDGE_ERRORS.urlTooLong : { status: 501, errorCode: 'ERR_EDGEPLANE_501', body: 'CONNECT is not supported over HTTP/2 here.' };
    answer(stream, r.status, r.errorCode);
    return;
  }
  const routed = opts.route({ method, target: path, version: '2', headers, upgrade: null, framing });
  if ('answer' in routed) { answer(stream, routed.answer.status, routed.answer.errorCode); return; }
  const tx = new Transaction(opts.ctx, routed.route, routed.x, streamResponse(stream), stream, framing);
  tx.onDone = () => lingerUntilIdle(stream);
  stream.on('data', (chunk: Buffer) => tx.requestData(chunk));
  stream.once('end', () => tx.requestEnd());
  stream.once('close', () => { if (!tx.finished) tx.clientGone(); });
  if (framing.kind === 'none') tx.requestEnd();
  tx.start();
}

function answer(stream: http2.ServerHttp2Stream, status: number, errorCode: string): void {
  if (stream.destroyed) return;
  stream.respond({ ':status': status, 'ngrok-error-code': errorCode, 'content-type': 'text/plain; charset=utf-8' });
  stream.end(`${errorCode}\n`);
  lingerUntilIdle(stream);
}

function streamResponse(stream: http2.ServerHttp2Stream): ClientResponse {
  return {
    head(status, headers, length) {
      if (stream.destroyed) return;
      const out: http2.OutgoingHttpHeaders = { ':status': status };
      for (let i = 0; i < headers.length; i += 2) {
        const name = headers[i]!;
        const prev = out[name];
        out[name] = prev === undefined ? headers[i + 1]! : ([] as string[]).concat(prev as string | string[], headers[i + 1]!);
      }
      if (length >= 0) out['content-length'] = length;
      stream.respond(out);
    },
    write(chunk) { return stream.destroyed ? true : stream.write(chunk); },
    onceDrain(fn) { stream.once('drain', fn); },
    sendContinue() { if (!stream.destroyed && !stream.headersSent) stream.additionalHeaders({ ':status': 100 }); },
    end() { if (!stream.destroyed) stream.end(); },
    // Not stream.close(code): it ends the writable side first, and nghttp2 flushes that END_STREAM
    // before the RST_STREAM, so a body cut mid-way reached the client as complete. destroy(err)
    // skips the end and resets with INTERNAL_ERROR (the 'error' it emits is handled above).
    abort() { if (!stream.destroyed) stream.destroy(new Error('response cut short')); },
  };
}

