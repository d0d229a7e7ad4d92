// The per-thread state that serves connections: installed generations (pinned by the connections
// that started on them), the event batcher and the counters. A worker thread runs one of these;
// in degraded mode (no native addon) the main thread runs one itself.
import type net from 'node:net';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { GenerationSpec } from '../core/generation/spec.js';
import { WorkerGauge, type Counters } from '../core/tables/counters.js';
import { serializeTcpConnectionClosed } from '../core/events/serializers.js';
import { EventBatcher } from './event-batcher.js';
import { serveConnection, relayConnection, edgeOf, type ConnectionEnv } from './connection.js';
import type { RelayAddon } from './splice-pipe.js';
import type { Handoff } from './handoff.js';
import { Breakers } from '../core/tables/breakers.js';
import { createHttpWorkerState, servePlainHttp, connectionInfo } from './http/serve.js';
import { publishExchange } from './http/publish.js';
import { drainHttp1, retireHttp1 } from './http/h1.js';
import { drainHttp2, retireHttp2 } from './http/h2.js';
import { createAuthWorkerContext } from './http/auth/flow.js';
import { generateRootKey } from './http/auth/keys.js';
import { TUNNEL_HOSTPORT } from './handoff.js';
import { TunnelServer } from './tunnel/leg-server.js';
import type { LegReport } from './tunnel/leg.js';
import { agentLegs } from './tunnel/agent-legs.js';

/** Where this runtime's agent legs are reported, and how many legs a session should hold (one per worker). */
export interface TunnelOptions { workerCount: number; report: (report: LegReport) => void }

interface Installed { spec: GenerationSpec; pins: number }

/** How often a worker stores its load (event-loop utilisation, upstream pools, event drops) into its counter slot. */
const LOAD_SAMPLE_MS = 1000;

export class WorkerRuntime {
  private readonly generations = new Map<number, Installed>();
  private newest = -1;
  // Generations below this are no longer handed out by the acceptor. Until it says so, a superseded
  // generation stays: connections accepted while a reload is being published still carry it.
  private retiredBelow = -1;
  private active = 0;
  private readonly env: ConnectionEnv;
  readonly events: EventBatcher;
  private idleWaiters: Array<() => void> = [];
  private lastLoop: EventLoopUtilization = performance.eventLoopUtilization();
  private reportedDrops = 0;
  readonly tunnels: TunnelServer;

  /**
   * `authRootKey`: the daemon's key for the identity modules' cookies, the same in every worker so that
   * any worker opens any session. Without one (benchmarks) this runtime makes its own.
   * `sharedStoreBuffer`: the daemon's shared store (session tokens, SAML replay set); without it that state is per thread.
   */
  constructor(readonly counters: Counters, readonly workerIndex: number, breakerBuffer: SharedArrayBuffer, deliverEvents: (data: string, count: number) => void, authRootKey?: Uint8Array, sharedStoreBuffer?: SharedArrayBuffer, tunnel: TunnelOptions = { workerCount: 1, report: () => {} }) {
    this.events = new EventBatcher(deliverEvents);
    const events = this.events;
    this.env = {
      counters,
      http: createHttpWorkerState(counters, new Breakers(breakerBuffer), (x, spec, scheme, tx) => publishExchange(events, x, spec, scheme, tx), createAuthWorkerContext(authRootKey ?? generateRootKey(), sharedStoreBuffer), workerIndex, sharedStoreBuffer),
      workerIndex,
      emitClosed: (event, spec) => this.events.add(serializeTcpConnectionClosed(event, spec.accountId)),
    };
    this.tunnels = new TunnelServer(workerIndex, tunnel.workerCount, tunnel.report);
    // A leg that goes away takes its keep-alive upstream connections with it.
    agentLegs.onRemoved((endpoint) => this.env.http.pools.remove(endpoint));
    // Sampled here, read by the main thread at scrape time: no message per sample.
    setInterval(() => this.sampleLoad(), LOAD_SAMPLE_MS).unref();
  }

