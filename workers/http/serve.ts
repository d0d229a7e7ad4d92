// Entry points of the HTTP engines: an https edge connection after its TLS handshake (ALPN picks
// HTTP/2 or HTTP/1.1), and a connection from the cleartext listener (serve or redirect to HTTPS).
import type net from 'node:net';
import type tls from 'node:tls';
import type { GenerationSpec } from '../../core/generation/spec.js';
import { EdgeField, type Counters } from '../../core/tables/counters.js';
import type { Breakers } from '../../core/tables/breakers.js';
import type { ClientCertificateInfo, ConnectionInfo, Exchange } from './exchange.js';
import { compiledHttp, type CompiledHttpGeneration } from './compile.js';
import type { ForwardContext, Transaction } from './forward.js';
import { routeRequest, type CompiledHttpEdge, type HttpSite, type RequestStart, type Routed } from './request.js';
import { serveHttp1 } from './h1.js';
import { serveHttp2 } from './h2.js';
import { UpstreamPools } from './upstream.js';
import { reasonPhrase } from './errors.js';
import type { AuthWorkerContext } from './auth/flow.js';
import { SharedStore } from '../../core/tables/shared-store.js';
import { acmeChallengeAnswer } from '../../core/acme/challenge.js';

/** What a worker keeps across connections for HTTP. */
export interface HttpWorkerState {
  counters: Counters;
  /** This thread's worker slot in the counters. */
  workerIndex: number;
  breakers: Breakers;
  pools: UpstreamPools;
  /** Identity modules: the daemon's root key and this worker's caches. */
  auth: AuthWorkerContext;
  /** Publishes one finished exchange (event, metrics). */
  completed(x: Exchange, spec: GenerationSpec, scheme: 'http' | 'https', tx: Transaction): void;
  /** The daemon's process-wide store, where the ACME manager puts HTTP-01 answers; null: none answered. */
  challenges: SharedStore | null;
  /**
   * Generations below this are superseded (the runtime's retire). A connection that starts on one
   * anyway (its TLS handshake spanned the reload) serves one exchange and closes, like those retired.
   */
  retiredBelow: number;
}

/** `sharedStore`: the daemon's shared store buffer; the cleartext listener answers ACME HTTP-01 challenges from it. */
export function createHttpWorkerState(counters: Counters, breakers: Breakers, completed: HttpWorkerState['completed'], auth: AuthWorkerContext, workerIndex = 0, sharedStore?: SharedArrayBuffer): HttpWorkerState {
  const challenges = sharedStore === undefined ? null : new SharedStore(sharedStore);
  return { counters, workerIndex, breakers, pools: new UpstreamPools({ connectTimeoutMs: 10_000, idleTimeoutMs: 30_000, maxIdle: 128 }), completed, auth, challenges, retiredBelow: -1 };
}

// One ForwardContext per generation and scheme, made on the generation's first connection (not per
// connection); the pools take the generation's settings then.
const contexts = new WeakMap<GenerationSpec, Partial<Record<'http' | 'https', ForwardContext>>>();

function forwardContext(state: HttpWorkerState, spec: GenerationSpec, scheme: 'http' | 'https'): ForwardContext {
  let bySpec = contexts.get(spec);
  if (bySpec === undefined) {
    bySpec = {};
    contexts.set(spec, bySpec);
    state.pools.configure({ connectTimeoutMs: spec.connectTimeoutMs, idleTimeoutMs: spec.http.upstreamIdleTimeoutMs, maxIdle: spec.http.maxIdleUpstreamConnections });
  }
  return (bySpec[scheme] ??= newForwardContext(state, spec, scheme));
}

function newForwardContext(state: HttpWorkerState, spec: GenerationSpec, scheme: 'http' | 'https'): ForwardContext {
  return {
    backends: spec.backends,
    counters: state.counters,
    pools: state.pools,
    responseHeaderTimeoutMs: spec.http.upstreamResponseHeaderTimeoutMs,
    clientWriteTimeoutMs: spec.http.clientWriteTimeoutMs,
    onComplete: (x, tx) => {
      const { counters } = state;
      counters.addEdge(x.edgeSlot, EdgeField.Requests, 1);
      if (x.errorCode !== '') counters.addEdge(x.edgeSlot, EdgeField.EdgeAnswered, 1);
      if (x.status >= 500) counters.addEdge(x.edgeSlot, EdgeField.Responses5xx, 1);
      const route = tx.routeSpec;
      // The backend counts only requests that went its way (not those a module answered first).
      const backend = route !== null && route.backend >= 0 && x.vars.backendId !== undefined ? spec.backends[route.backend] : undefined;
      counters.recordRequest({
        worker: state.workerIndex, routeSlot: route?.slot ?? -1, backendSlot: backend?.slot ?? -1,
        status: x.status, bytesIn: x.requestBodyBytes, bytesOut: x.responseBodyBytes, durationMs: Date.now() - x.startMs,
      });
      state.completed(x, spec, scheme, tx);
    },
  };
}

export interface HttpsConnection {
  socket: tls.TLSSocket;
  spec: GenerationSpec;
  /** The hostport the SNI chose. */
  hostport: number;
  conn: ConnectionInfo;
  onClose(): void;
}

