// The admin listener (admin.listen): /healthz, Prometheus /metrics, /config (secrets redacted), the
// Event Subscriptions API (/event_destinations, /event_subscriptions, core/api), and, only with
// admin.debug_endpoints, test hooks. Served by uWebSockets.js on the main thread.
import { loadUws, type UwsRequest, type UwsResponse } from './uws.js';
import { registerInspection, type InspectionHandle } from './inspect/index.js';
import type { InspectionSource } from './inspect/source.js';
import { isApiPath, MAX_BODY_BYTES, type ApiReply, type ApiRequest } from '../api/index.js';

export interface AdminReply { status: number; contentType: string; body: string }
export interface AdminHandlers {
  healthz(): AdminReply;
  metrics(): AdminReply;
  config(): AdminReply;
  /** Present only when debug endpoints are on. */
  crashWorker?(index: number): AdminReply;
  /** The Event Subscriptions API; absent = its paths answer 404 like any unknown path. */
  api?(req: ApiRequest): ApiReply | Promise<ApiReply>;
  /** The live inspection page (/inspect) and its WebSocket feed (/inspect/live). */
  inspection?: InspectionSource;
}
export interface AdminServer { host: string; port: number; close(): void }

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found',
  405: 'Method Not Allowed', 409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type',
  500: 'Internal Server Error', 503: 'Service Unavailable',
};

// What the API needs of uWS beyond uws.ts's common part: the method, the URL and the request body.
interface BodyResponse extends UwsResponse {
  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): BodyResponse;
  cork?(fn: () => void): BodyResponse;
  endWithoutBody?(): BodyResponse;
  close?(): BodyResponse;
}
interface FullRequest extends UwsRequest { getUrl(): string; getMethod(): string }

function send(res: UwsResponse, reply: AdminReply): void {
  res.writeStatus(`${reply.status} ${STATUS_TEXT[reply.status] ?? ''}`)
    .writeHeader('content-type', reply.contentType)
    .writeHeader('cache-control', 'no-store')
    .end(reply.body);
}

function guarded(res: UwsResponse, make: () => AdminReply): void {
  try {
    send(res, make());
  } catch (err) {
    send(res, { status: 500, contentType: 'text/plain', body: `internal error: ${(err as Error).message}\n` });
  }
}

/**
 * Reads the headers now (uWS's request is only valid during this call), the body as it arrives (at
 * most MAX_BODY_BYTES: past that the API answers 413 at once), then answers, unless the client left.
 */
function serveApi(res: BodyResponse, req: FullRequest, path: string, api: (req: ApiRequest) => ApiReply | Promise<ApiReply>): void {
  const request: ApiRequest = {
    method: req.getMethod().toLowerCase(),
    path,
    query: req.getQuery() ?? '',
    authorization: req.getHeader('authorization'),
    ngrokVersion: req.getHeader('ngrok-version'),
    contentType: req.getHeader('content-type'),
    host: req.getHeader('host') || 'localhost',
    body: null,
  };
  let aborted = false;
  let answered = false;
  res.onAborted(() => { aborted = true; });
  const answer = (): void => {
    if (aborted || answered) return;
    answered = true;
    const internal = (err: unknown): ApiReply => ({ status: 500, body: JSON.stringify({ error_code: 'ERR_EDGEPLANE_5001', status_code: 500, msg: `internal error: ${(err as Error).message}`, details: {} }) });
    let pending: ApiReply | Promise<ApiReply>;
    try {
      pending = api(request);
    } catch (err) {
      pending = internal(err);
    }
    // Most routes answer at once; some (a test event, a deletion) later: then only if the client is still there.
    if (pending instanceof Promise) {
      void pending.catch(internal).then((reply) => { if (!aborted) respond(reply); });
      return;
    }
    respond(pending);
  };
  const respond = (reply: ApiReply): void => {
    const write = (): void => {
      res.writeStatus(`${reply.status} ${STATUS_TEXT[reply.status] ?? ''}`).writeHeader('cache-control', 'no-store');
      if (reply.status === 204) { if (res.endWithoutBody) res.endWithoutBody(); else res.end(); return; }
      res.writeHeader('content-type', 'application/json').end(reply.body);
    };
    if (res.cork) res.cork(write); else write();
  };
  const length = Number(req.getHeader('content-length') || '0');
  const chunked = req.getHeader('transfer-encoding') !== '';
  if (!chunked && !(length > 0)) { answer(); return; }
  const chunks: Buffer[] = [];
  let size = 0;
  res.onData((chunk, isLast) => {
    if (answered) return;
    // uWS reuses the chunk's memory after this callback: copy it (at most one byte past the cap).
    const room = MAX_BODY_BYTES + 1 - size;
    if (room > 0) chunks.push(Buffer.from(new Uint8Array(chunk, 0, Math.min(room, chunk.byteLength))));
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES || isLast) {
      request.body = Buffer.concat(chunks);
      answer();
    }
  });
}

export function startAdminServer(listen: string, handlers: AdminHandlers): Promise<AdminServer> {
  const uws = loadUws();
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(colon + 1));
  const app = uws.App();
  app.get('/healthz', (res) => guarded(res, () => handlers.healthz()));
  app.get('/metrics', (res) => guarded(res, () => handlers.metrics()));
  app.get('/config', (res) => guarded(res, () => handlers.config()));
  const crash = handlers.crashWorker;
  if (crash !== undefined) {
    app.post('/debug/workers/:index/crash', (res, req) => {
      const index = Number(req.getParameter(0));
      guarded(res, () => crash(index));
    });
  }
  const inspection: InspectionHandle | null = handlers.inspection === undefined ? null : registerInspection(app, handlers.inspection);
  const api = handlers.api;
  app.any('/*', (res, req) => {
    const path = (req as FullRequest).getUrl();
    if (api !== undefined && isApiPath(path)) serveApi(res as BodyResponse, req as FullRequest, path, api);
    else send(res, { status: 404, contentType: 'text/plain', body: 'not found\n' });
  });
  return new Promise((resolve, reject) => {
    app.listen(host, port, (token) => {
      if (!token) { reject(new Error(`admin: cannot listen on ${listen}`)); return; }
      resolve({
        host,
        port: uws.us_socket_local_port(token),
        close: () => { inspection?.close(); uws.us_listen_socket_close(token); app.close?.(); },
      });
    });
  });
}