  private sampleLoad(): void {
    const { counters, workerIndex } = this;
    const loop = performance.eventLoopUtilization(this.lastLoop);
    this.lastLoop = performance.eventLoopUtilization();
    counters.setWorkerGauge(workerIndex, WorkerGauge.EventLoopUtilisationPpm, Math.round(loop.utilization * 1e6));
    counters.addWorkerEventDrops(workerIndex, this.events.dropped - this.reportedDrops);
    this.reportedDrops = this.events.dropped;
    // Upstream pools are per endpoint; the newest generation's endpoints are the ones in use.
    const spec = this.generations.get(this.newest)?.spec;
    let open = 0;
    let idle = 0;
    if (spec !== undefined && spec.edges.some((e) => e.type === 'https')) {
      const seen = new Set<string>();
      for (const backend of spec.backends) {
        if (backend.kind !== 'endpoints') continue;
        for (const endpoint of backend.endpoints) {
          const key = `${endpoint.host}:${endpoint.port}:${endpoint.tls}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const pool = this.env.http.pools.get(endpoint);
          open += pool.openCount;
          idle += pool.idleCount;
        }
      }
    }
    counters.setWorkerGauge(workerIndex, WorkerGauge.UpstreamOpen, open);
    counters.setWorkerGauge(workerIndex, WorkerGauge.UpstreamIdle, idle);
  }

  get activeConnections(): number { return this.active; }
  get installedGenerations(): number[] { return [...this.generations.keys()]; }

  install(spec: GenerationSpec): void {
    this.generations.set(spec.generation, { spec, pins: 0 });
    this.newest = Math.max(this.newest, spec.generation);
    if (spec.generation === this.newest) this.tunnels.revalidate(spec);
    this.collect();
  }

  /**
   * The acceptor hands out nothing older than `below` any more. HTTP connections still served by an
   * older generation are asked to finish (HTTP/1.1: connection: close on their next response;
   * HTTP/2: GOAWAY), so their clients reconnect onto the new config and the old one can be dropped.
   * tcp/tls byte pipes cannot move: they keep their generation until they end.
   */
  retire(below: number): void {
    this.retiredBelow = Math.max(this.retiredBelow, below);
    this.env.http.retiredBelow = this.retiredBelow;
    const superseded = new Set<GenerationSpec>();
    for (const [generation, installed] of this.generations) {
      if (generation < this.retiredBelow && generation !== this.newest && installed.pins > 0) superseded.add(installed.spec);
    }
    if (superseded.size > 0) { retireHttp1(superseded); retireHttp2(superseded); }
    this.collect();
  }

  /** True when this handoff's edge only moves bytes (no TLS termination), so the relay can serve it. */
  relayable(h: Handoff): boolean {
    const installed = this.generations.get(h.generation);
    const edge = installed === undefined ? undefined : edgeOf(h, installed.spec);
    return edge !== undefined && !edge.terminate && !edge.viaAgents;
  }

  /** Serves a connection on the generation it was accepted under. */
  serve(socket: net.Socket, h: Handoff): void {
    const installed = this.begin(h);
    if (installed === undefined) { socket.destroy(); this.end(installed); return; }
    if (h.hostport === TUNNEL_HOSTPORT) {
      // An agent leg lives as long as the agent: it pins no generation and does not hold up a drain.
      installed.pins--;
      this.end(undefined);
      this.tunnels.accept(socket, h, installed.spec, () => {});
      return;
    }
    if (h.hostport < 0) {
      // The cleartext HTTP listener: no edge until a Host header names one.
      const spec = installed.spec;
      socket.once('close', () => this.end(installed));
      servePlainHttp(this.env.http, { socket, spec, mode: spec.http.plainMode, conn: connectionInfo(h, null, null), onClose: () => socket.destroy() });
      return;
    }
    serveConnection(socket, h, installed.spec, this.env, () => this.end(installed));
  }

  /** Serves a bare fd through the native relay (see relayable). */
  relay(addon: RelayAddon, fd: number, h: Handoff): void {
    const installed = this.begin(h);
    if (installed === undefined) { try { addon.close(fd); } catch { /* gone */ } this.end(installed); return; }
    relayConnection(addon, fd, h, installed.spec, this.env, () => this.end(installed));
  }

  private begin(h: Handoff): Installed | undefined {
    const installed = this.generations.get(h.generation);
    this.active++;
    this.counters.countWorkerHandled(this.workerIndex);
    if (installed !== undefined) installed.pins++;
    return installed;
  }

  private end(installed: Installed | undefined): void {
    this.active--;
    this.counters.addWorkerActive(this.workerIndex, -1);
    if (installed !== undefined) { installed.pins--; this.collect(); }
    if (this.active === 0) this.notifyIdle();
  }

  /** Starts a drain: HTTP connections close when idle (keep-alive would hold them open otherwise). */
  drain(): Promise<void> {
    drainHttp1();
    drainHttp2();
    return this.whenIdle();
  }

  /** Resolves once no connection is open (drain). */
  whenIdle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
    this.events.flush();
  }

  // Old generations go once nothing pins them; their SharedArrayBuffers are then unreferenced here.
  private collect(): void {
    for (const [generation, installed] of this.generations) {
      if (generation < this.retiredBelow && generation !== this.newest && installed.pins === 0) this.generations.delete(generation);
    }
  }
}
