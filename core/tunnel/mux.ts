// Many streams over one agent session leg (a WebSocket), each with its own credit window in each
// direction: a sender never has more than `window` unacknowledged bytes on a stream, and a receiver
// gives credit back only as its reader consumes, so one slow stream cannot stall the others or fill
// memory. Streams are Duplexes that look enough like a net.Socket (setTimeout, setNoDelay, bytes
// counts, half-close) for the HTTP upstream pool and the byte pipe to use them as upstream sockets.
import { Duplex } from 'node:stream';
import {
  FrameType, FRAME_HEADER, MAX_DATA_FRAME, DEFAULT_WINDOW, ProtocolError,
  decodeControl, decodeOpen, decodeOpenResult, encodeControl, encodeOpen, encodeOpenResult, frame,
  type Control, type OpenError, type StreamOpen,
} from './protocol.js';

export class StreamOpenError extends Error {
  constructor(readonly reason: OpenError | 'session_closed' | 'too_many_streams', message?: string) {
    super(message ?? `stream refused: ${reason}`);
    // The dial layer maps these like socket errors (failover and gateway error codes).
    (this as unknown as { code: string }).code = reason === 'connect_refused' ? 'ECONNREFUSED' : reason === 'connect_timeout' ? 'ETIMEDOUT' : 'EAGENT';
  }
}

export interface MuxOptions {
  /** Sends one frame as one WebSocket binary message. */
  send(frame: Buffer): void;
  window?: number;
  /** Agent side: the edge opened a stream; call stream.accept() or stream.refuse(). */
  onOpen?(stream: MuxStream, open: StreamOpen): void;
  onControl?(message: Control): void;
  /** A peer broke the protocol; the owner closes the leg. */
  onProtocolError?(err: Error): void;
  /** Most concurrent streams; an OPEN past it is refused. */
  maxStreams?: number;
}

const EMPTY = Buffer.alloc(0);

export class MuxStream extends Duplex {
  /** Bytes we may still send. */
  private credit: number;
  /** Bytes pushed to our reader since we last gave credit back. */
  private unacked = 0;
  /** Bytes pushed that the reader has not taken yet (credit is returned only for taken bytes). */
  private pending: { chunk: Buffer; callback: (err?: Error | null) => void } | null = null;
  private finSent = false;
  private finReceived = false;
  /** The peer already knows this stream is gone (it reset it, or we refused it): no RESET back. */
  private quiet = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private idleMs = 0;
  private idleCallback: (() => void) | null = null;
  bytesRead = 0;
  bytesWritten = 0;
  /** Set by the mux while an OPEN waits for its result (edge side). */
  opening: { resolve(s: MuxStream): void; reject(err: Error): void } | null = null;
  readonly remoteAddress: string | undefined = undefined;

  constructor(readonly id: number, private readonly mux: Mux, window: number) {
    super({ allowHalfOpen: true, readableHighWaterMark: window, writableHighWaterMark: MAX_DATA_FRAME });
    this.credit = window;
    // Whoever owns the stream listens for errors; one that arrives before (or after) an owner must
    // not take the thread down with it.
    this.on('error', () => {});
  }

  /** Agent side: the upstream is reached; bytes may flow. */
  accept(): void { this.mux.sendRaw(encodeOpenResult(this.id, { ok: true, error: '' })); }

  /** Agent side: the upstream could not be reached. */
  refuse(error: OpenError): void {
    this.mux.sendRaw(encodeOpenResult(this.id, { ok: false, error }));
    this.mux.forget(this);
    this.quiet = true;
    this.destroy();
  }

