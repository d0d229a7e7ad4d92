// What the main thread publishes to every worker for one config generation. Everything here is
// structured-cloneable; the big tables are SharedArrayBuffers, so posting them copies nothing.
export interface EndpointSpec { host: string; port: number; tls: boolean }

export type BackendSpec =
  // static_address (1 endpoint) or tunnel_group (static tunnels, plus every online agent session whose labels
  // include agentLabels; null for static_address)
  | { kind: 'endpoints'; id: string; slot: number; endpoints: EndpointSpec[]; agentLabels: Array<[string, string]> | null }
  | { kind: 'weighted'; id: string; slot: number; children: number[]; weights: number[]; totalWeight: number }
  | { kind: 'failover'; id: string; slot: number; children: number[] }
  | { kind: 'http_response'; id: string; slot: number; statusCode: number; headers: Record<string, string>; body: string };

export type EdgeType = 'tls' | 'tcp' | 'https';

export interface EdgeSpec {
  id: string;
  slot: number;
  type: EdgeType;
  /** Index into GenerationSpec.backends, or -1 when the edge has no (enabled) backend. */
  backend: number;
  /** True when TLS ends at the edge (tls edges with terminate_at: edge, and every https edge). */
  terminate: boolean;
  /** tls edges with terminate_at: agent: the agent ends TLS with its own certificate; the edge passes bytes. */
  terminateAtAgent: boolean;
  /** The backend tree holds a tunnel group: connections may go to agent sessions (not the native relay). */
  viaAgents: boolean;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** PEMs of the CAs a client certificate must chain to (mutual_tls), or null. */
  clientCaPems: string[] | null;
  /** Indexes into the IP table's policies (ip_restriction), or null when unrestricted. */
  ipPolicies: number[] | null;
  /** https edges: routes in config order (the worker sorts them for matching). Empty otherwise. */
  routes: RouteSpec[];
  /** Connections the edge may have open at once, across all workers; 0 = no per-edge limit. */
  maxConnections: number;
}

// ---- HTTPS routes (issue 3). Everything is plain data: workers compile it into pipelines. ----

export interface RouteSpec {
  id: string;
  /** Stable metrics slot of "<edge id>/<route id>" (counters' MAX_ROUTES); -1 or absent = not counted per route. */
  slot?: number;
  matchType: 'exact_path' | 'path_prefix';
  match: string;
  /** Index into GenerationSpec.backends, or -1 when the route has no (enabled) backend. */
  backend: number;
  /** Largest request body accepted (413 beyond it); 0 = unlimited. */
  maxRequestBodyBytes: number;
  /** Enabled modules only; an absent key means the module is off. */
  modules: RouteModulesSpec;
}

export interface HeadersModuleSpec {
  /** Lower-case header name → template text (may contain ${...}). */
  add: Record<string, string>;
  /** Lower-case header names. */
  remove: string[];
}

export interface CircuitBreakerSpec {
  /** Slot in the shared breaker table; stable across reloads for the same edge/route ids. */
  slot: number;
  /** Fraction 0..1. */
  errorThresholdPercentage: number;
  trippedDurationMs: number;
  rollingWindowMs: number;
  numBuckets: number;
  volumeThreshold: number;
}

/** What oauth, oidc and saml share: the session cookie and its lifetime. Durations in ms, 0 = no limit. */
export interface AuthSessionSpec {
  optionsPassthrough: boolean;
  cookiePrefix: string;
  inactivityTimeoutMs: number;
  maximumDurationMs: number;
}

export type OAuthProviderName = 'github' | 'facebook' | 'microsoft' | 'google' | 'linkedin' | 'gitlab' | 'twitch' | 'amazon';

export interface OAuthSpec extends AuthSessionSpec {
  provider: OAuthProviderName;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  /** Lower-case; with teams and organizations, a user matching any rule is let in (no rule: every user). */
  emailAddresses: string[];
  emailDomains: string[];
  /** GitHub only ('org/team' slugs or numeric ids; organization slugs); empty for other providers. */
  teams: string[];
  organizations: string[];
  authorizeUrl: string;
  tokenUrl: string;
  userinfoUrl: string;
  /** GitHub REST API base for teams and organizations; null for other providers. */
  apiUrl: string | null;
  /** 0 = check only at login. */
  authCheckIntervalMs: number;
}

