// HTTP/1.1 heads: the real engine (workers/http/h1.ts serveHttp1 over llhttp) on an in-memory
// socket, with the real router (request.ts routeRequest) and a route table of three routes whose
// modules answer at the edge (no upstream): '/' answers at once, '/upload' reads the body first,
// '/echo' answers with a request header's value. Input: byte 0 picks how the bytes are cut into
// reads (0 = one read), the rest is what the client sends, followed by its FIN.
//
// Checks: the engine never throws, calls onClose exactly once and closes within the hang budget;
// what it writes parses as HTTP/1.1 responses (llhttp in response mode); there are never more final
// responses than requests it routed (+1 for a refusal of a bad request), and none after a close.
import { Duplex } from 'node:stream';
import type net from 'node:net';
import { serveHttp1 } from '../../../workers/http/h1.js';
import { HTTPParser, kOnHeadersComplete, kOnMessageComplete, isParserError } from '../../../workers/http/llhttp.js';
import { routeRequest, type CompiledHttpEdge, type HttpSite, type RequestStart } from '../../../workers/http/request.js';
import { buildRouteTable } from '../../../workers/http/routes.js';
import type { CompiledRoute, ForwardContext } from '../../../workers/http/forward.js';
import type { ConnectionInfo, EdgeResponse, Exchange } from '../../../workers/http/exchange.js';
import type { RouteSpec, HttpSettingsSpec } from '../../../core/generation/spec.js';
import type { CompiledPipeline } from '../../../workers/http/pipeline.js';
import { check, type FuzzTarget } from '../target.js';

export const CONN: ConnectionInfo = {
  clientIp: '203.0.113.7', clientPort: 50000, serverIp: '127.0.0.1', serverPort: 443, serverName: 'app.example.test',
  startMs: Date.now(), tlsVersion: 'TLSv1.3', tlsCipher: 'TLS_AES_128_GCM_SHA256', ja4: '', clientCert: null,
};

export const SETTINGS: HttpSettingsSpec = {
  maxHeaderBytes: 4096, maxUrlBytes: 1024, headerTimeoutMs: 10_000, keepAliveTimeoutMs: 10_000, maxConcurrentStreams: 100,
  upstreamResponseHeaderTimeoutMs: 1000, upstreamIdleTimeoutMs: 1000, maxIdleUpstreamConnections: 0, clientWriteTimeoutMs: 1000, plainMode: 'serve',
};

function pipeline(request: (x: Exchange) => EdgeResponse | Promise<EdgeResponse>): CompiledPipeline {
  return { modules: [], request, responseHead() {}, responseBody: () => [], complete() {} };
}

function route(id: string, matchType: RouteSpec['matchType'], match: string, answer: (x: Exchange) => EdgeResponse | Promise<EdgeResponse>): CompiledRoute {
  return { spec: { id, matchType, match, backend: -1, maxRequestBodyBytes: 2048, modules: {} } as RouteSpec, pipeline: pipeline(answer) };
}

const ROUTES: CompiledRoute[] = [
  route('rt_root', 'path_prefix', '/', () => ({ status: 200, errorCode: '', body: 'hello\n' })),
  route('rt_upload', 'path_prefix', '/upload', async (x) => {
    const body = await x.readBody(1024);
    return body === null ? { status: 413, errorCode: 'TOO_LARGE', body: 'too large\n' } : { status: 200, errorCode: '', body: `got ${body.length}\n` };
  }),
  route('rt_echo', 'exact_path', '/echo', (x) => {
    const values: string[] = [];
    for (let i = 0; i < x.requestHeaders.length; i += 2) if (x.requestHeaders[i] === 'x-echo') values.push(x.requestHeaders[i + 1]!);
    return { status: 200, errorCode: '', headers: values.flatMap((v) => ['x-echo', v]), body: values.join('|') };
  }),
];

const EDGE: CompiledHttpEdge = { index: 0, id: 'edghts_fuzz', slot: 0, routes: buildRouteTable(ROUTES, (r) => r.spec) };
export const SITE: HttpSite = {
  conn: CONN,
  proto: 'https',
  edgeFor: (host) => (host === 'app.example.test' || host === 'localhost' ? EDGE : host === 'other.example.test' ? 'misdirected' : null),
};
export const CTX = { backends: [], responseHeaderTimeoutMs: 1000, onComplete() {} } as unknown as ForwardContext;

