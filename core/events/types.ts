// Event shapes from spec §1.8. Traffic events nest their dotted field names
// (`conn.client_ip` → { conn: { client_ip } }); `principal` is null for traffic events.
export interface EventEnvelope<T> {
  event_id: string;
  event_type: string;
  event_timestamp: string;
  account_id: string;
  object: T;
  principal: null;
}

export interface TcpConnectionClosed {
  conn: {
    bytes_in: number;
    bytes_out: number;
    client_ip: string;
    server_ip: string;
    server_name: string;
    server_port: number;
    start_ts: string;
    end_ts: string;
  };
  ip_policy: { decision: 'allow' | 'block' | '' };
  ja4_fingerprint: string;
  /** Not in the spec's list; new fields may appear without a version bump (spec §1.8). */
  edge: { id: string };
}

export const TCP_CONNECTION_CLOSED = 'tcp_connection_closed.v0';

/** Header map of http_request_complete.v0: keys capitalised per word, values lower case (spec §1.8). */
export type EventHeaders = Record<string, string[]>;

/**
 * `http_request_complete.v0` (spec §1.8), one per HTTP request, refused or proxied. Fields that
 * describe the connection, the request and the response are always present ('' or 0 when unknown,
 * e.g. `tls.*` on a cleartext request). Objects that a module fills in (`ip_policy`,
 * `circuit_breaker`, `compression`, ...) are present only when that module ran, so "absent" and
 * "allowed" never look alike. Timestamps are RFC 3339.
 */
export interface HttpRequestComplete {
  backend?: { connection_reused: boolean };
  basic_auth?: { decision: string; username: string };
  circuit_breaker?: { decision: 'allow' | 'block' | 'allow_while_open' };
  compression?: { algorithm: 'gzip' | 'deflate' | 'br' | 'none'; bytes_saved: number };
  conn: {
    client_ip: string;
    server_ip: string;
    server_name: string;
    server_port: number;
    start_ts: string;
  };
  http: {
    request: {
      body_length: number;
      headers: EventHeaders;
      /** Lower case per the spec's table (open question 5: its sample shows "GET"). */
      method: string;
      url: { host: string; path: string; query: string; scheme: 'http' | 'https'; raw: string };
      user_agent: string;
      /** From the docs' example payload, e.g. "HTTP/2.0". */
      version: string;
      first_byte_ts?: string;
      last_byte_ts?: string;
    };
    response: {
      body_length: number;
      headers: EventHeaders;
      status_code: number;
      first_byte_ts?: string;
      last_byte_ts?: string;
    };
  };
  ip_policy?: { decision: 'allow' | 'block' };
  ja4_fingerprint: string;
  oauth?: { app_client_id: string; decision: string; user: { id: string; name: string } };
  tls: {
    cipher_suite: string;
    version: string;
    client_cert?: { serial_number: string; subject: { cn: string } };
  };
  traffic_policy?: { logs: Array<Record<string, string>> };
  user_agent_filter?: { decision: 'allow' | 'block' };
  webhook_verification?: { decision: string };
  /** Not in the spec's list; new fields may appear without a version bump (spec §1.8). */
  edge: { id: string };
  route: { id: string };
}

export const HTTP_REQUEST_COMPLETE = 'http_request_complete.v0';
