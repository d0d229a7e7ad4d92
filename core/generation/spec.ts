// What the main thread publishes to every worker for one config generation. Everything here is
// structured-cloneable; the big tables are SharedArrayBuffers, so posting them copies nothing.
export interface EndpointSpec { host: string; port: number; tls: boolean }

export type BackendSpec =
  | { kind: 'endpoints'; id: string; slot: number; endpoints: EndpointSpec[] } // static_address (1) or tunnel_group (0..n)
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
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** PEMs of the CAs a client certificate must chain to (mutual_tls), or null. */
  clientCaPems: string[] | null;
  /** Indexes into the IP table's policies (ip_restriction), or null when unrestricted. */
  ipPolicies: number[] | null;
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
}

/** One public listener: 'sni' listeners peek the ClientHello, 'tcp' listeners serve one hostport. */
export interface ListenerPlan {
  key: string;
  kind: 'sni' | 'tcp';
  address: string;
  port: number;
  /** For tcp listeners: the HostportSpec index it serves. */
  hostport: number;
}
