// Which certificates the config asks for: one per reserved domain with a certificate_management_policy.
// A plain domain's certificate names the domain; a wildcard domain's names the concrete hostnames its
// TLS-terminating edges use (HTTP-01 cannot validate a wildcard, so "*.x" itself is never ordered).
import type { EdgeplaneConfig } from '../config/schema.js';
import { coveringDomain } from '../config/domain-index.js';
import { splitHostPort } from '../config/syntax.js';

export interface WantedCertificate {
  domain: string;
  /** Sorted, lower case; the first is the common name. */
  names: string[];
  keyType: 'ecdsa' | 'rsa';
}

function terminatesAtEdge(edge: EdgeplaneConfig['edges'][number]): boolean {
  return edge.type === 'https' || (edge.type === 'tls' && edge.tls_termination.enabled && edge.tls_termination.terminate_at === 'edge');
}

export function wantedCertificates(config: EdgeplaneConfig): Map<string, WantedCertificate> {
  const wanted = new Map<string, WantedCertificate>();
  for (const d of config.reserved_domains) {
    if (d.certificate_management_policy === null) continue;
    const domain = d.domain.toLowerCase();
    wanted.set(d.domain, { domain: d.domain, names: domain.startsWith('*.') ? [] : [domain], keyType: d.certificate_management_policy.private_key_type });
  }
  for (const edge of config.edges) {
    if (!terminatesAtEdge(edge)) continue;
    for (const hostport of edge.hostports) {
      const hp = splitHostPort(hostport);
      if ('error' in hp) continue;
      const name = hp.host.toLowerCase();
      if (name.startsWith('*.')) continue;
      const owner = coveringDomain(config.reserved_domains, name);
      const w = owner === undefined ? undefined : wanted.get(owner.domain);
      if (w !== undefined && owner!.domain.startsWith('*.') && !w.names.includes(name)) w.names.push(name);
    }
  }
  for (const [domain, w] of wanted) {
    if (w.names.length === 0) wanted.delete(domain); // a wildcard no edge uses yet: nothing to order
    else w.names.sort();
  }
  return wanted;
}
