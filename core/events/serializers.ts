// Event serialisers compiled once per event type with fast-json-stringify (spec §1.8 envelope).
import fastJson from 'fast-json-stringify';
import { randomBytes } from 'node:crypto';
import type { EventEnvelope, TcpConnectionClosed } from './types.js';
import { TCP_CONNECTION_CLOSED } from './types.js';

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;

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
