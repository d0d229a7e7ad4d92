// Issue 8 measurement: which transport should carry tunnel-agent sessions?
//  (a) node:http2 over TLS with swapped roles: the agent dials the edge over TLS, then the agent runs the h2
//      *server* and the edge the h2 *client* on that socket, so the edge opens streams toward the agent
//      (what real tunnels do; plain HTTP/2 only lets the dialler open streams).
//  (b) a small framed multiplexer over a WebSocket: uWebSockets.js (TLS) on the edge, the `ws` client on the
//      agent; frames [stream id u32][type u8][payload] with per-stream credit windows and WINDOW_UPDATE frames.
// The edge runs in this process, the agent in a forked child, so each side's CPU is its own process's.
// Usage: node dist/bench/tunnel-transport.js [--quick] [--json FILE]
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { loadUws, type Uws, type UwsApp, type UwsWebSocket } from '../core/admin/uws.js';

const WINDOW = 256 * 1024; // per-stream receive window, the same for both transports
const SESSION_WINDOW = 16 * 1024 * 1024; // h2 connection window: well above the sum of stream windows
const CHUNK = 64 * 1024;
const BULK = Buffer.alloc(CHUNK, 'b');
const SMALL_REQ = Buffer.alloc(100, 'q');
const SMALL_RES = Buffer.alloc(100, 'r');
// Request metadata every stream carries (h2: as headers; mux: JSON in OPEN, parsed by the agent), so the
// mux is not measured without the per-stream header work a real tunnel does.
const REQ_HEADERS = {
  host: 'app.example.test', 'user-agent': 'bench/1.0', accept: '*/*', 'x-forwarded-for': '203.0.113.7',
  'x-request-id': '7f3c2a9e-1b4d-4c8e-9a6f-2d5e8b1c0a7f', 'content-type': 'application/octet-stream',
};
const STALL_CAP = 512 * 1024 * 1024; // a transport without flow control would otherwise fill memory

// ---------------------------------------------------------------- the framed multiplexer (prototype)
const OPEN = 1, DATA = 2, FIN = 3, WINDOW_UPDATE = 4, RESET = 5;

interface MuxStream {
  id: number;
  credit: number; // bytes we may still send
  unacked: number; // bytes consumed since our last WINDOW_UPDATE
  held: Buffer[]; // received while paused (bounded by WINDOW: the peer respects our credit)
  heldBytes: number;
  paused: boolean;
  closed: boolean;
  onData?: (chunk: Uint8Array) => void;
  onEnd?: () => void;
  onCredit?: () => void;
}

class Mux {
  private readonly streams = new Map<number, MuxStream>();
  private nextId = 1; // the edge opens odd ids; the agent never opens

  constructor(private readonly send: (frame: Uint8Array) => void,
    private readonly onOpen?: (s: MuxStream, payload: Buffer) => void) {}

  private frame(id: number, type: number, payload?: Uint8Array): void {
    const f = Buffer.allocUnsafe(5 + (payload?.length ?? 0));
    f.writeUInt32BE(id, 0);
    f[4] = type;
    if (payload) f.set(payload, 5);
    this.send(f);
  }

  private add(id: number): MuxStream {
    const s: MuxStream = { id, credit: WINDOW, unacked: 0, held: [], heldBytes: 0, paused: false, closed: false };
    this.streams.set(id, s);
    return s;
  }

  open(payload: Uint8Array): MuxStream {
    const s = this.add(this.nextId);
    this.nextId += 2;
    this.frame(s.id, OPEN, payload);
    return s;
  }

  /** Sends at most `credit` bytes; callers wait for onCredit when it is 0. */
  write(s: MuxStream, data: Uint8Array): void {
    if (data.length > s.credit) throw new Error(`stream ${s.id}: write of ${data.length} B over credit ${s.credit}`);
    s.credit -= data.length;
    this.frame(s.id, DATA, data);
  }

  end(s: MuxStream): void { this.frame(s.id, FIN); this.drop(s); }
  reset(s: MuxStream): void { this.frame(s.id, RESET); this.drop(s); }
  private drop(s: MuxStream): void { s.closed = true; this.streams.delete(s.id); }

