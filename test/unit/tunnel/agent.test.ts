import t from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import { startAgent, AgentAuthError, type Agent, type AgentOptions, type LegDownEvent } from '../../../core/agent/agent.js';
import { dialErrorReason } from '../../../core/agent/forward.js';
import { backoffDelay } from '../../../core/agent/leg.js';
import { AgentOptionsError, parseAgentFlags, parseForward, resolveAgentOptions } from '../../../core/agent/options.js';
import { StreamOpenError } from '../../../core/tunnel/mux.js';
import { makePki } from '../../helpers/pki.js';
import { echoServer } from '../../helpers/net.js';
import { FakeEdge, waitUntil, type FakeEdgeOptions } from '../../helpers/tunnel-edge.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

const TOKEN = 'agent-token-0123456789abcdef';
const pki = makePki();
t.teardown(() => pki.cleanup());
const VERSION = (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const CLI = fileURLToPath(new URL('../../../core/cli.js', import.meta.url));

async function fakeEdge(t: Test, options: Partial<FakeEdgeOptions> = {}): Promise<FakeEdge> {
  const edge = new FakeEdge({ cert: pki.read('leaf.chain.crt'), key: pki.read('leaf.key'), tokens: [TOKEN], ...options });
  await edge.listen();
  t.teardown(() => edge.close());
  return edge;
}

async function agentFor(t: Test, edge: FakeEdge, forward: string, extra: Partial<AgentOptions> = {}): Promise<Agent> {
  const agent = await startAgent({
    edge: edge.address,
    authtoken: TOKEN,
    labels: { app: 'web', env: 'test' },
    forward,
    edgeCa: pki.read('ca.crt'),
    backoff: { baseMs: 20, capMs: 100 },
    ...extra,
  });
  t.teardown(() => agent.close({ drain: false }));
  return agent;
}

/** Everything a stream delivers until its end (or close). */
function readAll(stream: Duplex, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error(`no end within ${timeoutMs} ms; got ${Buffer.concat(chunks).length} bytes`)), timeoutMs);
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)); });
    stream.once('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

function readUntil(stream: Duplex, want: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => { stream.off('data', onData); reject(new Error(`no ${JSON.stringify(want)} within ${timeoutMs} ms; got ${JSON.stringify(text)}`)); }, timeoutMs);
    const onData = (d: Buffer): void => {
      text += d.toString();
      if (text.includes(want)) { clearTimeout(timer); stream.off('data', onData); resolve(text); }
    };
    stream.on('data', onData);
  });
}

