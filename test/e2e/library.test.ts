// The library API (`createEdge` from the package entry) inside this test process: start from a config
// document, serve real HTTPS, apply a new config atomically, refuse a bad one with paths, deliver events,
// report status, keep a pushed config across a restart, stop.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createEdge, ConfigError, type ParsedEvent } from '../../core/index.js';
import { makePki } from '../helpers/pki.js';
import { exampleTestCertificates, httpsRequest, startOrigin } from '../helpers/http.js';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/daemon.js';

t.test('createEdge: serve, apply, refuse, events, status, persistence, stop', async (t) => {
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const ca = pki.read('ca.crt');
  const originA = await startOrigin(t, (req, res) => res.end(`A ${req.url}`));
  const originB = await startOrigin(t, (req, res) => res.end(`B ${req.url}`));
  const port = await freePort();
  const dir = tempDir(t);
  const document = (origin: string): Record<string, unknown> => ({
    workers: 2,
    admin: { listen: '127.0.0.1:0', state_dir: join(dir, 'state') },
    ...exampleTestCertificates(pki),
    backends: [{ id: 'bkd_app', type: 'static_address', address: origin }],
    edges: [{ id: 'edghts_app', type: 'https', hostports: [`app.example.test:${port}`], routes: [{ match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_app' } }] }],
  });
  const get = (path: string) => httpsRequest({ port, host: 'app.example.test', ca, path });

  // A config file, so that a pushed config can be kept across a restart (it is tied to the file's content).
  const configPath = join(dir, 'edge.yaml');
  writeFileSync(configPath, stringify(document(originA.address)));
  let edge = await createEdge({ config: configPath });
  let stopped = false;
  t.teardown(async () => { if (!stopped) await edge.stop(); });

  t.test('serves the file config', async (t) => {
    t.equal((await get('/one')).body.toString(), 'A /one');
    t.equal(edge.status().source, 'file');
  });

  t.test('apply switches every worker to the new config at once', async (t) => {
    const before = edge.generation;
    const result = await edge.apply(document(originB.address));
    t.ok(result.ok, JSON.stringify(result.problems));
    t.equal(result.generation, before + 1);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => get(`/two?i=${i}`)));
    t.same(new Set(answers.map((r) => r.body.toString()[0])), new Set(['B']), 'every connection, on either worker, reaches B');
    t.equal(edge.status().generation, result.generation);
    t.equal(edge.status().source, 'library');
  });

  t.test('a bad config is refused with paths; the running one keeps serving', async (t) => {
    const bad = document(originA.address);
    (bad.backends as Array<Record<string, unknown>>)[0]!.address = 'no port here';
    (bad.edges as Array<Record<string, any>>)[0]!.routes[0].backend.backend_id = 'bkd_missing';
    const result = await edge.apply(bad);
    t.equal(result.ok, false);
    const paths = (result.details ?? []).map((d) => d.path);
    t.ok(paths.includes('backends[0].address'), `paths: ${paths.join(', ')}`);
    t.ok(paths.some((p) => p.startsWith('edges[0].routes[0].backend')), 'the unknown backend reference too');
    t.equal((await get('/three')).body.toString(), 'B /three', 'still the previous config');
  });

  t.test('update edits the running document', async (t) => {
    const result = await edge.update((doc) => {
      (doc.backends as Array<Record<string, unknown>>).push({ id: 'bkd_fixed', type: 'http_response', status_code: 200, body: 'fixed' });
      (doc.edges as Array<Record<string, any>>)[0]!.routes.push({ match_type: 'exact_path', match: '/fixed', backend: { backend_id: 'bkd_fixed' } });
    });
    t.ok(result.ok, JSON.stringify(result.problems));
    t.equal((await get('/fixed')).body.toString(), 'fixed');
    t.equal((await get('/other')).body.toString(), 'B /other');
  });

  t.test('onEvents delivers the events of requests', async (t) => {
    const seen: ParsedEvent[] = [];
    const stop = edge.onEvents((events) => seen.push(...events));
    await get('/evented');
    type RequestEvent = { event_type: string; object: { http: { request: { url: { path: string } } } } };
    const evented = (): RequestEvent | undefined => (seen as unknown as RequestEvent[])
      .find((e) => e.event_type === 'http_request_complete.v0' && e.object.http.request.url.path === '/evented');
    const until = Date.now() + 5000;
    while (evented() === undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    stop();
    t.ok(evented(), 'the request\'s http_request_complete.v0 arrived');
  });

  t.test('a pushed config survives a restart while the file is unchanged', async (t) => {
    await edge.stop();
    edge = await createEdge({ config: configPath });
    t.equal((await get('/after-restart')).body.toString(), 'B /after-restart', 'the pushed config, not the file');
    t.equal((await get('/fixed')).body.toString(), 'fixed');
    await edge.stop();
    writeFileSync(configPath, stringify({ ...document(originA.address), drain_timeout: 5 }));
    edge = await createEdge({ config: configPath });
    t.equal((await get('/file-edited')).body.toString(), 'A /file-edited', 'an edited file wins over an older push');
  });

  t.test('an invalid starting config throws ConfigError with every problem', async (t) => {
    await t.rejects(createEdge({ config: { edges: [{ id: 'x', type: 'nope' }] } }), ConfigError);
  });

  t.test('stop drains and stops', async (t) => {
    await edge.stop();
    stopped = true;
    await t.rejects(get('/gone'), 'nothing listens any more');
  });
});
