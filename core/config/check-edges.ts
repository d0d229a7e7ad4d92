// Edge checks: module references, termination rules, hostport coverage, certificates and listener clashes.
import { certificateCovers } from '../tls/certificates.js';
import { formatIp, parseIp } from '../tables/ip-address.js';
import type { CheckContext } from './check-context.js';
import { checkBackendModule, checkIpRestriction } from './check-modules.js';
import { checkRoutes } from './check-routes.js';
import type { EdgeConfig, ReservedDomainConfig } from './schema.js';
import { splitHostPort } from './syntax.js';
import { coveringDomain } from './domain-index.js';

interface Listener {
  kind: 'sni' | 'tcp' | 'admin' | 'http' | 'tunnel' | 'grpc';
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
  if (edge.type === 'https') {
    checkRoutes(ctx, edge, at);
  } else {
    if (edge.backend !== undefined) checkBackendModule(ctx, edge.backend, `${at}.backend`, false, edge.type);
    if (edge.ip_restriction !== undefined) checkIpRestriction(ctx, edge.ip_restriction, `${at}.ip_restriction`);
  }
  if (edge.type === 'tcp') return;
  edge.mutual_tls?.certificate_authority_ids.forEach((id, j) => {
    if (!ctx.exists('certificate_authorities', id)) {
      ctx.add(`${at}.mutual_tls.certificate_authority_ids[${j}]`, `unknown certificate authority '${id}'`);
    }
  });
  if (edge.type === 'tls' && edge.tls_termination.enabled && edge.tls_termination.terminate_at === 'agent') {
    const problem = agentTerminationProblem(ctx, edge.backend?.backend_id);
    if (problem !== null) ctx.add(`${at}.tls_termination.terminate_at`, problem);
  }
  if (edge.mutual_tls?.enabled === true && !terminatesAtEdge(edge)) {
    ctx.add(`${at}.mutual_tls`, 'Mutual TLS at edge requires TLS termination at edge: set tls_termination.terminate_at: edge (ERR_NGROK_1694)');
  }
}

/** terminate_at: agent needs agents: every backend the edge can reach must be a tunnel group (agents hold the certificate). */
function agentTerminationProblem(ctx: CheckContext, backendId: string | undefined): string | null {
  if (ctx.invalidSections.has('tunnel')) return null; // its own problems are reported; a default stands in
  if (ctx.config.tunnel.listen === null) return 'terminate_at: agent needs tunnel agents: set tunnel.listen (and authtokens) so agents can connect';
  if (backendId === undefined) return null;
  const byId = new Map(ctx.config.backends.map((b) => [b.id, b]));
  const seen = new Set<string>();
  const walk = (id: string): string | null => {
    if (seen.has(id)) return null;
    seen.add(id);
    const backend = byId.get(id);
    if (backend === undefined) return null; // unknown ids are reported by the backend checks
    switch (backend.type) {
      case 'tunnel_group': return null;
      case 'weighted': for (const child of Object.keys(backend.backends)) { const p = walk(child); if (p !== null) return p; } return null;
      case 'failover': for (const child of backend.backends) { const p = walk(child); if (p !== null) return p; } return null;
      default: return `terminate_at: agent sends the TLS bytes to an agent, but backend '${id}' (${backend.type}) is not a tunnel group`;
    }
  };
  return walk(backendId);
}

function checkCertificate(ctx: CheckContext, name: string, domain: ReservedDomainConfig, path: string): void {
  const domainAt = ctx.at('reserved_domains', ctx.config.reserved_domains.indexOf(domain));
  if (domain.certificate_management_policy !== null) {
    // The certificate comes from ACME over HTTP-01, which cannot prove control of a wildcard name.
    if (name.startsWith('*.')) ctx.add(path, `'${name}' is a wildcard name: automatic certificates (certificate_management_policy of '${domain.domain}', ${domainAt}) are validated over HTTP-01, which cannot issue wildcard certificates; upload one with certificate_id`);
    return;
  }
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

  const tunnel = config.tunnel;
  const thp = tunnel.listen === null ? null : splitHostPort(tunnel.listen, true);
  if (thp !== null && !('error' in thp) && thp.port !== 0) {
    const mine: Listener = { kind: 'tunnel', address: thp.host, port: thp.port, path: 'tunnel.listen' };
    const clash = clashWith(mine);
    if (clash !== undefined) ctx.add('tunnel.listen', `'${tunnel.listen}' clashes with the ${clash.kind} listener of ${clash.path} on port ${thp.port}`);
    addListener(mine);
  }
  if (tunnel.certificate_id !== null && !ctx.exists('tls_certificates', tunnel.certificate_id)) {
    ctx.add('tunnel.certificate_id', `unknown tls certificate '${tunnel.certificate_id}'`);
  }

  const control = config.control;
  const chp = control.grpc_listen === null ? null : splitHostPort(control.grpc_listen, true);
  if (chp !== null && !('error' in chp)) {
    if (chp.port !== 0) {
      const mine: Listener = { kind: 'grpc', address: chp.host, port: chp.port, path: 'control.grpc_listen' };
      const clash = clashWith(mine);
      if (clash !== undefined) ctx.add('control.grpc_listen', `'${control.grpc_listen}' clashes with the ${clash.kind} listener of ${clash.path} on port ${chp.port}`);
      addListener(mine);
    }
    if ((config.admin?.api_keys ?? []).length === 0) ctx.add('control.grpc_listen', 'the gRPC API needs admin.api_keys: clients authenticate with one of them');
  }
  if (control.grpc_certificate_id !== null && !ctx.exists('tls_certificates', control.grpc_certificate_id)) {
    ctx.add('control.grpc_certificate_id', `unknown tls certificate '${control.grpc_certificate_id}'`);
  }

  // HTTP-01 challenges arrive over cleartext HTTP: without the plain listener no certificate can be issued.
  if (config.http.plain_listen === null && !ctx.invalidSections.has('http')) {
    config.reserved_domains.forEach((d, i) => {
      if (d.certificate_management_policy !== null) ctx.add(`${ctx.at('reserved_domains', i)}.certificate_management_policy`, `automatic certificates are validated over HTTP-01 on port 80: set http.plain_listen (e.g. 0.0.0.0:80)`);
    });
  }

  // Checked last so that a clash with any edge's port is reported here, where the extension is set.
  const plain = config.http.plain_listen;
  const hp = plain === null ? null : splitHostPort(plain);
  if (hp !== null && !('error' in hp)) {
    const clash = clashWith({ kind: 'http', address: hp.host, port: hp.port, path: 'http.plain_listen' });
    if (clash !== undefined) ctx.add('http.plain_listen', `'${plain}' clashes with the ${clash.kind} listener of ${clash.path} on port ${hp.port}`);
  }
}