/** A port nobody listens on (bound a moment ago, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return err instanceof StreamOpenError ? err.reason : `not a StreamOpenError: ${(err as Error).message}`;
  }
  return 'accepted';
}

t.test('the first leg authenticates with the credential, labels and agent facts', async (t) => {
  const upstream = await echoServer(t, 'up');
  const edge = await fakeEdge(t);
  const agent = await agentFor(t, edge, `127.0.0.1:${upstream.port}`, { metadata: 'rack 7' });
  t.equal(edge.auths.length, 1);
  const { auth, alpn } = edge.auths[0]!;
  t.equal(alpn, 'edgeplane-tunnel', 'first leg offers the plain tunnel ALPN');
  t.equal(auth.authtoken, TOKEN);
  t.equal(auth.session_id, '', 'a new session asks for no id');
  t.same(auth.labels, { app: 'web', env: 'test' });
  t.equal(auth.metadata, 'rack 7');
  t.equal(auth.agent_version, VERSION);
  t.equal(auth.os, process.platform);
  t.equal(auth.forwards_to, `127.0.0.1:${upstream.port}`);
  t.equal(auth.terminates_tls, false);
  t.match(agent.sessionId, /^ses_/);
  t.equal(agent.sessionId, edge.legs[0]!.sessionId, 'the agent keeps the id the edge gave');
  t.equal(agent.legs, 1);
  t.equal(agent.legsUp, 1);
});

t.test('the agent opens one leg per edge worker, each with its worker ALPN and the session id', async (t) => {
  const upstream = await echoServer(t, 'up');
  const edge = await fakeEdge(t, { legs: 3, firstLeg: 1 });
  const agent = await agentFor(t, edge, `127.0.0.1:${upstream.port}`);
  await waitUntil(() => agent.legsUp === 3, 5000, 'three legs');
  t.same(edge.auths.map((a) => a.alpn).sort(), ['edgeplane-tunnel', 'edgeplane-tunnel-w0', 'edgeplane-tunnel-w2']);
  for (const { auth } of edge.auths.slice(1)) {
    t.equal(auth.session_id, agent.sessionId, 'later legs join the session');
    t.same(auth.labels, { app: 'web', env: 'test' });
  }
  for (const index of [0, 1, 2]) {
    const stream = await edge.openStream({}, index);
    stream.end(`via ${index}`);
    t.equal((await readAll(stream)).toString(), `up\nvia ${index}bye\n`, `a stream on worker ${index}'s leg reaches the upstream`);
  }
});

t.test('streams carry bytes both ways, with flow control and half-close', async (t) => {
  const upstream = await echoServer(t, 'up');
  const edge = await fakeEdge(t);
  const agent = await agentFor(t, edge, `tcp://127.0.0.1:${upstream.port}`);
  const streams: unknown[] = [];
  agent.on('stream', (e) => streams.push(e));

  const small = await edge.openStream({ client_addr: '198.51.100.7:4000' });
  t.equal(await readUntil(small, 'up\n'), 'up\n', 'upstream bytes arrive before the edge sends any');
  small.write('hello');
  t.match(await readUntil(small, 'hello'), 'hello');
  small.end();
  t.equal((await readAll(small)).toString(), 'bye\n', "the edge's FIN reaches the upstream, which still answers");
  t.match(streams[0], { open: { client_addr: '198.51.100.7:4000' } });

  // Four windows' worth each way: only works if credit flows back.
  const payload = randomBytes(1024 * 1024);
  const big = await edge.openStream();
  const received = readAll(big, 10_000);
  big.end(payload);
  const bytes = await received;
  t.equal(bytes.length, 3 + payload.length + 4);
  t.ok(bytes.subarray(3, 3 + payload.length).equals(payload), 'the payload comes back intact');
  await waitUntil(() => agent.streamCount === 0, 2000, 'streams to finish');
});

t.test('a failed upstream dial reaches the edge as a refusal with its reason', async (t) => {
  const edge = await fakeEdge(t);
  const agent = await agentFor(t, edge, `127.0.0.1:${await closedPort()}`);
  t.equal(await refusal(edge.openStream()), 'connect_refused');
  t.equal(agent.streamCount, 0);
  t.equal(edge.openLegs.length, 1, 'the leg stays up');

  t.equal(dialErrorReason(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'connect_refused');
  t.equal(dialErrorReason(Object.assign(new Error('x'), { code: 'ETIMEDOUT' })), 'connect_timeout');
  t.equal(dialErrorReason(Object.assign(new Error('x'), { code: 'ENOTFOUND' })), 'connect_failed');
});

t.test('a dial that hangs past connectTimeoutMs is refused as connect_timeout', async (t) => {
  // A TLS upstream that never answers the handshake: the TCP connect succeeds, the TLS dial cannot.
  const silent = net.createServer((s) => { s.on('error', () => {}); });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { silent.close(); });
  const edge = await fakeEdge(t);
  await agentFor(t, edge, `tls://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, { connectTimeoutMs: 200 });
  t.equal(await refusal(edge.openStream()), 'connect_timeout');
});

t.test('a TLS upstream: unverified by default, verified against --upstream-ca when given', async (t) => {
  const upstreamTls = tls.createServer({ cert: pki.read('upstream.crt'), key: pki.read('upstream.key') }, (s) => {
    s.on('error', () => {});
    s.write('tls-up\n');
    s.pipe(s);
  });
  await new Promise<void>((resolve) => upstreamTls.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { upstreamTls.close(); });
  const port = (upstreamTls.address() as net.AddressInfo).port;
  const edge = await fakeEdge(t);
  await agentFor(t, edge, `tls://localhost:${port}`);
  const stream = await edge.openStream();
  t.equal(await readUntil(stream, 'tls-up\n'), 'tls-up\n');
  stream.destroy();

  const edge2 = await fakeEdge(t);
  await agentFor(t, edge2, `https://localhost:${port}`, { upstreamCa: pki.read('ca.crt') });
  t.equal(await refusal(edge2.openStream()), 'connect_failed', 'a certificate from another CA fails verification');
  const edge3 = await fakeEdge(t);
  await agentFor(t, edge3, `https://localhost:${port}`, { upstreamCa: pki.read('other-ca.crt') });
  const verified = await edge3.openStream();
  t.equal(await readUntil(verified, 'tls-up\n'), 'tls-up\n', 'the right CA verifies');
  verified.destroy();
});

t.test('terminate_tls: the agent answers TLS on the stream with its own certificate', async (t) => {
  const upstream = await echoServer(t, 'up');
  const edge = await fakeEdge(t);
  await agentFor(t, edge, `127.0.0.1:${upstream.port}`, { cert: pki.read('leaf.chain.crt'), key: pki.read('leaf.key') });
  t.equal(edge.auths[0]!.auth.terminates_tls, true, 'the agent tells the edge it can terminate');

  const stream = await edge.openStream({ protocol: 'tls', terminate_tls: true, server_name: 'app.example.test' });
  const client = tls.connect({ socket: stream, ca: pki.read('ca.crt'), servername: 'app.example.test' });
  await new Promise<void>((resolve, reject) => { client.once('secureConnect', resolve); client.once('error', reject); });
  t.equal(client.authorized, true, 'the client verifies the agent certificate');
  t.equal(client.getPeerCertificate().subject.CN, 'edgeplane test leaf');
  const all = readAll(client);
  client.write('secret');
  t.match(await readUntil(client, 'secret'), 'up\nsecret', 'plaintext reaches the upstream and comes back');
  client.end();
  t.match((await all).toString(), /bye\n$/, 'half-close travels through the TLS layer');

  const garbage = await edge.openStream({ protocol: 'tls', terminate_tls: true });
  const gone = new Promise((resolve) => garbage.once('close', resolve));
  garbage.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  await gone;
  t.pass('a client that does not speak TLS is cut');
  t.equal(edge.openLegs.length, 1, 'the leg survives it');

  const edge2 = await fakeEdge(t);
  await agentFor(t, edge2, `127.0.0.1:${upstream.port}`);
  t.equal(await refusal(edge2.openStream({ protocol: 'tls', terminate_tls: true })), 'no_certificate');
});

t.test('an edge certificate that does not verify is retried until aborted; --insecure-skip-verify connects', async (t) => {
  const edge = await fakeEdge(t);
  const abort = new AbortController();
  const started = startAgent({ edge: edge.address, authtoken: TOKEN, labels: { app: 'web' }, forward: '8080', edgeCa: pki.read('other-ca.crt'), backoff: { baseMs: 10, capMs: 50 }, signal: abort.signal });
  const outcome = started.then((a) => { void a.close({ drain: false }); return 'started'; }, (e: Error) => e.message);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(edge.auths.length, 0, 'no Auth is sent to an unverified edge');
  abort.abort(new Error('gave up'));
  t.equal(await outcome, 'gave up', 'aborting rejects startAgent');

  const insecure = await agentFor(t, edge, '8080', { edgeCa: undefined, insecureSkipVerify: true });
  t.equal(insecure.legsUp, 1);
  t.throws(() => resolveAgentOptions({ edge: edge.address, authtoken: TOKEN, labels: { a: '1' }, forward: '1', edgeCa: 'not a pem' }), /--edge-ca: no PEM certificate/);
});

t.test('a refused authtoken makes startAgent reject, without retrying', async (t) => {
  const edge = await fakeEdge(t);
  const started = startAgent({ edge: edge.address, authtoken: 'wrong-token-0123456789', labels: { app: 'web' }, forward: '8080', edgeCa: pki.read('ca.crt'), backoff: { baseMs: 10, capMs: 20 } });
  const err = await started.then(() => null, (e: Error) => e);
  t.ok(err instanceof AgentAuthError, 'an AgentAuthError');
  t.match(err?.message, /refused.*invalid authtoken/);
  t.notMatch(err?.message, /wrong-token/, 'the message does not echo the token');
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(edge.auths.length, 1, 'no second attempt');
});

t.test('a dropped leg reconnects and resumes its session id and labels; so do all legs', async (t) => {
  const upstream = await echoServer(t, 'up');
  const edge = await fakeEdge(t, { legs: 2 });
  const agent = await agentFor(t, edge, `127.0.0.1:${upstream.port}`);
  await waitUntil(() => agent.legsUp === 2, 5000, 'two legs');
  const downs: LegDownEvent[] = [];
  agent.on('leg_down', (e: LegDownEvent) => downs.push(e));

  edge.openLegs.find((l) => l.index === 1)!.ws.terminate();
  await waitUntil(() => edge.auths.length === 3 && agent.legsUp === 2, 5000, 'leg 1 to come back');
  t.match(downs[0], { index: 1, wasUp: true });
  const again = edge.auths[2]!;
  t.equal(again.alpn, 'edgeplane-tunnel-w1', 'it returns to its worker');
  t.equal(again.auth.session_id, agent.sessionId);
  t.same(again.auth.labels, { app: 'web', env: 'test' });

  for (const leg of edge.openLegs) leg.ws.terminate();
  await waitUntil(() => edge.auths.length === 5 && agent.legsUp === 2, 5000, 'both legs to come back');
  t.same(edge.auths.slice(3).map((a) => a.auth.session_id), [agent.sessionId, agent.sessionId]);
  t.same(edge.auths.slice(3).map((a) => a.alpn).sort(), ['edgeplane-tunnel-w0', 'edgeplane-tunnel-w1']);
  const stream = await edge.openStream();
  stream.end('again');
  t.equal((await readAll(stream)).toString(), 'up\nagainbye\n', 'streams work after reconnecting');
});

t.test('a leg whose edge stops pinging is cut and reconnected; pings keep it up', async (t) => {
  const silent = await fakeEdge(t, { heartbeatMs: 100, silent: true });
  const agent = await agentFor(t, silent, '8080');
  const down = await new Promise<LegDownEvent>((resolve) => agent.once('leg_down', resolve));
  t.match(down.error.message, /no heartbeat/);
  await waitUntil(() => silent.auths.length >= 2, 3000, 'a reconnect');

  const pinging = await fakeEdge(t, { heartbeatMs: 50 });
  const steady = await agentFor(t, pinging, '8080');
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(pinging.auths.length, 1, 'no reconnects while pings arrive');
  t.equal(steady.legsUp, 1);
});

t.test('malformed frames from the edge close only that leg', async (t) => {
  const upstream = await echoServer(t, 'up');
  const edge = await fakeEdge(t, { legs: 2 });
  const agent = await agentFor(t, edge, `127.0.0.1:${upstream.port}`);
  await waitUntil(() => agent.legsUp === 2, 5000, 'two legs');
  const [zero, one] = [edge.openLegs.find((l) => l.index === 0)!, edge.openLegs.find((l) => l.index === 1)!];
  zero.ws.send(Buffer.from([0, 0, 0])); // shorter than a frame header
  await zero.closed;
  t.equal(one.ws.readyState, one.ws.OPEN, 'the other leg is untouched');
  await waitUntil(() => agent.legsUp === 2 && edge.auths.length === 3, 5000, 'leg 0 to come back');

  const fresh = edge.openLegs.find((l) => l.index === 0)!;
  fresh.ws.send(Buffer.from([0, 0, 0, 0, 0, 0xff, 0xff, 0xff])); // CONTROL with garbage protobuf
  await fresh.closed;
  fresh.ws.send('text'); // after close: harmless
  await waitUntil(() => agent.legsUp === 2 && edge.auths.length === 4, 5000, 'leg 0 back again');
  const stream = await edge.openStream({}, 1);
  stream.end('ok');
  t.equal((await readAll(stream)).toString(), 'up\nokbye\n');
});

t.test('drain: GoAway on every leg, new streams refused, open ones finish, then close 1000', async (t) => {
  const upstream = await echoServer(t, 'up');
  const edge = await fakeEdge(t, { legs: 2 });
  const agent = await agentFor(t, edge, `127.0.0.1:${upstream.port}`, { drainTimeoutMs: 5000 });
  await waitUntil(() => agent.legsUp === 2, 5000, 'two legs');
  const inflight = await edge.openStream({}, 0);
  inflight.write('one');
  await readUntil(inflight, 'one');

  let closed = false;
  const closing = agent.close().then(() => { closed = true; });
  const legs = edge.openLegs;
  await waitUntil(() => legs.every((l) => l.controls.some((c) => 'go_away' in c)), 2000, 'GoAway on both legs');
  t.same(legs[0]!.controls[0], { go_away: { reason: 'agent draining' } });
  t.equal(await refusal(edge.openStream({}, 1)), 'draining', 'new streams are refused');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(closed, false, 'close waits for the open stream');
  t.equal(legs.filter((l) => l.ws.readyState === l.ws.OPEN).length, 2, 'legs stay open while a stream is in flight');

  const rest = readAll(inflight);
  inflight.write('two');
  inflight.end();
  t.match((await rest).toString(), /two.*bye\n$/s, 'the in-flight stream finishes normally');
  await closing;
  t.same(await Promise.all(legs.map((l) => l.closed)), [{ code: 1000 }, { code: 1000 }], 'legs close with 1000');
  t.equal(edge.auths.length, 2, 'no reconnects after closing');
});

t.test('drain gives up on streams that outlive the drain timeout', async (t) => {
  const upstream = await echoServer(t, 'up');
  const edge = await fakeEdge(t);
  const agent = await agentFor(t, edge, `127.0.0.1:${upstream.port}`, { drainTimeoutMs: 200 });
  const stuck = await edge.openStream();
  await readUntil(stuck, 'up\n');
  const began = Date.now();
  await agent.close();
  t.ok(Date.now() - began < 2000, 'close returns after the timeout');
  await edge.legs[0]!.closed;
  t.ok(stuck.destroyed, 'the stuck stream is cut with its leg');
});

t.test('options and flags', async (t) => {
  t.match(parseForward('8080'), { kind: 'tcp', host: 'localhost', port: 8080 });
  t.match(parseForward('db.internal:5432'), { kind: 'tcp', host: 'db.internal', port: 5432 });
  t.match(parseForward('http://web'), { kind: 'tcp', host: 'web', port: 80 });
  t.match(parseForward('https://web/'), { kind: 'tls', host: 'web', port: 443 });
  t.match(parseForward('tls://[::1]:8443'), { kind: 'tls', host: '::1', port: 8443 });
  t.throws(() => parseForward('ftp://x:21'), /unknown scheme/);
  t.throws(() => parseForward('tls://x'), /needs a port/);
  t.throws(() => parseForward('https://x/api'), /only a host and port/);
  t.throws(() => parseForward('localhost'), /host:port/);

  const base = ['--edge', 'edge.example.test:4443', '--forward', '8080', '--authtoken', TOKEN];
  const ok = parseAgentFlags([...base, '--label', 'app=web', '--label', 'tier=a', '--drain-timeout', '2.5']);
  t.match(ok, { help: false, options: { labels: { app: 'web', tier: 'a' }, drainTimeoutMs: 2500 } });
  t.throws(() => parseAgentFlags(base), /at least one label/);
  t.throws(() => parseAgentFlags([...base, '--label', 'app']), /key=value/);
  t.throws(() => parseAgentFlags([...base, '--label', 'app=']), /empty value/);
  t.throws(() => parseAgentFlags([...base, '--label', 'a=1', '--label', 'a=2']), /twice/);
  t.throws(() => parseAgentFlags([...base, '--label', 'a=1', '--drain-timeout', 'soon']), /--drain-timeout/);
  t.throws(() => parseAgentFlags([...base, '--label', 'a=1', '--crt', pki.path('leaf.crt')]), /go together/);
  t.throws(() => parseAgentFlags([...base, '--label', 'a=1', '--edge-ca', pki.path('missing.crt')]), /ENOENT/);
  t.throws(() => parseAgentFlags(['--edge', 'edge', '--forward', '1', '--label', 'a=1', '--authtoken', TOKEN]), /host:port/);
  t.throws(() => parseAgentFlags(['--edge', 'e:1', '--forward', '1', '--label', 'a=1'], {}), /authtoken is required/);
  t.match(parseAgentFlags(['--edge', 'e:1', '--forward', '1', '--label', 'a=1'], { EDGEPLANE_AUTHTOKEN: TOKEN }), { options: { authtoken: TOKEN } });
  const unknown = (() => { try { parseAgentFlags([...base, '--label', 'a=1', '--bogus']); return null; } catch (err) { return err; } })();
  t.ok(unknown instanceof AgentOptionsError, 'unknown flags are option errors');
  t.match((unknown as Error).message, /--bogus/);
  writeFileSync(pki.path('not-a-key.pem'), 'nope');
  t.throws(() => parseAgentFlags([...base, '--label', 'a=1', '--crt', pki.path('leaf.crt'), '--key', pki.path('not-a-key.pem')]), /--crt\/--key/);

  const common = { authtoken: TOKEN, labels: { a: '1' }, forward: '1' };
  t.equal(resolveAgentOptions({ ...common, edge: '127.0.0.1:1' }).serverName, '', 'no SNI for an IP');
  t.equal(resolveAgentOptions({ ...common, edge: 'edge.example.test:1' }).serverName, 'edge.example.test');
  t.equal(resolveAgentOptions({ ...common, edge: 'edge.example.test:1', serverName: 'x.test' }).serverName, 'x.test');

  const backoff = { baseMs: 100, capMs: 1000, resetAfterMs: 0 };
  for (let attempt = 0; attempt < 8; attempt++) {
    const delay = backoffDelay(attempt, backoff);
    t.ok(delay >= 0 && delay <= Math.min(1000, 100 * 2 ** attempt), `attempt ${attempt}: ${delay} ms within its cap`);
  }
});

interface Cli { lines: Array<Record<string, unknown>>; stderr: () => string; exit: Promise<number | null>; kill(signal: NodeJS.Signals): void }

function runCli(t: Test, args: string[], env: NodeJS.ProcessEnv = {}): Cli {
  const child = spawn(process.execPath, [CLI, 'agent', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const lines: Array<Record<string, unknown>> = [];
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    for (const line of d.split('\n')) {
      try { lines.push(JSON.parse(line) as Record<string, unknown>); } catch { /* usage text and partial lines */ }
    }
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  return { lines, stderr: () => stderr, exit, kill: (signal) => child.kill(signal) };
}

