// Tunnel agents end to end, with real processes: the daemon, `edgeplane agent` children dialling its
// tunnel listener, loopback origins behind the agents, and HTTPS / TCP / TLS clients in front.
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { startDaemon, metricValue, tempDir, type DaemonHandle } from '../helpers/daemon.js';
import { makeLeaf, makePki } from '../helpers/pki.js';
import { httpsRequest, startOrigin, type Origin } from '../helpers/http.js';
import { echoServer, freePort, readUntil } from '../helpers/net.js';
import { agentArgs, startAgent, type AgentProcess } from '../helpers/agent-process.js';

const TOKEN = 'agent-token-0123456789abcdef';
const HOST = 'app.example.test';

/** An origin that says who it is, and can answer slowly or with a large body. */
function namedOrigin(name: string) {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://origin');
    if (url.pathname === '/slow') {
      setTimeout(() => res.end(`${name} ${req.url}`), Number(url.searchParams.get('ms') ?? 1000));
      return;
    }
    if (url.pathname === '/big') {
      const total = Number(url.searchParams.get('mb') ?? 1) * 1024 * 1024;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
      const chunk = Buffer.alloc(64 * 1024, name);
      let left = total;
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          bytesSent.set(req.url ?? '', (bytesSent.get(req.url ?? '') ?? 0) + n);
          if (!res.write(chunk.subarray(0, n))) { res.once('drain', pump); return; }
        }
        res.end();
      };
      pump();
      return;
    }
    res.end(`${name} ${req.url}`);
  };
}
const bytesSent = new Map<string, number>();

interface Ports { tunnel: number; https: number; tcp: number; tls: number }