  /** The consumer took `n` bytes: give the sender credit back once half a window has been used. */
  private consumed(s: MuxStream, n: number): void {
    s.unacked += n;
    if (s.unacked >= WINDOW / 2 && !s.closed) {
      const p = Buffer.allocUnsafe(4);
      p.writeUInt32BE(s.unacked, 0);
      s.unacked = 0;
      this.frame(s.id, WINDOW_UPDATE, p);
    }
  }

  onFrame(buf: Uint8Array): void {
    const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    const id = view.readUInt32BE(0);
    const type = view[4];
    const payload = view.subarray(5);
    if (type === OPEN) { this.onOpen?.(this.add(id), Buffer.from(payload)); return; }
    const s = this.streams.get(id);
    if (!s) return; // late frame for a stream already closed
    if (type === DATA) {
      if (s.paused) {
        if (s.heldBytes + payload.length > WINDOW) throw new Error(`stream ${id}: peer sent past its window`);
        s.held.push(Buffer.from(payload)); // uWS reuses the message buffer after this call
        s.heldBytes += payload.length;
      } else {
        s.onData?.(payload);
        this.consumed(s, payload.length);
      }
    } else if (type === FIN) { this.drop(s); s.onEnd?.(); }
    else if (type === RESET) { this.drop(s); }
    else if (type === WINDOW_UPDATE) { s.credit += view.readUInt32BE(5); s.onCredit?.(); }
  }
}

// ---------------------------------------------------------------- the agent (forked child)
type ToAgent = { type: 'dial'; transport: 'h2' | 'ws'; port: number } | { type: 'stats' } | { type: 'exit' };
interface AgentStats { type: 'stats'; user: number; system: number; stallSent: number }

let stallSent = 0;

function runAgent(): void {
  process.on('message', (m: ToAgent) => {
    if (m.type === 'dial') (m.transport === 'h2' ? dialH2 : dialWs)(m.port);
    else if (m.type === 'stats') {
      const u = process.cpuUsage();
      process.send!({ type: 'stats', user: u.user, system: u.system, stallSent } satisfies AgentStats);
    } else process.exit(0);
  });
}

function dialH2(port: number): void {
  const socket = tls.connect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false }, () => {
    // Roles swapped: the dialler serves h2 on the connection it opened.
    const server = http2.createServer({ settings: { initialWindowSize: WINDOW } });
    server.on('stream', (stream, headers) => {
      const what = String(headers[':path']).slice(1);
      stream.on('data', () => {}); // drain the request body
      stream.on('error', () => {});
      stream.respond({ ':status': 200, 'content-type': 'application/octet-stream' });
      if (what === 'small') { stream.end(SMALL_RES); return; }
      const stall = what === 'stall';
      let left = stall ? STALL_CAP : Number(what.split(':')[1]);
      const pump = (): void => {
        while (left > 0 && !stream.destroyed) {
          const n = Math.min(CHUNK, left);
          left -= n;
          if (stall) stallSent += n;
          if (!stream.write(BULK.subarray(0, n))) { stream.once('drain', pump); return; }
        }
        if (!stream.destroyed) stream.end();
      };
      pump();
    });
    server.emit('connection', socket);
  });
}

function dialWs(port: number): void {
  const ws = new WebSocket(`wss://127.0.0.1:${port}/tunnel`, { rejectUnauthorized: false, perMessageDeflate: false });
  // No socket-level backpressure check: what is in flight is bounded by the sum of stream credits.
  const mux = new Mux((f) => ws.send(f, { binary: true }), (s, payload) => {
    const nl = payload.indexOf(10);
    const meta = JSON.parse(payload.subarray(0, nl < 0 ? payload.length : nl).toString()) as { what: string };
    const what = meta.what;
    if (what === 'small') { mux.write(s, SMALL_RES); mux.end(s); return; }
    const stall = what === 'stall';
    let left = stall ? STALL_CAP : Number(what.split(':')[1]);
    const pump = (): void => {
      while (left > 0 && s.credit > 0 && !s.closed) {
        const n = Math.min(CHUNK, left, s.credit);
        left -= n;
        if (stall) stallSent += n;
        mux.write(s, BULK.subarray(0, n));
      }
      if (left === 0 && !s.closed) mux.end(s);
    };
    s.onCredit = pump;
    pump();
  });
  ws.on('message', (data: Buffer) => mux.onFrame(data));
  ws.on('error', (err) => { console.error(`agent ws: ${err.message}`); process.exit(1); });
}