/** A socket-shaped Duplex: what the engine writes is collected; reads are pushed by the test. */
class MemorySocket extends Duplex {
  readonly written: Buffer[] = [];
  writesAfterEnd = 0;
  private ended = false;
  constructor() { super({ allowHalfOpen: true }); }
  setNoDelay(): this { return this; }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.ended) this.writesAfterEnd++;
    this.written.push(chunk);
    cb();
  }
  override _final(cb: () => void): void { this.ended = true; cb(); }
}

interface ParsedResponses { finals: number[]; interim: number; error: string | null; trailing: number }

/** Parses what the engine wrote, as a client would (HEAD answers have no body). */
function parseResponses(bytes: Buffer, methods: string[]): ParsedResponses {
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.RESPONSE, {}, 0, 0);
  const finals: number[] = [];
  let interim = 0;
  parser[kOnHeadersComplete] = (_maj: number, _min: number, _h: string[], _m: number, _u: string, status: number) => {
    if (status < 200) { interim++; return 0; }
    finals.push(status);
    return methods[finals.length - 1] === 'HEAD' ? 1 : 0;
  };
  parser[kOnMessageComplete] = () => {};
  const result = parser.execute(bytes);
  let error: string | null = null;
  if (isParserError(result)) error = `${result.code}: ${result.reason}`;
  parser.close();
  return { finals, interim, error, trailing: 0 };
}

async function serveOnce(data: Buffer): Promise<void> {
  const cut = data.length > 0 ? data[0]! : 0;
  const stream = data.subarray(1);
  const socket = new MemorySocket();
  const methods: string[] = [];
  let closes = 0;
  const closed = new Promise<void>((resolve) => {
    serveHttp1(socket as unknown as net.Socket, {
      conn: CONN,
      settings: SETTINGS,
      ctx: CTX,
      route: (start: RequestStart) => {
        methods.push(start.method);
        return routeRequest(SITE, start);
      },
      onClose: () => { closes++; resolve(); },
    });
  });
  if (cut === 0) socket.push(stream);
  else for (let i = 0; i < stream.length; i += cut) socket.push(stream.subarray(i, i + cut));
  socket.push(null);
  await closed;
  // Anything the engine still does after close would show here (a second onClose, late writes).
  await new Promise((r) => setImmediate(r));
  check(closes === 1, `onClose called ${closes} times`);
  const output = Buffer.concat(socket.written);
  if (process.env.EDGEPLANE_FUZZ_VERBOSE === '1') console.log(`routed: ${methods.join(' ')}\n${JSON.stringify(output.toString('latin1'))}`);
  check(socket.writesAfterEnd === 0, `${socket.writesAfterEnd} writes after the engine ended the connection`);
  const parsed = parseResponses(output, methods);
  check(parsed.error === null, `the engine wrote an invalid HTTP response stream (${parsed.error}): ${JSON.stringify(output.toString('latin1').slice(0, 300))}`);
  check(parsed.finals.length <= methods.length + 1, `${parsed.finals.length} responses for ${methods.length} routed requests`);
  check(parsed.finals.every((s) => s >= 200 && s <= 599), `odd status in ${parsed.finals.join(',')}`);
}

const target: FuzzTarget = {
  name: 'http1',
  maxLen: 8192,
  dictionary: [
    '\r\n', '\r\n\r\n', ': ', 'GET ', 'POST ', 'HEAD ', 'OPTIONS ', 'CONNECT ', ' HTTP/1.1\r\n', ' HTTP/1.0\r\n', 'HTTP/1.1',
    'Host: app.example.test\r\n', 'Host: ', 'host', 'other.example.test', 'Transfer-Encoding', 'chunked', 'Transfer-Encoding: chunked\r\n',
    'Content-Length', 'Content-Length: 5\r\n', 'Connection: close\r\n', 'Connection: keep-alive\r\n', 'Connection: upgrade\r\n',
    'Upgrade: websocket\r\n', 'Expect: 100-continue\r\n', 'x-echo: ', '/upload', '/echo', '/../', '%2e', '?', '#', '*',
    '0\r\n\r\n', '5\r\nhello\r\n', ';ext=1', 'gzip, chunked', ',', ' ', '\t', '\n', '\r', '\0',
  ],
  run: async (data: Buffer): Promise<void> => serveOnce(data),
};

export default target;
