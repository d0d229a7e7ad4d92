// Compiles a validated config into one generation: the shared host and IP tables, the flat edge,
// hostport and backend arrays the workers index into, and the plan of public listeners.
import { createHash } from 'node:crypto';
import type { LoadedConfig } from '../config/load.js';
import type { EdgeplaneConfig, HeadersModuleConfig, HttpConfig, OAuthConfig, OidcConfig, RouteConfig, SamlConfig } from '../config/schema.js';
import { OAUTH_PROVIDERS } from '../config/schema-auth.js';
import { buildHostTable, type HostEntry } from '../tables/host-table.js';
import { buildIpTable } from '../tables/ip-table.js';
import { metricSlotsOf, type SlotMap } from '../tables/counters.js';
import { coveringDomain } from '../config/domain-index.js';
import { splitHostPort } from '../config/syntax.js';
import type {
  AuthSessionSpec, BackendSpec, CertificateSpec, EdgeSpec, EndpointSpec, GenerationSpec, HeadersModuleSpec, HostportSpec, HttpSettingsSpec,
  ListenerPlan, OAuthSpec, TunnelSpec, OidcSpec, RouteModulesSpec, RouteSpec, SamlSpec,
} from './spec.js';

type Backend = EdgeplaneConfig['backends'][number];
type Edge = EdgeplaneConfig['edges'][number];

export interface PlainListener { address: string; port: number; mode: 'redirect' | 'serve' }

export interface BuiltGeneration {
  spec: GenerationSpec;
  listeners: ListenerPlan[];
  /** The cleartext HTTP listener (http.plain_listen), also among `listeners` as kind 'http'; null when off. */
  plain: PlainListener | null;
}

/**
 * Stable slots across generations; `breakers` is keyed "<edge id>/<route id>" (capacity MAX_BREAKERS).
 * Route metric slots (same keys, capacity MAX_ROUTES; beyond it a route gets -1 and is not counted
 * per route) hang off `edges`, see metricSlotsOf.
 */
export interface SlotMaps { edges: SlotMap; backends: SlotMap; breakers: SlotMap }

const DEFAULT_ACCOUNT_ID = 'ac_edgeplane';

/** host:port of a validated config value (the checker already refused malformed ones). */
function hostPort(text: string): { host: string; port: number } {
  const hp = splitHostPort(text, true);
  if ('error' in hp) throw new Error(`unvalidated config reached the generation builder: ${hp.error}`);
  return hp;
}

// Whole ms (Node's server timeouts take integers); a positive setting never rounds down to 0 (= off).
function toMs(seconds: number): number {
  return seconds > 0 ? Math.max(1, Math.round(seconds * 1000)) : 0;
}

function isEnabled(module: { enabled?: boolean | null } | null | undefined): boolean {
  return module !== null && module !== undefined && module.enabled !== false;
}

function compileBackends(config: EdgeplaneConfig, slots: SlotMaps): { specs: BackendSpec[]; index: Map<string, number> } {
  const index = new Map<string, number>();
  config.backends.forEach((b: Backend, i: number) => index.set(b.id, i));
  const specs = config.backends.map((b: Backend): BackendSpec => {
    const slot = slots.backends.slotFor(b.id);
    switch (b.type) {
      case 'static_address': {
        const { host, port } = hostPort(b.address);
        return { kind: 'endpoints', id: b.id, slot, endpoints: [{ host, port, tls: b.tls?.enabled === true }], agentLabels: null };
      }
      case 'tunnel_group': {
        const want = Object.entries(b.labels as Record<string, string>);
        const endpoints: EndpointSpec[] = [];
        for (const tunnel of config.tunnels ?? []) {
          const labels = tunnel.labels as Record<string, string>;
          if (want.every(([k, v]) => labels[k] === v)) {
            const { host, port } = hostPort(tunnel.forwards_to);
            endpoints.push({ host, port, tls: false });
          }
        }
        return { kind: 'endpoints', id: b.id, slot, endpoints, agentLabels: want };
      }
      case 'weighted': {
        const entries = Object.entries(b.backends as Record<string, number>);
        const weights = entries.map(([, w]) => w);
        return {
          kind: 'weighted', id: b.id, slot,
          children: entries.map(([id]) => index.get(id) ?? -1),
          weights,
          totalWeight: weights.reduce((a, w) => a + w, 0),
        };
      }
      case 'failover':
        return { kind: 'failover', id: b.id, slot, children: (b.backends as string[]).map((id) => index.get(id) ?? -1) };
      case 'http_response':
        return { kind: 'http_response', id: b.id, slot, statusCode: b.status_code, headers: b.headers ?? {}, body: b.body ?? '' };
    }
    throw new Error(`unknown backend type in ${(b as Backend).id}`);
  });
  return { specs, index };
}