// ---------------------------------------------------------------- the edge (this process)
interface EdgeTunnel {
  /** Opens a stream toward the agent; resolves with the response body length when it ends. */
  request(what: string): Promise<number>;
  /** Opens a stream whose response the edge never reads; the returned function cancels it. */
  stall(): () => void;
  close(): void;
}

class AgentProcess {
  private readonly child: ChildProcess;
  private waiting: ((s: AgentStats) => void)[] = [];
  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), ['--agent-role'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: AgentStats) => this.waiting.shift()?.(m));
  }
  dial(transport: 'h2' | 'ws', port: number): void { this.child.send({ type: 'dial', transport, port } satisfies ToAgent); }
  stats(): Promise<AgentStats> {
    return new Promise((resolve) => { this.waiting.push(resolve); this.child.send({ type: 'stats' } satisfies ToAgent); });
  }
  exit(): void { this.child.send({ type: 'exit' } satisfies ToAgent); }
}

async function h2Edge(certs: Certs, agent: AgentProcess): Promise<EdgeTunnel> {
  const server = tls.createServer({ key: readFileSync(certs.key), cert: readFileSync(certs.cert), ALPNProtocols: ['h2'] });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dialled = new Promise<tls.TLSSocket>((r) => server.once('secureConnection', r));
  agent.dial('h2', (server.address() as { port: number }).port);
  const socket = await dialled;
  const session = http2.connect('https://agent.tunnel', { createConnection: () => socket, settings: { initialWindowSize: WINDOW } });
  await new Promise<void>((r, j) => { session.once('connect', () => r()); session.once('error', j); });
  session.setLocalWindowSize(SESSION_WINDOW);
  return {
    request(what) {
      return new Promise((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': `/${what}`, ...REQ_HEADERS });
        let n = 0;
        req.on('data', (c: Buffer) => { n += c.length; });
        req.on('end', () => resolve(n));
        req.on('error', reject);
        req.end(what === 'small' ? SMALL_REQ : undefined);
      });
    },
    stall() {
      const req = session.request({ ':method': 'POST', ':path': '/stall' });
      req.on('error', () => {});
      req.end();
      req.pause(); // never read: node stops consuming, so no WINDOW_UPDATE goes back for this stream
      return () => req.close(http2.constants.NGHTTP2_CANCEL);
    },
    close() { session.destroy(); socket.destroy(); server.close(); },
  };
}

async function wsEdge(certs: Certs, agent: AgentProcess): Promise<EdgeTunnel> {
  const uws = loadUws() as Uws & { SSLApp(o: { key_file_name: string; cert_file_name: string }): UwsApp };
  let mux: Mux | undefined;
  let socket: UwsWebSocket<object> | undefined;
  let listenToken: unknown;
  const opened = new Promise<void>((resolve) => {
    const app = uws.SSLApp({ key_file_name: certs.key, cert_file_name: certs.cert });
    app.ws<object>('/tunnel', {
      maxPayloadLength: 1024 * 1024, maxBackpressure: 64 * 1024 * 1024, idleTimeout: 0, sendPingsAutomatically: false,
      open: (ws) => { socket = ws; mux = new Mux((f) => ws.send(f, true)); resolve(); },
      message: (_ws, msg) => mux!.onFrame(new Uint8Array(msg)),
    });
    app.listen('127.0.0.1', 0, (token) => { listenToken = token; agent.dial('ws', uws.us_socket_local_port(token)); });
  });
  await opened;
  return {
    request(what) {
      return new Promise((resolve) => {
        const meta = Buffer.from(`${JSON.stringify({ what, ...REQ_HEADERS })}\n`);
        const s = mux!.open(what === 'small' ? Buffer.concat([meta, SMALL_REQ]) : meta);
        let n = 0;
        s.onData = (c) => { n += c.length; };
        s.onEnd = () => resolve(n);
      });
    },
    stall() {
      const s = mux!.open(Buffer.from(JSON.stringify({ what: 'stall' })));
      s.paused = true;
      return () => mux!.reset(s);
    },
    close() { socket?.close(); uws.us_listen_socket_close(listenToken); },
  };
}

