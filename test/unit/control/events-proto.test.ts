// Event destinations and subscriptions travel as typed protobuf messages (EventDestination with a target
// oneof, EventSubscription with EventSource items), not JSON text: a config holding them survives
// document → Config → bytes → Config → document, ConfigDelta upserts them, and the credentials inside
// targets never leave through the GetConfig conversion.
import t from 'tap';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { deltaFromProto, documentFromProto, documentToProto } from '../../../core/control/convert.js';
import { loadConfigObject } from '../../../core/config/load.js';
import { redactConfig } from '../../../core/config/redact.js';

const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'proto');

function root(): protobuf.Root {
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => join(PROTO_DIR, target.replace(/^.*[\\/]/, ''));
  r.loadSync('control.proto', { keepCase: true });
  return r;
}

const HTTP_SECRET = 'whsec-0123456789-signing';
const BEARER = 'Bearer dest-token-abcdef';

function eventsDocument(): Record<string, unknown> {
  return {
    workers: 1,
    listen_address: '127.0.0.1',
    events: { file: '-' },
    event_destinations: [
      {
        id: 'ed_http', description: 'to the collector', metadata: '{"team":"edge"}', format: 'protobuf',
        target: { http: { url: 'https://collector.example.test/ingest', secret: HTTP_SECRET, headers: { Authorization: BEARER, 'x-tenant': 't1' } } },
        data_protection: { client_ip: 'truncate', redact_headers: ['x-session'], allow_fields: ['conn.client_ip', 'http.request.method'], retention_seconds: 3600, retention_bytes: 1048576 },
      },
      { id: 'ed_file', target: { file: { path: '/tmp/edgeplane-events-proto-test.ndjson', max_bytes: 65536, max_files: 3 } } },
    ],
    event_subscriptions: [{
      id: 'esb_mixed', description: 'traffic and audit',
      sources: [
        { type: 'http_request_complete.v0', fields: ['conn.client_ip', 'http.request.method', 'http.response.status_code'], filter: 'ev.conn.client_ip.startsWith("10.")' },
        { type: 'event_destination_created.v0' },
      ],
      destination_ids: ['ed_http', 'ed_file'],
      data_protection: { client_ip: 'hash' },
    }],
  };
}

t.test('destinations and subscriptions survive document → Config → bytes → Config → document', async (t) => {
  const document = eventsDocument();
  const loaded = loadConfigObject(document, { baseDir: PROTO_DIR });
  t.equal(loaded.config.event_destinations.length, 2, 'the daemon accepts the config');
  t.equal(loaded.config.event_subscriptions[0]!.sources.length, 2);

  const Config = root().lookupType('edgeplane.control.v1.Config');
  const message = documentToProto(document);
  t.equal(Config.verify(message), null, 'a valid Config message');
  const bytes = Config.encode(Config.fromObject(message)).finish();
  const decoded = Config.toObject(Config.decode(bytes), { longs: Number, oneofs: true });
  const destinations = decoded.event_destinations as Array<Record<string, any>>;
  t.equal(destinations[0]!.target.target, 'http', 'the target oneof holds http');
  t.equal(destinations[0]!.target.http.headers['x-tenant'], 't1');
  t.equal(destinations[0]!.data_protection.retention_bytes, 1048576);
  t.equal(destinations[1]!.target.target, 'file');
  t.equal(destinations[1]!.target.file.max_files, 3);
  const sources = (decoded.event_subscriptions as Array<Record<string, any>>)[0]!.sources as Array<Record<string, any>>;
  t.strictSame(sources[0]!.fields, ['conn.client_ip', 'http.request.method', 'http.response.status_code']);
  t.equal(sources[1]!.type, 'event_destination_created.v0');
  t.notOk('event_destinations_json' in decoded, 'no JSON text fields');

  const back = documentFromProto(decoded);
  t.same(back.problems, []);
  t.strictSame(back.value, document, 'the same document comes back');
  t.doesNotThrow(() => loadConfigObject(back.value, { baseDir: PROTO_DIR }), 'and the daemon accepts it');
});

