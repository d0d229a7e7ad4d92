// Connection floods against max_connections, process-wide and per edge: the connection past the
// limit is closed at once without a byte, counted with its reason, and the ones already open keep
// being served. A worker that dies must give its edges' places back, or the limit would stick.
import t from 'tap';
import type net from 'node:net';
import type tls from 'node:tls';
import { makePki } from '../helpers/pki.js';
import { startDaemon, type DaemonHandle } from '../helpers/daemon.js';
import { closedWithoutData, connectTcp, echoServer, freePort, readUntil } from '../helpers/net.js';
import { exampleTestCertificates, httpsRequest, startOrigin, tlsConnect } from '../helpers/http.js';

const GLOBAL_LIMIT = 12;
const TCP_EDGE_LIMIT = 3;
const HTTPS_EDGE_LIMIT = 2;
const APP = 'app.example.test';

const pki = makePki();
t.teardown(() => pki.cleanup());
const CA = pki.read('ca.crt');
const echo = await echoServer(t, 'E');
const origin = await startOrigin(t);
const [pLimited, pFree, pHttps] = await Promise.all([freePort(), freePort(), freePort()]);
const daemon = await startDaemon(t, {
  workers: 2,
  listen_address: '127.0.0.1',
  max_connections: GLOBAL_LIMIT,
  ...exampleTestCertificates(pki),
  backends: [
    { id: 'bkd_echo', type: 'static_address', address: `127.0.0.1:${echo.port}` },
    { id: 'bkd_origin', type: 'static_address', address: origin.address },
  ],
  edges: [
    { id: 'edgtcp_limited', type: 'tcp', hostports: [`127.0.0.1:${pLimited}`], backend: { backend_id: 'bkd_echo' }, max_connections: TCP_EDGE_LIMIT },
    { id: 'edgtcp_free', type: 'tcp', hostports: [`127.0.0.1:${pFree}`], backend: { backend_id: 'bkd_echo' } },
    {
      id: 'edghts_limited', type: 'https', hostports: [`${APP}:${pHttps}`], max_connections: HTTPS_EDGE_LIMIT,
      routes: [{ id: 'rt_app', match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_origin' } }],
    },
  ],
});

/** A tcp-edge connection that the echo upstream greeted: it is open and counted. */
async function served(port: number): Promise<net.Socket> {
  const socket = await connectTcp(port);
  await readUntil(socket, 'E\n');
  return socket;
}

async function refused(port: number): Promise<boolean> {
  return closedWithoutData(await connectTcp(port), 5_000);
}

function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function waitMetric(d: DaemonHandle, name: string, labels: string, ok: (v: number) => boolean, timeoutMs = 10_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = metric(await d.metrics(), name, labels);
    if (ok(v)) return v;
    if (Date.now() > until) throw new Error(`${name}${labels} is ${v} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const closeAll = async (sockets: Array<net.Socket | tls.TLSSocket>): Promise<void> => {
  for (const s of sockets) s.destroy();
  await waitMetric(daemon, 'edgeplane_connections_open', '', (v) => v === 0);
};

t.test('per edge: the connection past the edge limit is closed unread; other edges are unaffected', async (t) => {
  const held = await Promise.all(Array.from({ length: TCP_EDGE_LIMIT }, () => served(pLimited)));
  t.ok(await refused(pLimited), `connection ${TCP_EDGE_LIMIT + 1} to the limited edge is closed without a byte`);
  const others = await Promise.all(Array.from({ length: 3 }, () => served(pFree)));
  t.equal(others.length, 3, 'an edge without a limit still takes connections');
  held[0]!.write('still here\n');
  t.equal(await readUntil(held[0]!, 'still here\n'), 'still here\n', 'the connections already open keep being served');
  const text = await daemon.metrics();
  t.ok(metric(text, 'edgeplane_edge_connections_over_limit_total', '{edge="edgtcp_limited"}') >= 1, 'counted as over the limit on its edge');
  t.equal(metric(text, 'edgeplane_edge_connections_over_limit_total', '{edge="edgtcp_free"}'), 0, 'nothing counted on the other edge');
  t.equal(metric(text, 'edgeplane_edge_connections_active', '{edge="edgtcp_limited"}'), TCP_EDGE_LIMIT, 'the refused one was never counted as open');
  held.pop()!.destroy();
  await waitMetric(daemon, 'edgeplane_edge_connections_active', '{edge="edgtcp_limited"}', (v) => v === TCP_EDGE_LIMIT - 1);
  held.push(await served(pLimited));
  t.pass('once one closes, a new one gets its place');
  await closeAll([...held, ...others]);
});

t.test('per edge on an https edge: refused before the TLS handshake, open ones keep answering', async (t) => {
  const held: tls.TLSSocket[] = [];
  for (let i = 0; i < HTTPS_EDGE_LIMIT; i++) held.push(await tlsConnect(pHttps, APP));
  const error = await tlsConnect(pHttps, APP).then(() => null, (err: Error) => err);
  t.ok(error !== null, `TLS connection ${HTTPS_EDGE_LIMIT + 1} fails: ${error?.message}`);
  const answer = await httpsRequest({ port: pHttps, host: APP, ca: CA, path: '/after', agent: false, timeoutMs: 5_000 }).catch((err: Error) => err);
  t.ok(answer instanceof Error, 'a new request is refused while the edge is full');
  held[0]!.write(`GET /held HTTP/1.1\r\nHost: ${APP}\r\n\r\n`);
  const reply = await readUntil(held[0]!, '\r\n\r\n');
  t.match(reply, /^HTTP\/1\.1 200/, 'a connection that was already open is still served');
  await closeAll(held);
  const after = await httpsRequest({ port: pHttps, host: APP, ca: CA, path: '/after', agent: false, timeoutMs: 5_000 });
  t.equal(after.status, 200, 'served again once connections closed');
});

t.test('process-wide: a flood past max_connections is refused at accept; the open ones are not disturbed', async (t) => {
  const held: net.Socket[] = [];
  for (let i = 0; i < GLOBAL_LIMIT; i++) held.push(await served(pFree));
  t.equal(metric(await daemon.metrics(), 'edgeplane_connections_open'), GLOBAL_LIMIT, 'edgeplane_connections_open counts them');
  const before = metric(await daemon.metrics(), 'edgeplane_acceptor_refusals_total', '{reason="max_connections"}') || 0;
  const FLOOD = 150;
  const outcomes = await Promise.all(Array.from({ length: FLOOD }, () => refused(pFree).catch(() => true)));
  t.equal(outcomes.filter(Boolean).length, FLOOD, `all ${FLOOD} flood connections were closed without a byte`);
  const text = await daemon.metrics();
  t.ok(metric(text, 'edgeplane_acceptor_refusals_total', '{reason="max_connections"}') - before >= FLOOD, 'each counted as refused for max_connections');
  t.equal(metric(text, 'edgeplane_connections_open'), GLOBAL_LIMIT, 'never more than the limit open');
  t.equal(metric(text, 'edgeplane_connections_max'), GLOBAL_LIMIT, 'the limit in force is shown');
  for (const socket of held) socket.write('ping\n');
  await Promise.all(held.map((socket) => readUntil(socket, 'ping\n')));
  t.pass('every connection held through the flood still echoes');
  const log = await daemon.waitForLog((l) => l.msg === 'max_connections reached; closing new connections');
  t.equal(log.max_connections, GLOBAL_LIMIT, 'a warning names the limit (once per interval, not per connection)');
  t.ok(daemon.logs.filter((l) => l.msg === 'max_connections reached; closing new connections').length <= 2, 'the flood did not flood the log');
  held.splice(0, 4).forEach((s) => s.destroy());
  await waitMetric(daemon, 'edgeplane_connections_open', '', (v) => v <= GLOBAL_LIMIT - 4);
  held.push(...await Promise.all(Array.from({ length: 4 }, () => served(pFree))));
  t.pass('the places freed are taken by new connections');
  await closeAll(held);
});

t.test('a worker that dies gives its connections\' places on the edge back', async (t) => {
  const held = await Promise.all(Array.from({ length: TCP_EDGE_LIMIT }, () => served(pLimited)));
  // allowHalfOpen sockets: the edge's FIN shows as 'end' (there is no 'close' until we end too)
  const ended = held.map((socket) => {
    let gone = false;
    socket.once('end', () => { gone = true; });
    socket.once('close', () => { gone = true; });
    socket.resume();
    return () => gone;
  });
  const restartsBefore = metric(await daemon.metrics(), 'edgeplane_worker_restarts_total', '{worker="0"}');
  const res = await fetch(`http://${daemon.admin}/debug/workers/0/crash`, { method: 'POST' });
  t.equal(res.status, 202, 'worker 0 crashed on request');
  await waitMetric(daemon, 'edgeplane_worker_restarts_total', '{worker="0"}', (v) => v > restartsBefore, 20_000);
  const alive = metric(await daemon.metrics(), 'edgeplane_worker_connections_active', '{worker="1"}');
  await new Promise((r) => setTimeout(r, 500));
  const died = ended.filter((gone) => gone()).length;
  t.ok(died >= 1, `${died} of the held connections were on worker 0 and died with it`);
  t.equal(TCP_EDGE_LIMIT - died, alive, 'the survivors are the ones worker 1 holds');
  await waitMetric(daemon, 'edgeplane_edge_connections_active', '{edge="edgtcp_limited"}', (v) => v === alive);
  const fresh = await Promise.all(Array.from({ length: died }, () => served(pLimited)));
  t.equal(fresh.length, died, 'the dead worker\'s places were given back');
  t.ok(await refused(pLimited), 'and the limit still holds after that');
  await closeAll([...held, ...fresh]);
});