/** Whether a backend (or any child) is a tunnel group, i.e. whether its connections may go to agents. */
function reachesTunnelGroup(config: EdgeplaneConfig, id: string, seen = new Set<string>()): boolean {
  if (seen.has(id)) return false;
  seen.add(id);
  const backend = config.backends.find((b) => b.id === id);
  if (backend === undefined) return false;
  if (backend.type === 'tunnel_group') return true;
  if (backend.type === 'weighted') return Object.keys(backend.backends).some((child) => reachesTunnelGroup(config, child, seen));
  if (backend.type === 'failover') return backend.backends.some((child) => reachesTunnelGroup(config, child, seen));
  return false;
}

function tunnelSpec(loaded: LoadedConfig): TunnelSpec | null {
  const t = loaded.config.tunnel;
  if (t.listen === null || t.certificate_id === null) return null;
  const cert = loaded.certificates.get(t.certificate_id);
  if (cert === undefined) return null;
  return {
    certificate: { certPem: cert.certificatePem, keyPem: cert.privateKeyPem },
    tokens: t.authtokens.map((a) => ({ id: a.id, sha256: createHash('sha256').update(a.token).digest('hex') })),
    heartbeatMs: Math.round(t.heartbeat_interval * 1000),
    toleranceMs: Math.round(t.heartbeat_tolerance * 1000),
    maxStreams: t.max_streams,
  };
}

function compileHeaders(module: HeadersModuleConfig): HeadersModuleSpec {
  const add: Record<string, string> = {};
  for (const [name, value] of Object.entries(module.add)) add[name.toLowerCase()] = value;
  return { add, remove: module.remove.map((name) => name.toLowerCase()) };
}

function authSession(module: OAuthConfig | OidcConfig | SamlConfig): AuthSessionSpec {
  return {
    optionsPassthrough: module.options_passthrough,
    cookiePrefix: module.cookie_prefix,
    inactivityTimeoutMs: toMs(module.inactivity_timeout),
    maximumDurationMs: toMs(module.maximum_duration),
  };
}

function compileOAuth(module: OAuthConfig): OAuthSpec {
  // the schema let exactly one provider through
  const name = OAUTH_PROVIDERS.find((p) => module.provider[p] !== undefined)!;
  const github = module.provider.github;
  const p = module.provider[name]!;
  return {
    ...authSession(module),
    provider: name,
    clientId: p.client_id,
    clientSecret: p.client_secret,
    scopes: [...p.scopes],
    emailAddresses: [...p.email_addresses],
    emailDomains: [...p.email_domains],
    teams: github === undefined ? [] : [...github.teams],
    organizations: github === undefined ? [] : [...github.organizations],
    authorizeUrl: p.authorize_url,
    tokenUrl: p.token_url,
    userinfoUrl: p.userinfo_url,
    apiUrl: github === undefined ? null : github.api_url,
    authCheckIntervalMs: toMs(module.auth_check_interval),
  };
}

function compileOidc(module: OidcConfig): OidcSpec {
  return { ...authSession(module), issuer: module.issuer, clientId: module.client_id, clientSecret: module.client_secret, scopes: [...module.scopes] };
}

function compileSaml(module: SamlConfig): SamlSpec {
  return {
    ...authSession(module),
    idpMetadata: module.idp_metadata ?? null,
    idpMetadataUrl: module.idp_metadata_url ?? null,
    forceAuthn: module.force_authn,
    allowIdpInitiated: module.allow_idp_initiated,
    authorizedGroups: [...module.authorized_groups],
    nameIdFormat: module.nameid_format,
    spCertificatePem: module.sp_certificate_pem,
    spPrivateKeyPem: module.sp_private_key_pem,
  };
}

interface RouteRefs { backends: Map<string, number>; policies: Map<string, number>; slots: SlotMaps; routeSlots: SlotMap }

