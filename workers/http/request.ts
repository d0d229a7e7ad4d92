// From a parsed request head to an Exchange on a route: Host → edge (the host table of this port),
// target → normalised path → route, and the upstream header set (X-Forwarded-*, mTLS headers).
import type { BodyFraming, CompiledRoute } from './forward.js';
import type { ConnectionInfo, EdgeResponse, Exchange, ExchangeVars, HeaderList } from './exchange.js';
import type { RouteTable } from './routes.js';
import { normalizePath, splitTarget } from '../../core/http/path.js';
import { upstreamHeaders, firstHeader } from './headers.js';
import { mtlsUpstreamHeaders } from './mtls-headers.js';
import { EDGE_ERRORS } from './errors.js';

export interface RequestStart {
  method: string;
  /** Request-target as received (HTTP/2: :path). */
  target: string;
  version: '1.0' | '1.1' | '2';
  /** Lower-case names. HTTP/2 engines put :authority in as `host`. */
  headers: HeaderList;
  /** The Upgrade protocol of an HTTP/1.1 upgrade request, else null. */
  upgrade: string | null;
  framing: BodyFraming;
}

export interface CompiledHttpEdge {
  index: number;
  id: string;
  slot: number;
  routes: RouteTable<CompiledRoute>;
}

/** What one client connection serves: its facts, and how a Host finds an edge. */
export interface HttpSite {
  conn: ConnectionInfo;
  proto: 'http' | 'https';
  /** The edge for a Host (lower case, no port); null when none on this port; 'misdirected' when another certificate's. */
  edgeFor(host: string): CompiledHttpEdge | null | 'misdirected';
}

export type Routed = { x: Exchange; route: CompiledRoute | null } | { answer: EdgeResponse };

class HttpExchange implements Exchange {
  upstreamHeaders: HeaderList = [];
  status = 0;
  responseHeaders: HeaderList = [];
  readonly vars: ExchangeVars = {};
  readonly startMs = Date.now();
  requestBodyBytes = 0;
  responseBodyBytes = 0;
  errorCode = '';
  // The transaction serving this exchange replaces it with the real reader.
  readBody: (maxBytes: number) => Promise<Buffer | null> = () => Promise.resolve(null);
  constructor(
    readonly conn: ConnectionInfo,
    readonly edgeId: string,
    readonly edgeSlot: number,
    readonly routeId: string,
    readonly method: string,
    readonly rawUrl: string,
    readonly path: string,
    readonly query: string,
    readonly host: string,
    readonly version: '1.0' | '1.1' | '2',
    readonly requestHeaders: HeaderList,
  ) {}
}

/** Host header value → lower-case hostname without port (IPv6 brackets kept off). */
export function hostOnly(value: string): string {
  let host = value.trim().toLowerCase();
  if (host.startsWith('[')) { const end = host.indexOf(']'); return end < 0 ? host : host.slice(1, end); }
  const colon = host.indexOf(':');
  if (colon >= 0) host = host.slice(0, colon);
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

function countHeader(headers: HeaderList, name: string): number {
  let n = 0;
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) n++;
  return n;
}

export function routeRequest(site: HttpSite, start: RequestStart): Routed {
  const hosts = countHeader(start.headers, 'host');
  if (hosts > 1 || (hosts === 0 && start.version === '1.1')) return { answer: EDGE_ERRORS.badRequest };
  const hostHeader = firstHeader(start.headers, 'host');
  const host = hostHeader === undefined ? site.conn.serverName : hostOnly(hostHeader);
  const edge = site.edgeFor(host);
  if (edge === null) return { answer: EDGE_ERRORS.noEndpoint };
  if (edge === 'misdirected') return { answer: EDGE_ERRORS.misdirected };
  const split = splitTarget(start.target);
  const path = split === null ? null : normalizePath(split.path);
  if (split === null || path === null || path === '*') return { answer: EDGE_ERRORS.badRequest };
  const route = edge.routes.find(path) ?? null;
  const x = new HttpExchange(site.conn, edge.id, edge.slot, route?.spec.id ?? '', start.method, start.target, path, split.query, host, start.version, start.headers);
  x.upstreamHeaders = upstreamHeaders(start.headers, { clientIp: site.conn.clientIp, proto: site.proto, host: hostHeader ?? host, upgrade: start.upgrade });
  if (hostHeader === undefined) x.upstreamHeaders.unshift('host', host); // HTTP/1.0 without Host
  if (site.conn.clientCert !== null) for (const h of mtlsUpstreamHeaders(site.conn.clientCert)) x.upstreamHeaders.push(h);
  return { x, route };
}
