import t from 'tap';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDestination } from '../../../../core/events/destinations/types.js';
import { NDJSON_CONTENT_TYPE } from '../../../../core/events/destinations/framing.js';
import { signV4 } from '../../../../core/events/destinations/sigv4.js';
import { destination, jsonEvents, startReceiver } from './helpers.js';

const require = createRequire(import.meta.url);
const kinesalite = require('kinesalite') as (options: { createStreamMs: number; deleteStreamMs?: number }) => Server;

const CREDS = { aws_access_key_id: 'AKIDEXAMPLE', aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const REGION = 'us-east-1';

/** A minimal Kinesis client for the test's own calls (CreateStream, GetRecords...), signed like the destination. */
async function kinesisCall<T>(endpoint: string, operation: string, payload: object): Promise<T> {
  const url = new URL(endpoint);
  const body = JSON.stringify(payload);
  const headers = signV4({
    method: 'POST', url, body,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `Kinesis_20131202.${operation}` },
  }, { accessKeyId: CREDS.aws_access_key_id, secretAccessKey: CREDS.aws_secret_access_key }, REGION, 'kinesis');
  delete headers.host;
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  if (!response.ok) throw new Error(`${operation} answered ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

t.test('SigV4 matches the AWS test suite (get-vanilla)', async (t) => {
  const headers = signV4({ method: 'GET', url: new URL('https://example.amazonaws.com/'), headers: {}, body: '' },
    { accessKeyId: CREDS.aws_access_key_id, secretAccessKey: CREDS.aws_secret_access_key }, 'us-east-1', 'service', new Date('2015-08-30T12:36:00Z'));
  t.equal(headers.authorization,
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, ' +
    'Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
});

t.test('PutRecords into kinesalite, then GetRecords reads every event back', async (t) => {
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await kinesisCall(endpoint, 'CreateStream', { StreamName: 'edge-events', ShardCount: 2 });
  for (let i = 0; ; i++) {
    const described = await kinesisCall<{ StreamDescription: { StreamStatus: string } }>(endpoint, 'DescribeStream', { StreamName: 'edge-events' });
    if (described.StreamDescription.StreamStatus === 'ACTIVE') break;
    if (i > 100) throw new Error('stream never became ACTIVE');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  const dest = createDestination(destination({
    kinesis: { auth: { creds: CREDS }, stream_arn: 'arn:aws:kinesis:us-east-1:123456789012:stream/edge-events', endpoint },
  }));
  const events = jsonEvents(1200);
  dest.deliver({ records: events, contentType: NDJSON_CONTENT_TYPE });
  await dest.flush();
  t.match(dest.stats(), { delivered: 1200, failed: 0, dropped: 0, retried: 0 }, 'three PutRecords of at most 500 (kinesalite refuses more)');
  t.same(await dest.sendTestEvent(), { ok: true });

  const shards = await kinesisCall<{ StreamDescription: { Shards: Array<{ ShardId: string }> } }>(endpoint, 'DescribeStream', { StreamName: 'edge-events' });
  const readBack: string[] = [];
  for (const shard of shards.StreamDescription.Shards) {
    let { ShardIterator: iterator } = await kinesisCall<{ ShardIterator: string }>(endpoint, 'GetShardIterator',
      { StreamName: 'edge-events', ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' });
    for (;;) {
      const page = await kinesisCall<{ Records: Array<{ Data: string }>; NextShardIterator: string }>(endpoint, 'GetRecords', { ShardIterator: iterator, Limit: 1000 });
      if (page.Records.length === 0) break;
      for (const record of page.Records) readBack.push(Buffer.from(record.Data, 'base64').toString('utf8'));
      iterator = page.NextShardIterator;
    }
  }
  t.ok(shards.StreamDescription.Shards.length === 2);
  const testEvents = readBack.filter((text) => JSON.parse(text).event_type === 'test_event.v0');
  t.equal(testEvents.length, 1, 'the test event is in the stream');
  t.same(readBack.filter((text) => !testEvents.includes(text)).sort(), [...events].sort(), 'every event, byte for byte');
  await dest.close();

  const missing = createDestination(destination({
    kinesis: { auth: { creds: CREDS }, stream_arn: 'arn:aws:kinesis:us-east-1:123456789012:stream/no-such-stream', endpoint },
  }));
  missing.deliver({ records: jsonEvents(3), contentType: NDJSON_CONTENT_TYPE });
  await missing.flush();
  t.match(missing.stats(), { failed: 3, retried: 0, last_error: /400 ResourceNotFoundException/ }, 'a missing stream is not retried');
  await missing.close();
});

t.test('records Kinesis refuses are re-sent alone', async (t) => {
  // A local stand-in that fails records 1 and 3 of the first call with throttling, as PutRecords reports it.
  const receiver = await startReceiver((request, index) => {
    const { Records } = JSON.parse(request.body.toString()) as { Records: unknown[] };
    const results = Records.map((_r, i) => (index === 0 && (i === 1 || i === 3)
      ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded' }
      : { SequenceNumber: String(i), ShardId: 'shardId-000000000000' }));
    return { status: 200, body: JSON.stringify({ FailedRecordCount: results.filter((r) => 'ErrorCode' in r).length, Records: results }) };
  });
  t.teardown(() => receiver.close());
  const dest = createDestination(destination({
    kinesis: { auth: { creds: CREDS }, stream_arn: 'arn:aws:kinesis:eu-west-1:123456789012:stream/s', endpoint: receiver.url },
  }), { baseDelayMs: 5, random: () => 0 });
  const events = jsonEvents(5);
  dest.deliver({ records: events, contentType: NDJSON_CONTENT_TYPE });
  await dest.flush();
  t.equal(receiver.received.length, 2);
  const first = receiver.received[0];
  t.equal(first.headers['x-amz-target'], 'Kinesis_20131202.PutRecords');
  t.equal(first.headers['content-type'], 'application/x-amz-json-1.1');
  t.match(first.headers.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/kinesis\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=[0-9a-f]{64}$/);
  const second = JSON.parse(receiver.received[1].body.toString()) as { StreamName: string; Records: Array<{ Data: string }> };
  t.equal(second.StreamName, 's');
  t.same(second.Records.map((r) => Buffer.from(r.Data, 'base64').toString()), [events[1], events[3]]);
  t.match(dest.stats(), { delivered: 5, retried: 2, failed: 0 });
  await dest.close();
});

t.test('kinesis configuration errors are clear', async (t) => {
  const arn = 'arn:aws:kinesis:us-east-1:123456789012:stream/s';
  t.throws(() => createDestination(destination({ kinesis: { auth: { role: { role_arn: 'arn:aws:iam::123456789012:role/x' } }, stream_arn: arn } })),
    /auth\.role \(assume-role\) is not supported/);
  t.throws(() => createDestination(destination({ kinesis: { auth: {}, stream_arn: arn } })), /auth\.creds .* is required/);
  t.throws(() => createDestination(destination({ kinesis: { auth: { creds: CREDS }, stream_arn: 'edge-events' } })), /stream_arn must look like/);
});
