// Worker dispatch: connections spread over the pool, and a worker that dies takes only its own
// connections with it; the others keep flowing and a replacement starts serving.
import t from 'tap';
import type net from 'node:net';
import { startDaemon, metricValue } from '../helpers/daemon.js';
import { connectTcp, echoServer, freePort, readUntil } from '../helpers/net.js';

t.test('connections spread over two workers; killing one leaves the other worker\'s connections intact', async (t) => {
  const upstream = await echoServer(t, 'UP');
  const port = await freePort();
  const daemon = await startDaemon(t, {
    workers: 2,
    backends: [{ id: 'bkd_up', type: 'static_address', address: `127.0.0.1:${upstream.port}` }],
    edges: [{ id: 'edgtcp_up', type: 'tcp', hostports: [`127.0.0.1:${port}`], backend: { backend_id: 'bkd_up' } }],
  });

  const sockets: net.Socket[] = [];
  for (let i = 0; i < 8; i++) {
    const s = await connectTcp(port);
    await readUntil(s, 'UP\n');
    sockets.push(s);
  }
  const before = await daemon.metrics();
  const w0 = metricValue(before, 'edgeplane_worker_connections_active', '{worker="0"}')!;
  const w1 = metricValue(before, 'edgeplane_worker_connections_active', '{worker="1"}')!;
  t.equal(w0 + w1, 8, 'all 8 connections are counted');
  t.ok(w0 > 0 && w1 > 0, `both workers serve connections (${w0} / ${w1})`);
  t.equal(metricValue(before, 'edgeplane_edge_connections_active', '{edge="edgtcp_up"}'), 8, 'per-edge gauge');

  const closed = sockets.map((s) => new Promise<boolean>((resolve) => {
    s.once('end', () => resolve(true)); // the worker's exit closed it (FIN)
    s.once('close', () => resolve(true));
    setTimeout(() => resolve(false), 3000).unref();
  }));
  const res = await fetch(`http://${daemon.admin}/debug/workers/0/crash`, { method: 'POST' });
  t.equal(res.status, 202);
  await daemon.waitForLog((l) => l.msg === 'worker exited; starting a replacement');
  const outcome = await Promise.all(closed);
  const lost = outcome.filter(Boolean).length;
  t.equal(lost, w0, `exactly worker 0's ${w0} connections closed`);

  // Every survivor still carries data both ways.
  const survivors = sockets.filter((_, i) => !outcome[i]);
  t.equal(survivors.length, w1);
  for (const [i, s] of survivors.entries()) {
    s.write(`still here ${i}\n`);
    t.match(await readUntil(s, `still here ${i}\n`), `still here ${i}`);
  }

  // The replacement serves new connections.
  for (let tries = 0; tries < 50; tries++) {
    const m = await daemon.metrics();
    if (/edgeplane_worker_restarts_total\{worker="0"\} 1/.test(m) && (await fetch(`http://${daemon.admin}/healthz`).then((r) => r.json()) as any).workers.every((w: any) => w.ready)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const fresh: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const s = await connectTcp(port);
    await readUntil(s, 'UP\n');
    fresh.push(s);
  }
  const after = await daemon.metrics();
  t.ok(metricValue(after, 'edgeplane_worker_connections_active', '{worker="0"}')! > 0, 'the replaced worker takes new connections');
  for (const s of [...survivors, ...fresh]) s.destroy();
});
