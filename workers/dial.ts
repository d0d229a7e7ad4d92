// Picks an endpoint for one connection and dials it (spec §1.7): static_address and tunnel_group
// (round-robin per connection over a process-wide cursor), weighted (share ∝ weight), failover
// (the next child only when a dial fails, never after a connection is made).
import net from 'node:net';
import tls from 'node:tls';
import type { BackendSpec, EndpointSpec } from '../core/generation/spec.js';
import type { Counters } from '../core/tables/counters.js';
import type { StreamOpen } from '../core/tunnel/protocol.js';
import { agentLegs, isAgentEndpoint } from './tunnel/agent-legs.js';
import { RateLimitedWarning } from '../core/log-rate.js';

export class DialError extends Error {
  constructor(message: string, readonly code: string) { super(message); }
}

export interface DialContext {
  backends: readonly BackendSpec[];
  counters: Counters;
  connectTimeoutMs: number;
}

/** An endpoint to dial, or (HTTP only) a fixed response to give instead. */
export type PlanItem = EndpointSpec | Extract<BackendSpec, { kind: 'http_response' }>;

/**
 * What to try, in order, for one connection or request; advances the round-robin cursors once.
 * Failover children contribute their candidates one after another. http_response backends are
 * candidates only when `withResponses` (HTTP); the config check keeps them off tcp/tls edges.
 */
export function collectPlan(ctx: Pick<DialContext, 'backends' | 'counters'>, index: number, out: PlanItem[], withResponses: boolean, depth = 0): void {
  const backend = ctx.backends[index];
  if (backend === undefined || depth > 16) return;
  switch (backend.kind) {
    case 'endpoints': {
      // Static tunnels first, then the online agent sessions whose labels match (issue 8).
      const agents = backend.agentLabels === null ? null : agentLegs.matching(backend.agentLabels);
      const fixed = backend.endpoints.length;
      const n = fixed + (agents?.length ?? 0);
      if (n === 0) return;
      const i = ctx.counters.nextRoundRobin(backend.slot) % n;
      out.push(i < fixed ? backend.endpoints[i]! : agents![i - fixed]!);
      return;
    }
    case 'weighted': {
      if (backend.totalWeight <= 0) return;
      let point = ctx.counters.nextRoundRobin(backend.slot) % backend.totalWeight;
      for (let i = 0; i < backend.children.length; i++) {
        point -= backend.weights[i]!;
        if (point < 0) return collectPlan(ctx, backend.children[i]!, out, withResponses, depth + 1);
      }
      return;
    }
    case 'failover':
      for (const child of backend.children) collectPlan(ctx, child, out, withResponses, depth + 1);
      return;
    case 'http_response':
      if (withResponses) out.push(backend);
  }
}

/**
 * Connects to one endpoint (TLS when the endpoint says so). An agent endpoint opens a stream on its
 * session instead; `open` tells the agent what the stream carries.
 */
export function dialEndpoint(endpoint: EndpointSpec, timeoutMs: number, open?: Partial<StreamOpen>): Promise<net.Socket> {
  if (isAgentEndpoint(endpoint)) return endpoint.agent.openStream(open ?? {}, timeoutMs) as unknown as Promise<net.Socket>;
  return new Promise((resolve, reject) => {
    const options = { host: endpoint.host, port: endpoint.port, allowHalfOpen: true };
    const socket: net.Socket = endpoint.tls
      // Like ngrok's agent (upstream_tls_verify defaults to false): upstreams on private networks
      // mostly present self-signed certificates, so tls.enabled means encrypt, not authenticate.
      ? tls.connect({ ...options, servername: net.isIP(endpoint.host) ? undefined : endpoint.host, rejectUnauthorized: false })
      : net.connect(options);
    const ready = endpoint.tls ? 'secureConnect' : 'connect';
    const timer = setTimeout(() => fail(new DialError(`connect to ${endpoint.host}:${endpoint.port} timed out`, 'ETIMEDOUT')), timeoutMs);
    function fail(err: Error): void {
      clearTimeout(timer);
      noteDialFailure(endpoint, err);
      socket.removeListener(ready, done);
      socket.destroy();
      reject(err);
    }
    function done(): void {
      clearTimeout(timer);
      socket.removeListener('error', fail);
      resolve(socket);
    }
    socket.once(ready, done);
    socket.once('error', fail);
  });
}

/**
 * A failed dial (DNS, refused, timed out) is a warning, at most once per endpoint and error code per
 * 30 s per worker thread: an upstream that is down must be visible without a log line per request.
 */
const dialFailureWarning = new RateLimitedWarning(30_000);

function noteDialFailure(endpoint: EndpointSpec, err: Error): void {
  const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
  const where = `${endpoint.host}:${endpoint.port}`;
  dialFailureWarning.note(() => ({ msg: 'upstream dial failed', fields: { endpoint: where, code, error: err.message } }), `${where}:${code}`);
}

/** The endpoints to try for one connection, in order (advances the round-robin cursors once). */
export function dialPlan(ctx: DialContext, backendIndex: number): EndpointSpec[] {
  const list: PlanItem[] = [];
  collectPlan(ctx, backendIndex, list, false);
  return list as EndpointSpec[];
}

/** Resolves with a connected upstream socket, or rejects with DialError when every candidate failed. */
export async function dialBackend(ctx: DialContext, backendIndex: number, open?: Partial<StreamOpen>): Promise<{ socket: net.Socket; endpoint: EndpointSpec }> {
  const list = dialPlan(ctx, backendIndex);
  if (list.length === 0) throw new DialError('no online endpoint for the backend', 'NO_ENDPOINT');
  let last: unknown;
  for (const endpoint of list) {
    try {
      return { socket: await dialEndpoint(endpoint, ctx.connectTimeoutMs, open), endpoint };
    } catch (err) {
      last = err;
    }
  }
  throw last instanceof Error ? last : new DialError('dial failed', 'DIAL_FAILED');
}

