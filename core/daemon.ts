// The daemon: owns the listeners, the worker pool, generations, reload and drain.
//   start → publish generation 1 → open listeners → admin → ready
//   SIGHUP / config file change → load + check → build generation N+1 → open new listeners →
//     install on every worker → swap the acceptor's tables → retarget/close listeners.
//     A config that fails to load is refused with its problems; the old generation keeps serving.
//   SIGTERM / SIGINT → stop accepting → wait for open connections up to drain_timeout → exit.
import type { FSWatcher } from 'node:fs';
import { loadNative, type NativeAddon } from './native/index.js';
import { loadConfigFile, loadConfigObject, type LoadedConfig } from './config/load.js';
import { hashConfigFile, watchConfigFile } from './config/watch.js';
import { ConfigError, type ConfigProblem } from './config/errors.js';
import { pushedConfigToResume, writeDesiredState } from './control/desired-state.js';
import { stateDirFor } from './api/daemon-wiring.js';
import type { InspectionSnapshot, InspectionSource } from './admin/inspect/source.js';
import { ControlServerSlot } from './control/control-server-slot.js';
import { DaemonAcme } from './acme/daemon-acme.js';
import { acmeChallengeKey, encodeKeyAuthorization, ACME_CHALLENGE_TTL_MS } from './acme/challenge.js';
import type { AcmeManager, AcmeManagerOptions, CertificateManagementStatus } from './acme/manager.js';
import { configResourceRoutes } from './api/config-resources/index.js';
import { redactConfig } from './config/redact.js';
import { buildGeneration } from './generation/build.js';
import type { GenerationSpec } from './generation/spec.js';
import { Counters, createCounterBuffer, SlotMap, MAX_BACKENDS, MAX_EDGES } from './tables/counters.js';
import { Breakers, createBreakerBuffer, MAX_BREAKERS } from './tables/breakers.js';
import { createSharedStoreBuffer, SharedStore } from './tables/shared-store.js';
import { WorkerPool } from './dispatch/worker-pool.js';
import { WorkerRuntime } from '../workers/runtime.js';
import { defaultMaxConnections } from './acceptor/connection-limit.js';
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
import { processReading, type MetricsSnapshot } from './admin/metrics.js';
import { daemonAdminHandlers } from './admin/daemon-handlers.js';
import { TunnelSessions } from './tunnel/sessions.js';
import { log, errorFields } from './log.js';
import { generateRootKey, parseRootKey } from '../workers/http/auth/keys.js';

export interface DaemonOptions {
  loaded: LoadedConfig;
  /** Path to reload from on SIGHUP / file change; null for an embedded config (no reload). */
  configPath: string | null;
  /** Install SIGHUP/SIGTERM/SIGINT handlers and watch the config file (the CLI does; embedders may not). */
  handleSignals?: boolean;
  /** Workers build events even without an `events:` output (an embedding program listens to `events`). */
  collectEvents?: boolean;
  /** Options of the ACME manager (tests move its clock); false: no automatic certificates. */
  acme?: AcmeManagerOptions | false;
}

/** How one kind of apply names itself in the logs (operators and tests look for these lines). */
interface ApplyLogs { what: string; done: string }
const RELOAD_LOGS: ApplyLogs = { what: 'config reload', done: 'config reloaded' };
const PUSH_LOGS: ApplyLogs = { what: 'pushed config', done: 'pushed config applied' };
const CERTIFICATE_LOGS: ApplyLogs = { what: 'certificate install', done: 'managed certificates installed' };

export interface ReloadResult {
  ok: boolean;
  generation: number;
  /** "path: reason" lines (logs, the CLI). */
  problems?: string[];
  /** The same problems with their paths, for APIs. */
  details?: ConfigProblem[];
  /** Applied, but something around it failed (e.g. the pushed config could not be made durable). */
  warning?: string;
}