// ---------------------------------------------------------------- measurements
interface Cpu { edgeUs: number; agentUs: number }
async function cpuNow(agent: AgentProcess): Promise<Cpu> {
  const e = process.cpuUsage();
  const a = await agent.stats();
  return { edgeUs: e.user + e.system, agentUs: a.user + a.system };
}
const cpuDelta = (a: Cpu, b: Cpu): Cpu => ({ edgeUs: b.edgeUs - a.edgeUs, agentUs: b.agentUs - a.agentUs });

interface BulkResult { mbPerS: number; edgeUsPerMB: number; agentUsPerMB: number }
async function bulk(edge: EdgeTunnel, agent: AgentProcess, bytes: number, reps: number): Promise<BulkResult> {
  const rates: number[] = [];
  const c0 = await cpuNow(agent);
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const got = await edge.request(`bulk:${bytes}`);
    if (got !== bytes) throw new Error(`bulk: got ${got} B, expected ${bytes}`);
    rates.push(bytes / 1048576 / ((performance.now() - t0) / 1000));
  }
  const c = cpuDelta(c0, await cpuNow(agent));
  const mb = (bytes * reps) / 1048576;
  return { mbPerS: median(rates), edgeUsPerMB: c.edgeUs / mb, agentUsPerMB: c.agentUs / mb };
}

interface SmallResult { reqPerS: number; p50Ms: number; p99Ms: number; edgeUsPerReq: number; agentUsPerReq: number }
async function small(edge: EdgeTunnel, agent: AgentProcess, concurrency: number, ms: number): Promise<SmallResult> {
  const lat: number[] = [];
  const c0 = await cpuNow(agent);
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      if (await edge.request('small') !== SMALL_RES.length) throw new Error('small: wrong response length');
      lat.push(performance.now() - t);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  const c = cpuDelta(c0, await cpuNow(agent));
  lat.sort((a, b) => a - b);
  return { reqPerS: lat.length / secs, p50Ms: pct(lat, 50), p99Ms: pct(lat, 99), edgeUsPerReq: c.edgeUs / lat.length, agentUsPerReq: c.agentUs / lat.length };
}

interface HolResult { alone: SmallResult; withStall: SmallResult; bulkWithStallMBps: number; stalledStreamSentBytes: number }
async function hol(edge: EdgeTunnel, agent: AgentProcess, ms: number, bulkBytes: number): Promise<HolResult> {
  const alone = await small(edge, agent, 1, ms);
  const cancel = edge.stall();
  await sleep(300); // let the stalled stream use up its window
  const withStall = await small(edge, agent, 1, ms);
  const bulkWithStall = await bulk(edge, agent, bulkBytes, 1);
  const stalledStreamSentBytes = (await agent.stats()).stallSent;
  cancel();
  return { alone, withStall, bulkWithStallMBps: bulkWithStall.mbPerS, stalledStreamSentBytes };
}

interface TransportResult { name: string; bulk: BulkResult; small64: SmallResult; hol: HolResult }
async function measure(name: string, edge: EdgeTunnel, agent: AgentProcess, quick: boolean): Promise<TransportResult> {
  const ms = quick ? 1000 : 4000;
  await edge.request('small'); // warm-up
  await bulk(edge, agent, 8 * 1048576, 1);
  const b = await bulk(edge, agent, 64 * 1048576, quick ? 1 : 3);
  const s = await small(edge, agent, 64, ms);
  const h = await hol(edge, agent, ms, 16 * 1048576);
  return { name, bulk: b, small64: s, hol: h };
}

