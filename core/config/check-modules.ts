// Module references shared by edges and https routes: backend ids and ip policy ids.
import { httpOnlyChain } from './check-backends.js';
import type { CheckContext } from './check-context.js';
import type { BackendModuleConfig, IpRestrictionConfig } from './schema.js';

/** A backend module's reference; `httpOnlyAllowed` is false where nobody speaks HTTP (tls and tcp edges). */
export function checkBackendModule(ctx: CheckContext, module: BackendModuleConfig, path: string, httpOnlyAllowed: boolean, edgeType: string): void {
  const id = module.backend_id;
  if (!ctx.exists('backends', id)) {
    ctx.add(`${path}.backend_id`, `unknown backend '${id}' (ERR_NGROK_6501)`);
    return;
  }
  if (httpOnlyAllowed || !module.enabled) return;
  const chain = httpOnlyChain(ctx, id);
  if (chain !== null) {
    const through = chain.length > 1 ? ` (through ${chain.join(' → ')})` : '';
    ctx.add(`${path}.backend_id`, `backend '${id}'${through} is an http_response backend, which serves HTTP only: ${edgeType} edges cannot use it`);
  }
}

export function checkIpRestriction(ctx: CheckContext, module: IpRestrictionConfig, path: string): void {
  module.ip_policy_ids.forEach((id, j) => {
    if (!ctx.exists('ip_policies', id)) ctx.add(`${path}.ip_policy_ids[${j}]`, `unknown ip policy '${id}' (ERR_NGROK_7007)`);
  });
}

/**
 * Route modules the config accepts but this build cannot enforce yet. The worker pipeline skips modules it
 * has no code for, so an enabled one would let traffic through unauthenticated: refuse it instead. Remove a
 * key here when its module is added to workers/http/modules/registry.ts.
 */
export const UNAVAILABLE_ROUTE_MODULES: readonly string[] = [];

/** The enabled modules of a route that this build refuses, with the reason (checked by the route schema). */
export function unavailableRouteModules(route: Readonly<Record<string, unknown>>): { key: string; reason: string }[] {
  return UNAVAILABLE_ROUTE_MODULES
    .filter((key) => {
      const module = route[key] as { enabled?: unknown } | undefined;
      return module !== undefined && module.enabled !== false;
    })
    .map((key) => ({ key, reason: `${key}: not available in this build yet: remove ${key} or set its enabled: false` }));
}
