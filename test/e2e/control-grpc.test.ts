// The gRPC control-plane API end to end: a client built from proto/control.proto (as a Go or Rust control
// plane would generate one) pushes snapshots and deltas to an in-process daemon, and real HTTPS requests
// show what serves; status and event streams, redaction and authentication are checked on the same wire.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { makePki } from '../helpers/pki.js';
import { freePort } from '../helpers/net.js';
import { httpsRequest, startOrigin } from '../helpers/http.js';
import { controlClient } from '../helpers/grpc-client.js';
import { loadConfigObject } from '../../core/config/load.js';
import { startControlServer } from '../../core/control/grpc-server.js';

const { Daemon } = await import('../../core/daemon.js');

const APP = 'app.example.test';
const API_KEY = randomBytes(24).toString('hex');

t.test('control plane over gRPC', async (t) => {
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const CA = pki.read('ca.crt');
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-control-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const origin = await startOrigin(t);
  const port = await freePort();

  // What the daemon starts with: no edges, the admin section holding the API keys (and the state directory).
  const base = {
    workers: 2,
    listen_address: '127.0.0.1',
    admin: { listen: '127.0.0.1:0', api_keys: [API_KEY], state_dir: join(dir, 'state') },
    events: { file: join(dir, 'events.ndjson') },
  };
  const daemon = await Daemon.start({ loaded: loadConfigObject(base, { baseDir: dir }), configPath: null });
  t.teardown(() => daemon.shutdown('test'));
  const control = await startControlServer(daemon, {
    listen: '127.0.0.1:0',
    apiKeys: () => (daemon.current.config.admin?.api_keys ?? []),
  });
  t.teardown(() => control.close());
  const client = controlClient(control.address, API_KEY);
  t.teardown(() => client.close());

  const get = (path: string) => httpsRequest({ port, host: APP, ca: CA, path });
  const route = (id: string, match: string, backendId: string) => ({ id, match_type: 'path_prefix', match, backend: { backend_id: backendId } });
  // The snapshot in protobuf form, written as a client would (PEMs inline, so the key really is in the config).
  const snapshot = {
    workers: 2,
    listen_address: '127.0.0.1',
    admin: { listen: '127.0.0.1:0', api_keys: [{ inline: API_KEY }], state_dir: join(dir, 'state') },
    events: { file: join(dir, 'events.ndjson') },
    tls_certificates: [{ id: 'cert_edge', certificate_pem: { inline: pki.read('bundle.crt') }, private_key_pem: { inline: pki.read('leaf.key') } }],
    reserved_domains: [{ domain: '*.example.test', certificate_id: 'cert_edge' }],
    backends: [{ id: 'bkd_origin', type: 'static_address', address: origin.address }],
    edges: [{ id: 'edghts_app', type: 'https', hostports: [`${APP}:${port}`], routes: [route('rt_app', '/app', 'bkd_origin')] }],
  };

  let generation = 0;

  await t.test('(g) a wrong API key is refused with UNAUTHENTICATED, on unary calls and streams', async (t) => {
    const intruder = controlClient(control.address, 'not-the-key-0123456789');
    t.teardown(() => intruder.close());
    const err = await intruder.unary('GetConfig', {}).then(() => null, (e: grpc.ServiceError) => e);
    t.equal(err?.code, grpc.status.UNAUTHENTICATED);
    const pushed = await intruder.unary('ApplySnapshot', snapshot).then(() => null, (e: grpc.ServiceError) => e);
    t.equal(pushed?.code, grpc.status.UNAUTHENTICATED);
    t.equal(daemon.currentGeneration, 1, 'nothing was applied');
    const stream = intruder.stream('WatchStatus', {});
    t.equal((await stream.ended)?.code, grpc.status.UNAUTHENTICATED);
  });

  await t.test('(a) a snapshot with an https edge and a static backend serves real HTTPS requests', async (t) => {
    const result = await client.unary('ApplySnapshot', snapshot);
    t.equal(result.ok, true, JSON.stringify(result.problems ?? []));
    t.equal(result.generation, 2);
    generation = result.generation;
    const res = await get('/app/hello');
    t.equal(res.status, 200);
    t.equal(JSON.parse(res.body.toString()).url, '/app/hello', 'the origin got the request');
  });

  await t.test('(b) an invalid snapshot is refused with the problem paths; the old generation keeps serving', async (t) => {
    const bad = {
      ...snapshot,
      edges: [{ id: 'edghts_app', type: 'https', hostports: ['app.example.test:notaport'], routes: [route('rt_app', '/app', 'bkd_missing')] }],
    };
    const result = await client.unary('ApplySnapshot', bad);
    t.equal(result.ok, false);
    t.equal(result.generation, generation, 'still the previous generation');
    const paths = (result.problems as Array<{ path: string; reason: string }>).map((p) => p.path);
    t.ok(paths.includes('edges[0].hostports[0]'), `bad hostport reported: ${JSON.stringify(result.problems)}`);
    t.ok(paths.includes('edges[0].routes[0].backend.backend_id'), `unknown backend reported: ${JSON.stringify(result.problems)}`);
    t.equal(daemon.currentGeneration, generation);
    const res = await get('/app/still');
    t.equal(res.status, 200, 'the previous config still serves');
  });

  await t.test('(c, d) a delta adds a backend and a route; WatchStatus reports the new generation', async (t) => {
    const watch = client.stream('WatchStatus', { interval_ms: 60_000 });
    t.teardown(() => watch.cancel());
    const first = await watch.next(() => true);
    t.equal(first.generation, generation, 'one status right away');
    t.equal(first.source, 'grpc');
    t.ok(Array.isArray(first.workers) && first.workers.length >= 1, 'per-worker load');
    // proto3 with defaults off: an empty list is absent on the wire
    t.strictSame(first.certificates ?? [], [], 'no reserved domain has a certificate_management_policy: no certificates');

    const result = await client.unary('ApplyDelta', {
      upsert_backends: [{ id: 'bkd_fixed', type: 'http_response', status_code: 201, body: 'from a delta', headers: { 'content-type': 'text/plain' } }],
      upsert_edges: [{
        id: 'edghts_app', type: 'https', hostports: [`${APP}:${port}`],
        routes: [route('rt_app', '/app', 'bkd_origin'), route('rt_fixed', '/fixed', 'bkd_fixed')],
      }],
    });
    t.equal(result.ok, true, JSON.stringify(result.problems ?? []));
    t.equal(result.generation, generation + 1);
    generation = result.generation;

    // interval_ms is a minute: this status comes because the generation changed
    const next = await watch.next((s) => s.generation === generation, 5000);
    t.equal(next.generation, generation);

    const fixed = await get('/fixed');
    t.equal(fixed.status, 201);
    t.equal(fixed.body.toString(), 'from a delta');
    t.equal((await get('/app/after-delta')).status, 200, 'the route that was there still serves');
  });

  await t.test('(c) a delta deleting an unknown id is a problem, and changes nothing', async (t) => {
    const result = await client.unary('ApplyDelta', {
      delete_backends: ['bkd_nope'],
      upsert_backends: [{ id: 'bkd_other', type: 'http_response', status_code: 204 }],
    });
    t.equal(result.ok, false);
    t.equal(result.generation, generation);
    t.same(result.problems.map((p: { path: string }) => p.path), ['delete_backends[0]']);
    t.match(result.problems[0].reason, /bkd_nope/);
    const config = await client.unary('GetConfig', {});
    t.notOk((config.backends as Array<{ id: string }>).some((b) => b.id === 'bkd_other'), 'the upsert beside it was not applied');
  });

  await t.test('(e) StreamEvents delivers the http_request_complete.v0 event of a request made after subscribing', async (t) => {
    const events = client.stream('StreamEvents', { event_types: ['http_request_complete.v0'] });
    t.teardown(() => events.cancel());
    // The subscription is live once the server has the call; until an event shows it is, ask again with a new path.
    let found: Record<string, any> | null = null;
    for (let attempt = 0; attempt < 10 && found === null; attempt++) {
      const path = `/app/event-${attempt}-${randomBytes(4).toString('hex')}`;
      t.equal((await get(path)).status, 200);
      found = await events.next((e) => e.http_request_complete?.http?.request?.url?.path === path, 2000).catch(() => null);
    }
    t.ok(found, 'the event arrived');
    t.equal(found?.event_type, 'http_request_complete.v0');
    t.ok(events.received.every((e) => e.event_type === 'http_request_complete.v0'), 'only the requested type');
  });

  await t.test('(f) GetConfig returns the running config with every secret redacted', async (t) => {
    const config = await client.unary('GetConfig', {});
    const text = JSON.stringify(config);
    t.notOk(text.includes('PRIVATE KEY'), 'no private key PEM');
    t.notOk(text.includes(API_KEY), 'no API key');
    t.equal(config.tls_certificates[0].private_key_pem.inline, '[redacted]');
    t.match(config.tls_certificates[0].certificate_pem.inline, /BEGIN CERTIFICATE/, 'certificates are not secret');
    t.same(config.edges[0].routes.map((r: { id: string }) => r.id), ['rt_app', 'rt_fixed']);
    t.equal(config.backends.find((b: { id: string }) => b.id === 'bkd_fixed').status_code, 201);
  });

  await t.test('over TLS, a client that verifies the server certificate gets the same API', async (t) => {
    const secure = await startControlServer(daemon, {
      listen: '127.0.0.1:0',
      apiKeys: () => [API_KEY],
      tls: { certPem: pki.read('bundle.crt'), keyPem: pki.read('leaf.key') },
    });
    t.teardown(() => secure.close());
    const tlsClient = controlClient(secure.address, API_KEY, { ca: CA, servername: 'control.example.test' });
    t.teardown(() => tlsClient.close());
    const config = await tlsClient.unary('GetConfig', {});
    t.equal(config.edges[0].id, 'edghts_app');
    const plain = controlClient(secure.address, API_KEY);
    t.teardown(() => plain.close());
    const err = await plain.unary('GetConfig', {}).then(() => null, (e: grpc.ServiceError) => e);
    t.equal(err?.code, grpc.status.UNAVAILABLE, 'a cleartext client cannot talk to the TLS server');
  });

  await t.test('closing the server ends open streams', async (t) => {
    const watch = client.stream('WatchStatus', {});
    await watch.next(() => true);
    await control.close();
    const outcome = await Promise.race([
      watch.ended.then(() => 'ended'),
      new Promise((resolve) => setTimeout(() => resolve('still open'), 5000)),
    ]);
    t.equal(outcome, 'ended', 'the stream ended');
  });
});

