// The tunnel wire format (proto/tunnel.proto, core/tunnel/protocol.ts): frame header layout, protobuf
// round trips of every message, and that the .proto declares exactly what protocol.ts speaks.
import t from 'tap';
import protobuf from 'protobufjs';
import { protoFilePath } from '../../../core/package-files.js';
import {
  FRAME_HEADER, FrameType, MAX_DATA_FRAME, MAX_MESSAGE, ProtocolError,
  decodeControl, decodeOpen, decodeOpenResult, encodeControl, encodeOpen, encodeOpenResult, frame,
  type Auth, type AuthResult, type Control, type StreamOpen, type StreamOpenResult,
} from '../../../core/tunnel/protocol.js';

const AUTH: Auth = {
  authtoken: 'agent-token-0123456789abcdef',
  session_id: 'ses_42',
  labels: { app: 'web', env: 'prod' },
  metadata: '{"team":"infra"}',
  agent_version: '0.1.0',
  os: 'linux',
  forwards_to: '127.0.0.1:8080',
  terminates_tls: true,
};
const AUTH_RESULT: AuthResult = { ok: true, error: 'none', session_id: 'ses_42', legs: 4, leg: 3, heartbeat_interval_ms: 10_000, window: 262_144 };
const OPEN: StreamOpen = { edge_id: 'edgtls_a', backend_id: 'bkd_a', protocol: 'tls', client_addr: '[::1]:40000', terminate_tls: true, server_name: 'a.example.test' };

const payloadOf = (buf: Buffer): Buffer => buf.subarray(FRAME_HEADER);

t.test('every Control message survives encode/decode', async (tt) => {
  const messages: Control[] = [
    { auth: AUTH },
    { auth: { ...AUTH, session_id: '', labels: {}, terminates_tls: false, metadata: '' } },
    { auth_result: AUTH_RESULT },
    { auth_result: { ok: false, error: 'invalid authtoken', session_id: '', legs: 0, leg: 0, heartbeat_interval_ms: 0, window: 0 } },
    { go_away: { reason: 'draining' } },
    { go_away: { reason: '' } },
  ];
  for (const message of messages) {
    const buf = encodeControl(message);
    tt.equal(buf[0], FrameType.Control);
    tt.equal(buf.readUInt32BE(1), 0, 'control frames are on stream 0');
    tt.same(decodeControl(payloadOf(buf)), message, JSON.stringify(message));
  }
  // Large unsigned values keep all their bits.
  const big = { auth_result: { ...AUTH_RESULT, window: 0xffff_ffff, heartbeat_interval_ms: 0x8000_0000 } };
  tt.same(decodeControl(payloadOf(encodeControl(big))), big);
  // Unicode in strings and map keys.
  const uni = { auth: { ...AUTH, labels: { 'région': 'zürich ☃' }, os: 'darwin ✓' } };
  tt.same(decodeControl(payloadOf(encodeControl(uni))), uni);
});

t.test('StreamOpen and StreamOpenResult survive encode/decode', async (tt) => {
  for (const protocol of ['http', 'tcp', 'tls'] as const) {
    const open: StreamOpen = { ...OPEN, protocol, terminate_tls: protocol === 'tls' };
    const buf = encodeOpen(7, open);
    tt.equal(buf[0], FrameType.Open);
    tt.equal(buf.readUInt32BE(1), 7);
    tt.same(decodeOpen(payloadOf(buf)), open, protocol);
  }
  const results: StreamOpenResult[] = [
    { ok: true, error: '' },
    ...(['connect_refused', 'connect_timeout', 'connect_failed', 'no_certificate', 'draining', 'refused'] as const).map((error) => ({ ok: false, error })),
  ];
  for (const result of results) {
    const buf = encodeOpenResult(9, result);
    tt.equal(buf[0], FrameType.OpenResult);
    tt.equal(buf.readUInt32BE(1), 9);
    tt.same(decodeOpenResult(payloadOf(buf)), result, JSON.stringify(result));
  }
  // proto3 defaults: an empty payload is a refusal without a reason, and an empty StreamOpen has every field.
  tt.same(decodeOpenResult(Buffer.alloc(0)), { ok: false, error: '' });
  tt.same(decodeOpen(Buffer.alloc(0)), { edge_id: '', backend_id: '', protocol: '', client_addr: '', terminate_tls: false, server_name: '' });
});

t.test('frame header: type byte, then the stream id as u32 big-endian, then the payload', async (tt) => {
  tt.equal(FRAME_HEADER, 5);
  tt.equal(MAX_MESSAGE, MAX_DATA_FRAME + FRAME_HEADER);
  tt.same(FrameType, { Control: 0, Open: 1, OpenResult: 2, Data: 3, Fin: 4, Reset: 5, Window: 6 }, 'the type codes of tunnel.proto');
  const data = frame(FrameType.Data, 0x01020304, Buffer.from('hey'));
  tt.same([...data], [3, 0x01, 0x02, 0x03, 0x04, 0x68, 0x65, 0x79]);
  tt.same([...frame(FrameType.Fin, 1)], [4, 0, 0, 0, 1], 'FIN has no payload');
  tt.same([...frame(FrameType.Reset, 0xfffffffe)], [5, 0xff, 0xff, 0xff, 0xfe]);
  const win = Buffer.alloc(4);
  win.writeUInt32BE(65536);
  tt.same([...frame(FrameType.Window, 0x7fff_fffd, win)], [6, 0x7f, 0xff, 0xff, 0xfd, 0, 1, 0, 0]);
  tt.same([...encodeOpen(0x00abcdef, OPEN).subarray(0, FRAME_HEADER)], [1, 0x00, 0xab, 0xcd, 0xef]);
  tt.same([...encodeOpenResult(258, { ok: true, error: '' }).subarray(0, FRAME_HEADER)], [2, 0, 0, 1, 2]);
  // The payload of an OPEN is exactly the protobuf encoding (nothing else in the frame).
  const open = encodeOpen(3, OPEN);
  tt.equal(open.length, FRAME_HEADER + decodeLength(open));
});

