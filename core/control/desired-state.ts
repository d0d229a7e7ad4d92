// Where a config pushed through an API (gRPC, REST, the library) is kept across restarts: one JSON file
// in the state directory, written atomically (temp file, fsync, rename), with the hash of the config file
// it superseded. At start the pushed config wins only while the file is unchanged since; an operator who
// edits the file afterwards gets the file.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigObject, type LoadedConfig } from '../config/load.js';
import { hashConfigFile } from '../config/watch.js';
import { errorFields, log } from '../log.js';

export const DESIRED_STATE_FILE = 'config.desired.json';

export interface DesiredState {
  /** SHA-256 of the config file when this was pushed ('' when there was none). */
  file_sha256: string;
  source: string;
  pushed_at: string;
  config: Record<string, unknown>;
}

export function readDesiredState(dir: string): DesiredState | null {
  const path = join(dir, DESIRED_STATE_FILE);
  if (!existsSync(path)) return null;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as DesiredState;
  if (parsed === null || typeof parsed !== 'object' || typeof parsed.config !== 'object' || parsed.config === null) {
    throw new Error(`${path} is not a desired-state file`);
  }
  return parsed;
}

export function writeDesiredState(dir: string, state: DesiredState): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, DESIRED_STATE_FILE);
  const temp = `${path}.${process.pid}.tmp`;
  // Holds secrets (keys, tokens) like the config file itself: owner-only.
  const fd = openSync(temp, 'w', 0o600);
  try {
    const bytes = Buffer.from(JSON.stringify(state));
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  const dirFd = openSync(dir, 'r');
  try { fsyncSync(dirFd); } finally { closeSync(dirFd); }
}

/**
 * At start: the config pushed through an API before the last stop, loaded, unless there is none, it
 * does not load, or the config file changed since (then the file wins). Each case is logged.
 */
export function pushedConfigToResume(dir: string, configPath: string, baseDir: string): { loaded: LoadedConfig; source: string } | null {
  let state: DesiredState | null;
  try {
    state = readDesiredState(dir);
  } catch (err) {
    log.warn('ignoring an unreadable pushed config in the state directory', errorFields(err));
    return null;
  }
  if (state === null) return null;
  if (state.file_sha256 !== hashConfigFile(configPath)) {
    log.warn('the config file changed since a config was pushed; starting from the file', { pushed_at: state.pushed_at, source: state.source });
    return null;
  }
  try {
    const loaded = loadConfigObject(state.config, { baseDir, sourceName: `pushed config (${state.source})` });
    log.info('starting from the config pushed through the API', { pushed_at: state.pushed_at, source: state.source });
    return { loaded, source: state.source };
  } catch (err) {
    log.warn('the pushed config in the state directory no longer loads; starting from the file', errorFields(err));
    return null;
  }
}
