// An origin handler that streams a large body with backpressure (it writes only after 'drain'), so
// a test can see whether the proxy in front of it stops reading when its client does.
import type { OriginHandler } from '../http.js';

export interface BigResponse {
  url: string;
  written: number;
  /** Waiting for 'drain' right now. */
  blocked: boolean;
  finished: boolean;
  /** The connection to the origin closed before the whole body was written. */
  cut: boolean;
  closedAt: number;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** Serves `bytes` of 'a' for every request; `responses` records how far each got. */
export function bigBodyOrigin(bytes: number): { handler: OriginHandler; responses: BigResponse[] } {
  const responses: BigResponse[] = [];
  const handler: OriginHandler = (req, res) => {
    const r: BigResponse = { url: req.url ?? '', written: 0, blocked: false, finished: false, cut: false, closedAt: 0 };
    responses.push(r);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes });
    res.on('close', () => { r.closedAt = Date.now(); r.cut = !r.finished; });
    const pump = (): void => {
      r.blocked = false;
      while (r.written < bytes && !res.destroyed) {
        const n = Math.min(CHUNK.length, bytes - r.written);
        r.written += n;
        if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) { r.blocked = true; res.once('drain', pump); return; }
      }
      if (r.written >= bytes && !res.destroyed) { r.finished = true; res.end(); }
    };
    pump();
  };
  return { handler, responses };
}