/** Serves an https edge connection whose TLS handshake is done. */
export function serveHttps(state: HttpWorkerState, c: HttpsConnection): void {
  const gen = compiledHttp(c.spec, state.breakers, state.auth);
  const sniHostport = c.spec.hostports[c.hostport]!;
  const site: HttpSite = {
    conn: c.conn,
    proto: 'https',
    edgeFor(host) {
      if (host === c.conn.serverName) return gen.edges.get(sniHostport.edge) ?? null;
      const index = gen.hosts.lookup(c.conn.serverPort, host);
      if (index < 0) return 'misdirected';
      const hostport = c.spec.hostports[index]!;
      // Another name on the same connection (HTTP/2 coalescing): only if the same certificate covers it.
      if (hostport.certificateId !== sniHostport.certificateId) return 'misdirected';
      return gen.edges.get(hostport.edge) ?? 'misdirected';
    },
  };
  const ctx = forwardContext(state, c.spec, 'https');
  const route = (start: RequestStart): Routed => routeRequest(site, start);
  const generation = c.spec;
  const retired = c.spec.generation < state.retiredBelow;
  if (c.socket.alpnProtocol === 'h2') serveHttp2(c.socket, { settings: c.spec.http, ctx, route, onClose: c.onClose, generation, retired });
  else serveHttp1(c.socket, { conn: c.conn, settings: c.spec.http, ctx, route, onClose: c.onClose, generation, retired });
}

export interface PlainConnection {
  socket: net.Socket;
  spec: GenerationSpec;
  mode: 'serve' | 'redirect';
  conn: ConnectionInfo;
  onClose(): void;
}

/** The https edge (and its port) serving a hostname, looked up over every https port of the generation. */
function httpsEdgeByName(gen: CompiledHttpGeneration, spec: GenerationSpec, host: string): { edge: CompiledHttpEdge; port: number } | null {
  for (const port of httpsPorts(spec)) {
    const index = gen.hosts.lookup(port, host);
    if (index < 0) continue;
    const edge = gen.edges.get(spec.hostports[index]!.edge);
    if (edge !== undefined) return { edge, port };
  }
  return null;
}

const portsCache = new WeakMap<GenerationSpec, number[]>();
function httpsPorts(spec: GenerationSpec): number[] {
  let ports = portsCache.get(spec);
  if (ports === undefined) {
    const set = new Set<number>();
    for (const hp of spec.hostports) {
      if (spec.edges[hp.edge]?.type !== 'https') continue;
      const port = Number(hp.hostport.slice(hp.hostport.lastIndexOf(':') + 1));
      if (Number.isInteger(port)) set.add(port);
    }
    ports = [...set];
    portsCache.set(spec, ports);
  }
  return ports;
}

/** Serves a connection from the cleartext listener. */
export function servePlainHttp(state: HttpWorkerState, c: PlainConnection): void {
  const gen = compiledHttp(c.spec, state.breakers, state.auth);
  const ctx = forwardContext(state, c.spec, 'http');
  const site: HttpSite = { conn: c.conn, proto: 'http', edgeFor: (host) => httpsEdgeByName(gen, c.spec, host)?.edge ?? null };
  const route = (start: RequestStart): Routed => {
    // ACME HTTP-01 (RFC 8555 §8.3): answered before routing and the redirect, for any Host, since the
    // CA validates a name before any edge may serve it over HTTPS.
    if (state.challenges !== null && start.method === 'GET') {
      const keyAuthorization = acmeChallengeAnswer(state.challenges, start.target);
      if (keyAuthorization !== null) return { answer: { status: 200, errorCode: '', body: keyAuthorization } };
    }
    if (c.mode === 'serve') return routeRequest(site, start);
    // Redirect mode (spec §1.5: no plain-HTTP endpoint; HTTP is redirected to HTTPS).
    const routed = routeRequest(site, start);
    if ('answer' in routed) return routed;
    const found = httpsEdgeByName(gen, c.spec, routed.x.host)!;
    const authority = found.port === 443 ? routed.x.host : `${routed.x.host}:${found.port}`;
    const target = routed.x.query === '' ? routed.x.path : `${routed.x.path}?${routed.x.query}`;
    return { answer: { status: 308, errorCode: '', body: `${reasonPhrase(308)}: https://${authority}${target}\n`, headers: ['location', `https://${authority}${target}`] } };
  };
  serveHttp1(c.socket, { conn: c.conn, settings: c.spec.http, ctx, route, onClose: c.onClose, generation: c.spec, retired: c.spec.generation < state.retiredBelow });
}

/** ConnectionInfo for a connection, from the handoff and (for TLS) the handshake. */
export function connectionInfo(h: { clientIp: string; clientPort: number; serverIp: string; serverPort: number; serverName: string; startMs: number; ja4: string },
  tlsSocket: tls.TLSSocket | null, clientCert: ClientCertificateInfo | null): ConnectionInfo {
  return {
    clientIp: h.clientIp,
    clientPort: h.clientPort,
    serverIp: h.serverIp,
    serverPort: h.serverPort,
    serverName: h.serverName,
    startMs: h.startMs,
    tlsVersion: tlsSocket?.getProtocol() ?? '',
    tlsCipher: tlsSocket?.getCipher()?.standardName ?? '',
    ja4: h.ja4,
    clientCert,
  };
}
