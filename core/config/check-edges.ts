// Edge checks: module references, termination rules, hostport coverage, certificates and listener clashes.
import { certificateCovers } from '../tls/certificates.js';
import { formatIp, parseIp } from '../tables/ip-address.js';
import { httpOnlyChain } from './check-backends.js';
import type { CheckContext } from './check-context.js';
import type { EdgeConfig, ReservedDomainConfig } from './schema.js';
import { splitHostPort } from './syntax.js';
import { coveringDomain } from './domain-index.js';

interface Listener {
  kind: 'sni' | 'tcp' | 'admin';
  address: string;
  port: number;
  path: string;
}

/** The reserved domain covering `name`: exact first, else the longest wildcard; wildcard names must be reserved as written (spec §1.3, 321). */
export function findCoveringDomain(domains: readonly ReservedDomainConfig[], name: string): ReservedDomainConfig | undefined {
  return coveringDomain(domains, name);
}

function terminatesAtEdge(edge: EdgeConfig): boolean {
  if (edge.type === 'https') return true;
  return edge.type === 'tls' && edge.tls_termination.enabled && edge.tls_termination.terminate_at === 'edge';
}

function checkModules(ctx: CheckContext, edge: EdgeConfig, at: string): void {
  if (edge.backend !== undefined) {
    const id = edge.backend.backend_id;
    if (!ctx.exists('backends', id)) {
      ctx.add(`${at}.backend.backend_id`, `unknown backend '${id}' (ERR_NGROK_6501)`);
    } else if (edge.type !== 'https' && edge.backend.enabled) {
      const chain = httpOnlyChain(ctx, id);
      if (chain !== null) {
        const through = chain.length > 1 ? ` (through ${chain.join(' → ')})` : '';
        ctx.add(`${at}.backend.backend_id`, `backend '${id}'${through} is an http_response backend, which serves HTTP only: ${edge.type} edges cannot use it`);
      }
    }
  }
  edge.ip_restriction?.ip_policy_ids.forEach((id, j) => {
    if (!ctx.exists('ip_policies', id)) ctx.add(`${at}.ip_restriction.ip_policy_ids[${j}]`, `unknown ip policy '${id}' (ERR_NGROK_7007)`);
  });
  if (edge.type === 'tcp') return;
  edge.mutual_tls?.certificate_authority_ids.forEach((id, j) => {
    if (!ctx.exists('certificate_authorities', id)) {
      ctx.add(`${at}.mutual_tls.certificate_authority_ids[${j}]`, `unknown certificate authority '${id}'`);
    }
  });
  if (edge.type === 'tls' && edge.tls_termination.enabled && edge.tls_termination.terminate_at === 'agent') {
    ctx.add(`${at}.tls_termination.terminate_at`, 'terminate_at: agent needs tunnel agents (not supported yet)');
  }
  if (edge.mutual_tls?.enabled === true && !terminatesAtEdge(edge)) {
    ctx.add(`${at}.mutual_tls`, 'Mutual TLS at edge requires TLS termination at edge: set tls_termination.terminate_at: edge (ERR_NGROK_1694)');
  }
}

function checkCertificate(ctx: CheckContext, name: string, domain: ReservedDomainConfig, path: string): void {
  const domainAt = ctx.at('reserved_domains', ctx.config.reserved_domains.indexOf(domain));
  if (domain.certificate_id === null) {
    ctx.add(path, `TLS ends at the edge for '${name}', but its reserved domain '${domain.domain}' (${domainAt}) has no certificate_id`);
    return;
  }
  const cert = ctx.certificates?.get(domain.certificate_id);
  if (cert === undefined) return; // unknown or unparsable: reported where it is defined or referenced
  if (!certificateCovers(cert, name)) {
    const names = cert.dnsNames.length > 0 ? cert.dnsNames.join(', ') : 'none';
    ctx.add(path, `certificate '${cert.id}' (of reserved domain '${domain.domain}') does not cover '${name}': its DNS names are ${names}`);
  }
}

function bindKey(address: string): string {
  if (address === 'localhost') return '127.0.0.1';
  const ip = parseIp(address);
  return ip === null ? address : formatIp(ip.family, ip.words);
}

function isUnspecified(key: string): boolean {
  return key === '0.0.0.0' || key === '::';
}

function overlaps(a: Listener, b: Listener): boolean {
  if (a.port !== b.port) return false;
  const ka = bindKey(a.address);
  const kb = bindKey(b.address);
  return ka === kb || isUnspecified(ka) || isUnspecified(kb);
}

export function checkEdges(ctx: CheckContext): void {
  const { config } = ctx;
  const owners = new Map<string, string>();
  const listeners = new Map<number, Listener[]>(); // by port: only listeners on one port can clash
  const clashWith = (mine: Listener): Listener | undefined => listeners.get(mine.port)?.find((l) => overlaps(l, mine));
  const addListener = (mine: Listener): void => { const list = listeners.get(mine.port); if (list === undefined) listeners.set(mine.port, [mine]); else list.push(mine); };
  const sniPorts = new Set<number>();
  if (config.admin != null) {
    const hp = splitHostPort(config.admin.listen, true);
    if (!('error' in hp) && hp.port !== 0) addListener({ kind: 'admin', address: hp.host, port: hp.port, path: 'admin.listen' });
  }

  config.edges.forEach((edge, i) => {
    const at = ctx.at('edges', i);
    checkModules(ctx, edge, at);
    edge.hostports.forEach((hostport, j) => {
      const path = `${at}.hostports[${j}]`;
      const hp = splitHostPort(hostport);
      if ('error' in hp) return; // reported by the schema
      const host = hp.host.toLowerCase();
      const key = `${edge.type === 'tcp' ? 'tcp' : 'sni'}/${edge.type === 'tcp' ? bindKey(host) : host}:${hp.port}`;
      const owner = owners.get(key);
      if (owner !== undefined) {
        ctx.add(path, `hostport '${hostport}' is already used by ${owner}: a hostport belongs to one edge only (ERR_NGROK_7122)`);
        return;
      }
      owners.set(key, path);
      if (edge.type === 'tcp') {
        const mine: Listener = { kind: 'tcp', address: host, port: hp.port, path };
        const clash = clashWith(mine);
        if (clash !== undefined) ctx.add(path, `'${hostport}' clashes with the ${clash.kind} listener of ${clash.path} on port ${hp.port}`);
        addListener(mine);
        return;
      }
      if (!sniPorts.has(hp.port)) {
        sniPorts.add(hp.port);
        const mine: Listener = { kind: 'sni', address: config.listen_address, port: hp.port, path };
        const clash = clashWith(mine);
        if (clash !== undefined) ctx.add(path, `port ${hp.port} on listen_address ${config.listen_address} clashes with the ${clash.kind} listener of ${clash.path}`);
        addListener(mine);
      }
      const domain = findCoveringDomain(config.reserved_domains, host);
      if (domain === undefined) {
        const code = edge.type === 'https' ? 'ERR_NGROK_7121' : 'ERR_NGROK_7133';
        const hint = host.startsWith('*.') ? ': a wildcard hostname must be reserved exactly as written' : '';
        ctx.add(path, `'${host}' is not covered by any reserved domain${hint} (${code})`);
        return;
      }
      if (terminatesAtEdge(edge)) checkCertificate(ctx, host, domain, path);
    });
  });
}