function compileRoute(edgeId: string, route: RouteConfig, refs: RouteRefs): RouteSpec {
  const { backend, ip_restriction: restriction, circuit_breaker: breaker, compression, user_agent_filter: uaFilter } = route;
  const modules: RouteModulesSpec = {};
  if (restriction !== undefined && isEnabled(restriction)) modules.ip_restriction = { ipPolicies: restriction.ip_policy_ids.map((id) => refs.policies.get(id)!) };
  if (breaker !== undefined && isEnabled(breaker)) {
    modules.circuit_breaker = {
      slot: refs.slots.breakers.slotFor(`${edgeId}/${route.id}`),
      errorThresholdPercentage: breaker.error_threshold_percentage,
      trippedDurationMs: toMs(breaker.tripped_duration),
      rollingWindowMs: toMs(breaker.rolling_window),
      numBuckets: breaker.num_buckets,
      volumeThreshold: breaker.volume_threshold,
    };
  }
  if (compression !== undefined && isEnabled(compression)) modules.compression = {};
  if (route.request_headers !== undefined && isEnabled(route.request_headers)) modules.request_headers = compileHeaders(route.request_headers);
  if (route.response_headers !== undefined && isEnabled(route.response_headers)) modules.response_headers = compileHeaders(route.response_headers);
  if (uaFilter !== undefined && isEnabled(uaFilter)) modules.user_agent_filter = { allow: [...uaFilter.allow], deny: [...uaFilter.deny] };
  const webhook = route.webhook_verification;
  if (webhook !== undefined && isEnabled(webhook)) modules.webhook_verification = { provider: webhook.provider, secret: webhook.secret };
  if (route.oauth !== undefined && isEnabled(route.oauth)) modules.oauth = compileOAuth(route.oauth);
  if (route.oidc !== undefined && isEnabled(route.oidc)) modules.oidc = compileOidc(route.oidc);
  if (route.saml !== undefined && isEnabled(route.saml)) modules.saml = compileSaml(route.saml);
  return {
    id: route.id,
    slot: refs.routeSlots.trySlotFor(`${edgeId}/${route.id}`),
    matchType: route.match_type,
    match: route.match,
    backend: backend !== undefined && isEnabled(backend) ? refs.backends.get(backend.backend_id) ?? -1 : -1,
    maxRequestBodyBytes: route.max_request_body_bytes,
    modules,
  };
}

function httpSettings(http: HttpConfig): HttpSettingsSpec {
  return {
    maxHeaderBytes: http.max_header_bytes,
    maxUrlBytes: http.max_url_bytes,
    headerTimeoutMs: toMs(http.header_timeout),
    keepAliveTimeoutMs: toMs(http.keep_alive_timeout),
    maxConcurrentStreams: http.max_concurrent_streams,
    upstreamResponseHeaderTimeoutMs: toMs(http.upstream_response_header_timeout),
    upstreamIdleTimeoutMs: toMs(http.upstream_idle_timeout),
    maxIdleUpstreamConnections: http.max_idle_upstream_connections,
    clientWriteTimeoutMs: toMs(http.client_write_timeout),
    plainMode: http.plain_mode,
  };
}

/** A certificate issued over ACME for a reserved domain with a certificate_management_policy. */
export interface ManagedCertificate { certPem: string; keyPem: string }

/** The generation's certificate id of a managed domain's certificate; ':' never occurs in config ids. */
export function managedCertificateId(domain: string): string {
  return `acme:${domain}`;
}

/**
 * `managed`: certificates issued over ACME, by reserved domain name. A hostport whose domain is managed
 * but has none yet gets no certificate, so its handshakes fail until issuance (as at ngrok).
 */
