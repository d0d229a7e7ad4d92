// One traffic event → one row of the live table. Only fields the event already carries (its headers
// are redacted upstream; the row carries none), so the page never shows more than the event stream.

export interface TrafficRow {
  kind: 'http' | 'tcp';
  id: string;
  at: string;
  edge: string;
  route: string;
  client_ip: string;
  /** http: method, host, path and status; tcp: server name and bytes. */
  method: string;
  host: string;
  path: string;
  status: number;
  bytes_in: number;
  bytes_out: number;
  /** From first request byte (or connection start) to last response byte, when the event says. */
  duration_ms: number | null;
  /** The circuit breaker's decision, when the module ran. */
  breaker: string;
}

type Bag = Record<string, unknown>;

function bag(value: unknown): Bag {
  return typeof value === 'object' && value !== null ? value as Bag : {};
}
function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
function span(from: unknown, to: unknown): number | null {
  const a = Date.parse(text(from));
  const b = Date.parse(text(to));
  return Number.isFinite(a) && Number.isFinite(b) && b >= a ? b - a : null;
}

/** Returns null for events that are not traffic events (audit events, unknown types). */
export function trafficRow(event: object): TrafficRow | null {
  const envelope = event as Bag;
  const type = text(envelope.event_type);
  const object = bag(envelope.object);
  const conn = bag(object.conn);
  const common = {
    id: text(envelope.event_id),
    at: text(envelope.event_timestamp),
    edge: text(bag(object.edge).id),
    client_ip: text(conn.client_ip),
  };
  if (type === 'http_request_complete.v0') {
    const request = bag(bag(object.http).request);
    const response = bag(bag(object.http).response);
    const url = bag(request.url);
    return {
      kind: 'http', ...common,
      route: text(bag(object.route).id),
      method: text(request.method).toUpperCase(),
      host: text(url.host),
      path: text(url.path),
      status: count(response.status_code),
      bytes_in: count(request.body_length),
      bytes_out: count(response.body_length),
      duration_ms: span(request.first_byte_ts ?? conn.start_ts, response.last_byte_ts),
      breaker: text(bag(object.circuit_breaker).decision),
    };
  }
  if (type === 'tcp_connection_closed.v0') {
    return {
      kind: 'tcp', ...common,
      route: '',
      method: '',
      host: text(conn.server_name),
      path: '',
      status: 0,
      bytes_in: count(conn.bytes_in),
      bytes_out: count(conn.bytes_out),
      duration_ms: span(conn.start_ts, conn.end_ts),
      breaker: '',
    };
  }
  return null;
}
