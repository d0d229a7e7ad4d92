// The gRPC control-plane API (proto/control.proto, issue 9): other control planes push configuration,
// read state and stream events through generated stubs. Every call must carry
// `authorization: Bearer <one of admin.api_keys>`, the same keys the REST API takes.
import { createHash, timingSafeEqual } from 'node:crypto';
import { basename, dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import type { Daemon, ReloadResult } from '../daemon.js';
import type { ConfigProblem } from '../config/errors.js';
import type { LoadedConfig } from '../config/load.js';
import { redactConfig } from '../config/redact.js';
import { encodeEvents, type AnyEnvelope } from '../events/protobuf.js';
import { protoFilePath } from '../package-files.js';
import { log, errorFields } from '../log.js';
import { applyDelta, deltaFromProto, documentFromProto, documentToProto } from './convert.js';
import { statusToProto } from './status.js';

export interface ControlServerSettings {
  /** host:port to listen on (port 0 picks a free port). */
  listen: string;
  /** The accepted API keys, read on every call so that a reload that changes admin.api_keys applies at once. */
  apiKeys: () => readonly string[];
  /** Serve over TLS with this pair; absent or null = cleartext HTTP/2 (loopback, private networks). */
  tls?: { certPem: string; keyPem: string } | null;
}

export interface ControlServer {
  /** host:port actually bound. */
  address: string;
  port: number;
  /** Ends open streams and stops the server. */
  close(): Promise<void>;
}

const DEFAULT_STATUS_INTERVAL_MS = 1000;
const MIN_STATUS_INTERVAL_MS = 100;
/** How often a status watcher looks for a new generation (cheap: one number compared). */
const GENERATION_POLL_MS = 50;
/** Events queued for one slow StreamEvents client before newer ones are dropped (memory bound). */
const MAX_QUEUED_EVENTS = 10_000;
const SOURCE = 'grpc';

type Obj = Record<string, unknown>;

function loadService(): grpc.ServiceDefinition {
  const path = protoFilePath('control.proto');
  // By name within its directory, so that `import "events.proto"` resolves beside it.
  const definition = protoLoader.loadSync(basename(path), { keepCase: true, longs: Number, defaults: false, oneofs: true, includeDirs: [dirname(path)] });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { edgeplane: { control: { v1: { ControlPlane: grpc.ServiceClientConstructor } } } };
  const service = pkg.edgeplane.control.v1.ControlPlane.service;
  // Envelopes are encoded once by the encoder the protobuf event destinations use; the stream passes the bytes on.
  const streamEvents = service.StreamEvents!;
  return { ...service, StreamEvents: { ...streamEvents, responseSerialize: (bytes: Buffer) => bytes } };
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Compares against every key, in constant time per key, so timing tells nothing about which matched or how far. */
/** Largest Config / ConfigDelta accepted (and GetConfig sent). */
export const MAX_CONFIG_MESSAGE_BYTES = 256 * 1024 * 1024;

function authorized(metadata: grpc.Metadata, keys: readonly string[]): boolean {
  const header = metadata.get('authorization')[0];
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  const presented = digest(header.slice('Bearer '.length));
  let ok = false;
  for (const key of keys) ok = timingSafeEqual(presented, digest(key)) || ok;
  return ok;
}

const unauthenticated = (): Partial<grpc.StatusObject> => ({
  code: grpc.status.UNAUTHENTICATED,
  details: 'authorization: Bearer <key> with one of admin.api_keys is required',
});

function applyResult(result: ReloadResult): Obj {
  const problems: ConfigProblem[] = result.details ?? (result.problems ?? []).map((reason) => ({ path: '', reason }));
  return { ok: result.ok, generation: result.generation, problems, warning: result.warning ?? '' };
}

const refused = (generation: number, problems: ConfigProblem[]): Obj => ({ ok: false, generation, problems, warning: '' });

/** Thrown from inside updateConfig's edit to leave the running config untouched. */
class DeltaRefused extends Error {
  constructor(readonly problems: ConfigProblem[]) { super('delta refused'); }
}

/** One length-delimited Envelope from encodeEvents → the bare message bytes a stream message carries. */
function envelopeBytes(envelope: AnyEnvelope): Buffer {
  const delimited = encodeEvents([envelope]);
  const reader = protobuf.Reader.create(delimited);
  const length = reader.uint32();
  return Buffer.from(delimited.subarray(reader.pos, reader.pos + length));
}

export async function startControlServer(daemon: Daemon, settings: ControlServerSettings): Promise<ControlServer> {
  // grpc-js refuses messages over 4 MiB by default; a snapshot of 100k hostnames is ~3 MiB (bench/RESULTS.md),
  // so whole configs of a million names need far more. Memory is bounded by what the config check accepts.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_CONFIG_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_CONFIG_MESSAGE_BYTES });
  /** Ends each open stream; run at close. */
  const openStreams = new Set<() => void>();

  const unary = <Req, Res>(name: string, handle: (request: Req) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> => (call, callback) => {
    if (!authorized(call.metadata, settings.apiKeys())) return callback(unauthenticated());
    Promise.resolve()
      .then(() => handle(call.request))
      .then((response) => callback(null, response), (err: unknown) => {
        log.error(`control API ${name} failed`, errorFields(err));
        callback({ code: grpc.status.INTERNAL, details: `${name} failed: ${(err as Error).message}` });
      });
  };

  /** Registers a stream's cleanup, run once on cancel, error, finish or server close. */
  const trackStream = (call: grpc.ServerWritableStream<unknown, unknown>, stop: () => void): void => {
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      openStreams.delete(closeStream);
      stop();
    };
    const closeStream = (): void => { end(); call.end(); };
    openStreams.add(closeStream);
    call.on('cancelled', end);
    call.on('error', end);
    call.on('close', end);
    call.on('finish', end);
  };

  const handlers: grpc.UntypedServiceImplementation = {
    ApplySnapshot: unary<Obj, Obj>('ApplySnapshot', async (request) => {
      const { value, problems } = documentFromProto(request);
      if (problems.length > 0) return refused(daemon.currentGeneration, problems);
      return applyResult(await daemon.applyConfig(value, SOURCE));
    }),

    ApplyDelta: unary<Obj, Obj>('ApplyDelta', async (request) => {
      const { value: delta, problems } = deltaFromProto(request);
      if (problems.length > 0) return refused(daemon.currentGeneration, problems);
      try {
        return applyResult(await daemon.updateConfig((document) => {
          const found = applyDelta(document, delta);
          if (found.length > 0) throw new DeltaRefused(found);
        }, SOURCE));
      } catch (err) {
        if (err instanceof DeltaRefused) return refused(daemon.currentGeneration, err.problems);
        throw err;
      }
    }),

    GetConfig: unary<Obj, Obj>('GetConfig', () => {
      const loaded = daemon.current;
      // The document as pushed (what a control plane edits), redacted with the paths its load recorded.
      const redacted = redactConfig({ ...loaded, config: daemon.desiredConfig() } as unknown as LoadedConfig) as Obj;
      return documentToProto(redacted);
    }),

    WatchStatus: (call: grpc.ServerWritableStream<Obj, Obj>) => {
      if (!authorized(call.metadata, settings.apiKeys())) {
        call.emit('error', unauthenticated());
        return;
      }
      const requested = typeof call.request.interval_ms === 'number' ? call.request.interval_ms : DEFAULT_STATUS_INTERVAL_MS;
      const intervalMs = Math.max(MIN_STATUS_INTERVAL_MS, requested);
      let sentGeneration = -1;
      const send = (): void => {
        try {
          const status = daemon.status();
          sentGeneration = status.generation;
          call.write(statusToProto(status));
        } catch (err) {
          log.warn('control API WatchStatus: status failed', errorFields(err));
        }
      };
      send();
      const periodic = setInterval(send, intervalMs);
      const onGeneration = setInterval(() => { if (daemon.currentGeneration !== sentGeneration) send(); }, GENERATION_POLL_MS);
      trackStream(call, () => { clearInterval(periodic); clearInterval(onGeneration); });
    },

    StreamEvents: (call: grpc.ServerWritableStream<Obj, Buffer>) => {
      if (!authorized(call.metadata, settings.apiKeys())) {
        call.emit('error', unauthenticated());
        return;
      }
      const types = Array.isArray(call.request.event_types) ? new Set(call.request.event_types.map(String)) : new Set<string>();
      let dropped = 0;
      const unsubscribe = daemon.events.listen((events) => {
        for (const event of events) {
          if (types.size > 0 && !types.has(event.event_type)) continue;
          if (call.writableLength >= MAX_QUEUED_EVENTS) {
            if (dropped++ === 0) log.warn('control API StreamEvents: client too slow, dropping events');
            continue;
          }
          try {
            call.write(envelopeBytes(event as unknown as AnyEnvelope));
          } catch (err) {
            log.warn('control API StreamEvents: an event could not be encoded', { event_type: event.event_type, ...errorFields(err) });
          }
        }
      });
      trackStream(call, unsubscribe);
    },
  };

  server.addService(loadService(), handlers);
  const credentials = settings.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(settings.tls.certPem), private_key: Buffer.from(settings.tls.keyPem) }], false)
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(settings.listen, credentials, (err, bound) => (err === null ? resolve(bound) : reject(new Error(`control API cannot listen on ${settings.listen}: ${err.message}`))));
  });
  const host = settings.listen.slice(0, settings.listen.lastIndexOf(':'));
  const address = `${host}:${port}`;
  log.info('control API listening', { address, tls: Boolean(settings.tls) });

  let closing: Promise<void> | null = null;
  return {
    address,
    port,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        for (const closeStream of [...openStreams]) closeStream();
        const force = setTimeout(() => { server.forceShutdown(); resolve(); }, 2000);
        server.tryShutdown(() => { clearTimeout(force); resolve(); });
      });
      return closing;
    },
  };
}