  // ---- socket look-alike (what the upstream pool and the pipe call) ----
  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }
  /** Like net.Socket#setTimeout: `cb` after `ms` without a byte either way (0 = off). */
  setTimeout(ms: number, cb?: () => void): this {
    this.idleMs = ms;
    if (cb !== undefined) this.idleCallback = cb;
    this.touch();
    return this;
  }

  private touch(): void {
    if (this.idleTimer !== null) { clearTimeout(this.idleTimer); this.idleTimer = null; }
    if (this.idleMs > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(() => { this.emit('timeout'); this.idleCallback?.(); }, this.idleMs);
      this.idleTimer.unref();
    }
  }

  // ---- frames from the peer ----
  /** @internal */
  onData(payload: Buffer): void {
    if (this.finReceived) throw new ProtocolError(`stream ${this.id}: DATA after FIN`);
    if (this.unacked + payload.length > this.mux.window) {
      throw new ProtocolError(`stream ${this.id}: peer sent past its window`);
    }
    this.bytesRead += payload.length;
    this.unacked += payload.length;
    this.touch();
    // The payload is a view into the message ws handed over (a fresh buffer per socket read, never
    // reused), so it is queued without a copy; the window bounds what it keeps alive.
    if (this.push(payload)) this.giveCredit();
  }

  /** @internal */
  onFin(): void {
    if (this.finReceived) throw new ProtocolError(`stream ${this.id}: second FIN`);
    this.finReceived = true;
    this.push(null);
  }

  /** @internal */
  onWindow(n: number): void {
    this.credit += n;
    this.flushPending();
  }

  /** @internal The peer reset the stream or the leg went away. */
  onReset(err: Error): void {
    this.quiet = true;
    const opening = this.opening;
    this.opening = null;
    if (opening !== null) { opening.reject(err); this.destroy(); return; }
    this.destroy(err);
  }

  // The reader took bytes: everything pushed so far may be sent again by the peer once half a window
  // is owed (fewer WINDOW frames; the peer still never exceeds the window).
  private giveCredit(): void {
    // Consumed = received minus what still waits in our readable buffer. The peer keeps at least half
    // a window of credit, so waiting for half a window owed never stalls it.
    const owed = this.unacked - this.readableLength;
    if (owed < this.mux.window / 2 || this.destroyed || this.finReceived) return;
    const payload = Buffer.allocUnsafe(4);
    payload.writeUInt32BE(owed, 0);
    this.unacked -= owed;
    this.mux.sendRaw(frame(FrameType.Window, this.id, payload));
  }

  // ---- Duplex ----
  // Credit follows consumption. Readable calls _read only after a push, so a reader that drains the
  // buffer while the peer waits for credit would never trigger it: every read() (flowing mode reads
  // through it too) checks what is owed.
  override _read(): void {
    this.giveCredit();
  }

  override read(size?: number): ReturnType<Duplex['read']> {
    const chunk = super.read(size) as ReturnType<Duplex['read']>;
    if (this.unacked - this.readableLength >= this.mux.window / 2) this.giveCredit();
    return chunk;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.pending = { chunk, callback };
    this.flushPending();
  }

  private flushPending(): void {
    const pending = this.pending;
    if (pending === null || this.destroyed) return;
    let { chunk } = pending;
    while (chunk.length > 0 && this.credit > 0) {
      const n = Math.min(chunk.length, this.credit, MAX_DATA_FRAME);
      this.mux.sendRaw(frame(FrameType.Data, this.id, chunk.subarray(0, n)));
      this.credit -= n;
      this.bytesWritten += n;
      chunk = chunk.subarray(n);
    }
    this.touch();
    if (chunk.length > 0) { pending.chunk = chunk; return; } // the rest goes when the peer gives credit
    this.pending = null;
    pending.callback();
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (!this.finSent) {
      this.finSent = true;
      this.mux.sendRaw(frame(FrameType.Fin, this.id));
    }
    callback();
    this.maybeDone();
  }

  /** Both directions finished cleanly: the id can go. */
  private maybeDone(): void {
    if (this.finSent && this.finReceived) this.mux.forget(this);
  }

  override _destroy(err: Error | null, callback: (err: Error | null) => void): void {
    if (this.idleTimer !== null) { clearTimeout(this.idleTimer); this.idleTimer = null; }
    const pending = this.pending;
    this.pending = null;
    if (pending !== null) pending.callback(err ?? new Error('stream closed'));
    // Anything but a clean close in both directions tells the peer to stop.
    if (!this.quiet && !(this.finSent && this.finReceived)) this.mux.sendRaw(frame(FrameType.Reset, this.id));
    this.mux.forget(this);
    const opening = this.opening;
    this.opening = null;
    opening?.reject(err ?? new StreamOpenError('session_closed'));
    callback(err);
  }

  /** @internal after push(null) was consumed */
  override push(chunk: Buffer | null): boolean {
    const more = super.push(chunk);
    if (chunk === null) queueMicrotask(() => this.maybeDone());
    return more;
  }
}

export class Mux {
  private readonly streams = new Map<number, MuxStream>();
  private nextId = 1; // only the edge opens streams
  readonly window: number;
  private closed: Error | null = null;
  private readonly maxStreams: number;

