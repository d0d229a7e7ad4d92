// The daemon: owns the listeners, the worker pool, generations, reload and drain.
//   start → publish generation 1 → open listeners → admin → ready
//   SIGHUP / config file change → load + check → build generation N+1 → open new listeners →
//     install on every worker → swap the acceptor's tables → retarget/close listeners.
//     A config that fails to load is refused with its problems; the old generation keeps serving.
//   SIGTERM / SIGINT → stop accepting → wait for open connections up to drain_timeout → exit.
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { loadNative, type NativeAddon } from './native/index.js';
import { loadConfigFile, type LoadedConfig } from './config/load.js';
import { ConfigError } from './config/errors.js';
import { redactConfig } from './config/redact.js';
import { buildGeneration } from './generation/build.js';
import type { GenerationSpec } from './generation/spec.js';
import { Counters, createCounterBuffer, SlotMap, MAX_BACKENDS, MAX_EDGES } from './tables/counters.js';
import { Breakers, createBreakerBuffer, MAX_BREAKERS } from './tables/breakers.js';
import { createSharedStoreBuffer } from './tables/shared-store.js';
import { WorkerPool } from './dispatch/worker-pool.js';
import { WorkerRuntime } from '../workers/runtime.js';
import { Acceptor } from './acceptor/acceptor.js';
import { Listeners } from './acceptor/listeners.js';
import { acceptCapable } from './acceptor/native-listener.js';
import { EventSink } from './events/sink.js';
import { EventHub } from './events/hub.js';
import { daemonInspectionSource } from './admin/inspect/daemon-source.js';
import { startAdminServer, type AdminServer } from './admin/server.js';
import { openDaemonEventApi } from './api/daemon-wiring.js';
import { wireEventRouter, type RouterWiring } from './events/router-wiring.js';
import type { EventApi } from './api/index.js';
import { renderMetrics } from './admin/metrics.js';
import { TunnelSessions } from './tunnel/sessions.js';
import { log, errorFields } from './log.js';
import { generateRootKey, parseRootKey } from '../workers/http/auth/keys.js';

export interface DaemonOptions {
  loaded: LoadedConfig;
  /** Path to reload from on SIGHUP / file change; null for an embedded config (no reload). */
  configPath: string | null;
  /** Install SIGHUP/SIGTERM/SIGINT handlers and watch the config file (the CLI does; embedders may not). */
  handleSignals?: boolean;
}

export interface ReloadResult { ok: boolean; generation: number; problems?: string[] }

export class Daemon {
  private loaded: LoadedConfig;
  private generation = 0;
  private readonly counters = new Counters(createCounterBuffer());
  // Circuit breakers outlive generations (a reload must not reset a tripped breaker).
  private readonly breakerBuffer = createBreakerBuffer();
  private readonly breakers = new Breakers(this.breakerBuffer);
  // Identity-module state every worker must see (session tokens, the SAML replay set); outlives generations.
  private readonly sharedStoreBuffer = createSharedStoreBuffer();
  private readonly slots = {
    edges: new SlotMap(MAX_EDGES, 'edge'),
    backends: new SlotMap(MAX_BACKENDS, 'backend'),
    breakers: new SlotMap(MAX_BREAKERS, 'circuit breaker (edge/route)'),
  };
  private readonly native: NativeAddon | null;
  private readonly pool: WorkerPool | null;
  private readonly local: WorkerRuntime | null;
  private readonly sink: EventSink;
  /** Every event batch passes here: to the sink, the subscription router and the inspection page. */
  readonly events: EventHub;
  /** Agent sessions, from the legs the workers report. */
  readonly tunnelSessions: TunnelSessions;
  private readonly acceptor: Acceptor;
  private readonly listeners: Listeners;
  private admin: AdminServer | null = null;
  readonly eventApi: EventApi | null;
  /** Subscriptions → destinations; `eventRouter.stats()` for /metrics. */
  readonly eventRouter: RouterWiring;
  private watcher: FSWatcher | null = null;
  private readonly reloads = { ok: 0, failed: 0 };
  private reloading: Promise<ReloadResult> | null = null;
  private lastFileHash = '';
  private stopping: Promise<void> | null = null;

