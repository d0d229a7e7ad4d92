// The main thread's part of every connection: classify it by listener (tcp edge, or SNI after a
// peek), apply the IP restriction that can be decided before a worker sees a byte, then hand it to
// a worker (or, degraded, serve it here). Refusals close the connection, as ngrok does on L4 edges.
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { NativeAddon } from '../native/index.js';
import type { GenerationSpec, ListenerPlan } from '../generation/spec.js';
import { HostTable } from '../tables/host-table.js';
import { IpTable } from '../tables/ip-table.js';
import { EdgeField, type Counters } from '../tables/counters.js';
import type { WorkerPool } from '../dispatch/worker-pool.js';
import type { WorkerRuntime } from '../../workers/runtime.js';
import { TUNNEL_HOSTPORT, type Handoff } from '../../workers/handoff.js';
import { TUNNEL_ALPN } from '../tunnel/protocol.js';
import { serializeTcpConnectionClosed } from '../events/serializers.js';
import { peekFd, peekSocket, type PeekOutcome } from './peek.js';
import { log } from '../log.js';
import { RateLimitedWarning } from '../log-rate.js';

export type RefusalReason = 'max_connections' | 'no_sni' | 'unknown_host' | 'not_tls' | 'malformed' | 'timeout' | 'closed' | 'error' | 'ip_blocked' | 'no_worker' | 'no_fd';

export interface AcceptorSettings {
  peekTimeoutMs: number;
  maxHelloBytes: number;
  /** Connections open at once (peeking here plus dispatched to workers) beyond which new ones are closed. */
  maxConnections: number;
  /** Worker slots whose open connections count toward maxConnections. */
  workers: number;
}

export interface AcceptorDeps {
  counters: Counters;
  native: NativeAddon | null;
  pool: WorkerPool | null;
  local: WorkerRuntime | null;
  emitEvent: (line: string) => void;
}

interface Tables { spec: GenerationSpec; hosts: HostTable; ips: IpTable }

const unmapped = (address: string | undefined): string =>
  address === undefined ? '' : address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;

export class Acceptor {
  private tables: Tables | null = null;
  readonly refusals = new Map<RefusalReason, number>();
  private settings: AcceptorSettings = { peekTimeoutMs: 10_000, maxHelloBytes: 16_384, maxConnections: Infinity, workers: 1 };
  accepted = 0;
  /** Connections held here while their ClientHello is peeked (not yet any worker's). */
  peeking = 0;
  private readonly overLimitWarning = new RateLimitedWarning(10_000);

  constructor(private readonly deps: AcceptorDeps) {}

  setGeneration(spec: GenerationSpec, settings: AcceptorSettings): void {
    this.tables = { spec, hosts: new HostTable(spec.hostTable), ips: new IpTable(spec.ipTable) };
    this.settings = settings;
  }

  get maxConnections(): number { return this.settings.maxConnections; }

  /** Connections open now: those being peeked plus those the workers hold. */
  openConnections(): number {
    return this.peeking + this.deps.counters.activeConnections(this.settings.workers);
  }

  /** max_connections: true (and counted) when a new connection must be closed unread. */
  private atCapacity(): boolean {
    if (this.openConnections() < this.settings.maxConnections) return false;
    this.refusals.set('max_connections', (this.refusals.get('max_connections') ?? 0) + 1);
    this.overLimitWarning.note(() => ({ msg: 'max_connections reached; closing new connections', fields: { max_connections: this.settings.maxConnections } }));
    return true;
  }

  onConnection(plan: ListenerPlan, socket: net.Socket): void {
    this.accepted++;
    socket.on('error', () => { /* reported by whoever owns it next; never crash the acceptor */ });
    if (this.atCapacity()) { socket.destroy(); return; }
    const h = this.handoffFor(plan, unmapped(socket.remoteAddress), socket.remotePort ?? 0, unmapped(socket.localAddress), socket.localPort ?? plan.port);
    const tables = this.tables;
    if (h === null || tables === null) { socket.destroy(); return; }
    if (plan.kind === 'http') { this.handOff(socket, h, tables); return; } // cleartext HTTP: routed per request by Host
    if (plan.kind === 'tunnel') h.hostport = TUNNEL_HOSTPORT;
    if (plan.kind === 'tcp') {
      if (!this.admit(tables, h)) { this.refuse('ip_blocked', h, 0, tables); socket.destroy(); return; }
      this.handOff(socket, h, tables);
      return;
    }
    if (this.deps.native === null) {
      this.peeking++;
      peekSocket(socket, this.peekOptions(), (outcome, seen) => { this.peeking--; this.onPeeked(tables, h, outcome, seen, -1, socket); });
      return;
    }
    const fd = this.takeFd(socket);
    if (fd >= 0) this.peekAndRoute(tables, h, fd);
  }