// ---------------------------------------------------------------- plumbing
interface Certs { dir: string; key: string; cert: string }
function makeCerts(): Certs {
  const dir = mkdtempSync(join(tmpdir(), 'tunnel-transport-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=edge.tunnel'], { stdio: 'ignore' });
  return { dir, key, cert };
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

function table(rs: TransportResult[]): string {
  const f = (n: number, d = 0): string => n.toFixed(d);
  const rows: [string, (r: TransportResult) => string][] = [
    ['bulk 64 MiB, one stream (MB/s, median)', (r) => f(r.bulk.mbPerS)],
    ['bulk CPU edge / agent (ms per MB)', (r) => `${f(r.bulk.edgeUsPerMB / 1000, 2)} / ${f(r.bulk.agentUsPerMB / 1000, 2)}`],
    ['64 streams small req/resp (req/s)', (r) => f(r.small64.reqPerS)],
    ['64 streams p50 / p99 (ms)', (r) => `${f(r.small64.p50Ms, 2)} / ${f(r.small64.p99Ms, 2)}`],
    ['small CPU edge / agent (µs per req)', (r) => `${f(r.small64.edgeUsPerReq)} / ${f(r.small64.agentUsPerReq)}`],
    ['HOL: other stream alone req/s, p99 ms', (r) => `${f(r.hol.alone.reqPerS)}, ${f(r.hol.alone.p99Ms, 3)}`],
    ['HOL: other stream w/ stalled req/s, p99 ms', (r) => `${f(r.hol.withStall.reqPerS)}, ${f(r.hol.withStall.p99Ms, 3)}`],
    ['HOL: bulk 16 MiB beside stalled (MB/s)', (r) => f(r.hol.bulkWithStallMBps)],
    ['HOL: bytes the stalled stream got sent', (r) => `${f(r.hol.stalledStreamSentBytes / 1024)} KiB`],
  ];
  const w = Math.max(...rows.map(([l]) => l.length));
  const lines = [`| ${'measure'.padEnd(w)} | ${rs.map((r) => r.name).join(' | ')} |`, `|${'-'.repeat(w + 2)}|${rs.map((r) => '-'.repeat(r.name.length + 2)).join('|')}|`];
  for (const [label, get] of rows) lines.push(`| ${label.padEnd(w)} | ${rs.map((r) => get(r).padEnd(r.name.length)).join(' | ')} |`);
  return lines.join('\n');
}

const HELP = `Usage: node dist/bench/tunnel-transport.js [--quick] [--json FILE]
Compares tunnel-session transports on loopback (edge here, agent in a forked child):
  h2 (swapped roles, TLS) vs a framed mux over a WebSocket (uWebSockets.js edge, ws agent, TLS).
  --quick      short phases (~1 s each) for a smoke run
  --json FILE  also write the results as JSON
  --help       this text`;

async function main(argv: string[]): Promise<number> {
  let quick = false;
  let jsonFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { console.log(HELP); return 0; }
    if (a === '--quick') quick = true;
    else if (a === '--json') {
      jsonFile = argv[++i];
      if (!jsonFile) { console.error('--json needs a file name'); return 2; }
    } else { console.error(`unknown option: ${a}\n\n${HELP}`); return 2; }
  }
  const certs = makeCerts();
  const results: TransportResult[] = [];
  try {
    for (const [name, make] of [['h2 (swapped roles)', h2Edge], ['ws mux (uWS + ws)', wsEdge]] as const) {
      const agent = new AgentProcess();
      const edge = await make(certs, agent);
      console.error(`measuring ${name} ...`);
      results.push(await measure(name, edge, agent, quick));
      edge.close();
      agent.exit();
    }
  } finally { rmSync(certs.dir, { recursive: true, force: true }); }
  console.log(table(results));
  if (jsonFile) {
    const meta = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavg: loadavg(), quick, window: WINDOW, sessionWindow: SESSION_WINDOW };
    writeFileSync(jsonFile, JSON.stringify({ meta, results }, null, 2));
  }
  return 0;
}

if (process.argv.includes('--agent-role')) runAgent();
else main(process.argv.slice(2)).then((code) => process.exit(code), (err: Error) => { console.error(`tunnel-transport: ${err.message}`); process.exit(1); });
