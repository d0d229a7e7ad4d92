// Inspection on the admin listener: GET /inspect (the page) and the WebSocket /inspect/live (its
// feed). The admin listener is for operators only: bind it to loopback (admin.listen) or put it
// behind something that authenticates. A cross-site page cannot read the feed: the upgrade is
// refused when the browser's Origin is not this listener's own host.
import type { UwsApp, UwsRequest, UwsResponse, UwsWebSocket } from '../uws.js';
import { LiveFeed, LIVE_TOPIC, type LiveStats } from './live.js';
import { inspectPage, PAGE_CSP } from './page.js';
import type { InspectionSource } from './source.js';

export type { InspectionSource, InspectionSnapshot, RouteStatus, BreakerStatus, WorkerLoad, TunnelsStatus, TunnelSessionStatus, TunnelGroupStatus } from './source.js';
export { RouteStatusTally } from './tally.js';

export interface InspectionOptions {
  /** Traffic rows pushed to each page per second at most (default 200). */
  maxEventsPerSecond?: number;
  /** How often batched rows are pushed (default 250 ms). */
  flushIntervalMs?: number;
  /** How often routes, breakers and workers are pushed (default 1000 ms). */
  snapshotIntervalMs?: number;
  /** Bytes uWS may buffer for one page before it closes it (default 1 MiB). */
  maxBackpressureBytes?: number;
  /** Rows the page keeps (default 200). */
  maxRows?: number;
}

export interface InspectionStats extends LiveStats {
  /** Highest bytes uWS held for one page, seen before a publish. */
  maxBufferedBytes: number;
}

export interface InspectionHandle {
  stats(): InspectionStats;
  /** Stops the feed's timers and source subscription (closing the app closes the sockets). */
  close(): void;
}

interface Peer { overLimit: boolean }

const DEFAULTS = { maxEventsPerSecond: 200, flushIntervalMs: 250, snapshotIntervalMs: 1000, maxBackpressureBytes: 1024 * 1024, maxRows: 200 };

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`inspection: ${name} must be a positive number, got ${value}`);
  return value;
}

/** True when the request has no Origin (not a browser) or its Origin names the Host it was sent to. */
function sameOrigin(req: UwsRequest): boolean {
  const origin = req.getHeader('origin');
  if (origin === '') return true;
  try {
    return new URL(origin).host === req.getHeader('host');
  } catch {
    return false;
  }
}

function refuse(res: UwsResponse, status: string, body: string): void {
  res.writeStatus(status).writeHeader('content-type', 'text/plain').end(body);
}

export function registerInspection(app: UwsApp, source: InspectionSource, options: InspectionOptions = {}): InspectionHandle {
  const o = { ...DEFAULTS, ...options };
  for (const [name, value] of Object.entries(o)) positive(name, value);
  const html = inspectPage(o.maxRows);
  const sockets = new Set<UwsWebSocket<Peer>>();
  let maxBufferedBytes = 0;
  const feed = new LiveFeed(source, {
    publish: (message) => {
      // uWS closes a socket whose buffer would pass the limit; note which ones so the close is
      // counted as a drop, and how full buffers got (the bound the tests check).
      for (const ws of sockets) {
        const buffered = ws.getBufferedAmount();
        if (buffered > maxBufferedBytes) maxBufferedBytes = buffered;
        if (buffered + message.length > o.maxBackpressureBytes) ws.getUserData().overLimit = true;
      }
      app.publish(LIVE_TOPIC, message);
    },
  }, o);

  app.get('/inspect', (res) => {
    res.writeStatus('200 OK')
      .writeHeader('content-type', 'text/html; charset=utf-8')
      .writeHeader('content-security-policy', PAGE_CSP)
      .writeHeader('x-content-type-options', 'nosniff')
      .writeHeader('referrer-policy', 'no-referrer')
      .writeHeader('cache-control', 'no-store')
      .end(html);
  });

  app.ws<Peer>('/inspect/live', {
    // The page only listens; anything it sends is tiny or a mistake.
    maxPayloadLength: 1024,
    maxBackpressure: o.maxBackpressureBytes,
    closeOnBackpressureLimit: true,
    idleTimeout: 60,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      if (!sameOrigin(req)) { refuse(res, '403 Forbidden', 'cross-origin inspection is not allowed\n'); return; }
      res.upgrade<Peer>({ overLimit: false },
        req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => {
      sockets.add(ws);
      ws.send(feed.clientOpened());
      ws.subscribe(LIVE_TOPIC);
    },
    close: (ws) => {
      sockets.delete(ws);
      feed.clientClosed(ws.getUserData().overLimit);
    },
  });

  return {
    stats: () => ({ ...feed.stats, maxBufferedBytes }),
    close: () => feed.stop(),
  };
}