  /** A connection accepted natively (acceptLoop): a bare fd, no net.Socket ever made for it. */
  onAcceptedFd(plan: ListenerPlan, fd: number, remoteAddress: string, remotePort: number, localAddress: string, localPort: number): void {
    this.accepted++;
    if (this.atCapacity()) { this.closeFd(fd); return; }
    const h = this.handoffFor(plan, remoteAddress, remotePort, localAddress, localPort);
    const tables = this.tables;
    if (h === null || tables === null) { this.closeFd(fd); return; }
    if (plan.kind === 'http') { this.dispatchFd(fd, h, tables); return; }
    if (plan.kind === 'tunnel') h.hostport = TUNNEL_HOSTPORT;
    if (plan.kind === 'tcp') {
      if (!this.admit(tables, h)) { this.refuse('ip_blocked', h, 0, tables); this.closeFd(fd); return; }
      this.dispatchFd(fd, h, tables);
      return;
    }
    this.peekAndRoute(tables, h, fd);
  }

  private handoffFor(plan: ListenerPlan, clientIp: string, clientPort: number, serverIp: string, serverPort: number): Handoff | null {
    const tables = this.tables;
    if (tables === null) return null;
    return {
      fd: -1, seq: 0, generation: tables.spec.generation, hostport: plan.hostport,
      clientIp, clientPort, serverIp, serverPort, serverName: '', ja4: '',
      startMs: Date.now(), sentAt: 0, ipDecision: '', preferredWorker: -1,
    };
  }

  private peekAndRoute(tables: Tables, h: Handoff, fd: number): void {
    this.peeking++;
    peekFd(this.deps.native!, fd, this.peekOptions(), (outcome, seen) => { this.peeking--; this.onPeeked(tables, h, outcome, seen, fd, null); });
  }

  private onPeeked(peekedUnder: Tables, h: Handoff, outcome: PeekOutcome, seen: number, fd: number, socket: net.Socket | null): void {
    // A reload may have landed while the hello was read: route on the generation in force now, which
    // the workers surely still hold (an older one may already be gone, and the connection with it).
    const tables = this.tables ?? peekedUnder;
    h.generation = tables.spec.generation;
    const refusal = h.hostport === TUNNEL_HOSTPORT ? this.placeLeg(h, outcome) : this.route(tables, h, outcome);
    if (refusal !== null) {
      if (h.hostport === TUNNEL_HOSTPORT) this.refusals.set(refusal, (this.refusals.get(refusal) ?? 0) + 1);
      else this.refuse(refusal, h, seen, tables);
      if (fd >= 0) this.closeFd(fd); else socket?.destroy();
      return;
    }
    if (fd >= 0) this.dispatchFd(fd, h, tables);
    else this.handOff(socket!, h, tables);
  }

  /**
   * Agent connections: a session wants one leg on every worker. Its first leg offers ALPN
   * "edgeplane-tunnel" and goes anywhere; the others offer "edgeplane-tunnel-w<i>" and go to worker i,
   * so the main thread places legs without seeing inside TLS.
   */
  private placeLeg(h: Handoff, outcome: PeekOutcome): RefusalReason | null {
    if (outcome.kind !== 'hello') return outcome.kind === 'incomplete' ? 'malformed' : outcome.kind;
    h.ja4 = outcome.ja4;
    h.serverName = outcome.serverName ?? '';
    h.preferredWorker = -1;
    for (const protocol of outcome.alpn) {
      if (!protocol.startsWith(`${TUNNEL_ALPN}-w`)) continue;
      const index = Number(protocol.slice(TUNNEL_ALPN.length + 2));
      if (Number.isInteger(index) && index >= 0) h.preferredWorker = index;
      break;
    }
    return null;
  }

