// Route selection for one https edge (spec §1.5): an exact_path route equal to the path wins, else
// the path_prefix route with the longest match. Prefixes match on whole segments ('/api' matches
// '/api' and '/api/x', not '/apix') unless the match itself ends in '/': spec §1.13 leaves this
// open; segment matching is what k8s Prefix paths do, and the ngrok-operator maps those onto routes.
export interface RouteTable<T> {
  find(path: string): T | undefined;
}

export interface RouteMatch { matchType: 'exact_path' | 'path_prefix'; match: string }

export function buildRouteTable<T>(routes: readonly T[], matchOf: (route: T) => RouteMatch): RouteTable<T> {
  const exact = new Map<string, T>();
  const prefixes: Array<{ route: T; match: string; open: boolean }> = [];
  for (const route of routes) {
    const { matchType, match } = matchOf(route);
    if (matchType === 'exact_path') { if (!exact.has(match)) exact.set(match, route); }
    else prefixes.push({ route, match, open: match.endsWith('/') });
  }
  const matchers = prefixes.sort((a, b) => b.match.length - a.match.length);
  return {
    find(path) {
      const hit = exact.get(path);
      if (hit !== undefined) return hit;
      for (const m of matchers) {
        if (!path.startsWith(m.match)) continue;
        if (m.open || path.length === m.match.length || path.charCodeAt(m.match.length) === 47 /* / */) return m.route;
      }
      return undefined;
    },
  };
}
