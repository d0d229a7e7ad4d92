// Per-route status counts from http_request_complete events, for an InspectionSource's snapshot:
// the shared counters count per edge, the events carry the route. Bounded: at most `maxRoutes`
// routes are tracked (the rest are summed under route "(other)"), so a churn of route ids cannot grow it.
import type { RouteStatus, StatusClass } from './source.js';
import { trafficRow } from './summary.js';

const OTHER = '(other)';

function statusClass(status: number): StatusClass | null {
  if (status < 100 || status > 599) return null;
  return `${Math.floor(status / 100)}xx` as StatusClass;
}

export class RouteStatusTally {
  private readonly routes = new Map<string, RouteStatus>();

  constructor(private readonly maxRoutes = 10_000) {}

  add(events: readonly object[]): void {
    for (const event of events) {
      const row = trafficRow(event);
      if (row === null || row.kind !== 'http') continue;
      const entry = this.entry(row.edge, row.route);
      entry.requests += 1;
      const cls = statusClass(row.status);
      if (cls !== null) entry.statuses[cls] = (entry.statuses[cls] ?? 0) + 1;
    }
  }

  /** Copies, sorted by edge then route. */
  snapshot(): RouteStatus[] {
    return [...this.routes.values()]
      .map((r) => ({ ...r, statuses: { ...r.statuses } }))
      .sort((a, b) => a.edge.localeCompare(b.edge) || a.route.localeCompare(b.route));
  }

  private entry(edge: string, route: string): RouteStatus {
    let key = `${edge}\u0000${route}`;
    let entry = this.routes.get(key);
    if (entry !== undefined) return entry;
    if (this.routes.size >= this.maxRoutes) {
      key = `${edge}\u0000${OTHER}`;
      entry = this.routes.get(key);
      if (entry !== undefined) return entry;
      route = OTHER;
    }
    entry = { edge, route, requests: 0, statuses: {} };
    this.routes.set(key, entry);
    return entry;
  }
}
