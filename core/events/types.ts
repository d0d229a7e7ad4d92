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
