// The library API: run edgeplane inside another Node program.
//   const edge = await createEdge({ config: { edges: [...], backends: [...] } });
//   await edge.apply(nextConfig);            // validated like the file; every worker switches at once
//   const stop = edge.onEvents((events) => …);
//   await edge.stop();                        // drains open connections first
// The CLI's `serve` is this, with signal handling on.
import { resolve } from 'node:path';
import { Daemon, type DaemonStatus, type ReloadResult } from './daemon.js';
import { loadConfigFile, loadConfigObject, type LoadedConfig } from './config/load.js';
import type { ParsedEvent } from './events/hub.js';

export interface EdgeOptions {
  /** A config document (what the YAML file holds) or the path of a YAML/JSON file. */
  config: Record<string, unknown> | string;
  /** Where `{ file }` values in a config document are read from (default: the current directory). */
  baseDir?: string;
  /** Reload on SIGHUP and file changes, drain and exit on SIGTERM/SIGINT (what the CLI does). Default false. */
  handleSignals?: boolean;
  /** Name used in config error messages for a document (default 'config'). */
  sourceName?: string;
  /**
   * Build events for onEvents even when the config has no `events:` output (default true: the library's
   * listeners need them; false saves their cost per request when nobody listens in-process).
   */
  collectEvents?: boolean;
}

export interface Edge {
  /** The generation every worker serves. */
  readonly generation: number;
  /** Replaces the whole config; `ok: false` with `details` (path, reason) when it does not validate (the old one keeps serving). */
  apply(document: Record<string, unknown>): Promise<ReloadResult>;
  /** Edits a copy of the running config and applies it. */
  update(edit: (document: Record<string, unknown>) => void): Promise<ReloadResult>;
  /** Re-reads the config file (file configs only). */
  reload(): Promise<ReloadResult>;
  /** A copy of the running config document (with its secrets: it is the caller's own config). */
  config(): Record<string, unknown>;
  /** Generation, worker load, breakers, tunnel membership, route status counts. */
  status(): DaemonStatus;
  /** Every event (http_request_complete.v0, tcp_connection_closed.v0, agent sessions, audit) as it is published. */
  onEvents(listener: (events: readonly ParsedEvent[]) => void): () => void;
  /** The bound listeners (ports chosen by the OS when the config said 0). */
  listeners(): Array<{ key: string; kind: string; address: string; port: number }>;
  /** host:port of the admin listener, or null. */
  readonly adminAddress: string | null;
  /** host:port of the gRPC control-plane API (control.grpc_listen), or null. */
  readonly controlAddress: string | null;
  /** Stops accepting, lets open connections finish (up to drain_timeout), then stops. */
  stop(): Promise<void>;
  /** The daemon underneath (its control surface: applyConfig, installManagedCertificates, …). */
  readonly daemon: Daemon;
}

function load(options: EdgeOptions): { loaded: LoadedConfig; configPath: string | null } {
  if (typeof options.config === 'string') {
    const path = resolve(options.config);
    return { loaded: loadConfigFile(path), configPath: path };
  }
  const loaded = loadConfigObject(options.config, { baseDir: options.baseDir ?? process.cwd(), sourceName: options.sourceName ?? 'config' });
  return { loaded, configPath: null };
}

/** Validates the config (throws ConfigError with every problem) and starts serving it. */
export async function createEdge(options: EdgeOptions): Promise<Edge> {
  const { loaded, configPath } = load(options);
  const daemon = await Daemon.start({ loaded, configPath, handleSignals: options.handleSignals ?? false, collectEvents: options.collectEvents ?? true });
  return {
    get generation() { return daemon.currentGeneration; },
    apply: (document) => daemon.applyConfig(document, 'library'),
    update: (edit) => daemon.updateConfig(edit, 'library'),
    reload: () => daemon.reload('library'),
    config: () => daemon.desiredConfig(),
    status: () => daemon.status(),
    onEvents: (listener) => daemon.events.listen((events) => listener(events)),
    listeners: () => daemon.listenerAddresses(),
    get adminAddress() { return daemon.adminAddress; },
    get controlAddress() { return daemon.controlAddress; },
    stop: () => daemon.shutdown('stop'),
    daemon,
  };
}