  constructor(private readonly options: MuxOptions) {
    this.window = options.window ?? DEFAULT_WINDOW;
    this.maxStreams = options.maxStreams ?? 10_000;
  }

  get streamCount(): number { return this.streams.size; }
  get isClosed(): boolean { return this.closed !== null; }

  /** @internal */
  sendRaw(buf: Buffer): void {
    if (this.closed === null) this.options.send(buf);
  }

  sendControl(message: Control): void { this.sendRaw(encodeControl(message)); }

  /** Edge side: opens a stream and resolves once the agent reached its upstream. */
  open(open: StreamOpen): Promise<MuxStream> {
    if (this.closed !== null) return Promise.reject(new StreamOpenError('session_closed'));
    if (this.streams.size >= this.maxStreams) return Promise.reject(new StreamOpenError('too_many_streams'));
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fff_fffe ? 1 : this.nextId + 2;
    const stream = new MuxStream(id, this, this.window);
    this.streams.set(id, stream);
    return new Promise((resolve, reject) => {
      stream.opening = { resolve, reject };
      this.sendRaw(encodeOpen(id, open));
    });
  }

  /** @internal */
  forget(stream: MuxStream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
  }

  /**
   * Feeds one received frame. DATA payloads are passed on as views of `message`, so the caller must not
   * reuse its buffer afterwards (ws never does). Protocol violations close the leg (via onProtocolError).
   */
  onFrame(message: Buffer): void {
    try {
      this.handle(message);
    } catch (err) {
      const error = err instanceof ProtocolError ? err : new ProtocolError((err as Error).message);
      this.options.onProtocolError?.(error);
    }
  }

  private handle(message: Buffer): void {
    if (message.length < FRAME_HEADER) throw new ProtocolError(`frame of ${message.length} bytes is shorter than its header`);
    const type = message[0];
    const id = message.readUInt32BE(1);
    const payload = message.length === FRAME_HEADER ? EMPTY : message.subarray(FRAME_HEADER);
    if (type === undefined || type > FrameType.Window) throw new ProtocolError(`unknown frame type ${type}`);
    if (type === FrameType.Control) {
      if (id !== 0) throw new ProtocolError(`CONTROL frame on stream ${id}`);
      const message = decodeControl(payload);
      this.options.onControl?.(message);
      return;
    }
    if (type === FrameType.Open) {
      if (this.options.onOpen === undefined) throw new ProtocolError('the edge does not accept streams');
      if (this.streams.has(id) || id === 0) throw new ProtocolError(`OPEN of stream ${id}, which is in use`);
      const open = decodeOpen(payload);
      if (this.streams.size >= this.maxStreams) { this.sendRaw(encodeOpenResult(id, { ok: false, error: 'refused' })); return; }
      const stream = new MuxStream(id, this, this.window);
      this.streams.set(id, stream);
      this.options.onOpen(stream, open);
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return; // a late frame for a stream already gone (a RESET crossed it)
    switch (type) {
      case FrameType.OpenResult: {
        const result = decodeOpenResult(payload);
        const opening = stream.opening;
        stream.opening = null;
        if (opening === null) throw new ProtocolError(`OPEN_RESULT for stream ${id}, which is not opening`);
        if (result.ok) { opening.resolve(stream); return; }
        this.forget(stream);
        stream.opening = opening;
        stream.onReset(new StreamOpenError((result.error || 'refused') as OpenError));
        return;
      }
      case FrameType.Data: stream.onData(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)); return;
      case FrameType.Fin: stream.onFin(); return;
      case FrameType.Reset: this.forget(stream); stream.onReset(Object.assign(new Error('stream reset by peer'), { code: 'ECONNRESET' })); return;
      case FrameType.Window:
        if (payload.length !== 4) throw new ProtocolError('WINDOW payload must be 4 bytes');
        stream.onWindow(payload.readUInt32BE(0));
        return;
      default:
        throw new ProtocolError(`unknown frame type ${type}`);
    }
  }

  /** The leg is gone: every stream ends with `err` (in-flight requests on it fail at once). */
  close(err: Error): void {
    if (this.closed !== null) return;
    this.closed = err;
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const stream of streams) stream.onReset(Object.assign(new Error(err.message), { code: 'ECONNRESET' }));
  }
}
