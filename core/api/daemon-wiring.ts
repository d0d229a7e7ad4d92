// How the daemon opens the API: keys, resources and state_dir from the current config (a reload
// changes keys and config resources; state_dir is read once), audit lines into the event output.
import { join } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { log } from '../log.js';
import { openEventApi, type EventApi } from './index.js';

/**
 * admin.state_dir, or edgeplane-state next to the config file. baseDir, not sourcePath: a config pushed through
 * an API keeps the file's directory as its base, so its state stays where the file's was.
 */
export function stateDirFor(loaded: LoadedConfig): string {
  return loaded.config.admin?.state_dir ?? join(loaded.baseDir, 'edgeplane-state');
}

/** Null when the config has no admin listener (the API has nowhere to be served). */
export function openDaemonEventApi(current: () => LoadedConfig, emitLine: (line: string) => void): EventApi | null {
  const loaded = current();
  const admin = loaded.config.admin;
  if (admin === null) return null;
  const stateDir = stateDirFor(loaded);
  const api = openEventApi({
    stateDir,
    keys: () => current().config.admin?.api_keys ?? [],
    config: () => ({ destinations: current().config.event_destinations, subscriptions: current().config.event_subscriptions }),
    onAudit: (line) => emitLine(line),
    warn: (msg, fields) => log.warn(msg, fields),
  });
  if (api.store !== null) {
    const { replayed, tornLine } = api.store.recovered;
    log.info('event API store opened', { dir: stateDir, destinations: api.resources.destinations().length, subscriptions: api.resources.subscriptions().length, replayed, torn_line_dropped: tornLine });
  }
  return api;
}
