// The default of max_connections: what the open-files limit allows. Past it accept() would fail
// with EMFILE, which hurts every connection (and the admin server), not just the newest one.
import { readFileSync } from 'node:fs';

/** Descriptors kept for everything that is not a client connection: listeners, files, admin, upstream pools. */
const RESERVED_FDS = 256;
/** When /proc is not there (not Linux): a limit that suits a default ulimit of a few thousand. */
const FALLBACK = 4096;

/** Each proxied connection holds two descriptors (client and upstream). */
export function defaultMaxConnections(limitsText: string | null = readLimits()): number {
  const soft = limitsText === null ? null : openFilesSoftLimit(limitsText);
  if (soft === null) return FALLBACK;
  return Math.max(64, Math.floor((soft - RESERVED_FDS) / 2));
}

/** The soft "Max open files" of /proc/self/limits; null when unlimited or not found. */
export function openFilesSoftLimit(limitsText: string): number | null {
  const line = limitsText.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === undefined || !/^\d+$/.test(soft)) return null;
  return Number(soft);
}

function readLimits(): string | null {
  try { return readFileSync('/proc/self/limits', 'utf8'); } catch { return null; }
}