t.test('WatchStatus carries the certificate status of managed reserved domains', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-control-acme-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // No ACME server listens on this port: the first issuance fails at once, an INTERNAL_ERROR.
  const directoryUrl = `https://127.0.0.1:${await freePort()}/dir`;
  const loaded = loadConfigObject({
    workers: 1,
    listen_address: '127.0.0.1',
    admin: { listen: '127.0.0.1:0', api_keys: [API_KEY], state_dir: join(dir, 'state') },
    http: { plain_listen: `127.0.0.1:${await freePort()}` },
    acme: { directory_url: directoryUrl },
    reserved_domains: [
      { id: 'rd_managed', domain: 'managed.example.test', certificate_management_policy: { authority: 'letsencrypt' } },
      { id: 'rd_plain', domain: 'plain.example.test' },
    ],
  }, { baseDir: dir, env: {} });
  const daemon = await Daemon.start({ loaded, configPath: null, acme: { retryDelaysMs: [60_000] } });
  t.teardown(() => daemon.shutdown('test'));
  const control = await startControlServer(daemon, { listen: '127.0.0.1:0', apiKeys: () => [API_KEY] });
  t.teardown(() => control.close());
  const client = controlClient(control.address, API_KEY);
  t.teardown(() => client.close());
  const watch = client.stream('WatchStatus', { interval_ms: 100 });
  t.teardown(() => watch.cancel());
  const failed = await watch.next((s) => s.certificates?.[0]?.status?.provisioning_job?.error_code !== undefined, 20_000);
  t.equal(failed.certificates.length, 1, 'only the reserved domain with a policy');
  const [cert] = failed.certificates;
  t.equal(cert.reserved_domain_id, 'rd_managed');
  t.equal(cert.domain, 'managed.example.test');
  t.equal(cert.status.renews_at, undefined, 'no certificate yet: renews_at is absent');
  t.equal(cert.status.provisioning_job.error_code, 'INTERNAL_ERROR', 'the CA cannot be reached');
  t.ok(cert.status.provisioning_job.msg.length > 0, 'with a message');
  t.ok(Number.isFinite(Date.parse(cert.status.provisioning_job.started_at)), 'started_at is a time');
  t.ok(Date.parse(cert.status.provisioning_job.retries_at) > Date.parse(cert.status.provisioning_job.started_at), 'a retry is planned');
});