t.test('a stdout target (an empty message) and AWS auth survive the wire', async (t) => {
  const document = {
    event_destinations: [
      { id: 'ed_out', target: { stdout: {} } },
      { id: 'ed_kin', target: { kinesis: { auth: { role: { role_arn: 'arn:aws:iam::123456789012:role/events' } }, stream_arn: 'arn:aws:kinesis:us-east-1:123456789012:stream/ev' } } },
    ],
  };
  const Config = root().lookupType('edgeplane.control.v1.Config');
  const decoded = Config.toObject(Config.decode(Config.encode(Config.fromObject(documentToProto(document))).finish()), { longs: Number, oneofs: true });
  const back = documentFromProto(decoded);
  t.same(back.problems, []);
  t.strictSame(back.value, document);
});

t.test('GetConfig\'s conversion shows credentials inside targets as [redacted]', async (t) => {
  const document = {
    ...eventsDocument(),
    event_destinations: [
      ...(eventsDocument().event_destinations as unknown[]),
      { id: 'ed_dd', target: { datadog: { api_key: 'dd-api-key-secret-value', service: 'edge' } } },
      { id: 'ed_fh', target: { firehose: { auth: { creds: { aws_access_key_id: 'AKIAEXAMPLE', aws_secret_access_key: 'aws-secret-key-value' } }, delivery_stream_arn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/ev' } } },
      { id: 'ed_az', target: { azure_logs_ingestion: { tenant_id: 't', client_id: 'c', client_secret: 'azure-client-secret', logs_ingestion_uri: 'https://x.example.test', data_collection_rule_id: 'dcr', data_collection_stream_name: 's' } } },
    ],
  };
  const loaded = loadConfigObject(document, { baseDir: PROTO_DIR });
  // What GetConfig does: redactConfig on the pushed document, then documentToProto.
  const redacted = redactConfig({ ...loaded, config: structuredClone(document) } as unknown as Parameters<typeof redactConfig>[0]) as Record<string, unknown>;
  const message = documentToProto(redacted);
  const text = JSON.stringify(message);
  for (const secret of [HTTP_SECRET, BEARER, 'dd-api-key-secret-value', 'aws-secret-key-value', 'azure-client-secret']) {
    t.notOk(text.includes(secret), `${secret.slice(0, 6)}… is not returned`);
  }
  const byId = new Map((message.event_destinations as Array<Record<string, any>>).map((d) => [d.id, d]));
  t.equal(byId.get('ed_http')!.target.http.secret, '[redacted]');
  t.equal(byId.get('ed_http')!.target.http.headers.Authorization, '[redacted]');
  t.equal(byId.get('ed_http')!.target.http.headers['x-tenant'], 't1', 'other headers are not secret');
  t.equal(byId.get('ed_dd')!.target.datadog.api_key, '[redacted]');
  t.equal(byId.get('ed_dd')!.target.datadog.service, 'edge');
  t.equal(byId.get('ed_fh')!.target.firehose.auth.creds.aws_secret_access_key, '[redacted]');
  t.equal(byId.get('ed_fh')!.target.firehose.auth.creds.aws_access_key_id, 'AKIAEXAMPLE');
  t.equal(byId.get('ed_az')!.target.azure_logs_ingestion.client_secret, '[redacted]');
  t.equal((document.event_destinations[0] as any).target.http.secret, HTTP_SECRET, 'the document itself is not changed');
});

t.test('ConfigDelta upserts typed destinations and subscriptions', async (t) => {
  const r = root();
  const Delta = r.lookupType('edgeplane.control.v1.ConfigDelta');
  const doc = eventsDocument();
  const full = documentToProto(doc);
  const request = { upsert_event_destinations: full.event_destinations, upsert_event_subscriptions: full.event_subscriptions, delete_event_destinations: ['ed_old'] };
  t.equal(Delta.verify(request), null);
  const decoded = Delta.toObject(Delta.decode(Delta.encode(Delta.fromObject(request)).finish()), { longs: Number, oneofs: true });
  const delta = deltaFromProto(decoded);
  t.same(delta.problems, []);
  t.strictSame(delta.value.upserts.get('event_destinations'), doc.event_destinations);
  t.strictSame(delta.value.upserts.get('event_subscriptions'), doc.event_subscriptions);
  t.strictSame(delta.value.deletes.get('event_destinations'), ['ed_old']);
});

t.test('two targets on the wire reach the config parser, which refuses them', async (t) => {
  const back = documentFromProto({ event_destinations: [{ id: 'ed_two', target: { http: { url: 'https://a.example.test' }, file: { path: '/tmp/x' } } }] });
  t.same(back.problems, []);
  t.throws(() => loadConfigObject(back.value, { baseDir: PROTO_DIR }), /5115|several|more than one/i);
});
