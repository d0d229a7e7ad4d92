// Per worker and per generation: every https edge's routes compiled into pipelines, once. A
// generation's compiled form lives as long as the generation (WeakMap on its spec object).
import type { GenerationSpec } from '../../core/generation/spec.js';
import { IpTable } from '../../core/tables/ip-table.js';
import type { Breakers } from '../../core/tables/breakers.js';
import { HostTable } from '../../core/tables/host-table.js';
import { compilePipeline } from './pipeline.js';
import type { AuthWorkerContext } from './auth/flow.js';
import { buildRouteTable } from './routes.js';
import type { CompiledRoute } from './forward.js';
import type { CompiledHttpEdge } from './request.js';

export interface CompiledHttpGeneration {
  /** By edge index; only https edges. */
  edges: Map<number, CompiledHttpEdge>;
  hosts: HostTable;
}

const compiled = new WeakMap<GenerationSpec, CompiledHttpGeneration>();

export function compiledHttp(spec: GenerationSpec, breakers: Breakers, auth?: AuthWorkerContext): CompiledHttpGeneration {
  let gen = compiled.get(spec);
  if (gen !== undefined) return gen;
  const ipTable = new IpTable(spec.ipTable);
  const edges = new Map<number, CompiledHttpEdge>();
  spec.edges.forEach((edge, index) => {
    if (edge.type !== 'https') return;
    const routes: CompiledRoute[] = edge.routes.map((route) => ({
      spec: route,
      pipeline: compilePipeline(route, { edgeId: edge.id, routeId: route.id, ipTable, breakers, webhooks: spec.webhooks, ...(auth === undefined ? {} : { auth }) }),
    }));
    edges.set(index, {
      index,
      id: edge.id,
      slot: edge.slot,
      routes: buildRouteTable(routes, (r) => r.spec),
    });
  });
  gen = { edges, hosts: new HostTable(spec.hostTable) };
  compiled.set(spec, gen);
  return gen;
}
