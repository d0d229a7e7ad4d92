// Shared by the destination tests: a real local HTTP receiver whose behaviour each test scripts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_DATA_PROTECTION, type DataProtection, type EventDestination, type EventTarget } from '../../../../core/events/model.js';

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

/** Answers each request with what `respond` returns; 'hang' never answers (a stalled receiver). */
export type Responder = (request: Received, index: number) => { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface Receiver {
  url: string;
  received: Received[];
  hanging: http.ServerResponse[];
  setResponder(respond: Responder): void;
  close(): Promise<void>;
}

export async function startReceiver(respond: Responder): Promise<Receiver> {
  let responder = respond;
  const received: Received[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
      received.push(request);
      const answer = responder(request, received.length - 1);
      if (answer === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    hanging,
    setResponder(next) { responder = next; },
    close: () => new Promise<void>((resolve) => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export function destination(target: EventTarget, protection: Partial<DataProtection> = {}, format: 'json' | 'protobuf' = 'json'): EventDestination {
  return {
    id: 'ed_test',
    created_at: new Date().toISOString(),
    description: '',
    metadata: '',
    format,
    target,
    data_protection: { ...DEFAULT_DATA_PROTECTION, ...protection },
    origin: 'api',
  };
}

export function jsonEvents(count: number, from = 0): string[] {
  const out: string[] = [];
  for (let i = from; i < from + count; i++) {
    out.push(JSON.stringify({ event_id: `ev_${i}`, event_type: 'http_request_complete.v0', object: { n: i, note: 'quote " and \\ and é' } }));
  }
  return out;
}

export async function waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
