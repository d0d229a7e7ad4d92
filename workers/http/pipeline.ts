// Compiles a route's modules, once per config generation and per worker, into one chain of phase
// hooks. Requests then run straight through closures: no per-request config lookups, no checks
// for modules that are off (they are simply not in the chain).
import type { Transform } from 'node:stream';
import type { RouteSpec, RouteModulesSpec } from '../../core/generation/spec.js';
import type { IpTable } from '../../core/tables/ip-table.js';
import type { Breakers } from '../../core/tables/breakers.js';
import type { EdgeResponse, Exchange, HttpModule } from './exchange.js';
import { MODULE_REGISTRY } from './modules/registry.js';
import type { AuthWorkerContext } from './auth/flow.js';
import type { WebhookSettingsSpec } from '../../core/generation/spec.js';

/** What a module factory may use besides its own spec. */
export interface CompileContext {
  edgeId: string;
  routeId: string;
  ipTable: IpTable;
  breakers: Breakers;
  /** The worker's identity-module state (root key, caches); see auth/flow.ts for contexts without one. */
  auth?: AuthWorkerContext;
  /** The generation's `webhooks:` settings (webhook_verification); defaults when absent (unit tests). */
  webhooks?: WebhookSettingsSpec;
}

export type ModuleFactory<K extends keyof RouteModulesSpec> = (spec: NonNullable<RouteModulesSpec[K]>, ctx: CompileContext) => HttpModule;

/** One registry entry: the config key and its factory. Registry order is pipeline order (spec §1.9). */
export interface ModuleEntry<K extends keyof RouteModulesSpec = keyof RouteModulesSpec> {
  key: K;
  create: ModuleFactory<K>;
}

type RequestResult = EdgeResponse | undefined | Promise<EdgeResponse | undefined>;

export interface CompiledPipeline {
  readonly modules: readonly HttpModule[];
  /** Runs the request hooks in order; the first EdgeResponse stops the chain. Sync unless a module is async. */
  request(x: Exchange): RequestResult;
  responseHead(x: Exchange): void;
  /** Body transforms to apply in order (empty when nothing touches the body). */
  responseBody(x: Exchange): Transform[];
  complete(x: Exchange): void;
}

const NO_TRANSFORMS: Transform[] = [];

export function compilePipeline(route: RouteSpec, ctx: CompileContext): CompiledPipeline {
  const modules: HttpModule[] = [];
  for (const entry of MODULE_REGISTRY as readonly ModuleEntry[]) {
    const spec = route.modules[entry.key];
    if (spec !== undefined) modules.push((entry.create as ModuleFactory<typeof entry.key>)(spec as never, ctx));
  }
  const requestHooks = modules.filter((m) => m.onRequest !== undefined).map((m) => m.onRequest!.bind(m));
  const headHooks = modules.filter((m) => m.onResponseHead !== undefined).map((m) => m.onResponseHead!.bind(m));
  const bodyHooks = modules.filter((m) => m.responseBody !== undefined).map((m) => m.responseBody!.bind(m));
  const completeHooks = modules.filter((m) => m.onComplete !== undefined).map((m) => m.onComplete!.bind(m));

  return {
    modules,
    request: chainRequest(requestHooks),
    responseHead: headHooks.length === 0 ? noop : (x) => { for (const hook of headHooks) hook(x); },
    responseBody: bodyHooks.length === 0 ? () => NO_TRANSFORMS : (x) => {
      const out: Transform[] = [];
      for (const hook of bodyHooks) { const t = hook(x); if (t !== null) out.push(t); }
      return out;
    },
    // Every complete hook runs even if one throws: breaker accounting must not be skipped by a bug elsewhere.
    complete: completeHooks.length === 0 ? noop : (x) => {
      for (const hook of completeHooks) { try { hook(x); } catch { /* logged by the engine's own guard */ } }
    },
  };
}

function noop(): void { /* no module on this phase */ }

type RequestHook = (x: Exchange) => RequestResult;

// Builds the request chain right to left so each hook calls the next directly; a hook that returns
// a promise switches the rest of the chain to async for that request only.
function chainRequest(hooks: RequestHook[]): (x: Exchange) => RequestResult {
  let next: (x: Exchange) => RequestResult = () => undefined;
  for (let i = hooks.length - 1; i >= 0; i--) {
    const hook = hooks[i]!;
    const after = next;
    next = (x) => {
      const result = hook(x);
      if (result === undefined) return after(x);
      if (result instanceof Promise) return result.then((r) => (r === undefined ? after(x) : r));
      return result;
    };
  }
  return next;
}
