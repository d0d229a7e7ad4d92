// The inspection page wired into a real daemon: /inspect on the admin listener, and the live feed
// (/inspect/live) pushing a snapshot with the daemon's workers and breakers, then a row for a real
// HTTPS request as its event passes the daemon's event hub; the config's tunnel_group shows with no agent.
import t from 'tap';
import WebSocket from 'ws';
import { makePki } from '../helpers/pki.js';
import { startDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { exampleTestCertificates, httpsRequest, startOrigin } from '../helpers/http.js';

const pki = makePki();
t.teardown(() => pki.cleanup());
const APP = 'inspect.example.test';
const port = await freePort();
const origin = await startOrigin(t);
const daemon = await startDaemon(t, {
  workers: 2,
  listen_address: '127.0.0.1',
  ...exampleTestCertificates(pki),
  backends: [{ id: 'bkd_origin', type: 'static_address', address: origin.address }, { id: 'bkd_agents', type: 'tunnel_group', labels: { app: 'inspect' } }],
  edges: [{
    id: 'edghts_inspect', type: 'https', hostports: [`${APP}:${port}`],
    routes: [{ id: 'rt_app', match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_origin' }, circuit_breaker: {} }],
  }],
});

t.test('GET /inspect serves the page', async (t) => {
  const res = await fetch(`http://${daemon.admin}/inspect`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type') ?? '', /text\/html/);
  t.match(await res.text(), /inspect\/live/);
});

t.test('the live feed sends the daemon\'s snapshot, then a row for a real request', async (t) => {
  const ws = new WebSocket(`ws://${daemon.admin}/inspect/live`);
  t.teardown(() => ws.close());
  const messages: Array<Record<string, any>> = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const waitFor = async (pred: (m: Record<string, any>) => boolean, what: string): Promise<Record<string, any>> => {
    const until = Date.now() + 10_000;
    for (;;) {
      const hit = messages.find(pred);
      if (hit !== undefined) return hit;
      if (Date.now() > until) throw new Error(`no ${what} in ${JSON.stringify(messages).slice(0, 500)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const snapshot = await waitFor((m) => JSON.stringify(m).includes('"workers"'), 'snapshot');
  const text = JSON.stringify(snapshot);
  t.match(text, /"worker":0/, 'worker 0 is listed');
  t.match(text, /"worker":1/, 'worker 1 is listed');
  t.match(text, /"route":"rt_app"/, 'the route\'s breaker is listed');
  t.same(snapshot.tunnels, { workers: 2, sessions: [], groups: [{ backend: 'bkd_agents', labels: { app: 'inspect' }, sessions: 0 }] }, 'the tunnel_group is listed, with no agent online');
  const res = await httpsRequest({ port, host: APP, ca: pki.read('ca.crt'), path: '/inspect-me?x=1' });
  t.equal(res.status, 200);
  await waitFor((m) => JSON.stringify(m).includes('/inspect-me'), 'row for the request');
  t.pass('the request appeared in the live feed');
});

t.test('/metrics counts the tunnel_group\'s sessions (none online)', async (t) => {
  const text = await daemon.metrics();
  t.match(text, /^edgeplane_tunnel_sessions 0$/m);
  t.match(text, /^edgeplane_tunnel_group_sessions\{backend="bkd_agents"\} 0$/m, 'an empty group still has its row');
  t.notMatch(text, /^edgeplane_tunnel_group_member\{/m, 'no memberships');
});
