// The config as /config shows it: a deep copy with every secret replaced.
import { parsePath } from './errors.js';
import type { LoadedConfig } from './load.js';
import { renderTarget } from '../api/render.js';
import type { EventTarget } from '../events/model.js';

export const REDACTED = '[redacted]';

// Private keys and client secrets are hidden by name too, whatever secretPaths says.
const ALWAYS_SECRET = new Set(['private_key_pem', 'sp_private_key_pem', 'client_secret']);

function copyRedacted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyRedacted);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = ALWAYS_SECRET.has(key) ? REDACTED : copyRedacted(v);
  return out;
}

function replaceAt(root: unknown, path: (string | number)[]): void {
  let node = root;
  for (let i = 0; i < path.length - 1; i++) {
    if (node === null || typeof node !== 'object') return;
    node = (node as Record<string | number, unknown>)[path[i]!];
  }
  const last = path[path.length - 1];
  if (last === undefined || node === null || typeof node !== 'object') return;
  if (Object.prototype.hasOwnProperty.call(node, last)) (node as Record<string | number, unknown>)[last] = REDACTED;
}

export function redactConfig(loaded: LoadedConfig): unknown {
  const copy = copyRedacted(loaded.config) as { event_destinations?: Array<{ target?: unknown }> };
  // Destinations are parsed by the API's own parser (no secret paths recorded): hide their credentials the
  // way the API reads them back.
  for (const destination of copy.event_destinations ?? []) {
    if (destination.target !== undefined) destination.target = renderTarget(destination.target as EventTarget);
  }
  for (const path of loaded.secretPaths) replaceAt(copy, parsePath(path));
  return copy;
}
