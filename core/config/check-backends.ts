// Backend references: children exist, no weighted/failover cycles, and which backends answer HTTP only.
import type { CheckContext } from './check-context.js';
import type { BackendConfig } from './schema.js';

function childIds(backend: BackendConfig): string[] {
  if (backend.type === 'weighted') return Object.keys(backend.backends);
  if (backend.type === 'failover') return backend.backends;
  return [];
}

function childPath(ctx: CheckContext, index: number, backend: BackendConfig, child: string, position: number): string {
  const base = `${ctx.at('backends', index)}.backends`;
  return backend.type === 'weighted' ? `${base}.${child}` : `${base}[${position}]`;
}

export function checkBackends(ctx: CheckContext): void {
  const backends = ctx.config.backends;
  backends.forEach((backend, i) => {
    childIds(backend).forEach((child, j) => {
      if (!ctx.exists('backends', child)) {
        ctx.add(childPath(ctx, i, backend, child, j), `unknown backend '${child}' (ERR_NGROK_6501)`);
      }
    });
    if (backend.type === 'failover') {
      const seen = new Set<string>();
      backend.backends.forEach((child, j) => {
        if (seen.has(child)) ctx.add(childPath(ctx, i, backend, child, j), `backend '${child}' is listed twice`);
        seen.add(child);
      });
    }
  });
  reportCycles(ctx);
}

// Depth-first search with colours; each cycle is reported once, at the backend where it was closed.
function reportCycles(ctx: CheckContext): void {
  const backends = ctx.config.backends;
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const reported = new Set<string>();
  const visit = (id: string): void => {
    const index = ctx.indexOf('backends', id);
    if (index === undefined) return;
    state.set(id, 'open');
    stack.push(id);
    const backend = backends[index]!;
    childIds(backend).forEach((child, j) => {
      const s = state.get(child);
      if (s === 'open') {
        const cycle = [...stack.slice(stack.indexOf(child)), child];
        const key = [...new Set(cycle)].sort().join(',');
        if (!reported.has(key)) {
          reported.add(key);
          ctx.add(childPath(ctx, index, backend, child, j), `backend cycle: ${cycle.join(' → ')}`);
        }
      } else if (s === undefined) {
        visit(child);
      }
    });
    stack.pop();
    state.set(id, 'done');
  };
  for (const backend of backends) if (!state.has(backend.id)) visit(backend.id);
}

/** The chain of ids from `id` to an http_response backend it can send traffic to, or null when there is none. */
export function httpOnlyChain(ctx: CheckContext, id: string, seen: Set<string> = new Set()): string[] | null {
  const index = ctx.indexOf('backends', id);
  if (index === undefined || seen.has(id)) return null;
  seen.add(id);
  const backend = ctx.config.backends[index]!;
  if (backend.type === 'http_response') return [id];
  for (const child of childIds(backend)) {
    const chain = httpOnlyChain(ctx, child, seen);
    if (chain !== null) return [id, ...chain];
  }
  return null;
}