/** What a control plane watches: the generation, worker load, breakers, tunnel membership, route status counts. */
export interface DaemonStatus extends InspectionSnapshot {
  generation: number;
  degraded: boolean;
  /** Where the running config came from: 'file', 'embedded default', or the API that pushed it. */
  source: string;
  /** Automatic certificates: one entry per reserved domain with certificate_management_policy. */
  certificates: Array<{ reserved_domain_id: string; domain: string; status: CertificateManagementStatus | null }>;
}

export class Daemon {
  private loaded: LoadedConfig;
  private generation = 0;
  private readonly counters = new Counters(createCounterBuffer());
  // Circuit breakers outlive generations (a reload must not reset a tripped breaker).
  private readonly breakerBuffer = createBreakerBuffer();
  private readonly breakers = new Breakers(this.breakerBuffer);
  // Identity-module state every worker must see (session tokens, the SAML replay set); outlives generations.
  private readonly sharedStoreBuffer = createSharedStoreBuffer();
  /** The main thread's view of the shared store (ACME challenge answers the workers serve). */
  private readonly sharedStore = new SharedStore(this.sharedStoreBuffer);
  /** Certificates obtained at run time (ACME), by reserved domain: every generation built from now on uses them. */
  private managedCertificates: ReadonlyMap<string, { certPem: string; keyPem: string }> = new Map();
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
  /** The gRPC control-plane API (control.grpc_listen). */
  private readonly control = new ControlServerSlot();
  /** Obtains and renews certificates of reserved domains with certificate_management_policy (started on first need). */
  private readonly acme: DaemonAcme;
  readonly eventApi: EventApi | null;
  /** Subscriptions → destinations; `eventRouter.stats()` for /metrics. */
  readonly eventRouter: RouterWiring;
  private watcher: FSWatcher | null = null;
  private readonly reloads = { ok: 0, failed: 0 };
  private reloading: Promise<ReloadResult> | null = null;
  private lastFileHash = '';
  /** The config file bytes a reload last tried (installed or refused). */
  private lastReloadedHash = '';
  private stopping: Promise<void> | null = null;
  /** Where the running config came from (file, or the API that pushed it). */
  private source: string;
  /** Worker load, breakers, tunnel membership and route tallies: for /inspect and for status watchers. */
  readonly inspection: InspectionSource;

