// A raw HTTP/2 client over TLS (ALPN h2) that sends exactly the frames a test writes, hostile ones
// included, and records what the server answers (SETTINGS, HEADERS, RST_STREAM, GOAWAY, PING ACKs).
import tls from 'node:tls';

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const ERROR = { NO_ERROR: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2, REFUSED_STREAM: 7, CANCEL: 8, COMPRESSION_ERROR: 9, ENHANCE_YOUR_CALM: 11 } as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

export function rstStream(streamId: number, code: number = ERROR.CANCEL): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, streamId, p);
}

export function ping(data = 0): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(data >>> 0, 4);
  return frame(FRAME.PING, 0, 0, p);
}

// HPACK integer with an n-bit prefix (RFC 7541 §5.1).
function hpackInt(value: number, prefixBits: number, firstByte: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByte | value]);
  const out = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) { out.push((rest & 0x7f) | 0x80); rest = Math.floor(rest / 128); }
  out.push(rest);
  return Buffer.from(out);
}

/** A literal header field without indexing, new name (RFC 7541 §6.2.2), no Huffman. */
export function literalHeader(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0x00]), hpackInt(n.length, 7, 0), n, hpackInt(v.length, 7, 0), v]);
}

/** A header block for `GET path` on `authority` (https), plus `extra` literal fields. */
export function requestBlock(path: string, authority: string, extra: Array<[string, string]> = [], method = 'GET'): Buffer {
  const parts = [method === 'GET' ? Buffer.from([0x82]) : literalHeader(':method', method), Buffer.from([0x87]), literalHeader(':path', path), literalHeader(':authority', authority)];
  for (const [name, value] of extra) parts.push(literalHeader(name, value));
  return Buffer.concat(parts);
}

export interface RawH2 {
  socket: tls.TLSSocket;
  closed: boolean;
  settings: Map<number, number>;
  /** Streams that got a response HEADERS frame. */
  responses: Set<number>;
  resets: Map<number, number>;
  goaway: { lastStreamId: number; code: number } | null;
  pingAcks: number;
  bytesReceived: number;
  write(data: Buffer): boolean;
  /** Resolves when `pred()` holds (checked on every frame and on close), or rejects after timeoutMs. */
  until(pred: () => boolean, timeoutMs: number): Promise<void>;
  destroy(): void;
}

/** Connects, sends the preface and an empty SETTINGS, and resolves once the server's SETTINGS arrived (and were ACKed). */
export function rawH2(port: number, servername: string): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    let buffered: Buffer = Buffer.alloc(0);
    let checks: Array<() => void> = [];
    const state: RawH2 = {
      socket, closed: false, settings: new Map(), responses: new Set(), resets: new Map(), goaway: null, pingAcks: 0, bytesReceived: 0,
      write: (data) => (socket.destroyed ? false : socket.write(data)),
      until(pred, timeoutMs) {
        return new Promise<void>((ok, fail) => {
          if (pred()) { ok(); return; }
          const timer = setTimeout(() => { checks = checks.filter((c) => c !== check); fail(new Error(`condition not met within ${timeoutMs} ms (closed ${state.closed}, goaway ${JSON.stringify(state.goaway)})`)); }, timeoutMs);
          const check = (): void => { if (pred()) { clearTimeout(timer); checks = checks.filter((c) => c !== check); ok(); } };
          checks.push(check);
        });
      },
      destroy: () => socket.destroy(),
    };
    const wake = (): void => { for (const c of [...checks]) c(); };
    let gotSettings = false;
    socket.on('data', (d: Buffer) => {
      state.bytesReceived += d.length;
      buffered = buffered.length === 0 ? d : Buffer.concat([buffered, d]);
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) break;
        const type = buffered[3]!;
        const flags = buffered[4]!;
        const stream = buffered.readUInt32BE(5) & 0x7fffffff;
        const payload = buffered.subarray(9, 9 + length);
        buffered = buffered.subarray(9 + length);
        if (type === FRAME.SETTINGS && (flags & FLAG.ACK) === 0) {
          for (let i = 0; i + 6 <= payload.length; i += 6) state.settings.set(payload.readUInt16BE(i), payload.readUInt32BE(i + 2));
          socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
          if (!gotSettings) { gotSettings = true; resolve(state); }
        } else if (type === FRAME.HEADERS) state.responses.add(stream);
        else if (type === FRAME.RST_STREAM) state.resets.set(stream, payload.readUInt32BE(0));
        else if (type === FRAME.GOAWAY) state.goaway = { lastStreamId: payload.readUInt32BE(0) & 0x7fffffff, code: payload.readUInt32BE(4) };
        else if (type === FRAME.PING && (flags & FLAG.ACK) !== 0) state.pingAcks++;
      }
      wake();
    });
    socket.on('close', () => { state.closed = true; wake(); if (!gotSettings) reject(new Error('closed before the server SETTINGS')); });
    socket.on('error', () => {});
    socket.once('secureConnect', () => { socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)])); });
  });
}
