// The streaming compressors behind the compression module. None buffers a whole body, and a pause in
// the input flushes what is pending, so streamed responses (server-sent events) keep flowing.
//
// gzip and deflate are segmented raw deflate. node:zlib's streams hop to the thread pool on every write,
// and the hops cost about a fifth of the CPU (bench/micro/compression.bench, 100 KB JSON in 16 KiB
// writes, best of many rounds: node:zlib stream ~1,050 µs, segments ~870 µs, one zlib.gzipSync of the
// whole body ~760 µs). Input is gathered into segments and each is compressed synchronously with
// deflateRawSync, ending in a sync flush (byte-aligned, not final), so the segments concatenate into one
// deflate stream; the last one ends with Z_FINISH. Each segment gets the previous 32 KiB of input as its
// preset dictionary: back-references into it are valid because the decoder's window holds exactly that
// text (pigz's technique), so the ratio matches one long stream. The gzip or zlib wrapper and its
// checksum (CRC-32, Adler-32) are written here.
import zlib from 'node:zlib';
import { Transform, type TransformCallback } from 'node:stream';

export type Coding = 'gzip' | 'deflate' | 'br';

export interface DeflateSettings {
  /** zlib level: 1 is the cheapest that sends fewer bytes than nginx's gzip level 1 on the 100 KB JSON. */
  level: number;
  /** Input gathered before compressing; bounds the memory per response and the event-loop time per call. */
  segmentBytes: number;
}

// A segment after the first pays for its 32 KiB preset dictionary (deflateSetDictionary hashes it, about
// as much work as compressing it) on top of a fresh zlib state. 128 KiB segments keep typical JSON/HTML
// bodies in one call (100 KB JSON: ~410 µs against ~800 µs with 64 KiB segments, /tmp micro run in the
// issue 3 notes) while holding the event loop for about 1 ms per call at most.
export const DEFLATE_SETTINGS: DeflateSettings = { level: 1, segmentBytes: 128 * 1024 };
// Quality 2: 24,738 bytes at about gzip level 1's CPU. Quality 1 is cheaper, but its size depends on the
// write sizes (29,153 bytes with 16 KiB writes, more than nginx's gzip level 1).
export const BROTLI_OPTIONS: zlib.BrotliOptions = { chunkSize: 64 * 1024, params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 2 } };

/** After this long without input, what was received so far is compressed and sent. */
export const IDLE_FLUSH_MS = 20;

const WINDOW_BYTES = 32 * 1024;
// RFC 1952: ID1 ID2, CM=8 (deflate), FLG=0, MTIME=0, XFL=4 (fastest), OS=255 (unknown).
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255]);
// RFC 1950: CMF=0x78 (deflate, 32 KiB window), FLG=0x01 (fastest, no dictionary, check bits).
const ZLIB_HEADER = Buffer.from([0x78, 0x01]);
// A final, empty block with fixed codes: ends the stream when the last segment was already flushed.
const EMPTY_FINAL_BLOCK = Buffer.from([0x03, 0x00]);

const ADLER_MOD = 65521;
const ADLER_RUN = 5552; // the most bytes summed before the 32-bit sums could overflow

function adler32(data: Buffer, adler: number): number {
  let a = adler & 0xffff;
  let b = adler >>> 16;
  let i = 0;
  while (i < data.length) {
    const end = Math.min(i + ADLER_RUN, data.length);
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= ADLER_MOD;
    b %= ADLER_MOD;
  }
  return ((b << 16) | a) >>> 0;
}

type EndCallback = (rawBytes: number, compressedBytes: number) => void;