  private peekOptions() {
    return { timeoutMs: this.settings.peekTimeoutMs, maxBytes: this.settings.maxHelloBytes };
  }

  /** Resolves the peek to a hostport (filling h) or gives the reason to refuse. */
  private route(tables: Tables, h: Handoff, outcome: PeekOutcome): RefusalReason | null {
    switch (outcome.kind) {
      case 'hello': break;
      case 'incomplete': return 'malformed';
      case 'not_tls': return 'not_tls';
      case 'malformed': return 'malformed';
      case 'timeout': return 'timeout';
      case 'closed': return 'closed';
      case 'error': return 'error';
    }
    h.ja4 = outcome.ja4;
    if (outcome.serverName === null) return 'no_sni'; // spec §1.5: TLS edges need SNI (ERR_NGROK_3003)
    h.serverName = outcome.serverName;
    const index = tables.hosts.lookup(h.serverPort, outcome.serverName);
    if (index < 0) return 'unknown_host';
    h.hostport = index;
    return this.admit(tables, h) ? null : 'ip_blocked';
  }

  /** IP restriction (spec §1.6): only the L4 source address counts. */
  private admit(tables: Tables, h: Handoff): boolean {
    const edge = tables.spec.edges[tables.spec.hostports[h.hostport]!.edge]!;
    if (edge.ipPolicies === null) return true;
    const { allowed } = tables.ips.evaluate(edge.ipPolicies, h.clientIp);
    h.ipDecision = allowed ? 'allow' : 'block';
    return allowed;
  }

  private refuse(reason: RefusalReason, h: Handoff, bytesIn: number, tables: Tables): void {
    this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
    const hostport = h.hostport >= 0 ? tables.spec.hostports[h.hostport] : undefined;
    const edge = hostport === undefined ? undefined : tables.spec.edges[hostport.edge];
    if (edge !== undefined) this.deps.counters.addEdge(edge.slot, EdgeField.Refused, 1);
    log.debug('connection refused', { reason, client_ip: h.clientIp, server_name: h.serverName, server_port: h.serverPort });
    this.deps.emitEvent(serializeTcpConnectionClosed({
      conn: {
        bytes_in: bytesIn, bytes_out: 0, client_ip: h.clientIp, server_ip: h.serverIp,
        server_name: h.serverName, server_port: h.serverPort,
        start_ts: new Date(h.startMs).toISOString(), end_ts: new Date().toISOString(),
      },
      ip_policy: { decision: h.ipDecision },
      ja4_fingerprint: h.ja4,
      edge: { id: edge?.id ?? '' },
    }, tables.spec.accountId));
  }

  /** Hands over a socket that has not been dup'd yet (tcp edges, or degraded mode). */
  private handOff(socket: net.Socket, h: Handoff, tables: Tables): void {
    if (this.deps.native === null || this.deps.pool === null) {
      const local = this.deps.local!;
      this.deps.counters.addWorkerActive(local.workerIndex, 1);
      local.serve(socket, h);
      return;
    }
    const fd = this.takeFd(socket);
    if (fd >= 0) this.dispatchFd(fd, h, tables);
  }

  /** Duplicates the socket's fd and lets go of the main thread's handle (the dup keeps the connection). */
  private takeFd(socket: net.Socket): number {
    const handleFd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (handleFd === undefined || handleFd < 0) {
      this.refusals.set('no_fd', (this.refusals.get('no_fd') ?? 0) + 1);
      socket.destroy();
      return -1;
    }
    let fd: number;
    try {
      fd = this.deps.native!.dup(handleFd);
    } catch (err) {
      log.warn('dup failed; closing connection', { error: (err as Error).message });
      socket.destroy();
      return -1;
    }
    socket.destroy();
    return fd;
  }

  private dispatchFd(fd: number, h: Handoff, tables: Tables): void {
    h.fd = fd;
    h.sentAt = performance.timeOrigin + performance.now();
    if (!this.deps.pool!.dispatch(h)) {
      this.refuse('no_worker', h, 0, tables);
      this.closeFd(fd);
    }
  }

  private closeFd(fd: number): void {
    try { this.deps.native!.close(fd); } catch (err) { log.warn('close of a peeked fd failed', { fd, error: (err as Error).message }); }
  }
}
