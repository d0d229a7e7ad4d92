// Clients for fault-injection tests: every request settles (never rejects, never hangs past its
// timeout) and says how it ended and how long it took, so a test can assert "no request left hanging".
import https from 'node:https';
import http2 from 'node:http2';
import { lookupLoopback } from '../http.js';

export interface Outcome {
  /** 0 when no response head came. */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The response ended as framed (all promised bytes / final chunk / END_STREAM without reset). */
  complete: boolean;
  /** What went wrong on the client's side, if anything (error message, 'aborted', RST code). */
  error: string | null;
  /** Milliseconds from sending to settling. */
  ms: number;
  /** The request was sent on a reused keep-alive connection. */
  reused: boolean;
}

export interface H1Options {
  port: number;
  host: string;
  ca: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  /** Body written in 64 KiB pieces (with backpressure). */
  body?: Buffer;
  agent?: https.Agent | false;
  timeoutMs?: number;
  /** Called when the response head arrives (e.g. to make the origin fail mid-body now). */
  onHead?: () => void;
}

export function h1(o: H1Options): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    let status = 0;
    let headers: Outcome['headers'] = {};
    const chunks: Buffer[] = [];
    let complete = false;
    let error: string | null = null;
    const req = https.request({
      host: o.host, port: o.port, servername: o.host, lookup: lookupLoopback, ca: o.ca,
      method: o.method ?? 'GET', path: o.path, headers: o.headers, agent: o.agent ?? false,
    });
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ status, headers, body: Buffer.concat(chunks), complete: complete && error === null, error, ms: Date.now() - started, reused: req.reusedSocket });
    };
    const timer = setTimeout(() => { error = `no settle within ${o.timeoutMs ?? 15_000} ms`; req.destroy(); settle(); }, o.timeoutMs ?? 15_000);
    req.on('error', (err) => { error ??= err.message; settle(); });
    req.on('response', (res) => {
      status = res.statusCode ?? 0;
      headers = res.headers;
      o.onHead?.();
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => { error ??= err.message; });
      res.on('aborted', () => { error ??= 'aborted'; });
      res.on('end', () => { complete = res.complete; settle(); });
      res.on('close', () => { if (!res.complete) error ??= 'closed before the end'; settle(); });
    });
    void (async () => {
      if (o.body === undefined) { req.end(); return; }
      for (let i = 0; i < o.body.length && !req.destroyed; i += 64 * 1024) {
        if (!req.write(o.body.subarray(i, i + 64 * 1024))) {
          await new Promise<void>((r) => { req.once('drain', r); req.once('close', r); });
        }
      }
      if (!req.destroyed) req.end();
    })();
  });
}

/** One request on an HTTP/2 session; settles on stream close or at the timeout. */
export function h2(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, opts: { onHead?: () => void; timeoutMs?: number } = {}): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const stream = session.request(headers, { endStream: true });
    const chunks: Buffer[] = [];
    let status = 0;
    let responseHeaders: Outcome['headers'] = {};
    let ended = false;
    let error: string | null = null;
    const timer = setTimeout(() => { error = `no settle within ${opts.timeoutMs ?? 15_000} ms`; stream.close(); }, opts.timeoutMs ?? 15_000);
    stream.on('response', (h) => { responseHeaders = h; status = Number(h[':status']); opts.onHead?.(); });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => { ended = true; });
    stream.on('error', (err) => { error ??= err.message; });
    stream.on('close', () => {
      clearTimeout(timer);
      const rst = stream.rstCode ?? 0;
      if (rst !== 0) error ??= `RST_STREAM ${rst}`;
      resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks), complete: ended && rst === 0 && error === null, error, ms: Date.now() - started, reused: false });
    });
  });
}
