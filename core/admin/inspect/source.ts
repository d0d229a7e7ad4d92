// What the inspection page shows, and where it comes from. The daemon implements InspectionSource
// from its shared counters, breakers and event stream; the inspection endpoint only reads it.
import type { TunnelsStatus } from './tunnels.js';

export type { TunnelsStatus, TunnelSessionStatus, TunnelGroupStatus } from './tunnels.js';

export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';

/** Requests finished on one route, by status class (counted from http_request_complete events). */
export interface RouteStatus {
  edge: string;
  route: string;
  requests: number;
  statuses: Partial<Record<StatusClass, number>>;
}

export interface BreakerStatus {
  edge: string;
  route: string;
  state: 'closed' | 'open' | 'half_open';
  trips: number;
}

export interface WorkerLoad {
  worker: number;
  /** Connections the worker holds now. */
  active: number;
  /** Connections it has handled since it started. */
  handled: number;
}

export interface InspectionSnapshot {
  routes: RouteStatus[];
  breakers: BreakerStatus[];
  workers: WorkerLoad[];
  /** Agent sessions and tunnel_group membership; absent from sources without a tunnel registry. */
  tunnels?: TunnelsStatus;
}

export interface InspectionSource {
  /** Called about once a second while a page is open; must be cheap (reads counters, no I/O). */
  snapshot(): InspectionSnapshot;
  /**
   * Subscribes to traffic events as the daemon emits them (spec §1.8 envelopes, already redacted).
   * Returns the unsubscribe function. The endpoint subscribes only while a page is open.
   */
  onEvents(listener: (events: object[]) => void): () => void;
}