export interface OidcSpec extends AuthSessionSpec {
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
}

export interface SamlSpec extends AuthSessionSpec {
  /** Exactly one of idpMetadata (the XML) and idpMetadataUrl is set. */
  idpMetadata: string | null;
  idpMetadataUrl: string | null;
  forceAuthn: boolean;
  allowIdpInitiated: boolean;
  /** Empty = no group rule. */
  authorizedGroups: string[];
  nameIdFormat: string;
  /** PEM text (read from { file } / { env } at load). */
  spCertificatePem: string;
  spPrivateKeyPem: string;
}

/** webhook_verification: the canonical provider id and its secret ('' for sns). */
export interface WebhookVerificationSpec {
  provider: string;
  secret: string;
}

/** Server-wide webhook settings (config `webhooks:`). */
export interface WebhookSettingsSpec {
  snsCertificateHostPattern: string;
  snsCertificateFetchOrigin: string | null;
  /** PEM, or null. */
  snsCertificateCa: string | null;
  offload: 'auto' | 'always' | 'never';
  offloadThreads: number;
}

export interface RouteModulesSpec {
  ip_restriction?: { ipPolicies: number[] };
  circuit_breaker?: CircuitBreakerSpec;
  compression?: Record<string, never>;
  request_headers?: HeadersModuleSpec;
  response_headers?: HeadersModuleSpec;
  user_agent_filter?: { allow: string[]; deny: string[] };
  webhook_verification?: WebhookVerificationSpec;
  oauth?: OAuthSpec;
  oidc?: OidcSpec;
  saml?: SamlSpec;
}

/** Server-wide HTTP limits and timeouts (config `http:`), in bytes and milliseconds. */
export interface HttpSettingsSpec {
  maxHeaderBytes: number;
  maxUrlBytes: number;
  headerTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConcurrentStreams: number;
  upstreamResponseHeaderTimeoutMs: number;
  upstreamIdleTimeoutMs: number;
  maxIdleUpstreamConnections: number;
  /** How long a response may wait for a client that reads nothing (http.client_write_timeout). */
  clientWriteTimeoutMs: number;
  /** What the cleartext listener (http.plain_listen) does, when there is one. */
  plainMode: 'serve' | 'redirect';
}

export interface HostportSpec {
  hostport: string;
  edge: number;
  /** tls_certificates id used to terminate this hostname, or null (passthrough, tcp). */
  certificateId: string | null;
}

export interface CertificateSpec { certPem: string; keyPem: string }

export interface GenerationSpec {
  generation: number;
  hostTable: SharedArrayBuffer;
  ipTable: SharedArrayBuffer;
  edges: EdgeSpec[];
  hostports: HostportSpec[];
  backends: BackendSpec[];
  certificates: Record<string, CertificateSpec>;
  accountId: string;
  tcpIdleTimeoutMs: number;
  connectTimeoutMs: number;
  http: HttpSettingsSpec;
  webhooks: WebhookSettingsSpec;
  /** False when no event output is configured: workers then skip building per-request events. */
  eventsEnabled: boolean;
  /** Agent sessions (config tunnel:); null when tunnel.listen is off. */
  tunnel: TunnelSpec | null;
}

export interface TunnelSpec {
  certificate: CertificateSpec;
  /** SHA-256 of each authtoken (workers compare hashes; the tokens themselves stay in the main thread). */
  tokens: Array<{ id: string; sha256: string }>;
  heartbeatMs: number;
  toleranceMs: number;
  maxStreams: number;
}

/**
 * One public listener: 'sni' listeners peek the ClientHello, 'tcp' listeners serve one hostport, the
 * 'http' listener (config http.plain_listen) takes cleartext HTTP routed per request by Host.
 */
export interface ListenerPlan {
  key: string;
  kind: 'sni' | 'tcp' | 'http' | 'tunnel';
  address: string;
  port: number;
  /** For tcp listeners: the HostportSpec index it serves; -1 otherwise. */
  hostport: number;
}