  private constructor(private readonly opts: DaemonOptions) {
    this.loaded = opts.loaded;
    const config = opts.loaded.config;
    // EDGEPLANE_DISABLE_NATIVE=1 forces the degraded mode (tests, and operators ruling out the addon).
    const nativeLoad = process.env.EDGEPLANE_DISABLE_NATIVE === '1'
      ? { addon: null, error: 'disabled by EDGEPLANE_DISABLE_NATIVE=1' }
      : loadNative();
    this.native = nativeLoad.addon;
    if (this.native === null) {
      log.warn(`native addon not loaded: ${nativeLoad.error}; running degraded: connections are handled on the main thread, no worker pool (see native-notes.md)`);
    }
    this.sink = new EventSink(config.events?.file ?? null);
    this.events = new EventHub(this.sink);
    // Event Subscriptions API: durable store in admin.state_dir, audit events into the event output.
    this.eventApi = openDaemonEventApi(() => this.loaded, (line) => this.events.publish(line + '\n', 1));
    // Event subscriptions: routes every hub batch; rebuilt on API changes and reloads (core/events/router-wiring.ts).
    this.eventRouter = wireEventRouter({ hub: this.events, api: this.eventApi, sink: this.sink, current: () => this.loaded });
    const onEvents = (data: string, count: number): void => this.events.publish(data, count);
    this.tunnelSessions = new TunnelSessions((line) => this.events.publish(line + '\n', 1));
    const tunnelSessions = this.tunnelSessions;
    const native = this.native;
    // One key for the identity modules' cookies, made here once so that every worker (and a restarted
    // one) opens every session. Configured, it also survives restarts; a reload cannot change it.
    const authRootKey = config.auth_cookie_key === undefined ? generateRootKey() : parseRootKey(config.auth_cookie_key);
    this.pool = native === null ? null : new WorkerPool({
      size: config.workers,
      counters: this.counters,
      breakerBuffer: this.breakerBuffer,
      sharedStoreBuffer: this.sharedStoreBuffer,
      closeFd: (fd) => { try { native.close(fd); } catch (err) { log.warn('close of an unadopted fd failed', { fd, ...errorFields(err) }); } },
      onEvents,
      authRootKey,
      onTunnelLeg: (report) => tunnelSessions.onLeg(report),
      onWorkerExit: (index) => tunnelSessions.dropWorker(index),
    });
    this.local = native === null
      ? new WorkerRuntime(this.counters, 0, this.breakerBuffer, onEvents, authRootKey, this.sharedStoreBuffer, { workerCount: 1, report: (report) => tunnelSessions.onLeg(report) })
      : null;
    this.acceptor = new Acceptor({
      counters: this.counters,
      native: this.native,
      pool: this.pool,
      local: this.local,
      emitEvent: (line) => this.events.publish(line + '\n', 1),
    });
    // Native accept (no net.Socket per connection) when the addon has it and a worker pool serves.
    const accept = this.pool !== null && process.env.EDGEPLANE_DISABLE_NATIVE_ACCEPT !== '1' ? acceptCapable(this.native) : null;
    this.listeners = new Listeners(
      (plan, socket) => this.acceptor.onConnection(plan, socket),
      accept === null ? null : { addon: accept, onFd: (plan, fd, ra, rp, la, lp) => this.acceptor.onAcceptedFd(plan, fd, ra, rp, la, lp) },
    );
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    const daemon = new Daemon(opts);
    await daemon.boot();
    return daemon;
  }

  get currentGeneration(): number { return this.generation; }
  get degraded(): boolean { return this.native === null; }
  listenerAddresses() { return this.listeners.addresses(); }
  get adminAddress(): string | null { return this.admin === null ? null : `${this.admin.host}:${this.admin.port}`; }

