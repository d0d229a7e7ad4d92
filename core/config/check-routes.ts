// HTTPS edge routes (spec §1.5): ids and matches unique within the edge, module references resolve.
import type { CheckContext } from './check-context.js';
import { checkBackendModule, checkIpRestriction } from './check-modules.js';
import type { HttpsEdgeConfig } from './schema.js';

export function checkRoutes(ctx: CheckContext, edge: HttpsEdgeConfig, at: string): void {
  const ids = new Map<string, string>();
  const matches = new Map<string, string>();
  edge.routes.forEach((route, j) => {
    const path = `${at}.routes[${j}]`;
    const firstId = ids.get(route.id);
    if (firstId !== undefined) ctx.add(`${path}.id`, `duplicate route id '${route.id}' (already used by ${firstId})`);
    else ids.set(route.id, path);
    // spec §1.5: unique across the edge's routes whatever the match_type
    const firstMatch = matches.get(route.match);
    if (firstMatch !== undefined) ctx.add(`${path}.match`, `match '${route.match}' is already used by ${firstMatch}: a match is unique within an edge (ERR_NGROK_7126)`);
    else matches.set(route.match, path);
    if (route.backend !== undefined) checkBackendModule(ctx, route.backend, `${path}.backend`, true, edge.type);
    if (route.ip_restriction !== undefined) checkIpRestriction(ctx, route.ip_restriction, `${path}.ip_restriction`);
  });
}
