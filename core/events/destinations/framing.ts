// Turning records into bytes on the wire: NDJSON for JSON events, varint-length-prefixed messages
// (protobufjs's encodeDelimited framing) for protobuf events.
import { randomBytes } from 'node:crypto';

export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';
export const PROTOBUF_CONTENT_TYPE = 'application/x-protobuf';

export function isProtobuf(contentType: string): boolean {
  return contentType.startsWith(PROTOBUF_CONTENT_TYPE);
}

export function toBuffer(record: Uint8Array | string): Buffer {
  if (typeof record === 'string') return Buffer.from(record, 'utf8');
  return Buffer.isBuffer(record) ? record : Buffer.from(record.buffer, record.byteOffset, record.byteLength);
}

/** A JSON record without its trailing newline, as text. */
export function jsonText(record: Buffer): string {
  const end = record.length > 0 && record[record.length - 1] === 0x0a ? record.length - 1 : record.length;
  return record.toString('utf8', 0, end);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** The body of one batch: records joined by newlines (NDJSON), or each prefixed by its varint length. */
export function frameRecords(records: Buffer[], contentType: string): Buffer {
  const parts: Buffer[] = [];
  if (isProtobuf(contentType)) {
    for (const record of records) parts.push(varint(record.length), record);
  } else {
    const newline = Buffer.from('\n');
    for (const record of records) {
      parts.push(record);
      if (record.length === 0 || record[record.length - 1] !== 0x0a) parts.push(newline);
    }
  }
  return Buffer.concat(parts);
}

/** The spec's envelope around a synthetic object, for "Send Test Event". */
export function testEventRecord(destinationId: string, accountId: string): Buffer {
  const event = {
    event_id: `ev_${randomBytes(13).toString('hex')}`,
    event_type: 'test_event.v0',
    event_timestamp: new Date().toISOString(),
    account_id: accountId,
    object: { message: 'test event from edgeplane', destination_id: destinationId },
    principal: null,
  };
  return Buffer.from(JSON.stringify(event), 'utf8');
}
