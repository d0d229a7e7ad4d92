// Following the config file on disk: its content hash (a reload is due only when it changed) and a watch
// on its directory (editors and config managers replace the file rather than write it).
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { log, errorFields } from '../log.js';

/** SHA-256 of the file's bytes, or '' when it cannot be read. */
export function hashConfigFile(path: string): string {
  try { return createHash('sha256').update(readFileSync(path)).digest('hex'); } catch { return ''; }
}

/** Calls `onChange` (debounced 200 ms) when the file's content differs from `lastHash()`; null when watching fails. */
export function watchConfigFile(path: string, lastHash: () => string, onChange: () => void): FSWatcher | null {
  let debounce: NodeJS.Timeout | null = null;
  try {
    const watcher = watch(dirname(path), (_event, name) => {
      if (name !== null && name !== basename(path)) return;
      if (debounce !== null) clearTimeout(debounce);
      debounce = setTimeout(() => {
        debounce = null;
        const hash = hashConfigFile(path);
        if (hash !== '' && hash !== lastHash()) onChange();
      }, 200);
    });
    watcher.on('error', (err) => log.warn('config file watch failed; SIGHUP still reloads', errorFields(err)));
    return watcher;
  } catch (err) {
    log.warn('cannot watch the config file; SIGHUP still reloads', errorFields(err));
    return null;
  }
}