  private async boot(): Promise<void> {
    const built = buildGeneration(this.loaded, 1, this.slots);
    await this.install(built.spec);
    if (this.pool !== null) await this.pool.start();
    await this.listeners.openNew(built.listeners);
    await this.listeners.retarget(built.listeners);
    const admin = this.loaded.config.admin;
    if (admin?.listen) this.admin = await this.startAdmin(admin.listen, admin.debug_endpoints === true);
    if (this.opts.handleSignals) this.handleSignals();
    if (this.opts.configPath !== null) this.lastFileHash = this.hashFile(this.opts.configPath);
    log.info('ready', {
      generation: this.generation,
      workers: this.pool?.size ?? 0,
      degraded: this.degraded,
      listeners: this.listeners.addresses(),
      admin: this.adminAddress,
    });
  }

  private async install(spec: GenerationSpec): Promise<void> {
    if (this.pool !== null) await this.pool.publish(spec);
    else this.local!.install(spec);
    const config = this.loaded.config;
    this.acceptor.setGeneration(spec, { peekTimeoutMs: config.peek_timeout * 1000, maxHelloBytes: config.max_client_hello_bytes });
    // only now may workers drop older generations: handoffs accepted during publish carry them
    if (this.pool !== null) this.pool.retire(spec.generation);
    else this.local!.retire(spec.generation);
    this.generation = spec.generation;
    this.counters.generation = spec.generation;
  }

  /** Re-reads the config file; swaps it in atomically if valid, else keeps serving the old one. */
  reload(trigger: string): Promise<ReloadResult> {
    if (this.opts.configPath === null) return Promise.resolve({ ok: false, generation: this.generation, problems: ['embedded config: nothing to reload'] });
    // Reloads are serialised: a trigger during a reload queues one more run afterwards.
    const run = async (): Promise<ReloadResult> => {
      const path = this.opts.configPath!;
      let loaded: LoadedConfig;
      try {
        loaded = loadConfigFile(path);
      } catch (err) {
        this.reloads.failed++;
        const problems = err instanceof ConfigError ? err.problems.map((p) => `${p.path}: ${p.reason}`) : [(err as Error).message];
        log.error('config reload refused; still serving the previous generation', { trigger, generation: this.generation, problems });
        return { ok: false, generation: this.generation, problems };
      }
      try {
        const previous = this.loaded;
        const built = buildGeneration(loaded, this.generation + 1, this.slots);
        await this.listeners.openNew(built.listeners);
        this.loaded = loaded;
        try {
          await this.install(built.spec);
        } catch (err) {
          this.loaded = previous;
          throw err;
        }
        await this.listeners.retarget(built.listeners);
        this.lastFileHash = this.hashFile(path);
        this.reloads.ok++;
        if (loaded.config.workers !== previous.config.workers) log.warn('workers changed in the config; the pool size applies at the next restart');
        log.info('config reloaded', { trigger, generation: this.generation, listeners: this.listeners.addresses() });
        return { ok: true, generation: this.generation };
      } catch (err) {
        this.reloads.failed++;
        log.error('config reload failed; still serving the previous generation', { trigger, generation: this.generation, ...errorFields(err) });
        return { ok: false, generation: this.generation, problems: [(err as Error).message] };
      }
    };
    const next = (this.reloading ?? Promise.resolve()).then(run, run);
    this.reloading = next;
    return next;
  }