/** Re-encodes the decoded payload and returns its length (the frame must carry nothing else). */
function decodeLength(buf: Buffer): number {
  return encodeOpen(0, decodeOpen(payloadOf(buf))).length - FRAME_HEADER;
}

t.test('malformed payloads throw ProtocolError', async (tt) => {
  const truncated = payloadOf(encodeControl({ auth: AUTH })).subarray(0, 10);
  const thrown = (fn: () => unknown): unknown => { try { fn(); } catch (err) { return err; } return undefined; };
  tt.ok(thrown(() => decodeControl(truncated)) instanceof ProtocolError, 'truncated control: a ProtocolError');
  tt.throws(() => decodeControl(truncated), /malformed control message/);
  tt.throws(() => decodeControl(Buffer.alloc(0)), /empty control message/);
  tt.ok(thrown(() => decodeOpen(Buffer.from([0x0a, 0x7f]))) instanceof ProtocolError, 'truncated open: a ProtocolError');
  tt.ok(thrown(() => decodeOpenResult(Buffer.from([0x12, 0x05, 0x61]))) instanceof ProtocolError, 'truncated open result: a ProtocolError');
  tt.ok(thrown(() => decodeControl(Buffer.alloc(0))) instanceof ProtocolError, 'empty control: a ProtocolError');
  // An unknown (future) field is skipped, as protobuf requires.
  const withExtra = Buffer.concat([payloadOf(encodeOpenResult(1, { ok: true, error: '' })), Buffer.from([0xf8, 0x01, 0x01])]);
  tt.same(decodeOpenResult(withExtra), { ok: true, error: '' });
});

t.test('tunnel.proto defines exactly the messages and fields protocol.ts uses', async (tt) => {
  const root = new protobuf.Root();
  root.loadSync(protoFilePath('tunnel.proto'), { keepCase: true });
  const pkg = root.lookup('edgeplane.tunnel.v1') as protobuf.Namespace;
  tt.same(pkg.nestedArray.map((n) => n.name).sort(), ['Auth', 'AuthResult', 'Control', 'GoAway', 'StreamOpen', 'StreamOpenResult']);

  const fieldsOf = (name: string): Record<string, [number, string, string?]> => {
    const type = root.lookupType(`edgeplane.tunnel.v1.${name}`);
    const out: Record<string, [number, string, string?]> = {};
    for (const f of type.fieldsArray) out[f.name] = f.map ? [f.id, f.type, (f as unknown as protobuf.MapField).keyType] : [f.id, f.type];
    return out;
  };
  tt.same(fieldsOf('Auth'), {
    authtoken: [1, 'string'],
    session_id: [2, 'string'],
    labels: [3, 'string', 'string'],
    metadata: [4, 'string'],
    agent_version: [5, 'string'],
    os: [6, 'string'],
    forwards_to: [7, 'string'],
    terminates_tls: [8, 'bool'],
  }, 'Auth: names, numbers and types');
  tt.same(fieldsOf('AuthResult'), {
    ok: [1, 'bool'], error: [2, 'string'], session_id: [3, 'string'], legs: [4, 'uint32'], leg: [5, 'uint32'], heartbeat_interval_ms: [6, 'uint32'], window: [7, 'uint32'],
  });
  tt.same(fieldsOf('GoAway'), { reason: [1, 'string'] });
  tt.same(fieldsOf('Control'), { auth: [1, 'Auth'], auth_result: [2, 'AuthResult'], go_away: [3, 'GoAway'] });
  const control = root.lookupType('edgeplane.tunnel.v1.Control');
  tt.same(control.oneofsArray.map((o) => [o.name, o.oneof]), [['message', ['auth', 'auth_result', 'go_away']]], 'Control is one oneof');
  tt.same(fieldsOf('StreamOpen'), {
    edge_id: [1, 'string'], backend_id: [2, 'string'], protocol: [3, 'string'], client_addr: [4, 'string'], terminate_tls: [5, 'bool'], server_name: [6, 'string'],
  });
  tt.same(fieldsOf('StreamOpenResult'), { ok: [1, 'bool'], error: [2, 'string'] });

  // The TypeScript shapes have exactly these keys (a field added on one side only shows up here).
  tt.same(Object.keys(AUTH).sort(), Object.keys(fieldsOf('Auth')).sort());
  tt.same(Object.keys(AUTH_RESULT).sort(), Object.keys(fieldsOf('AuthResult')).sort());
  tt.same(Object.keys(OPEN).sort(), Object.keys(fieldsOf('StreamOpen')).sort());
  // And protocol.ts's encoder writes the wire bytes the .proto describes (field 1 of Auth = authtoken).
  const auth = root.lookupType('edgeplane.tunnel.v1.Auth');
  const wire = payloadOf(encodeControl({ auth: AUTH }));
  const viaProto = control.toObject(control.decode(wire), { defaults: true }) as { auth: Record<string, unknown> };
  tt.equal(viaProto.auth['authtoken'], AUTH.authtoken);
  tt.equal(viaProto.auth['terminates_tls'], true);
  const direct = Buffer.from(control.encode(control.fromObject({ auth: auth.toObject(auth.fromObject(AUTH)) })).finish());
  tt.same(decodeControl(direct), { auth: AUTH }, 'bytes made straight from the .proto decode through protocol.ts');
});
