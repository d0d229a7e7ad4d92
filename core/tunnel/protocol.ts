// The wire format of agent sessions (proto/tunnel.proto): one WebSocket binary message per frame,
// [type u8][stream id u32][payload]. Control payloads are protobuf; DATA is raw bytes.
import protobuf from 'protobufjs';
import { protoFilePath } from '../package-files.js';

export const FrameType = { Control: 0, Open: 1, OpenResult: 2, Data: 3, Fin: 4, Reset: 5, Window: 6 } as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

export const FRAME_HEADER = 5;
/** Largest DATA payload a sender puts in one frame (a WebSocket message each). */
export const MAX_DATA_FRAME = 64 * 1024;
/** Per-stream receive window, each direction (measured in bench/TUNNEL-TRANSPORT.md). */
export const DEFAULT_WINDOW = 256 * 1024;
/** Largest WebSocket message either side accepts: one full DATA frame plus its header, or a control message. */
export const MAX_MESSAGE = MAX_DATA_FRAME + FRAME_HEADER;
/** The ALPN an agent offers on a session's first leg; later legs offer `${TUNNEL_ALPN}-w<index>`. */
export const TUNNEL_ALPN = 'edgeplane-tunnel';
export const TUNNEL_PATH = '/edgeplane/tunnel/v1';

export interface Auth {
  authtoken: string;
  session_id: string;
  labels: Record<string, string>;
  metadata: string;
  agent_version: string;
  os: string;
  forwards_to: string;
  terminates_tls: boolean;
}
export interface AuthResult {
  ok: boolean;
  error: string;
  session_id: string;
  legs: number;
  leg: number;
  heartbeat_interval_ms: number;
  window: number;
}
export interface GoAway { reason: string }
export type Control = { auth: Auth } | { auth_result: AuthResult } | { go_away: GoAway };

export interface StreamOpen {
  edge_id: string;
  backend_id: string;
  protocol: 'http' | 'tcp' | 'tls';
  client_addr: string;
  terminate_tls: boolean;
  server_name: string;
}
export type OpenError = 'connect_refused' | 'connect_timeout' | 'connect_failed' | 'no_certificate' | 'draining' | 'refused';
export interface StreamOpenResult { ok: boolean; error: string }

interface Types { control: protobuf.Type; open: protobuf.Type; openResult: protobuf.Type }
let types: Types | undefined;

function load(): Types {
  if (types === undefined) {
    const root = new protobuf.Root();
    root.loadSync(protoFilePath('tunnel.proto'), { keepCase: true });
    types = {
      control: root.lookupType('edgeplane.tunnel.v1.Control'),
      open: root.lookupType('edgeplane.tunnel.v1.StreamOpen'),
      openResult: root.lookupType('edgeplane.tunnel.v1.StreamOpenResult'),
    };
  }
  return types;
}

const DECODE = { defaults: true, longs: Number, enums: String, oneofs: false } as const;

function encode(type: protobuf.Type, value: object): Uint8Array {
  return type.encode(type.fromObject(value)).finish();
}

export function frame(type: FrameTypeCode, stream: number, payload?: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + (payload?.length ?? 0));
  out[0] = type;
  out.writeUInt32BE(stream, 1);
  if (payload !== undefined) out.set(payload, FRAME_HEADER);
  return out;
}

export const encodeControl = (message: Control): Buffer => frame(FrameType.Control, 0, encode(load().control, message));
export const encodeOpen = (stream: number, open: StreamOpen): Buffer => frame(FrameType.Open, stream, encode(load().open, open));
export const encodeOpenResult = (stream: number, result: StreamOpenResult): Buffer => frame(FrameType.OpenResult, stream, encode(load().openResult, result));

export class ProtocolError extends Error {}

/** Decodes a CONTROL payload; throws ProtocolError on bytes that are not one known message. */
export function decodeControl(payload: Uint8Array): Control {
  let message: Record<string, unknown>;
  try {
    message = load().control.toObject(load().control.decode(payload), DECODE) as Record<string, unknown>;
  } catch (err) {
    throw new ProtocolError(`malformed control message: ${(err as Error).message}`);
  }
  // With defaults on, unset oneof members decode as null/undefined; exactly one must be present.
  for (const key of ['auth', 'auth_result', 'go_away'] as const) {
    if (message[key] !== null && message[key] !== undefined) return { [key]: message[key] } as Control;
  }
  throw new ProtocolError('empty control message');
}

export function decodeOpen(payload: Uint8Array): StreamOpen {
  try {
    return load().open.toObject(load().open.decode(payload), DECODE) as StreamOpen;
  } catch (err) {
    throw new ProtocolError(`malformed stream open: ${(err as Error).message}`);
  }
}

export function decodeOpenResult(payload: Uint8Array): StreamOpenResult {
  try {
    return load().openResult.toObject(load().openResult.decode(payload), DECODE) as StreamOpenResult;
  } catch (err) {
    throw new ProtocolError(`malformed stream open result: ${(err as Error).message}`);
  }
}
