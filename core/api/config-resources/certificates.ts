// /tls_certificates, /certificate_authorities and /reserved_domains (spec §1.3, §1.4). Certificate
// fields are read from the certificates the config loader parsed; a private key is written, never read.
import { json } from '../handler.js';
import type { Json } from '../validate.js';
import { createOnly, notFound } from './errors.js';
import type { Family, Route } from './family.js';
import { methodRoutes, renderItem } from './family.js';
import { copyFields, ref } from './fields.js';
import { certificateFields, subjectAlternativeNames, subjectFields } from './x509.js';
import { commit, indexOfId, rawCollection, view, type ConfigDaemon, type View } from './store.js';

export const tlsCertificates: Family = {
  what: 'tls certificate',
  path: '/tls_certificates',
  listKey: 'certificates',
  prefix: 'cert_',
  collection: 'tls_certificates',
  createFields: ['description', 'metadata', 'certificate_pem', 'private_key_pem'],
  // spec §1.4: the key is create-only; a new certificate is a new resource
  updateFields: ['description', 'metadata'],
  required: ['certificate_pem', 'private_key_pem'],
  write: (body, item) => copyFields(body, item, ['certificate_pem', 'private_key_pem']),
  render: (item: Json, v: View) => {
    const parsed = v.loaded.certificates.get(String(item.id));
    if (parsed === undefined) return {};
    return {
      certificate_pem: parsed.certificatePem,
      ...certificateFields(parsed.leaf),
      subject_alternative_names: subjectAlternativeNames(parsed.leaf),
      issued_at: null,
      private_key_type: parsed.privateKeyType,
      ...subjectFields(parsed.leaf),
    };
  },
};

export const certificateAuthorities: Family = {
  what: 'certificate authority',
  path: '/certificate_authorities',
  listKey: 'certificate_authorities',
  prefix: 'ca_',
  collection: 'certificate_authorities',
  createFields: ['description', 'metadata', 'ca_pem'],
  updateFields: ['description', 'metadata'],
  required: ['ca_pem'],
  write: (body, item) => copyFields(body, item, ['ca_pem']),
  render: (item: Json, v: View) => {
    const parsed = v.loaded.authorities.get(String(item.id));
    return parsed === undefined ? {} : { ca_pem: parsed.caPem, ...certificateFields(parsed.cert) };
  },
};

const DOMAIN_FIELDS = ['description', 'metadata', 'certificate_id', 'certificate_management_policy'];

export const reservedDomains: Family = {
  what: 'reserved domain',
  path: '/reserved_domains',
  listKey: 'reserved_domains',
  prefix: 'rd_',
  collection: 'reserved_domains',
  createFields: ['domain', ...DOMAIN_FIELDS],
  updateFields: ['domain', ...DOMAIN_FIELDS],
  required: ['domain'],
  write: (body, item, creating) => {
    if (!creating && body.domain !== undefined && body.domain !== item.domain) throw createOnly('domain');
    copyFields(body, item, ['domain', 'certificate_id', 'certificate_management_policy']);
  },
  render: (item: Json, v: View) => {
    const certificateId = typeof item.certificate_id === 'string' ? item.certificate_id : null;
    const status = v.deps.certificateManagementStatus?.(String(item.id));
    return {
      domain: item.domain,
      certificate: certificateId === null ? null : ref(v, 'tls_certificates', certificateId),
      certificate_management_policy: item.certificate_management_policy ?? null,
      ...(status === undefined ? {} : { certificate_management_status: status }),
      // names are served here directly: no CNAME to point at
      cname_target: null,
      acme_challenge_cname_target: null,
    };
  },
};

/** DELETE /reserved_domains/{id}/certificate and …/certificate_management_policy: unset one field. */
export function reservedDomainDetachRoutes(deps: ConfigDaemon): Route[] {
  return methodRoutes(/^\/reserved_domains\/([^/]+)\/(certificate|certificate_management_policy)$/, {
    delete: async (ctx) => {
      const [id, part] = ctx.params as [string, string];
      const field = part === 'certificate' ? 'certificate_id' : 'certificate_management_policy';
      const refused = await commit(deps, (doc) => {
        const list = rawCollection(doc, 'reserved_domains', deps.current);
        const item = list[indexOfId(list, id)] as Json | undefined;
        if (item === undefined) throw notFound('reserved domain', id);
        delete item[field];
      });
      if (refused !== null) return refused;
      const v = view(deps, ctx.base);
      const item = (v.redacted.reserved_domains as Json[]).find((d) => d.id === id)!;
      return json(200, renderItem(reservedDomains, item, v));
    },
  });
}
