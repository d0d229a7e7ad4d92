// The engine-agnostic view of one HTTP request/response that modules work on. The HTTP/1.1 and
// HTTP/2 engines both fill one in; modules never see a socket, a stream or an engine object.
import type { Transform } from 'node:stream';

/** Flat [name, value, name, value, ...]; names are lower case. Order and repeats are kept. */
export type HeaderList = string[];

export interface ClientCertificateInfo {
  subjectCn: string;
  sanDns: string[];
  emailAddresses: string[];
  /** Upper-case hex, as OpenSSL prints it. */
  serialNumber: string;
}

/** Facts about the client connection, fixed for every request on it. */
export interface ConnectionInfo {
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  /** SNI (or the Host when there was none). */
  serverName: string;
  startMs: number;
  tlsVersion: string;
  tlsCipher: string;
  ja4: string;
  /** Set when the edge has mutual_tls and the client presented a verified certificate. */
  clientCert: ClientCertificateInfo | null;
}

export type Decision = 'allow' | 'block';
export type BreakerDecision = 'allow' | 'block' | 'allow_while_open';

/** What modules found out, for templates and http_request_complete.v0. Absent = module did not run. */
export interface ExchangeVars {
  ipPolicyDecision?: Decision;
  ipPolicyMatchingRule?: string;
  circuitBreakerDecision?: BreakerDecision;
  compressionAlgorithm?: 'gzip' | 'deflate' | 'br' | 'none';
  compressionBytesSaved?: number;
  userAgentFilterDecision?: Decision;
  /** webhook_verification: allow when the provider's signature verified (or a handshake was answered). */
  webhookDecision?: Decision;
  /** Identity modules (oauth, oidc, saml): the login decision, the user and the app. Never tokens or cookies. */
  oauthDecision?: Decision;
  oauthUserId?: string;
  oauthUserName?: string;
  oauthAppClientId?: string;
  backendId?: string;
  backendConnectionReused?: boolean;
  backendDialMs?: number;
}

export interface Exchange {
  readonly conn: ConnectionInfo;
  readonly edgeId: string;
  /** The edge's stable counter slot (metrics). */
  readonly edgeSlot: number;
  readonly routeId: string;
  /** As sent by the client (upper case in practice). */
  readonly method: string;
  /** The request-target exactly as received. */
  readonly rawUrl: string;
  /** Normalised path (what routing used), always starting with '/'. */
  readonly path: string;
  /** Query string without the '?', '' when none. */
  readonly query: string;
  /** Host header / :authority without the port, lower case. */
  readonly host: string;
  readonly version: '1.0' | '1.1' | '2';
  /** Request headers as received (names lower case). Read-only for modules. */
  readonly requestHeaders: HeaderList;
  /** Request headers that will go upstream. The request_headers module edits these last. */
  upstreamHeaders: HeaderList;
  /** Response status; 0 until a response exists. */
  status: number;
  /** Response headers that will go to the client (names lower case), editable until written. */
  responseHeaders: HeaderList;
  readonly vars: ExchangeVars;
  /** Set once by the engine: wall-clock ms when the request head was complete. */
  readonly startMs: number;
  requestBodyBytes: number;
  responseBodyBytes: number;
  /** Edge-generated errors: the ngrok-error-code sent, else ''. */
  errorCode: string;
  /**
   * The whole request body once the client has sent it, or null when it is over maxBytes (at most
   * MAX_READ_BODY_BYTES) or the client went away. For modules that answer at the edge from a posted
   * form (SAML's ACS): the body is consumed, so such a request must then be answered at the edge.
   * With `keep`, the body stays buffered and still goes upstream, unchanged, if the request is forwarded
   * (webhook verification reads it, then lets it through).
   */
  readBody(maxBytes: number, options?: { keep?: boolean }): Promise<Buffer | null>;
}

/** The most a module may read with Exchange.readBody (the engine holds it in memory). */
export const MAX_READ_BODY_BYTES = 1024 * 1024;

/** An answer given at the edge instead of going upstream. */
export interface EdgeResponse {
  status: number;
  /** ERR_NGROK_xxxx, sent as ngrok-error-code; '' for non-error answers (redirects, pages). */
  errorCode: string;
  /** Plain-text body; a short default message is used when absent. */
  body?: string;
  headers?: HeaderList;
}

/**
 * One module compiled for one route. Every hook is optional. The pipeline calls them in the
 * spec §1.9 order: onRequest in registry order (ip_restriction first, request_headers last),
 * then on the way back onResponseHead in registry order of the response side (circuit breaker
 * accounting, compression, response_headers), then onComplete for every request, refused or not.
 */
export interface HttpModule {
  readonly name: string;
  /** Return an EdgeResponse to answer at the edge; undefined to continue. May be async (auth modules). */
  onRequest?(x: Exchange): EdgeResponse | undefined | Promise<EdgeResponse | undefined>;
  /** The response head is known (from the upstream or the edge) and not yet written. */
  onResponseHead?(x: Exchange): void;
  /** A streaming transform for the response body, or null to leave it alone. Called after onResponseHead. */
  responseBody?(x: Exchange): Transform | null;
  /** The exchange is over (status, byte counts final). Runs for edge answers and upstream failures too. */
  onComplete?(x: Exchange): void;
}
