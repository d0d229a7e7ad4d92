import tls from 'node:tls';

/** One routed handshake: the origin's marker, or why there was none. */
export interface HandshakeResult {
  marker: string | null;
  /** 'refused' (nothing listens), 'closed' (closed before the handshake ended: not routed), or an error code */
  error?: string;
  ms: number;
}

/** Connects, completes a TLS handshake with `sni` and reads the origin's one-byte marker. */
export function handshake(port: number, sni: string, timeoutMs: number): Promise<HandshakeResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (marker: string | null, error?: string): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ marker, error, ms: performance.now() - t0 });
    };
    const socket = tls.connect({ host: '127.0.0.1', port, servername: sni, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    socket.setTimeout(timeoutMs, () => finish(null, 'timeout'));
    socket.setEncoding('latin1');
    socket.once('data', (d: string) => finish(d.slice(0, 1)));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(null, err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'ECONNRESET' ? 'closed' : (err.code ?? err.message)));
    socket.once('close', () => finish(null, 'closed'));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface WaitOptions {
  port: number;
  sni: string;
  want: string;
  timeoutMs: number;
  /** pause between attempts */
  intervalMs: number;
  /** false ends the wait early (the proxy died) */
  alive: () => boolean;
}

/** Polls until a handshake with `sni` reaches the origin marked `want`; ms from the call, or an error. */
export async function waitForMarker(o: WaitOptions): Promise<{ ms: number } | { error: string }> {
  const t0 = performance.now();
  let last = 'no attempt';
  while (performance.now() - t0 < o.timeoutMs) {
    const left = o.timeoutMs - (performance.now() - t0);
    const r = await handshake(o.port, o.sni, Math.max(1, left));
    if (r.marker === o.want) return { ms: performance.now() - t0 };
    last = r.marker !== null ? `routed to origin ${r.marker}` : r.error ?? 'no answer';
    if (!o.alive()) return { error: `the proxy exited (last attempt: ${last})` };
    await sleep(o.intervalMs);
  }
  return { error: `no routed handshake within ${Math.round(o.timeoutMs / 1000)} s (last attempt: ${last})` };
}