  /** Stops accepting, lets open connections finish up to drain_timeout, then stops everything. */
  shutdown(signal: string): Promise<void> {
    if (this.stopping !== null) return this.stopping;
    this.stopping = (async () => {
      const deadlineMs = this.loaded.config.drain_timeout * 1000;
      this.watcher?.close();
      await this.listeners.closeAll();
      // Logged once the listeners are closed, so "draining" means no new connection is accepted.
      log.info('draining', { signal, deadline_s: this.loaded.config.drain_timeout });
      let drained: boolean;
      if (this.pool !== null) drained = await this.pool.drain(deadlineMs);
      else {
        let timer: NodeJS.Timeout | undefined;
        drained = await Promise.race([
          this.local!.drain().then(() => true),
          new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), deadlineMs); }),
        ]);
        clearTimeout(timer);
        this.local!.events.flush();
      }
      log.info(drained ? 'drained' : 'drain deadline reached; closing remaining connections', { signal });
      this.local?.tunnels.closeAll('edge stopping');
      await this.pool?.stop();
      this.admin?.close();
      this.eventApi?.close();
      await this.eventRouter.close();
      await this.sink.close();
    })();
    return this.stopping;
  }

  private startAdmin(listen: string, debug: boolean): Promise<AdminServer> {
    const json = (status: number, body: unknown) => ({ status, contentType: 'application/json', body: JSON.stringify(body, null, 2) + '\n' });
    // read at each scrape/snapshot: a reload may add or drop tunnel_group backends
    const tunnelGroups = () => this.loaded.config.backends.flatMap((b) => (b.type === 'tunnel_group' ? [{ backend: b.id, labels: b.labels }] : []));
    return startAdminServer(listen, {
      healthz: () => json(this.stopping === null ? 200 : 503, {
        status: this.stopping === null ? 'ok' : 'draining',
        generation: this.generation,
        degraded: this.degraded,
        workers: this.pool?.stats().map((w) => ({ index: w.index, ready: w.ready, active: w.active })) ?? [],
      }),
      metrics: () => ({
        status: 200,
        contentType: 'text/plain; version=0.0.4',
        body: renderMetrics({
          counters: this.counters,
          edgeSlots: this.slots.edges,
          breakers: this.breakers,
          breakerSlots: this.slots.breakers,
          workers: this.pool?.stats() ?? [{ index: 0, threadId: 0, ready: true, active: this.counters.workerActive(0), handled: this.counters.workerHandled(0), restarts: 0 }],
          accepted: this.acceptor.accepted,
          refusals: this.acceptor.refusals,
          generation: this.generation,
          reloads: this.reloads,
          events: { written: this.sink.written, dropped: this.sink.dropped },
          destinations: this.eventRouter.stats(),
          nativeLoaded: !this.degraded,
          tunnels: { sessions: this.tunnelSessions.list(), groups: tunnelGroups(), started: this.tunnelSessions.started, stopped: this.tunnelSessions.stopped },
        }),
      }),
      config: () => json(200, { generation: this.generation, config: redactConfig(this.loaded) }),
      crashWorker: debug && this.pool !== null
        ? (index) => (this.pool!.crash(index) ? json(202, { crashing: index }) : json(404, { error: `no worker ${index}` }))
        : undefined,
      api: this.eventApi === null ? undefined : (req) => this.eventApi!.handle(req),
      inspection: daemonInspectionSource({
        events: this.events,
        breakers: this.breakers,
        breakerSlots: () => this.slots.breakers.entries(),
        workers: () => (this.pool?.stats() ?? [{ index: 0, active: this.counters.workerActive(0), handled: this.counters.workerHandled(0) }])
          .map((w) => ({ worker: w.index, active: w.active, handled: Number(w.handled) })),
        tunnels: () => ({ sessions: this.tunnelSessions.list(), groups: tunnelGroups() }),
      }),
    });
  }

  private handleSignals(): void {
    process.on('SIGHUP', () => void this.reload('SIGHUP'));
    const stop = (signal: string) => () => void this.shutdown(signal).then(() => process.exit(0));
    process.once('SIGTERM', stop('SIGTERM'));
    process.once('SIGINT', stop('SIGINT'));
    const path = this.opts.configPath;
    if (path === null) return;
    // Watch the directory: editors and config managers replace the file rather than write it.
    let debounce: NodeJS.Timeout | null = null;
    try {
      this.watcher = watch(dirname(path), (_event, name) => {
        if (name !== null && name !== basename(path)) return;
        if (debounce !== null) clearTimeout(debounce);
        debounce = setTimeout(() => {
          debounce = null;
          const hash = this.hashFile(path);
          if (hash !== '' && hash !== this.lastFileHash) void this.reload('file change');
        }, 200);
      });
      this.watcher.on('error', (err) => log.warn('config file watch failed; SIGHUP still reloads', errorFields(err)));
    } catch (err) {
      log.warn('cannot watch the config file; SIGHUP still reloads', errorFields(err));
    }
  }

  private hashFile(path: string): string {
    try { return createHash('sha256').update(readFileSync(path)).digest('hex'); } catch { return ''; }
  }
}
