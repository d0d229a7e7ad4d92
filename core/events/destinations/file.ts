// The file target: NDJSON (or length-delimited protobuf) appended to `path`. Past max_bytes the file
// is rotated like logrotate: path → path.1 → path.2 … keeping max_files rotated files. Each file
// is fsynced before it is rotated away and on close, so a clean shutdown loses nothing written.
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataProtection, EventTarget } from '../model.js';
import type { ResolvedOptions } from './types.js';
import { DestinationConfigError } from './config-error.js';
import { QueuedDestination, type AttemptResult } from './queue.js';
import { frameRecords } from './framing.js';

type FileTarget = NonNullable<EventTarget['file']>;

export const DEFAULT_FILE_MAX_BYTES = 100 * 1024 * 1024;
export const DEFAULT_FILE_MAX_FILES = 5;

export class FileDestination extends QueuedDestination {
  private handle: FileHandle | null = null;
  private size = 0;
  private readonly path: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;

  constructor(id: string, target: FileTarget, protection: DataProtection, options: ResolvedOptions) {
    // One writer: appends must not interleave.
    super(id, protection, options, { maxBatchRecords: options.maxBatchRecords, maxBatchBytes: 1024 * 1024, concurrency: 1 });
    const where = `event destination ${id}: file`;
    if (typeof target.path !== 'string' || target.path.length === 0) throw new DestinationConfigError(`${where}.path is required`);
    const maxBytes = target.max_bytes ?? DEFAULT_FILE_MAX_BYTES;
    const maxFiles = target.max_files ?? DEFAULT_FILE_MAX_FILES;
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new DestinationConfigError(`${where}.max_bytes must be a positive integer, got ${maxBytes}`);
    if (!Number.isInteger(maxFiles) || maxFiles < 0) throw new DestinationConfigError(`${where}.max_files must be a non-negative integer, got ${maxFiles}`);
    let directoryOk = false;
    try { directoryOk = statSync(dirname(target.path)).isDirectory(); } catch { /* reported below */ }
    if (!directoryOk) throw new DestinationConfigError(`${where}.path: directory ${dirname(target.path)} does not exist`);
    this.path = target.path;
    this.maxBytes = maxBytes;
    this.maxFiles = maxFiles;
  }

  protected async transmit(records: Buffer[], contentType: string): Promise<AttemptResult> {
    const body = frameRecords(records, contentType);
    let handle = await this.openFile();
    if (this.size > 0 && this.size + body.length > this.maxBytes) {
      await this.rotate();
      handle = await this.openFile();
    }
    await handle.write(body);
    this.size += body.length;
    return { kind: 'ok' };
  }

  protected override async release(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    if (handle === null) return;
    await handle.sync();
    await handle.close();
  }

  private async openFile(): Promise<FileHandle> {
    if (this.handle !== null) return this.handle;
    const handle = await open(this.path, 'a');
    this.size = (await handle.stat()).size;
    this.handle = handle;
    return handle;
  }

  private async rotate(): Promise<void> {
    await this.release();
    if (this.maxFiles === 0) {
      await unlink(this.path);
      return;
    }
    // Shift from the oldest down, so each rename lands on a free (or the discarded oldest) name.
    for (let n = this.maxFiles - 1; n >= 1; n--) {
      await renameIfExists(`${this.path}.${n}`, `${this.path}.${n + 1}`);
    }
    await rename(this.path, `${this.path}.1`);
  }
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await stat(from);
  } catch {
    return;
  }
  await rename(from, to);
}