function edgeConfig(pki: ReturnType<typeof makePki>, ports: Ports, workers: number, sessionsFile?: string): Record<string, unknown> {
  return {
    workers,
    // Session events through the Event Subscriptions machinery (a config-declared subscription to a file).
    ...(sessionsFile === undefined ? {} : {
      event_destinations: [{ id: 'ed_sessions', target: { file: { path: sessionsFile } } }],
      event_subscriptions: [{ id: 'esb_sessions', sources: [{ type: 'agent_session_start.v0' }, { type: 'agent_session_stop.v0' }], destination_ids: ['ed_sessions'] }],
    }),
    tls_certificates: [{ id: 'cert_edge', certificate_pem: { file: pki.path('bundle.crt') }, private_key_pem: { file: pki.path('leaf.key') } }],
    reserved_domains: [{ domain: '*.example.test', certificate_id: 'cert_edge' }],
    tunnel: { listen: `127.0.0.1:${ports.tunnel}`, certificate_id: 'cert_edge', heartbeat_interval: 1, heartbeat_tolerance: 3, authtokens: [{ id: 'cr_agents', token: TOKEN }] },
    backends: [
      { id: 'bkd_web', type: 'tunnel_group', labels: { app: 'web' } },
      { id: 'bkd_nobody', type: 'tunnel_group', labels: { app: 'nobody' } },
      { id: 'bkd_page', type: 'http_response', status_code: 503, body: 'no agent is online' },
      { id: 'bkd_fo', type: 'failover', backends: ['bkd_nobody', 'bkd_page'] },
      { id: 'bkd_drain', type: 'tunnel_group', labels: { app: 'drain' } },
      { id: 'bkd_echo', type: 'tunnel_group', labels: { app: 'echo' } },
      { id: 'bkd_secure', type: 'tunnel_group', labels: { app: 'secure' } },
    ],
    edges: [
      {
        id: 'edghts_app', type: 'https', hostports: [`${HOST}:${ports.https}`],
        routes: [
          { match_type: 'path_prefix', match: '/fo', backend: { backend_id: 'bkd_fo' } },
          { match_type: 'path_prefix', match: '/drain', backend: { backend_id: 'bkd_drain' } },
          { match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_web' } },
        ],
      },
      { id: 'edgtcp_echo', type: 'tcp', hostports: [`127.0.0.1:${ports.tcp}`], backend: { backend_id: 'bkd_echo' } },
      { id: 'edgtls_secure', type: 'tls', hostports: [`secure.example.test:${ports.tls}`], backend: { backend_id: 'bkd_secure' }, tls_termination: { terminate_at: 'agent' } },
    ],
  };
}

const get = (port: number, ca: string, path: string, timeoutMs = 15_000) => httpsRequest({ port, host: HOST, ca, path, timeoutMs });

async function sessionsOf(daemon: DaemonHandle, backend: string): Promise<number | undefined> {
  return metricValue(await daemon.metrics(), 'edgeplane_tunnel_group_sessions', `{backend="${backend}"}`);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('tunnel agents', async (t) => {
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  makeLeaf(pki, 'agent-tls', { dns: ['secure.example.test'], signer: 'other-ca', cn: 'terminated by the agent' });
  const ca = pki.read('ca.crt');
  const originA = await startOrigin(t, namedOrigin('A'));
  const originB = await startOrigin(t, namedOrigin('B'));
  const ports: Ports = { tunnel: await freePort(), https: await freePort(), tcp: await freePort(), tls: await freePort() };
  const sessionsFile = `${tempDir(t)}/sessions.ndjson`;
  let daemon = await startDaemon(t, edgeConfig(pki, ports, 2, sessionsFile));
  const agent = (labels: Record<string, string>, forward: string, extra: string[] = []): AgentProcess =>
    startAgent(t, agentArgs({ edgePort: ports.tunnel, authtoken: TOKEN, labels, forward, ca: pki.path('ca.crt'), extra }));

  const agentA = agent({ app: 'web', name: 'a' }, originA.address);
  let agentB = agent({ app: 'web', name: 'b' }, originB.address);
  await Promise.all([agentA.online(), agentB.online()]);

  t.test('two agents with the same labels share the traffic', async (t) => {
    t.equal(await sessionsOf(daemon, 'bkd_web'), 2, 'the group selects both sessions');
    const metrics = await daemon.metrics();
    const legs = [...metrics.matchAll(/^edgeplane_tunnel_session_legs\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
    t.same(legs, [2, 2], 'each session holds one leg per worker');
    const seen = { A: 0, B: 0, other: 0 };
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => get(ports.https, ca, `/share?i=${i}`)));
    for (const r of results) {
      const who = r.body.toString().slice(0, 1);
      if (r.status === 200 && (who === 'A' || who === 'B')) seen[who]++; else seen.other++;
    }
    t.equal(seen.other, 0, 'every request answered by an agent');
    t.ok(seen.A >= 20 && seen.B >= 20, `round robin spreads requests (A ${seen.A}, B ${seen.B})`);
  });

  t.test('session start events carry the session, never the token', async (t) => {
    const events = await daemon.waitForEvents(1);
    const starts = events.filter((e) => e.event_type === 'agent_session_start.v0');
    t.equal(starts.length, 2, 'one start per agent');
    t.same(starts.map((e) => e.object.labels.name).sort(), ['a', 'b']);
    t.equal(starts[0]!.object.credential.id, 'cr_agents');
    t.match(starts[0]!.object.id, /^ts_/);
    t.equal(starts[0]!.principal, null);
    t.notOk(JSON.stringify(events).includes(TOKEN), 'no token in events');
    t.notOk(daemon.stderr().includes(TOKEN), 'no token in the daemon log');
    t.notOk(agentA.stderr().includes(TOKEN), 'no token in the agent log');
    await until('the subscription delivered both starts', async () => existsSync(sessionsFile) && readFileSync(sessionsFile, 'utf8').split('\n').filter(Boolean).length >= 2);
    const delivered = readFileSync(sessionsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
    t.same(delivered.map((e) => e.event_type), ['agent_session_start.v0', 'agent_session_start.v0'], 'a subscription to agent_session_start.v0 receives them');
    t.same(delivered.map((e) => e.object.id).sort(), starts.map((e) => e.object.id).sort());
  });

  t.test('killing one agent mid-load loses no request sent to the other', async (t) => {
    const outcomes = new Map<string, { status: number; body: string; error: string | null }>();
    let n = 0;
    let killedAt = 0;
    const stopAt = Date.now() + 2500;
    const client = async (): Promise<void> => {
      while (Date.now() < stopAt) {
        const id = `/load?id=${n++}`;
        try {
          const r = await get(ports.https, ca, id, 10_000);
          outcomes.set(id, { status: r.status, body: r.body.toString(), error: r.error });
        } catch (err) {
          outcomes.set(id, { status: 0, body: '', error: (err as Error).message });
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, client));
    await new Promise((r) => setTimeout(r, 800));
    killedAt = Date.now();
    await agentB.kill('SIGKILL');
    await load;
    const toA = originA.requestsTo('/load');
    t.ok(toA.length > 50, `A served ${toA.length} requests of the load`);
    const lost = toA.filter((r) => outcomes.get(r.url)?.status !== 200 || outcomes.get(r.url)?.body !== `A ${r.url}`);
    t.same(lost.map((r) => r.url), [], 'every request that reached agent A got its full answer');
    const failed = [...outcomes.entries()].filter(([, o]) => o.status !== 200);
    t.ok(failed.every(([url]) => !toA.some((r) => r.url === url)), `the ${failed.length} failed requests all went to B`);
    t.ok(Date.now() - killedAt > 1000, 'the load kept going well after the kill');
    t.equal(await sessionsOf(daemon, 'bkd_web'), 1, 'B left the group at once');
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => get(ports.https, ca, `/after?i=${i}`)));
    t.same(after.map((r) => r.body.toString()[0]), Array(10).fill('A'), 'all new requests go to A');
    const stop = await daemon.waitForEvents(3).then(() => daemon.events().find((e) => e.event_type === 'agent_session_stop.v0'));
    t.equal(stop?.object.labels.name, 'b', 'a stop event for B');
  });

  t.test('an agent with a bad token is refused', async (t) => {
    const bad = startAgent(t, agentArgs({ edgePort: ports.tunnel, authtoken: 'not-the-token-0123456789', labels: { app: 'web' }, forward: originB.address, ca: pki.path('ca.crt') }));
    const code = await Promise.race([bad.exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
    t.equal(code, 1, 'the agent exits with 1');
    t.match(bad.stderr(), /authtoken/i, 'and says the authtoken was refused');
    await daemon.waitForLog((l) => l.msg === 'agent refused: invalid authtoken');
    t.equal(await sessionsOf(daemon, 'bkd_web'), 1, 'no session was added');
  });

  t.test('failover moves on while no agent is online, and back once one is', async (t) => {
    const r = await get(ports.https, ca, '/fo/x');
    t.equal(r.status, 503);
    t.equal(r.body.toString(), 'no agent is online');
    const nobody = agent({ app: 'nobody' }, originB.address);
    await nobody.online();
    const back = await get(ports.https, ca, '/fo/y');
    t.equal(back.body.toString(), 'B /fo/y', 'the group has an agent again');
    await nobody.kill('SIGKILL');
    await until('the group is empty again', async () => (await sessionsOf(daemon, 'bkd_nobody')) === 0);
    t.equal((await get(ports.https, ca, '/fo/z')).status, 503, 'failover again');
  });

  t.test('TCP edges and TLS edges with terminate_at: agent', async (t) => {
    const echo = await echoServer(t, 'E');
    const tcpAgent = agent({ app: 'echo' }, `127.0.0.1:${echo.port}`);
    const tlsAgent = agent({ app: 'secure' }, `127.0.0.1:${echo.port}`, ['--crt', pki.path('agent-tls.crt'), '--key', pki.path('agent-tls.key')]);
    await Promise.all([tcpAgent.online(), tlsAgent.online()]);
    const socket = net.connect(ports.tcp, '127.0.0.1');
    t.teardown(() => socket.destroy());
    t.equal(await readUntil(socket, 'E\n'), 'E\n', 'the TCP client reaches the echo server through the agent');
    const payload = Buffer.alloc(3 * 1024 * 1024, 'z');
    const digest = createHash('sha256').update(payload).digest('hex');
    const echoed = new Promise<string>((resolve) => {
      const hash = createHash('sha256');
      let got = 0;
      socket.on('data', (d: Buffer) => { hash.update(d); got += d.length; if (got >= payload.length) resolve(hash.digest('hex')); });
    });
    socket.write(payload);
    t.equal(await echoed, digest, '3 MiB echoed byte for byte');

    const secure = tls.connect({ port: ports.tls, host: '127.0.0.1', servername: 'secure.example.test', ca: pki.read('other-ca.crt') });
    t.teardown(() => secure.destroy());
    await new Promise<void>((resolve, reject) => { secure.once('secureConnect', resolve); secure.once('error', reject); });
    t.equal(secure.getPeerCertificate().subject.CN, 'terminated by the agent', 'the agent\'s certificate, not the edge\'s');
    t.equal(await readUntil(secure, 'E\n'), 'E\n', 'plaintext reaches the upstream behind the agent');
    secure.write('ping\n');
    t.match(await readUntil(secure, 'ping\n'), /ping\n$/);
  });

  t.test('SIGTERM drains an agent: the in-flight request finishes, then the group is empty', async (t) => {
    const drainer = agent({ app: 'drain' }, originA.address);
    await drainer.online();
    const slow = get(ports.https, ca, '/drain/slow?ms=1500');
    await originA.waitForRequests(originA.requests.length + 1);
    const code = drainer.kill('SIGTERM');
    const r = await slow;
    t.equal(r.status, 200);
    t.equal(r.body.toString(), 'A /drain/slow?ms=1500', 'the in-flight request completed');
    t.equal(await code, 0, 'the agent exits 0 after draining');
    const next = await get(ports.https, ca, '/drain/next');
    t.equal(next.status, 503, 'no agent left in the group');
  });

  t.test('a crashed worker: its legs come back on the replacement, the other worker keeps serving', async (t) => {
    const session = String((await agentA.online()).session_id);
    const legsOf = async (): Promise<number[]> => [(await daemon.metrics()).match(new RegExp(`^edgeplane_tunnel_session_legs\\{session_id="${session}"[^}]*\\} (\\d+)$`, 'm'))?.[1]].map(Number);
    t.same(await legsOf(), [2], 'agent A holds both legs');
    const res = await fetch(`http://${daemon.admin}/debug/workers/1/crash`, { method: 'POST' });
    t.equal(res.status, 202);
    await until('the leg on worker 1 is gone', async () => (await legsOf())[0] === 1);
    const during = await Promise.all(Array.from({ length: 10 }, (_, i) => get(ports.https, ca, `/during?i=${i}`)));
    t.same(during.map((r) => r.status), Array(10).fill(200), 'requests keep flowing on the remaining leg');
    await until('the agent has a leg on the replacement worker again', async () => (await legsOf())[0] === 2, 20_000);
    t.equal(await sessionsOf(daemon, 'bkd_web'), 1, 'still one session (no second leg on worker 0)');
    const starts = daemon.events().filter((e) => e.event_type === 'agent_session_start.v0' && e.object.labels.name === 'a');
    t.equal(starts.length, 1, 'the session never stopped');
  });

  t.test('an agent reconnects by itself after the edge restarts and gets traffic again', async (t) => {
    const logsBefore = agentA.logs.length;
    await daemon.stop('SIGKILL');
    await agentA.waitForLog((l) => l.msg === 'leg down' || String(l.msg).includes('down'), 10_000).catch(() => undefined);
    daemon = await startDaemon(t, edgeConfig(pki, ports, 2), { dir: tempDir(t) });
    await agentA.online(logsBefore, 40_000);
    const r = await get(ports.https, ca, '/again');
    t.equal(r.body.toString(), 'A /again', 'traffic reaches the reconnected agent');
    agentB = agent({ app: 'web', name: 'b' }, originB.address);
    await agentB.online();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => get(ports.https, ca, `/both?i=${i}`)));
    const names = new Set(results.map((x) => x.body.toString()[0]));
    t.same([...names].sort(), ['A', 'B'], 'a new agent joins the group and shares again');
  });
});

t.test('a slow consumer on one stream does not slow another stream on the same session', async (t) => {
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const ca = pki.read('ca.crt');
  const origin: Origin = await startOrigin(t, namedOrigin('C'));
  const ports: Ports = { tunnel: await freePort(), https: await freePort(), tcp: await freePort(), tls: await freePort() };
  // One worker: both client connections, and so both streams, are on the session's single leg.
  const daemon = await startDaemon(t, edgeConfig(pki, ports, 1));
  const a = startAgent(t, agentArgs({ edgePort: ports.tunnel, authtoken: TOKEN, labels: { app: 'web' }, forward: origin.address, ca: pki.path('ca.crt') }));
  await a.online();
  t.equal(await sessionsOf(daemon, 'bkd_web'), 1);

  const timed = async (path: string): Promise<{ ms: number; bytes: number }> => {
    const started = Date.now();
    const r = await get(ports.https, ca, path, 30_000);
    return { ms: Date.now() - started, bytes: r.body.length };
  };
  const baseline = await timed('/big?mb=32&run=baseline');

  // The slow consumer: asks for 512 MiB and reads nothing after the first bytes.
  const slow = tls.connect({ port: ports.https, host: '127.0.0.1', servername: HOST, ca });
  t.teardown(() => slow.destroy());
  await new Promise<void>((resolve) => slow.once('secureConnect', resolve));
  slow.write(`GET /big?mb=512&run=stalled HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`);
  await new Promise<void>((resolve) => slow.once('data', () => { slow.pause(); resolve(); }));
  await new Promise((r) => setTimeout(r, 500));
  const stalledBefore = bytesSent.get('/big?mb=512&run=stalled') ?? 0;

  const fast = await timed('/big?mb=32&run=beside-stalled');
  t.equal(fast.bytes, 32 * 1024 * 1024, 'the other stream got all 32 MiB');
  t.ok(fast.ms < Math.max(5 * baseline.ms, 3000), `it took ${fast.ms} ms beside the stalled stream (${baseline.ms} ms alone)`);
  const stalledAfter = bytesSent.get('/big?mb=512&run=stalled') ?? 0;
  t.ok(stalledAfter < 64 * 1024 * 1024, `the stalled stream is held back by flow control (${(stalledAfter / 1048576).toFixed(1)} MiB left the origin)`);
  t.ok(stalledAfter - stalledBefore < 8 * 1024 * 1024, 'and did not move while the other stream ran');
});