  private constructor(private readonly opts: DaemonOptions) {
    this.loaded = opts.loaded;
    this.source = opts.configPath === null ? 'embedded' : 'file';
    this.acme = new DaemonAcme({
      current: () => this.loaded,
      stateDir: () => this.stateDir(),
      setChallenge: (token, keyAuthorization) => this.setSharedValue(
        acmeChallengeKey(token), keyAuthorization === null ? null : encodeKeyAuthorization(keyAuthorization), ACME_CHALLENGE_TTL_MS),
      installCertificates: (managed) => this.installManagedCertificates(managed),
    }, opts.acme ?? {});
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
    // REST resources for the edge configuration (edges, routes, backends, domains, certificates, policies).
    this.eventApi?.addExtensions(configResourceRoutes(this));
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
    this.inspection = daemonInspectionSource({
      events: this.events,
      breakers: this.breakers,
      breakerSlots: () => this.slots.breakers.entries(),
      workers: () => (this.pool?.stats() ?? [{ index: 0, active: this.counters.workerActive(0), handled: this.counters.workerHandled(0) }])
        .map((w) => ({ worker: w.index, active: w.active, handled: Number(w.handled) })),
      tunnels: () => ({ sessions: this.tunnelSessions.list(), groups: this.tunnelGroups() }),
    });
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
  /** host:port of the gRPC control-plane API, or null. */
  get controlAddress(): string | null { return this.control.address; }

  private async boot(): Promise<void> {
    this.restorePushedConfig();
    const built = this.build(this.loaded, 1);
    await this.install(built.spec);
    if (this.pool !== null) await this.pool.start();
    await this.listeners.openNew(built.listeners);
    await this.listeners.retarget(built.listeners);
    const admin = this.loaded.config.admin;
    if (admin?.listen) this.admin = await this.startAdmin(admin.listen, admin.debug_endpoints === true);
    await this.control.sync(this, this.loaded);
    void this.acme.sync(this.loaded);
    if (this.opts.handleSignals) this.handleSignals();
    if (this.opts.configPath !== null) this.lastFileHash = this.lastReloadedHash = hashConfigFile(this.opts.configPath);
    log.info('ready', {
      generation: this.generation,
      workers: this.pool?.size ?? 0,
      degraded: this.degraded,
      listeners: this.listeners.addresses(),
      admin: this.adminAddress,
      control: this.controlAddress,
    });
  }

  private async install(spec: GenerationSpec): Promise<void> {
    if (this.pool !== null) await this.pool.publish(spec);
    else this.local!.install(spec);
    const config = this.loaded.config;
    this.acceptor.setGeneration(spec, {
      peekTimeoutMs: config.peek_timeout * 1000,
      maxHelloBytes: config.max_client_hello_bytes,
      maxConnections: config.max_connections ?? defaultMaxConnections(),
      workers: this.pool?.size ?? 1,
    });
    // only now may workers drop older generations: handoffs accepted during publish carry them
    if (this.pool !== null) this.pool.retire(spec.generation);
    else this.local!.retire(spec.generation);
    this.generation = spec.generation;
    this.counters.generation = spec.generation;
  }

  /** Re-reads the config file; swaps it in atomically if valid, else keeps serving the old one. */
  reload(trigger: string): Promise<ReloadResult> {
    if (this.opts.configPath === null) return Promise.resolve({ ok: false, generation: this.generation, problems: ['embedded config: nothing to reload'] });
    const path = this.opts.configPath;
    return this.serialised(async () => {
      // A SIGHUP sent right after saving the file is followed by the file watch's own call for the same
      // bytes: that one has nothing new (it made a second generation, or a second refusal).
      const hash = hashConfigFile(path);
      if (trigger === 'file change' && hash === this.lastReloadedHash) return { ok: true, generation: this.generation };
      this.lastReloadedHash = hash;
      const result = await this.applyLoaded(() => loadConfigFile(path), trigger, 'file', RELOAD_LOGS);
      if (result.ok) {
        this.lastFileHash = hash;
        void this.acme.sync(this.loaded);
      }
      return result;
    });
  }

  /**
   * Applies a whole config given as a document (what the YAML file holds), from a control plane, the REST
   * API or an embedding program: validated exactly like the file, then installed on every worker at once
   * as a new generation. On success it is kept in the state directory, so a restart comes back with it
   * (until the config file is edited). `{ file }` values are read relative to the config file's directory.
   */
  applyConfig(document: Record<string, unknown>, source: string): Promise<ReloadResult> {
    return this.serialised(() => this.applyDocument(document, source));
  }

  /** Edits a copy of the running document and applies it (one serialised read-modify-write). */
  updateConfig(edit: (document: Record<string, unknown>) => void, source: string): Promise<ReloadResult> {
    return this.serialised(async () => {
      const draft = structuredClone(this.loaded.raw);
      edit(draft);
      return this.applyDocument(draft, source);
    });
  }

  /** A copy of the running config document (with its secrets: callers redact before showing it). */
  desiredConfig(): Record<string, unknown> { return structuredClone(this.loaded.raw); }

  /** The running config, parsed and checked. */
  get current(): LoadedConfig { return this.loaded; }

  status(): DaemonStatus {
    const certificates = this.loaded.config.reserved_domains
      .filter((d) => d.certificate_management_policy != null)
      .map((d) => ({ reserved_domain_id: d.id, domain: d.domain, status: this.acme.status(d.domain) }));
    return { ...this.inspection.snapshot(), generation: this.generation, degraded: this.degraded, source: this.source, certificates };
  }

  private async applyDocument(document: Record<string, unknown>, source: string): Promise<ReloadResult> {
    const result = await this.applyLoaded(() => loadConfigObject(document, { baseDir: this.loaded.baseDir, sourceName: source }), source, source, PUSH_LOGS);
    if (!result.ok) return result;
    void this.acme.sync(this.loaded);
    const dir = this.stateDir();
    if (dir === null) return { ...result, warning: 'no admin section, so no state directory: the pushed config is lost at restart' };
    try {
      writeDesiredState(dir, { file_sha256: this.lastFileHash, source, pushed_at: new Date().toISOString(), config: document });
    } catch (err) {
      log.error('the pushed config is live but could not be saved; a restart would come back with the file', { source, ...errorFields(err) });
      return { ...result, warning: `applied, but not saved in the state directory: ${(err as Error).message}` };
    }
    return result;
  }

  /** Reloads, pushes and edits run one at a time: a trigger during one queues after it. */
  private serialised(run: () => Promise<ReloadResult>): Promise<ReloadResult> {
    const next = (this.reloading ?? Promise.resolve()).then(run, run);
    this.reloading = next;
    return next;
  }

  private async applyLoaded(load: () => LoadedConfig, trigger: string, source: string, logs: ApplyLogs): Promise<ReloadResult> {
    const what = logs.what;
    let loaded: LoadedConfig;
    try {
      loaded = load();
    } catch (err) {
      this.reloads.failed++;
      const details = err instanceof ConfigError ? err.problems : [{ path: '', reason: (err as Error).message }];
      const problems = details.map((p) => (p.path === '' ? p.reason : `${p.path}: ${p.reason}`));
      log.error(`${what} refused; still serving the previous generation`, { trigger, generation: this.generation, problems });
      return { ok: false, generation: this.generation, problems, details };
    }
    try {
      const previous = this.loaded;
      const built = this.build(loaded, this.generation + 1);
      await this.listeners.openNew(built.listeners);
      this.loaded = loaded;
      try {
        await this.install(built.spec);
      } catch (err) {
        this.loaded = previous;
        throw err;
      }
      await this.listeners.retarget(built.listeners);
      this.source = source;
      await this.control.sync(this, this.loaded);
      this.reloads.ok++;
      if (loaded.config.workers !== previous.config.workers) log.warn('workers changed in the config; the pool size applies at the next restart');
      log.info(logs.done, { trigger, source, generation: this.generation, listeners: this.listeners.addresses() });
      return { ok: true, generation: this.generation };
    } catch (err) {
      this.reloads.failed++;
      log.error(`${what} failed; still serving the previous generation`, { trigger, generation: this.generation, ...errorFields(err) });
      const reason = (err as Error).message;
      return { ok: false, generation: this.generation, problems: [reason], details: [{ path: '', reason }] };
    }
  }

  private build(loaded: LoadedConfig, generation: number) {
    const built = buildGeneration(loaded, generation, this.slots, this.managedCertificates);
    if (this.opts.collectEvents === true) built.spec.eventsEnabled = true;
    return built;
  }

  /**
   * Installs certificates obtained at run time (ACME) for managed reserved domains: a new generation with the
   * same config, so open connections keep theirs and new handshakes get the new ones. Resolves once every
   * worker serves them.
   */
  installManagedCertificates(managed: ReadonlyMap<string, { certPem: string; keyPem: string }>): Promise<void> {
    return this.serialised(async () => {
      const previous = this.managedCertificates;
      this.managedCertificates = new Map(managed);
      const result = await this.applyLoaded(() => this.loaded, 'managed certificates', this.source, CERTIFICATE_LOGS);
      if (!result.ok) this.managedCertificates = previous;
      return result;
    }).then((result) => {
      if (!result.ok) throw new Error(`managed certificates not installed: ${(result.problems ?? []).join('; ')}`);
    });
  }

  /** A value every worker reads from the shared store (null removes it); for ACME HTTP-01 answers. */
  setSharedValue(key: string, value: Uint8Array | null, ttlMs = 3_600_000): void {
    if (value === null) { this.sharedStore.delete(key); return; }
    if (!this.sharedStore.set(key, value, Date.now() + ttlMs)) throw new Error(`the shared store refused '${key}' (full, or the value is too large)`);
  }

  /** The ACME manager, once a reserved domain has asked for automatic certificates. */
  get acmeManager(): AcmeManager | null { return this.acme.running; }

  /** certificate_management_status of a reserved domain (by its id), or null when it has no policy. */
  certificateManagementStatus(reservedDomainId: string): CertificateManagementStatus | null {
    const domain = this.loaded.config.reserved_domains.find((d) => d.id === reservedDomainId);
    return domain === undefined ? null : this.acme.status(domain.domain);
  }

  private stateDir(): string | null {
    return this.loaded.config.admin === null ? null : stateDirFor(this.loaded);
  }

  /** At start: a config pushed through an API before the last stop, unless the config file changed since. */
  private restorePushedConfig(): void {
    const dir = this.stateDir();
    if (dir === null || this.opts.configPath === null) return;
    const pushed = pushedConfigToResume(dir, this.opts.configPath, this.loaded.baseDir);
    if (pushed === null) return;
    this.loaded = pushed.loaded;
    this.source = pushed.source;
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
      await this.control.close();
      await this.acme.close();
      this.local?.tunnels.closeAll('edge stopping');
      await this.pool?.stop();
      this.admin?.close();
      this.eventApi?.close();
      await this.eventRouter.close();
      await this.sink.close();
    })();
    return this.stopping;
  }

  /** The config's tunnel_group backends, read at each scrape/snapshot: a reload may add or drop some. */
  private tunnelGroups(): Array<{ backend: string; labels: Record<string, string> }> {
    return this.loaded.config.backends.flatMap((b) => (b.type === 'tunnel_group' ? [{ backend: b.id, labels: b.labels }] : []));
  }

  private startAdmin(listen: string, debug: boolean): Promise<AdminServer> {
    return startAdminServer(listen, daemonAdminHandlers({
      draining: () => this.stopping !== null,
      generation: () => this.generation,
      degraded: () => this.degraded,
      workers: () => this.pool?.stats().map((w) => ({ index: w.index, ready: w.ready, active: w.active })) ?? [],
      metricsSnapshot: () => this.metricsSnapshot(),
      redactedConfig: () => redactConfig(this.loaded),
      crashWorker: debug && this.pool !== null ? (index) => this.pool!.crash(index) : null,
      api: this.eventApi === null ? undefined : (req) => this.eventApi!.handle(req),
      inspection: this.inspection,
    }));
  }

  private metricsSnapshot(): MetricsSnapshot {
    return {
      counters: this.counters,
      edgeSlots: this.slots.edges,
      breakers: this.breakers,
      breakerSlots: this.slots.breakers,
      workers: this.pool?.stats() ?? [{ index: 0, threadId: 0, ready: true, active: this.counters.workerActive(0), handled: this.counters.workerHandled(0), restarts: 0 }],
      accepted: this.acceptor.accepted,
      refusals: this.acceptor.refusals,
      connections: { open: this.acceptor.openConnections(), max: this.acceptor.maxConnections },
      generation: this.generation,
      reloads: this.reloads,
      events: { written: this.sink.written, dropped: this.sink.dropped },
      destinations: this.eventRouter.stats(),
      nativeLoaded: !this.degraded,
      process: processReading(),
      tunnels: { sessions: this.tunnelSessions.list(), groups: this.tunnelGroups(), started: this.tunnelSessions.started, stopped: this.tunnelSessions.stopped },
    };
  }

  private handleSignals(): void {
    process.on('SIGHUP', () => void this.reload('SIGHUP'));
    const stop = (signal: string) => () => void this.shutdown(signal).then(() => process.exit(0));
    process.once('SIGTERM', stop('SIGTERM'));
    process.once('SIGINT', stop('SIGINT'));
    const path = this.opts.configPath;
    if (path !== null) this.watcher = watchConfigFile(path, () => this.lastReloadedHash, () => void this.reload('file change'));
  }
}