export function buildGeneration(loaded: LoadedConfig, generation: number, slots: SlotMaps, managed?: ReadonlyMap<string, ManagedCertificate>): BuiltGeneration {
  const config = loaded.config;
  const backends = compileBackends(config, slots);
  const policyIndex = new Map<string, number>();
  config.ip_policies.forEach((p, i) => policyIndex.set(p.id, i));
  const caPem = new Map<string, string>();
  for (const [id, authority] of loaded.authorities) caPem.set(id, authority.caPem);

  const edges: EdgeSpec[] = [];
  const hostports: HostportSpec[] = [];
  const hostEntries: HostEntry[] = [];
  const listeners = new Map<string, ListenerPlan>();
  const certificates: Record<string, CertificateSpec> = {};
  const metricSlots = metricSlotsOf(slots.edges);
  metricSlots.backends = slots.backends;
  const routeRefs: RouteRefs = { backends: backends.index, policies: policyIndex, slots, routeSlots: metricSlots.routes };

  config.edges.forEach((edge: Edge) => {
    const termination = edge.tls_termination;
    const terminate = edge.type === 'https' || (edge.type === 'tls' && isEnabled(termination) && termination?.terminate_at === 'edge');
    const mtls = edge.type !== 'tcp' && isEnabled(edge.mutual_tls) ? edge.mutual_tls : null;
    const restriction = isEnabled(edge.ip_restriction) ? edge.ip_restriction : null;
    const edgeIndex = edges.length;
    edges.push({
      id: edge.id,
      slot: slots.edges.slotFor(edge.id),
      type: edge.type,
      backend: edge.backend && isEnabled(edge.backend) ? backends.index.get(edge.backend.backend_id) ?? -1 : -1,
      terminate,
      terminateAtAgent: edge.type === 'tls' && isEnabled(termination) && termination?.terminate_at === 'agent',
      viaAgents: edge.backend && isEnabled(edge.backend) ? reachesTunnelGroup(config, edge.backend.backend_id) : edge.type === 'https',
      minVersion: termination?.min_version === '1.3' ? 'TLSv1.3' : 'TLSv1.2',
      clientCaPems: mtls ? mtls.certificate_authority_ids.map((id: string) => caPem.get(id)!).filter(Boolean) : null,
      ipPolicies: restriction ? restriction.ip_policy_ids.map((id: string) => policyIndex.get(id)!) : null,
      routes: edge.type === 'https' ? edge.routes.map((route) => compileRoute(edge.id, route, routeRefs)) : [],
      maxConnections: edge.max_connections ?? 0,
    });
    for (const hostport of edge.hostports) {
      const { host, port } = hostPort(hostport);
      const index = hostports.length;
      if (edge.type === 'tcp') {
        hostports.push({ hostport, edge: edgeIndex, certificateId: null });
        const key = `tcp/${host}:${port}`;
        listeners.set(key, { key, kind: 'tcp', address: host, port, hostport: index });
        continue;
      }
      const name = host.toLowerCase();
      let certificateId: string | null = null;
      if (terminate) {
        const domain = coveringDomain(config.reserved_domains, name);
        if (domain?.certificate_management_policy != null) {
          const issued = managed?.get(domain.domain);
          if (issued !== undefined) {
            certificateId = managedCertificateId(domain.domain);
            certificates[certificateId] = { certPem: issued.certPem, keyPem: issued.keyPem };
          }
        } else {
          certificateId = domain?.certificate_id ?? null;
          const cert = certificateId === null ? undefined : loaded.certificates.get(certificateId);
          if (cert !== undefined) certificates[certificateId!] = { certPem: cert.certificatePem, keyPem: cert.privateKeyPem };
        }
      }
      hostports.push({ hostport, edge: edgeIndex, certificateId });
      hostEntries.push({ port, name, value: index });
      const address = config.listen_address;
      const key = `sni/${address}:${port}`;
      if (!listeners.has(key)) listeners.set(key, { key, kind: 'sni', address, port, hostport: -1 });
    }
  });

  const spec: GenerationSpec = {
    generation,
    hostTable: buildHostTable(hostEntries),
    ipTable: buildIpTable(config.ip_policies.map((p) => p.rules.map((r) => ({ cidr: r.cidr, action: r.action })))),
    edges,
    hostports,
    backends: backends.specs,
    certificates,
    accountId: DEFAULT_ACCOUNT_ID,
    tcpIdleTimeoutMs: config.tcp_idle_timeout * 1000,
    connectTimeoutMs: config.upstream_connect_timeout * 1000,
    http: httpSettings(config.http),
    webhooks: {
      snsCertificateHostPattern: config.webhooks.sns_certificate_host_pattern,
      snsCertificateFetchOrigin: config.webhooks.sns_certificate_fetch_origin,
      snsCertificateCa: config.webhooks.sns_certificate_ca ?? null,
      offload: config.webhooks.offload,
      offloadThreads: config.webhooks.offload_threads,
    },
    eventsEnabled: config.events !== null,
    tunnel: tunnelSpec(loaded),
  };
  let plain: PlainListener | null = null;
  if (config.http.plain_listen !== null) {
    const { host, port } = hostPort(config.http.plain_listen);
    plain = { address: host, port, mode: config.http.plain_mode };
    const key = `http/${host}:${port}`;
    listeners.set(key, { key, kind: 'http', address: host, port, hostport: -1 });
  }
  if (config.tunnel.listen !== null) {
    const { host, port } = hostPort(config.tunnel.listen);
    const key = `tunnel/${host}:${port}`;
    listeners.set(key, { key, kind: 'tunnel', address: host, port, hostport: -1 });
  }
  return { spec, listeners: [...listeners.values()], plain };
}
