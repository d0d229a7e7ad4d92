// `edgeplane bench`: the user-facing load test runs the daemon from a config file in-process, drives
// the edge with autocannon and reports what it measured (checked against what the origin saw).
import t from 'tap';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../helpers/daemon.js';
import { freePort, run } from '../helpers/net.js';
import { makePki } from '../helpers/pki.js';
import { startOrigin, exampleTestCertificates } from '../helpers/http.js';

const pki = makePki();
t.teardown(() => pki.cleanup());

t.test('bench --help lists the scenarios', async (t) => {
  const help = await run(process.execPath, [CLI, 'bench', '--help']);
  t.match(help.stdout, /Scenarios:\n\s+http\s/);
  t.match(help.stdout, '--config FILE');
});

t.test('bench http --config runs the edge from the file and reports the load it sent', async (t) => {
  const origin = await startOrigin(t);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-bench-'));
  const config = join(dir, 'edge.yaml');
  writeFileSync(config, JSON.stringify({
    workers: 1,
    listen_address: '127.0.0.1',
    ...exampleTestCertificates(pki),
    backends: [{ id: 'bkd_origin', type: 'static_address', address: origin.address }],
    edges: [{ id: 'edghts_app', type: 'https', hostports: [`app.example.test:${port}`], routes: [{ match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_origin' } }] }],
  }));
  const out = await run(process.execPath, [CLI, 'bench', 'http', '--config', config, '--url', `https://127.0.0.1:${port}/bench`,
    '--servername', 'app.example.test', '-H', `Host: app.example.test:${port}`, '-c', '4', '-d', '1', '--json']);
  const summary = JSON.parse(out.stdout) as { requests: number; statusCodes: Record<string, number>; latencyMs: { p99: number }; perSecond: number[] };
  t.ok(summary.requests > 0, `requests were sent (${summary.requests})`);
  t.equal(summary.statusCodes['200'], summary.requests, 'every response was a 200 from the origin through the edge');
  // autocannon stops with at most one request in flight per connection: sent, seen by the origin, not counted.
  const seen = origin.requestsTo('/bench').length;
  t.ok(seen >= summary.requests && seen <= summary.requests + 4, `the origin saw the requests the bench counted (${seen} vs ${summary.requests} + ≤4 in flight)`);
  t.ok(summary.perSecond.length >= 1, 'throughput over time is reported');
  t.ok(Number.isFinite(summary.latencyMs.p99), 'latency percentiles are reported');

  const tlsRun = await run(process.execPath, [CLI, 'bench', 'tls', '--config', config, '--url', `https://127.0.0.1:${port}/tls-bench`,
    '--servername', 'app.example.test', '-c', '2', '-d', '1', '--json']);
  const tlsSummary = JSON.parse(tlsRun.stdout) as { completed: number; protocols: Record<string, number>; errors: Record<string, number> };
  t.ok(tlsSummary.completed > 0, `new TLS connections completed (${tlsSummary.completed})`);
  t.same(tlsSummary.errors, { connect: 0, handshake: 0, response: 0 });
  const tlsSeen = origin.requestsTo('/tls-bench').length;
  t.ok(tlsSeen >= tlsSummary.completed && tlsSeen <= tlsSummary.completed + 2, `one request per connection reached the origin (${tlsSeen})`);
  const handshakes = Object.values(tlsSummary.protocols).reduce((a, b) => a + b, 0);
  t.ok(handshakes >= tlsSummary.completed && (tlsSummary.protocols['TLSv1.3'] ?? 0) > 0, `every completed connection's TLS version is counted (${JSON.stringify(tlsSummary.protocols)})`);
});

t.test('bench refuses bad input with a clear message', async (t) => {
  const missing = await run(process.execPath, [CLI, 'bench', 'http']);
  t.match(missing.stderr, 'needs --url');
  const unknown = await run(process.execPath, [CLI, 'bench', 'nope']);
  t.match(unknown.stderr, 'unknown scenario: nope');
});
