// TCP edges end to end: byte forwarding both ways, half-close, IP restriction at the acceptor,
// backends (tunnel_group round robin, weighted, failover) and tcp_connection_closed.v0 events.
import t from 'tap';
import { startDaemon } from '../helpers/daemon.js';
import { connectTcp, echoServer, freePort, readAll, readUntil } from '../helpers/net.js';

for (const mode of ['native relay', 'JS pump'] as const) t.test(`TCP edge (${mode})`, async (t) => {
  const a = await echoServer(t, 'A');
  const b = await echoServer(t, 'B');
  const c = await echoServer(t, 'C');
  const deadPort = await freePort(); // nothing listens here: dials fail
  const [pEcho, pRestricted, pGroup, pWeighted, pFailover, pIdle] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const edge = (id: string, port: number, backendId: string, extra: object = {}) =>
    ({ id, type: 'tcp', hostports: [`127.0.0.1:${port}`], backend: { backend_id: backendId }, ...extra });
  const daemon = await startDaemon(t, {
    workers: 2,
    tcp_idle_timeout: 300,
    ip_policies: [{ id: 'ipp_office', rules: [{ cidr: '127.0.0.0/8', action: 'allow' }, { cidr: '127.0.0.66/32', action: 'deny' }] }],
    tunnels: [
      { labels: { app: 'web', zone: 'x' }, forwards_to: `127.0.0.1:${a.port}` },
      { labels: { app: 'web' }, forwards_to: `127.0.0.1:${b.port}` },
      { labels: { app: 'db' }, forwards_to: `127.0.0.1:${c.port}` },
    ],
    backends: [
      { id: 'bkd_a', type: 'static_address', address: `127.0.0.1:${a.port}` },
      { id: 'bkd_b', type: 'static_address', address: `127.0.0.1:${b.port}` },
      { id: 'bkd_dead', type: 'static_address', address: `127.0.0.1:${deadPort}` },
      { id: 'bkd_web', type: 'tunnel_group', labels: { app: 'web' } },
      { id: 'bkd_empty', type: 'tunnel_group', labels: { app: 'nothing' } },
      { id: 'bkd_w', type: 'weighted', backends: { bkd_a: 3, bkd_b: 1 } },
      { id: 'bkd_fo', type: 'failover', backends: ['bkd_empty', 'bkd_dead', 'bkd_b'] },
    ],
    edges: [
      edge('edgtcp_echo', pEcho, 'bkd_a'),
      edge('edgtcp_restricted', pRestricted, 'bkd_a', { ip_restriction: { ip_policy_ids: ['ipp_office'] } }),
      edge('edgtcp_group', pGroup, 'bkd_web'),
      edge('edgtcp_weighted', pWeighted, 'bkd_w'),
      edge('edgtcp_failover', pFailover, 'bkd_fo'),
      edge('edgtcp_idle', pIdle, 'bkd_a'),
    ],
  }, { env: mode === 'JS pump' ? { EDGEPLANE_DISABLE_RELAY: '1' } : undefined });

  t.test('bytes flow both ways and a half-close reaches the upstream while the reply still flows back', async (t) => {
    const socket = await connectTcp(pEcho);
    await readUntil(socket, 'A\n');
    const payload = Buffer.alloc(4 * 1024 * 1024, 'x');
    const all = readAll(socket, 20_000);
    socket.write(payload);
    socket.end(); // FIN: the upstream answers 'bye' after it, so the other direction must stay open
    const text = await all;
    t.equal(text.length, payload.length + 4, 'full echo + bye');
    t.ok(text.endsWith('xbye\n'), 'the reply after our FIN arrived');
  });

  t.test('IP restriction: a denied source address is closed before any byte; allowed ones pass', async (t) => {
    const denied = await connectTcp(pRestricted, { localAddress: '127.0.0.66' });
    t.equal(await readAll(denied), '', '127.0.0.66 is denied (deny beats allow)');
    const allowed = await connectTcp(pRestricted, { localAddress: '127.0.0.5' });
    t.equal(await readUntil(allowed, '\n'), 'A\n', '127.0.0.5 is allowed');
    allowed.destroy();
    t.match(await daemon.metrics(), /edgeplane_acceptor_refusals_total\{reason="ip_blocked"\} [1-9]/);
  });

  t.test('tunnel_group: every tunnel whose labels include the group labels, round robin per connection', async (t) => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const s = await connectTcp(pGroup);
      seen.push((await readUntil(s, '\n')).trim());
      s.destroy();
    }
    t.same(seen.filter((x) => x === 'A').length, 3, 'A got half');
    t.same(seen.filter((x) => x === 'B').length, 3, 'B got half');
    t.notOk(seen.includes('C'), 'the db tunnel is not in the web group');
  });

  t.test('weighted: shares follow the weights', async (t) => {
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) {
      const s = await connectTcp(pWeighted);
      seen.push((await readUntil(s, '\n')).trim());
      s.destroy();
    }
    t.equal(seen.filter((x) => x === 'A').length, 6, '3:1 over 8 connections');
  });

  t.test('failover: an empty group and a dead address are skipped; the next child serves', async (t) => {
    const s = await connectTcp(pFailover);
    t.equal(await readUntil(s, '\n'), 'B\n');
    s.destroy();
  });

  t.test('every connection yields a tcp_connection_closed.v0 event with the spec fields', async (t) => {
    const events = await daemon.waitForEvents(10);
    const ev = events.find((e) => e.object.edge.id === 'edgtcp_echo');
    t.ok(ev, 'an event for the echo edge');
    t.equal(ev!.event_type, 'tcp_connection_closed.v0');
    t.match(ev!.event_id, /^ev_/);
    t.equal(ev!.principal, null);
    t.match(ev!.account_id, /^ac_/);
    t.equal(ev!.object.conn.bytes_in, 4 * 1024 * 1024, 'bytes_in counts what the client sent');
    t.equal(ev!.object.conn.bytes_out, 4 * 1024 * 1024 + 6, 'bytes_out counts what the client received');
    t.equal(ev!.object.conn.client_ip, '127.0.0.1');
    t.equal(ev!.object.conn.server_port, pEcho);
    t.ok(Date.parse(ev!.object.conn.end_ts) >= Date.parse(ev!.object.conn.start_ts));
    const blocked = events.find((e) => e.object.ip_policy.decision === 'block');
    t.ok(blocked, 'the refused connection has an event too, with ip_policy.decision=block');
    t.equal(blocked!.object.conn.client_ip, '127.0.0.66');
  });
});

for (const mode of ['native relay', 'JS pump'] as const) t.test(`tcp_idle_timeout closes a connection on which nothing moves (${mode})`, async (t) => {
  const up = await echoServer(t, 'IDLE');
  const port = await freePort();
  await startDaemon(t, {
    workers: 1,
    tcp_idle_timeout: 1,
    backends: [{ id: 'bkd', type: 'static_address', address: `127.0.0.1:${up.port}` }],
    edges: [{ id: 'edgtcp_idle', type: 'tcp', hostports: [`127.0.0.1:${port}`], backend: { backend_id: 'bkd' } }],
  }, { env: mode === 'JS pump' ? { EDGEPLANE_DISABLE_RELAY: '1' } : undefined });
  const s = await connectTcp(port);
  await readUntil(s, 'IDLE\n');
  const started = Date.now();
  await readAll(s, 10_000);
  const waited = Date.now() - started;
  t.ok(waited >= 900, `closed after ${waited} ms of silence, not before the 1 s timeout`);
});
