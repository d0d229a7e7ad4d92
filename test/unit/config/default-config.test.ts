// The embedded demo config passes `edgeplane check`, and its HTTPS edge has the routes the hints name.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { createDefaultSetup, DEFAULT_PLAIN_HTTP_PORT, DEFAULT_TLS_PORT, DEFAULT_TUNNEL_PORT } from '../../../core/default-config.js';
import { loadConfigObject } from '../../../core/config/load.js';
import { CLI, tempDir } from '../../helpers/daemon.js';
import { run } from '../../helpers/net.js';

t.test('the demo config checks clean, with an https edge of three routes, a redirecting plain listener and a tunnel listener', async (tt) => {
  const setup = await createDefaultSetup();
  tt.teardown(() => setup.close());
  const dir = tempDir(tt);
  const loaded = loadConfigObject(setup.config, { baseDir: dir, env: {} });
  const edge = loaded.config.edges.find((e) => e.type === 'https');
  if (edge === undefined || edge.type !== 'https') throw new Error('no https edge in the demo');
  tt.same(edge.hostports, [`app.localhost:${DEFAULT_TLS_PORT}`]);
  tt.same(edge.routes.map((r) => [r.match_type, r.match]), [['path_prefix', '/'], ['exact_path', '/status'], ['path_prefix', '/agent/']]);
  tt.equal(loaded.config.tunnel.listen, `127.0.0.1:${DEFAULT_TUNNEL_PORT}`, 'agents can dial the demo');
  tt.ok(setup.hints.some((h) => h.includes(`agent --edge 127.0.0.1:${DEFAULT_TUNNEL_PORT}`)), 'a hint shows the agent command');
  tt.same(loaded.config.http.plain_listen, `127.0.0.1:${DEFAULT_PLAIN_HTTP_PORT}`);
  tt.equal(loaded.config.http.plain_mode, 'redirect');
  tt.ok(setup.hints.some((h) => h.includes(`curl -k https://app.localhost:${DEFAULT_TLS_PORT}/ --resolve app.localhost:${DEFAULT_TLS_PORT}:127.0.0.1`)));

  const path = join(dir, 'demo.yaml');
  writeFileSync(path, stringify(setup.config));
  const checked = await run(process.execPath, [CLI, 'check', '--config', path]);
  tt.equal(checked.code, 0, checked.stderr);
  tt.match(checked.stdout, /ok \(4 edges, 7 backends, 1 certificates\)/);
});

t.test('the demo HTTP upstream echoes what it received', async (tt) => {
  const setup = await createDefaultSetup();
  tt.teardown(() => setup.close());
  const backends = setup.config['backends'] as Array<{ id: string; address?: string }>;
  const address = backends.find((b) => b.id === 'bkd_app')!.address!;
  const res = await fetch(`http://${address}/some/path?q=1`, { method: 'POST', headers: { 'x-demo': 'yes' }, body: 'x' });
  tt.equal(res.status, 200);
  const body = (await res.json()) as { method: string; path: string; headers: Record<string, string> };
  tt.equal(body.method, 'POST');
  tt.equal(body.path, '/some/path?q=1');
  tt.equal(body.headers['x-demo'], 'yes');
});
