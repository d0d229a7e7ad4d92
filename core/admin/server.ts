// The admin listener (admin.listen): /healthz, Prometheus /metrics, /config (secrets redacted),
// and, only with admin.debug_endpoints, test hooks. Served by uWebSockets.js on the main thread.
import { loadUws, type UwsResponse } from './uws.js';

export interface AdminReply { status: number; contentType: string; body: string }
export interface AdminHandlers {
  healthz(): AdminReply;
  metrics(): AdminReply;
  config(): AdminReply;
  /** Present only when debug endpoints are on. */
  crashWorker?(index: number): AdminReply;
}
export interface AdminServer { host: string; port: number; close(): void }

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 202: 'Accepted', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' };

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
  app.any('/*', (res) => send(res, { status: 404, contentType: 'text/plain', body: 'not found\n' }));
  return new Promise((resolve, reject) => {
    app.listen(host, port, (token) => {
      if (!token) { reject(new Error(`admin: cannot listen on ${listen}`)); return; }
      resolve({
        host,
        port: uws.us_socket_local_port(token),
        close: () => { uws.us_listen_socket_close(token); app.close?.(); },
      });
    });
  });
}
