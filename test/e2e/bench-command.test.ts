// `edgeplane bench`: the user-facing load test runs the daemon from a config file in-process, drives
// the edge (or any server) with autocannon or its own TLS/TCP generators and reports what it
// measured, checked here against what the servers saw.
import t from 'tap';
import net from 'node:net';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI } from '../helpers/daemon.js';
import { freePort, run } from '../helpers/net.js';
import { makePki } from '../helpers/pki.js';
import { startOrigin, exampleTestCertificates } from '../helpers/http.js';

const pki = makePki();
t.teardown(() => pki.cleanup());
// about twenty short CLI runs, five of them 1–2 s load runs: more than tap's default 30 s on a busy 2-core box
t.setTimeout(90_000);

interface Teardown { teardown(fn: () => unknown): void }

/** A loopback TCP server closed at teardown; `port` to connect to. */
async function tcpServer(t: Teardown, onSocket: (socket: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  t.teardown(() => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

// Generous: twelve of these start at once, and a loaded CI box may take a while to start each node.
const bench = (args: string[]): ReturnType<typeof run> => run(process.execPath, [CLI, 'bench', ...args], { timeoutMs: 60_000 });

interface TcpSummary {
  mode: string; completed: number; stoppedAtEnd: number; rate: number; rateUnit: string; sizeBytes: number | null;
  bytes: { sent: number; received: number }; errors: Record<string, number>; perSecond: number[];
  latencyMs: { p50: number; p99: number; max: number }; latencyDistribution: Array<{ count: number }>;
}
const noErrors = { connect: 0, timeout: 0, transfer: 0, short: 0 };

t.test('bench --help lists every scenario, the side-by-side ones and the peers', async (t) => {
  const help = await bench(['--help']);
  t.equal(help.code, 0);
  for (const scenario of ['http', 'tls', 'tcp']) t.match(help.stdout, new RegExp(`\\n  ${scenario}\\s{3,}\\S`), `load scenario ${scenario}`);
  for (const script of ['compare', 'route-scale', 'scaling']) t.match(help.stdout, new RegExp(`\\n  ${script} \\[options\\]`), `side-by-side ${script}`);
  // the compare list is the runner's own (imported here only: those modules add signal handlers)
  const { ALL_SCENARIOS, SCENARIOS } = await import('../../bench/scenarios.js');
  const { ALL_PEERS } = await import('../../bench/peers/registry.js');
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const name of ALL_SCENARIOS) t.match(help.stdout, new RegExp(`\\n\\s+${name}\\s+${escape(SCENARIOS[name].title.slice(0, 20))}`), `compare scenario ${name} with its title`);
  t.match(help.stdout, `--peers a,b (default: all): ${ALL_PEERS.join(', ')}`);
  t.match(help.stdout.replace(/\s+/g, ' '), 'peers that are not installed are skipped with a notice; install them with bench/install-peers.sh (as root)');
  t.match(help.stdout, '--report FILE');
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
  const out = await bench(['http', '--config', config, '--url', `https://127.0.0.1:${port}/bench`,
    '--servername', 'app.example.test', '-H', `Host: app.example.test:${port}`, '-c', '4', '-d', '1', '--json']);
  const summary = JSON.parse(out.stdout) as { requests: number; statusCodes: Record<string, number>; latencyMs: { p99: number }; perSecond: number[]; latencyDistribution: Array<{ count: number }> };
  t.ok(summary.requests > 0, `requests were sent (${summary.requests})`);
  t.equal(summary.statusCodes['200'], summary.requests, 'every response was a 200 from the origin through the edge');
  // autocannon stops with at most one request in flight per connection: sent, seen by the origin, not counted.
  const seen = origin.requestsTo('/bench').length;
  t.ok(seen >= summary.requests && seen <= summary.requests + 4, `the origin saw the requests the bench counted (${seen} vs ${summary.requests} + ≤4 in flight)`);
  t.ok(summary.perSecond.length >= 1, 'throughput over time is reported');
  t.ok(Number.isFinite(summary.latencyMs.p99) && summary.latencyMs.p99 > 0, 'latency percentiles are reported');
  const timed = summary.latencyDistribution.reduce((a, b) => a + b.count, 0);
  t.ok(timed >= summary.requests && timed <= seen, `every counted response was timed (${timed})`);

  const tlsRun = await bench(['tls', '--config', config, '--url', `https://127.0.0.1:${port}/tls-bench`,
    '--servername', 'app.example.test', '-c', '2', '-d', '1', '--json']);
  const tlsSummary = JSON.parse(tlsRun.stdout) as { completed: number; protocols: Record<string, number>; errors: Record<string, number>; latencyDistribution: Array<{ count: number }> };
  t.ok(tlsSummary.completed > 0, `new TLS connections completed (${tlsSummary.completed})`);
  t.same(tlsSummary.errors, { connect: 0, handshake: 0, response: 0 });
  const tlsSeen = origin.requestsTo('/tls-bench').length;
  t.ok(tlsSeen >= tlsSummary.completed && tlsSeen <= tlsSummary.completed + 2, `one request per connection reached the origin (${tlsSeen})`);
  const handshakes = Object.values(tlsSummary.protocols).reduce((a, b) => a + b, 0);
  t.ok(handshakes >= tlsSummary.completed && (tlsSummary.protocols['TLSv1.3'] ?? 0) > 0, `every completed connection's TLS version is counted (${JSON.stringify(tlsSummary.protocols)})`);
  t.equal(tlsSummary.latencyDistribution.reduce((a, b) => a + b.count, 0), tlsSummary.completed, 'every completed connection was timed');
});

t.test('bench tcp --mode connect: new connections, each reading the expected bytes', async (t) => {
  let accepted = 0;
  const port = await tcpServer(t, (socket) => { accepted++; socket.end('hello\n'); });
  const out = await bench(['tcp', '--url', `tcp://127.0.0.1:${port}`, '--expect', '6', '-c', '4', '-d', '1', '--json']);
  t.equal(out.code, 0, out.stderr);
  const s = JSON.parse(out.stdout) as TcpSummary;
  t.ok(s.completed > 10, `connections completed (${s.completed})`);
  t.same(s.errors, noErrors);
  t.equal(accepted, s.completed, 'the server accepted exactly the connections the bench completed (in-flight ones finish)');
  t.equal(s.bytes.received, 6 * s.completed, 'each read the 6 expected bytes');
  t.equal(s.rateUnit, 'conn/s');
  t.ok(Math.abs(s.perSecond.reduce((a, b) => a + b, 0) - s.completed) <= 4 + s.completed * 0.2, `per-second samples add up to the run (${s.perSecond.join(' ')})`);
  t.equal(s.latencyDistribution.reduce((a, b) => a + b.count, 0), s.completed, 'every connection was timed');

  // a server that closes early: --expect more than it sends is an error per connection, not a success
  const short = await bench(['tcp', '--url', `tcp://127.0.0.1:${port}`, '--expect', '100', '-c', '2', '-d', '0.3', '--json']);
  const shortSummary = JSON.parse(short.stdout) as TcpSummary;
  t.equal(shortSummary.completed, 0);
  t.ok(shortSummary.errors.short > 0, `short reads are counted (${shortSummary.errors.short})`);
  t.equal(short.code, 1, 'nothing measured: exit 1');
});

t.test('bench tcp --mode bulk: bytes written come back from an echo server', async (t) => {
  let echoed = 0;
  const port = await tcpServer(t, (socket) => socket.on('data', (d: Buffer) => { echoed += d.length; socket.write(d); }));
  const size = 256 * 1024;
  const out = await bench(['tcp', '--url', `tcp://127.0.0.1:${port}`, '--mode', 'bulk', '--size', '256K', '-c', '2', '-d', '1', '--json']);
  t.equal(out.code, 0, out.stderr);
  const s = JSON.parse(out.stdout) as TcpSummary;
  t.equal(s.sizeBytes, size);
  t.ok(s.completed >= 1, `transfers completed (${s.completed})`);
  t.same(s.errors, noErrors);
  t.ok(s.bytes.received >= s.completed * size, `completed transfers read back all their bytes (${s.bytes.received} ≥ ${s.completed} × ${size})`);
  t.ok(s.bytes.received < (s.completed + s.stoppedAtEnd) * size + 1, 'and no more than was written');
  t.ok(s.bytes.received <= echoed && echoed <= s.bytes.sent, `received ≤ echoed by the server ≤ sent (${s.bytes.received} ≤ ${echoed} ≤ ${s.bytes.sent})`);
  t.equal(s.rateUnit, 'MB/s');
  t.ok(Math.abs(s.rate - s.bytes.received / 1e6) / s.rate < 0.2, `MB/s is bytes read over the ~1 s run (${s.rate})`);
});

t.test('bench tcp --mode download with a request and --report writes an HTML page with SVG charts', async (t) => {
  const body = Buffer.alloc(1024 * 1024, 'd');
  const requests: string[] = [];
  const port = await tcpServer(t, (socket) => {
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.endsWith('\r\n\r\n')) { requests.push(text); socket.end(body); }
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-bench-report-'));
  const report = join(dir, 'run.html');
  const out = await bench(['tcp', '--url', `tcp://127.0.0.1:${port}`, '--mode', 'download', '--send', 'GET /big HTTP/1.0\\r\\n\\r\\n',
    '--size', '1M', '-c', '2', '-d', '2', '--json', '--report', report]);
  t.equal(out.code, 0, out.stderr);
  const s = JSON.parse(out.stdout) as TcpSummary;
  t.ok(s.completed >= 1, `downloads completed (${s.completed})`);
  t.same(s.errors, noErrors);
  t.ok(requests.length >= s.completed && requests.every((r) => r === 'GET /big HTTP/1.0\r\n\r\n'), 'the request text arrived with its escapes as bytes');
  t.ok(s.bytes.received >= s.completed * body.length, 'each completed download read the whole body');
  // every connection sent the request once up, including those stopped at the end (unless not yet connected)
  const request = Buffer.byteLength('GET /big HTTP/1.0\r\n\r\n');
  t.ok(s.bytes.sent >= s.completed * request && s.bytes.sent <= (s.completed + s.stoppedAtEnd) * request, `the bench counted the request bytes it sent (${s.bytes.sent})`);

  t.match(out.stderr, `report: ${report}`);
  const html = readFileSync(report, 'utf8');
  t.match(html, /^<!doctype html>/);
  t.match(html, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg" class="throughput"/);
  t.match(html, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg" class="latency"/);
  const points = [...html.matchAll(/<circle [^>]*data-value="([^"]*)"/g)].map((m) => Number(m[1]));
  t.same(points, s.perSecond, 'the throughput chart has the run\'s per-second samples');
  const bars = [...html.matchAll(/<rect [^>]*data-count="(\d+)"/g)].reduce((a, m) => a + Number(m[1]), 0);
  t.equal(bars, s.completed, 'the latency chart has every completed transfer');
  t.match(html, '--mode download --send &#39;GET /big HTTP/1.0\\r\\n\\r\\n&#39;', 'the command line');
});

t.test('bench refuses bad input with a clear message and exit 2', async (t) => {
  const cases: Array<[string[], string]> = [
    [['http'], 'needs --url'],
    [['nope'], 'unknown scenario: nope'],
    [['tcp', '--url', 'tcp://127.0.0.1:1', '--mode', 'sideways'], '--mode must be one of connect, bulk, download'],
    [['tcp', '--url', 'http://127.0.0.1:1/'], 'bench tcp wants tcp://HOST:PORT'],
    [['tcp', '--url', 'tcp://127.0.0.1:1', '--mode', 'bulk', '--expect', '5'], '--expect is not an option of bench tcp --mode bulk'],
    [['tcp', '--url', 'tcp://127.0.0.1:1', '--size', 'lots'], '--size is not an option of bench tcp --mode connect'],
    [['tcp', '--url', 'tcp://127.0.0.1:1', '--mode', 'bulk', '--size', 'lots'], "--size 'lots': expected a size in bytes"],
    [['tcp', '--url', 'tcp://127.0.0.1:1', '--send', 'a\\qb'], "unknown escape '\\q'"],
    [['tls', '--url', 'https://127.0.0.1:1/', '--mode', 'bulk'], '--mode is not an option of bench tls'],
    [['http', '--url', 'http://127.0.0.1:1/', '--bogus'], "Unknown option '--bogus'"],
    [['http', '--url', 'http://127.0.0.1:1/', '-c', '0'], '--connections must be a positive integer'],
    [['http', '--url', 'http://127.0.0.1:1/', '--report', 'out.txt'], 'must end in .html or .svg'],
  ];
  const results = await Promise.all(cases.map(([args]) => bench(args)));
  cases.forEach(([args, message], i) => {
    const r = results[i]!;
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, message, `${args.join(' ')}: says what is wrong`);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});

t.test('bench compare|route-scale|scaling run the project\'s own programs with the arguments passed through', async (t) => {
  // run.js parses its options first: --help prints its usage (to stderr, status 1) before measuring anything
  const scripts = [['route-scale', 'route-scale.js'], ['scaling', 'scaling.js']] as const;
  const [compare, unknown, ...others] = await Promise.all([
    bench(['compare', '--help']), bench(['compare', '--scenarios', 'nope']), ...scripts.map(([name]) => bench([name, '--help'])),
  ]);
  t.match(compare!.stderr, 'usage: node dist/bench/run.js');
  t.equal(compare!.code, 1, 'its exit status comes back');
  t.match(unknown!.stderr, '--scenarios: unknown "nope"', 'arguments reach the runner unchanged');
  scripts.forEach(([name, file], i) => {
    const r = others[i]!;
    // the other two programs are written alongside this command: whichever is missing must say so
    if (existsSync(fileURLToPath(new URL(`../../bench/${file}`, import.meta.url)))) t.ok(r.stdout.length + r.stderr.length > 0 && r.code !== null, `${name} ran ${file}`);
    else { t.match(r.stderr, `edgeplane bench ${name}: not built`); t.equal(r.code, 1); }
  });
});