class SegmentedDeflate extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private dictionary: Buffer | undefined;
  private check: number;
  private rawBytes = 0;
  private compressedBytes = 0;
  private idle: NodeJS.Timeout | null = null;
  private readonly flushIdle = (): void => { if (!this.destroyed && !this.writableEnded) this.compressPending(false); };

  constructor(private readonly gzip: boolean, private readonly settings: DeflateSettings, private readonly onEnd: EndCallback | undefined, private readonly idleFlush: boolean) {
    super();
    this.check = gzip ? 0 : 1;
    this.send(gzip ? GZIP_HEADER : ZLIB_HEADER);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes >= this.settings.segmentBytes) this.compressPending(false);
      else if (!this.idleFlush) { /* finite body: compressed when a segment fills or at the end */ }
      // not unref'd: it holds the loop for at most IDLE_FLUSH_MS after a write, and the flush must happen
      else if (this.idle === null) this.idle = setTimeout(this.flushIdle, IDLE_FLUSH_MS);
      else this.idle.refresh();
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.stopIdle();
    this.compressPending(true);
    const trailer = Buffer.allocUnsafe(this.gzip ? 8 : 4);
    if (this.gzip) {
      trailer.writeUInt32LE(this.check >>> 0, 0);
      trailer.writeUInt32LE(this.rawBytes >>> 0, 4); // ISIZE: the size modulo 2^32
    } else {
      trailer.writeUInt32BE(this.check >>> 0, 0);
    }
    this.send(trailer);
    this.onEnd?.(this.rawBytes, this.compressedBytes);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stopIdle();
    callback(error);
  }

  private compressPending(final: boolean): void {
    if (this.pendingBytes === 0) {
      if (final) this.send(EMPTY_FINAL_BLOCK);
      return;
    }
    const raw = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    const options: zlib.ZlibOptions = { level: this.settings.level, finishFlush: final ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH };
    if (this.dictionary !== undefined) options.dictionary = this.dictionary;
    this.send(zlib.deflateRawSync(raw, options));
    this.check = this.gzip ? zlib.crc32(raw, this.check) : adler32(raw, this.check);
    this.rawBytes += raw.length;
    this.dictionary = nextDictionary(this.dictionary, raw);
  }

  private send(bytes: Buffer): void {
    this.compressedBytes += bytes.length;
    this.push(bytes);
  }

  private stopIdle(): void {
    if (this.idle !== null) clearTimeout(this.idle);
    this.idle = null;
  }
}

// The last 32 KiB of input, copied: upstream chunks are not ours to keep.
function nextDictionary(previous: Buffer | undefined, raw: Buffer): Buffer {
  if (raw.length >= WINDOW_BYTES) return Buffer.from(raw.subarray(raw.length - WINDOW_BYTES));
  const keep = Math.min(previous?.length ?? 0, WINDOW_BYTES - raw.length);
  const next = Buffer.allocUnsafe(keep + raw.length);
  if (keep > 0) previous!.copy(next, 0, previous!.length - keep);
  raw.copy(next, keep);
  return next;
}

// Brotli has no equivalent of concatenable segments: node:zlib's stream, with the same idle flush and
// byte counting hooked into the instance (node:zlib's classes are not typed as extendable).
function brotliEncoder(onEnd: EndCallback | undefined, options: zlib.BrotliOptions, idleFlush: boolean): Transform {
  const stream = zlib.createBrotliCompress(options);
  let compressed = 0;
  const push = stream.push;
  stream.push = function pushCounted(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) onEnd?.(stream.bytesWritten, compressed);
    else compressed += (chunk as Buffer).length;
    return push.call(this, chunk, encoding);
  };
  let idle: NodeJS.Timeout | null = null;
  const flushIdle = (): void => { if (!stream.writableEnded && !stream.destroyed) stream.flush(zlib.constants.BROTLI_OPERATION_FLUSH); };
  const transform = stream._transform;
  stream._transform = function transformWatched(chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void {
    if (idleFlush && chunk.length > 0) { // zero-length chunks are flush markers, ours included
      if (idle === null) idle = setTimeout(flushIdle, IDLE_FLUSH_MS);
      else idle.refresh();
    }
    transform.call(this, chunk, encoding, callback);
  };
  stream.once('close', () => { if (idle !== null) clearTimeout(idle); });
  return stream;
}

/**
 * A streaming compressor for `coding`. `onEnd(raw, compressed)` runs when the last compressed byte
 * has been produced (compressed counts the whole encoded body, wrapper included).
 */
export function createEncoder(
  coding: Coding,
  onEnd?: EndCallback,
  settings: { deflate?: DeflateSettings; brotli?: zlib.BrotliOptions; idleFlush?: boolean } = {},
): Transform {
  const idleFlush = settings.idleFlush ?? true;
  if (coding === 'br') return brotliEncoder(onEnd, settings.brotli ?? BROTLI_OPTIONS, idleFlush);
  return new SegmentedDeflate(coding === 'gzip', settings.deflate ?? DEFLATE_SETTINGS, onEnd, idleFlush);
}
