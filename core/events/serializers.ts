// Event serialisers compiled once per event type with fast-json-stringify (spec §1.8 envelope).
import fastJson from 'fast-json-stringify';
import { randomBytes } from 'node:crypto';
import type { EventEnvelope, HttpRequestComplete, TcpConnectionClosed } from './types.js';
import { HTTP_REQUEST_COMPLETE, TCP_CONNECTION_CLOSED } from './types.js';

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const bool = { type: 'boolean' } as const;

function envelopeSchema(objectSchema: object) {
  return {
    type: 'object',
    properties: {
      event_id: str, event_type: str, event_timestamp: str, account_id: str,
      object: objectSchema,
      principal: { type: 'null' },
    },
  } as const;
}

const tcpConnectionClosedSchema = {
  type: 'object',
  properties: {
    conn: {
      type: 'object',
      properties: {
        bytes_in: int, bytes_out: int, client_ip: str, server_ip: str,
        server_name: str, server_port: int, start_ts: str, end_ts: str,
      },
    },
    ip_policy: { type: 'object', properties: { decision: str } },
    ja4_fingerprint: str,
    edge: { type: 'object', properties: { id: str } },
  },
};

const stringifyTcpClosed = fastJson(envelopeSchema(tcpConnectionClosedSchema));

function objectOf(properties: Record<string, object>) {
  return { type: 'object', properties } as const;
}

const decision = objectOf({ decision: str });
const headerMap = { type: 'object', additionalProperties: { type: 'array', items: str } } as const;

// Optional objects (module results) are simply left out by fast-json-stringify when undefined.
const httpRequestCompleteSchema = objectOf({
  backend: objectOf({ connection_reused: bool }),
  basic_auth: objectOf({ decision: str, username: str }),
  circuit_breaker: decision,
  compression: objectOf({ algorithm: str, bytes_saved: int }),
  conn: objectOf({ client_ip: str, server_ip: str, server_name: str, server_port: int, start_ts: str }),
  http: objectOf({
    request: objectOf({
      body_length: int,
      headers: headerMap,
      method: str,
      url: objectOf({ host: str, path: str, query: str, scheme: str, raw: str }),
      user_agent: str,
      version: str,
      first_byte_ts: str,
      last_byte_ts: str,
    }),
    response: objectOf({ body_length: int, headers: headerMap, status_code: int, first_byte_ts: str, last_byte_ts: str }),
  }),
  ip_policy: decision,
  ja4_fingerprint: str,
  oauth: objectOf({ app_client_id: str, decision: str, user: objectOf({ id: str, name: str }) }),
  tls: objectOf({
    cipher_suite: str,
    version: str,
    client_cert: objectOf({ serial_number: str, subject: objectOf({ cn: str }) }),
  }),
  traffic_policy: objectOf({ logs: { type: 'array', items: { type: 'object', additionalProperties: str } } }),
  user_agent_filter: decision,
  webhook_verification: decision,
  edge: objectOf({ id: str }),
  route: objectOf({ id: str }),
});

const stringifyHttpComplete = fastJson(envelopeSchema(httpRequestCompleteSchema));

// Event ids: 'ev_' + 26 base32 chars; random prefix per thread plus a counter keeps them unique
// without a syscall per event.
const idPrefix = randomBytes(8).toString('hex');
let idCounter = 0;
export function newEventId(): string {
  idCounter = (idCounter + 1) >>> 0;
  return `ev_${idPrefix}${idCounter.toString(16).padStart(8, '0')}`;
}

export function serializeTcpConnectionClosed(object: TcpConnectionClosed, accountId: string, at = new Date()): string {
  const envelope: EventEnvelope<TcpConnectionClosed> = {
    event_id: newEventId(),
    event_type: TCP_CONNECTION_CLOSED,
    event_timestamp: at.toISOString(),
    account_id: accountId,
    object,
    principal: null,
  };
  return stringifyTcpClosed(envelope);
}

export function serializeHttpRequestComplete(object: HttpRequestComplete, accountId: string, at = new Date()): string {
  const envelope: EventEnvelope<HttpRequestComplete> = {
    event_id: newEventId(),
    event_type: HTTP_REQUEST_COMPLETE,
    event_timestamp: at.toISOString(),
    account_id: accountId,
    object,
    principal: null,
  };
  return stringifyHttpComplete(envelope);
}
