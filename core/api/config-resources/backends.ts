// /backends/{tunnel_group|weighted|failover|http_response|static} (spec §1.7). /backends/static is the
// config's static_address type. A backend still named by a module or a parent backend cannot be
// deleted (6502).
import type { EdgeplaneConfig } from '../../config/schema.js';
import type { Json } from '../validate.js';
import { backendInUse } from './errors.js';
import type { Family } from './family.js';
import { copyFields } from './fields.js';
import { moduleReferences } from './edges.js';
import type { View } from './store.js';

function referencesTo(config: EdgeplaneConfig, id: string): string[] {
  const by = moduleReferences(config).filter((r) => r.backend === id).map((r) => r.where);
  for (const b of config.backends) {
    if ((b.type === 'weighted' && id in b.backends) || (b.type === 'failover' && b.backends.includes(id))) by.push(`backend ${b.id}`);
  }
  return by;
}

function backendFamily(path: string, type: string, prefix: string, fields: readonly string[], render: Family['render'], required: readonly string[]): Family {
  return {
    what: `${path} backend`,
    path: `/backends/${path}`,
    listKey: 'backends',
    prefix,
    collection: 'backends',
    type,
    createFields: ['description', 'metadata', ...fields],
    updateFields: ['description', 'metadata', ...fields],
    required,
    write: (body, item) => copyFields(body, item, fields),
    render,
    inUse: (config, id) => {
      const by = referencesTo(config, id);
      return by.length === 0 ? null : backendInUse(id, by);
    },
  };
}

/** Static tunnels (config `tunnels:`) whose labels include all of the group's (spec §1.7). */
function tunnelsOf(item: Json, view: View) {
  const want = Object.entries((item.labels ?? {}) as Record<string, string>);
  return view.config.tunnels
    .filter((t) => want.every(([k, v]) => t.labels[k] === v))
    .map((t) => ({ id: t.id, uri: `${view.base}/tunnels/${t.id}` }));
}

export const backendFamilies: Family[] = [
  backendFamily('tunnel_group', 'tunnel_group', 'bkdtg_', ['labels'], (item, view) => ({ labels: item.labels, tunnels: tunnelsOf(item, view) }), ['labels']),
  backendFamily('weighted', 'weighted', 'bkdwd_', ['backends'], (item) => ({ backends: item.backends }), ['backends']),
  backendFamily('failover', 'failover', 'bkdfo_', ['backends'], (item) => ({ backends: item.backends }), ['backends']),
  backendFamily('http_response', 'http_response', 'bkdhr_', ['body', 'headers', 'status_code'],
    (item) => ({ body: item.body, headers: item.headers, status_code: item.status_code }), ['status_code']),
  backendFamily('static', 'static_address', 'bkdsc_', ['address', 'tls'], (item) => ({ address: item.address, tls: item.tls ?? { enabled: false } }), ['address']),
];

