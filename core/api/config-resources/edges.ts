// /edges/https, /edges/tls and /edges/tcp (spec §1.5): hostports plus the edge-level modules each edge
// type has (spec §1.5 matrix). An https edge's routes come back embedded (routes.ts serves them).
import type { EdgeplaneConfig } from '../../config/schema.js';
import type { Json } from '../validate.js';
import type { Family } from './family.js';
import { copyFields, renderModules } from './fields.js';
import { renderRoute } from './routes.js';
import type { View } from './store.js';

const COMMON = ['description', 'metadata', 'hostports'] as const;

function edgeFamily(type: 'https' | 'tls' | 'tcp', prefix: string, modules: readonly string[]): Family {
  return {
    what: `${type} edge`,
    path: `/edges/${type}`,
    listKey: `${type}_edges`,
    prefix,
    collection: 'edges',
    type,
    createFields: COMMON,
    updateFields: COMMON,
    modules,
    write: (body, item) => copyFields(body, item, ['hostports']),
    render: (item: Json, view: View) => ({
      hostports: item.hostports ?? [],
      ...renderModules(item, modules, view),
      ...(type === 'https' ? { routes: ((item.routes ?? []) as Json[]).map((route) => renderRoute(String(item.id), route, view)) } : {}),
    }),
  };
}

export const httpsEdges = edgeFamily('https', 'edghts_', ['mutual_tls', 'tls_termination']);
export const tlsEdges = edgeFamily('tls', 'edgtls_', ['backend', 'ip_restriction', 'mutual_tls', 'tls_termination']);
export const tcpEdges = edgeFamily('tcp', 'edgtcp_', ['backend', 'ip_restriction']);

/** Every edge and route module that names a backend or an ip policy, as "where" → ids. */
export function moduleReferences(config: EdgeplaneConfig): Array<{ where: string; backend?: string; policies: string[] }> {
  const out: Array<{ where: string; backend?: string; policies: string[] }> = [];
  for (const edge of config.edges) {
    const holders: Array<[string, { backend?: { backend_id: string } | undefined; ip_restriction?: { ip_policy_ids: string[] } | undefined }]> =
      edge.type === 'https' ? edge.routes.map((r) => [`route ${r.id}`, r]) : [[`edge ${edge.id}`, edge]];
    for (const [where, holder] of holders) {
      out.push({ where, backend: holder.backend?.backend_id, policies: holder.ip_restriction?.ip_policy_ids ?? [] });
    }
  }
  return out;
}