t.test('edgeplane agent: online line, no token in logs, SIGTERM drains and exits 0', async (t) => {
  const upstream = await echoServer(t, 'up');
  const edge = await fakeEdge(t, { legs: 2 });
  const cli = runCli(t, ['--edge', edge.address, '--label', 'app=web', '--forward', String(upstream.port), '--edge-ca', pki.path('ca.crt')], { EDGEPLANE_AUTHTOKEN: TOKEN });
  await waitUntil(() => cli.lines.some((l) => l.msg === 'agent online'), 10_000, 'agent online');
  const online = cli.lines.find((l) => l.msg === 'agent online')!;
  t.match(online, { session_id: edge.legs[0]!.sessionId, legs: 2 });
  t.equal(cli.lines.filter((l) => l.msg === 'leg up').length, 2, 'one line per leg up');
  const stream = await edge.openStream();
  stream.end('cli');
  t.equal((await readAll(stream)).toString(), 'up\nclibye\n');
  cli.kill('SIGTERM');
  t.equal(await cli.exit, 0);
  t.ok(cli.lines.some((l) => l.msg === 'agent stopped'));
  t.notMatch(cli.stderr(), TOKEN, 'the authtoken is never logged');
});

t.test('edgeplane agent: SIGTERM waits for an open stream; a second SIGTERM exits at once', async (t) => {
  const upstream = await echoServer(t, 'up');
  const edge = await fakeEdge(t);
  const cli = runCli(t, ['--edge', edge.address, '--label', 'app=web', '--forward', String(upstream.port), '--edge-ca', pki.path('ca.crt'), '--drain-timeout', '20'], { EDGEPLANE_AUTHTOKEN: TOKEN });
  await waitUntil(() => cli.lines.some((l) => l.msg === 'agent online'), 10_000, 'agent online');
  const stream = await edge.openStream();
  await readUntil(stream, 'up\n');
  let exited = false;
  void cli.exit.then(() => { exited = true; });
  cli.kill('SIGTERM');
  await edge.waitFor(() => edge.legs[0]!.controls.some((c) => 'go_away' in c), 5000, 'GoAway');
  t.match(cli.lines.find((l) => l.msg === 'draining'), { streams: 1, timeout_s: 20 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(exited, false, 'still draining while the stream is open');
  stream.write('still here');
  t.match(await readUntil(stream, 'still here'), 'still here', 'the open stream keeps working while draining');
  cli.kill('SIGTERM');
  t.equal(await cli.exit, 1, 'the second signal exits at once');
});

t.test('edgeplane agent: a refused authtoken exits 1; bad flags exit 2', async (t) => {
  const edge = await fakeEdge(t);
  const refused = runCli(t, ['--edge', edge.address, '--label', 'app=web', '--forward', '8080', '--edge-ca', pki.path('ca.crt'), '--authtoken', 'not-the-token-0123456789']);
  t.equal(await refused.exit, 1);
  t.ok(refused.lines.some((l) => l.msg === 'authentication refused' && /invalid authtoken/.test(String(l.error))), 'the error is printed');
  t.notMatch(refused.stderr(), 'not-the-token', 'the token is not logged');
  t.equal(edge.auths.length, 1, 'one attempt');

  const bad = runCli(t, ['--edge', edge.address, '--forward', '8080'], { EDGEPLANE_AUTHTOKEN: TOKEN });
  t.equal(await bad.exit, 2);
  t.match(bad.stderr(), /at least one label/);
});