t.test('the daemon process starts the gRPC API from control.grpc_listen', async (t) => {
  const { startDaemon } = await import('../helpers/daemon.js');
  const grpcPort = await freePort();
  const key = randomBytes(24).toString('hex');
  const daemon = await startDaemon(t, {
    workers: 1,
    admin: { listen: '127.0.0.1:0', api_keys: [key], debug_endpoints: true },
    control: { grpc_listen: `127.0.0.1:${grpcPort}` },
    backends: [{ id: 'bkd_page', type: 'http_response', status_code: 200, body: 'hello' }],
  });
  const ready = await daemon.waitForLog((l) => l.msg === 'ready');
  t.equal(ready.control, `127.0.0.1:${grpcPort}`, 'the ready line names the control address');
  const client = controlClient(`127.0.0.1:${grpcPort}`, key);
  t.teardown(() => client.close());
  const config = await client.unary('GetConfig', {});
  t.same(config.backends.map((b: { id: string }) => b.id), ['bkd_page']);
  t.notOk(JSON.stringify(config).includes(key), 'the API key is not returned');
  const delta = await client.unary('ApplyDelta', { upsert_backends: [{ id: 'bkd_more', type: 'http_response', status_code: 204 }] });
  t.equal(delta.ok, true, JSON.stringify(delta.problems));
  t.equal(Number(delta.generation), 2);
  await daemon.stop('SIGTERM');
});
