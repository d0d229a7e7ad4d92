// An embedded durable store for the API's resources: a snapshot plus an append-only journal.
//   write: one JSON line appended to the journal, fsync'd, before the caller acknowledges it.
//   snapshot (at open and every N writes): temp file, fsync, rename, fsync the directory; then the
//     journal is truncated. Journal lines carry a sequence number, so a crash between the rename and
//     the truncation replays nothing twice.
//   open: load the snapshot, replay the journal; a torn last line (a crash mid-append, never
//     acknowledged) is logged and dropped. Damage anywhere else refuses to open: that is not a crash.
import {
  closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';

export interface StoreOptions {
  /** Take a snapshot (and truncate the journal) after this many writes. */
  snapshotEvery?: number;
  warn?: (msg: string, fields: Record<string, unknown>) => void;
}

interface JournalEntry { seq: number; op: 'put' | 'del'; c: string; id: string; v?: unknown }
interface Snapshot { version: 1; seq: number; collections: Record<string, Record<string, unknown>> }

export class StoreError extends Error {
  /** The errno code of the failed write (ENOSPC, EFBIG, EDQUOT, EIO, …), when there was one. */
  constructor(message: string, readonly code?: string) { super(message); }

  /** The disk (or the file-size limit or quota) is full: the client may retry once space is freed. */
  get outOfSpace(): boolean { return this.code === 'ENOSPC' || this.code === 'EFBIG' || this.code === 'EDQUOT'; }
}

export const SNAPSHOT_FILE = 'store.snapshot.json';
export const JOURNAL_FILE = 'store.journal.ndjson';

export class DurableStore {
  private readonly collections = new Map<string, Map<string, unknown>>();
  private seq = 0;
  private journalFd: number;
  private journalBytes = 0;
  private sinceSnapshot = 0;
  private readonly snapshotEvery: number;
  /** What open found: entries replayed and whether a torn last line was dropped. */
  readonly recovered = { replayed: 0, tornLine: false };

  private constructor(readonly dir: string, opts: StoreOptions) {
    this.snapshotEvery = Math.max(1, opts.snapshotEvery ?? 1000);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new StoreError(`cannot create the state directory ${dir} (admin.state_dir): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    rmSync(join(dir, SNAPSHOT_FILE + '.tmp'), { force: true });
    this.loadSnapshot();
    this.replayJournal(opts.warn);
    this.journalFd = openSync(join(dir, JOURNAL_FILE), 'a', 0o600);
    try {
      this.snapshot();
    } catch (err) {
      // Compaction only: the journal still holds every write. A full disk must not stop the start.
      opts.warn?.('store snapshot failed; the journal keeps every write and the next snapshot retries', { dir, error: (err as Error).message });
    }
  }

  static open(dir: string, opts: StoreOptions = {}): DurableStore {
    return new DurableStore(dir, opts);
  }

  get(collection: string, id: string): unknown {
    return this.collections.get(collection)?.get(id);
  }

  /** Values in insertion order (the order of first put). */
  values(collection: string): unknown[] {
    return [...(this.collections.get(collection)?.values() ?? [])];
  }

  /** Durable when it returns; throws StoreError (and changes nothing) when the journal cannot be written. */
  put(collection: string, id: string, value: unknown): void {
    this.append({ seq: this.seq + 1, op: 'put', c: collection, id, v: value });
  }

  delete(collection: string, id: string): void {
    this.append({ seq: this.seq + 1, op: 'del', c: collection, id });
  }

  close(): void {
    if (this.journalFd < 0) return;
    closeSync(this.journalFd);
    this.journalFd = -1;
  }

  private append(entry: JournalEntry): void {
    if (this.journalFd < 0) throw new StoreError('the store is closed');
    const line = Buffer.from(JSON.stringify(entry) + '\n');
    try {
      let written = 0;
      while (written < line.length) written += writeSync(this.journalFd, line, written, line.length - written);
      fsyncSync(this.journalFd);
    } catch (err) {
      // Cut a partial line off, so that the next append does not follow garbage.
      try { ftruncateSync(this.journalFd, this.journalBytes); } catch { /* the open-time torn-line rule still applies */ }
      throw new StoreError(`journal write failed: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code);
    }
    this.journalBytes += line.length;
    this.apply(entry);
    if (++this.sinceSnapshot >= this.snapshotEvery) {
      try { this.snapshot(); } catch { /* the journal still holds every write; the next one retries */ }
    }
  }

  private apply(entry: JournalEntry): void {
    this.seq = entry.seq;
    let map = this.collections.get(entry.c);
    if (map === undefined) { map = new Map(); this.collections.set(entry.c, map); }
    if (entry.op === 'put') map.set(entry.id, entry.v);
    else map.delete(entry.id);
  }

  private loadSnapshot(): void {
    const path = join(this.dir, SNAPSHOT_FILE);
    if (!existsSync(path)) return;
    let snap: Snapshot;
    try {
      snap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
    } catch (err) {
      throw new StoreError(`store snapshot ${path} is unreadable (${(err as Error).message}); it is written atomically, so this is not a crash: restore it from a backup`);
    }
    if (snap.version !== 1 || typeof snap.seq !== 'number' || snap.collections === null || typeof snap.collections !== 'object') {
      throw new StoreError(`store snapshot ${path} has an unknown format`);
    }
    this.seq = snap.seq;
    for (const [name, records] of Object.entries(snap.collections)) this.collections.set(name, new Map(Object.entries(records)));
  }

  private replayJournal(warn: StoreOptions['warn']): void {
    const path = join(this.dir, JOURNAL_FILE);
    if (!existsSync(path)) return;
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    const lastComplete = text.endsWith('\n') ? lines.length - 2 : lines.length - 1;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '') continue;
      let entry: JournalEntry | null = null;
      try {
        const parsed = JSON.parse(line) as JournalEntry;
        if (typeof parsed.seq === 'number' && (parsed.op === 'put' || parsed.op === 'del') && typeof parsed.c === 'string' && typeof parsed.id === 'string') entry = parsed;
      } catch { /* handled below */ }
      if (entry === null || i > lastComplete) {
        // Only the last line may be torn: its write was never acknowledged.
        if (i >= lastComplete) {
          this.recovered.tornLine = true;
          warn?.('store journal: dropped a torn last line (a write interrupted by a crash, never acknowledged)', { file: path, bytes: line.length });
          continue;
        }
        throw new StoreError(`store journal ${path} line ${i + 1} is damaged and is not the last line; refusing to guess: restore the state directory from a backup`);
      }
      if (entry.seq <= this.seq) continue; // already in the snapshot
      this.apply(entry);
      this.recovered.replayed++;
    }
  }

  private snapshot(): void {
    const collections: Snapshot['collections'] = {};
    for (const [name, map] of this.collections) collections[name] = Object.fromEntries(map);
    const body: Snapshot = { version: 1, seq: this.seq, collections };
    const path = join(this.dir, SNAPSHOT_FILE);
    const tmp = path + '.tmp';
    const bytes = Buffer.from(JSON.stringify(body));
    const fd = openSync(tmp, 'w', 0o600);
    try {
      // A nearly full disk takes part of a write and fails the next: a single writeSync could leave a
      // short snapshot that the rename below would put in place of the good one.
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } catch (err) {
      closeSync(fd);
      rmSync(tmp, { force: true }); // give the space back to the journal
      throw err;
    }
    closeSync(fd);
    renameSync(tmp, path);
    fsyncDir(this.dir);
    ftruncateSync(this.journalFd, 0);
    fsyncSync(this.journalFd);
    this.journalBytes = 0;
    this.sinceSnapshot = 0;
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}
