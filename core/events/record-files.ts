// Deleting records from event files (the deletion API, issue 7 point 5): a file of NDJSON lines or of
// varint-length-delimited protobuf Envelopes is rewritten without the records that match, atomically
// (a temporary file, fsync, rename, fsync of the directory): a crash leaves the old or the new file,
// never half of one. Lines that are not events (unparseable) are kept as they are.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { decodeEvents } from './protobuf.js';
import { isProtobuf } from './destinations/framing.js';

export type RecordPredicate = (record: object) => boolean;
export type RecordFormat = 'json' | 'protobuf';

/** One record as the destinations hold them (JSON text, or one protobuf message without prefix) → its envelope. */
export function decodeRecord(record: Buffer, contentType: string): object | null {
  try {
    if (!isProtobuf(contentType)) return JSON.parse(record.toString('utf8')) as object;
    return decodeEvents(Buffer.concat([varint(record.length), record]))[0] ?? null;
  } catch {
    return null;
  }
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) { bytes.push((rest & 0x7f) | 0x80); rest = Math.floor(rest / 128); }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function filterJson(content: Buffer, matches: RecordPredicate): { kept: Buffer; deleted: number } {
  const lines = content.toString('utf8').split('\n');
  const trailing = lines[lines.length - 1] === '' ? lines.pop() : undefined;
  let deleted = 0;
  const kept = lines.filter((line) => {
    let record: unknown;
    try { record = JSON.parse(line); } catch { return true; }
    if (typeof record === 'object' && record !== null && matches(record)) { deleted++; return false; }
    return true;
  });
  const text = kept.join('\n') + (kept.length > 0 && trailing !== undefined ? '\n' : '');
  return { kept: Buffer.from(text, 'utf8'), deleted };
}

function filterProtobuf(content: Buffer, matches: RecordPredicate): { kept: Buffer; deleted: number } {
  const parts: Buffer[] = [];
  let deleted = 0;
  let pos = 0;
  while (pos < content.length) {
    let length = 0, shift = 0, at = pos;
    while (at < content.length) {
      const byte = content[at++]!;
      length += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if ((byte & 0x80) === 0) break;
    }
    const end = at + length;
    if (end > content.length) break; // a torn tail: kept below as is
    const frame = content.subarray(pos, end);
    let record: object | undefined;
    try { record = decodeEvents(frame)[0]; } catch { record = undefined; }
    if (record !== undefined && matches(record)) deleted++; else parts.push(frame);
    pos = end;
  }
  if (pos < content.length) parts.push(content.subarray(pos));
  return { kept: Buffer.concat(parts), deleted };
}

/** Rewrites `path` without the matching records; returns how many were deleted (0: file untouched). */
export async function deleteFromRecordFile(path: string, format: RecordFormat, matches: RecordPredicate): Promise<number> {
  let content: Buffer;
  try { content = await readFile(path); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const { kept, deleted } = format === 'protobuf' ? filterProtobuf(content, matches) : filterJson(content, matches);
  if (deleted === 0) return 0;
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = (await stat(path)).mode & 0o777;
  try {
    await writeFile(temporary, kept, { mode });
    fsyncPath(temporary);
    await rename(temporary, path);
  } catch (err) {
    await unlink(temporary).catch(() => {});
    throw err;
  }
  fsyncPath(dirname(path));
  return deleted;
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

/** `path` and its rotated files (`path.1`, `path.2`, …) that exist now. */
export async function rotatedFamily(path: string): Promise<string[]> {
  const name = basename(path);
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.\\d+$`);
  let entries: string[] = [];
  try { entries = await readdir(dirname(path)); } catch { return []; }
  const rotated = entries.filter((entry) => pattern.test(entry)).map((entry) => join(dirname(path), entry));
  return [...(entries.includes(name) ? [path] : []), ...rotated];
}
