// Daemon lifecycle: reload (SIGHUP and file change) with no dropped connection, a bad config
// refused while the old one keeps serving, SIGTERM drain, and `edgeplane check`.
import t from 'tap';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, CLI, tempDir } from '../helpers/daemon.js';
import { connectTcp, echoServer, freePort, readAll, readUntil, run } from '../helpers/net.js';

async function twoUpstreams(tt: { teardown(fn: () => unknown): void }) {
  return { a: await echoServer(tt, 'A'), b: await echoServer(tt, 'B') };
}

const config = (port: number, upstream: number, extraEdges: object[] = []) => ({
  workers: 2,
  backends: [{ id: 'bkd', type: 'static_address', address: `127.0.0.1:${upstream}` }],
  edges: [{ id: 'edgtcp_main', type: 'tcp', hostports: [`127.0.0.1:${port}`], backend: { backend_id: 'bkd' } }, ...extraEdges],
});

t.test('reload swaps the generation without dropping an open connection; a bad config is refused', async (t) => {
  const { a, b } = await twoUpstreams(t);
  const port = await freePort();
  const daemon = await startDaemon(t, config(port, a.port));
  const open = await connectTcp(port);
  t.equal(await readUntil(open, '\n'), 'A\n');

  daemon.writeConfig(config(port, b.port));
  daemon.proc.kill('SIGHUP');
  await daemon.waitForLog((l) => l.msg === 'config reloaded' && l.generation === 2);
  const fresh = await connectTcp(port);
  t.equal(await readUntil(fresh, '\n'), 'B\n', 'new connections use the new generation');
  open.write('old one\n');
  t.match(await readUntil(open, 'old one\n'), 'old one', 'the connection opened before the reload still flows (and still goes to A)');

  daemon.writeConfig({ ...config(port, b.port), edges: [{ id: 'edgtcp_main', type: 'tcp', hostports: ['127.0.0.1:99999'], backend: { backend_id: 'missing' } }] });
  daemon.proc.kill('SIGHUP');
  const refused = await daemon.waitForLog((l) => l.msg === 'config reload refused; still serving the previous generation');
  const problems = (refused.problems as string[]).join('\n');
  t.match(problems, 'edges[0].hostports', 'the bad field is named');
  t.match(problems, 'edges[0].backend.backend_id', 'every problem is reported');
  const still = await connectTcp(port);
  t.equal(await readUntil(still, '\n'), 'B\n', 'the previous generation keeps serving');

  // What a reload sees while an editor has truncated the file: once taken as "no edges", it closed every listener.
  writeFileSync(daemon.configPath, '\n');
  daemon.proc.kill('SIGHUP');
  const empty = await daemon.waitForLog((l) => l.msg === 'config reload refused; still serving the previous generation' && String(l.problems).includes('empty'));
  t.match(String(empty.problems), 'the config file is empty', 'an empty file is refused, not served as a config with no edges');
  const afterEmpty = await connectTcp(port);
  t.equal(await readUntil(afterEmpty, '\n'), 'B\n', 'the listener is still open');
  afterEmpty.destroy();

  // A changed file reloads by itself, and a new listener opens.
  const port2 = await freePort();
  daemon.writeConfig(config(port, a.port, [{ id: 'edgtcp_new', type: 'tcp', hostports: [`127.0.0.1:${port2}`], backend: { backend_id: 'bkd' } }]));
  await daemon.waitForLog((l) => l.msg === 'config reloaded' && l.generation === 3);
  const added = await connectTcp(port2);
  t.equal(await readUntil(added, '\n'), 'A\n', 'the edge added by the file change serves');
  for (const s of [open, fresh, still, added]) s.destroy();
  t.match(await daemon.metrics(), /edgeplane_config_reloads_total\{result="failed"\} [23]\n/, 'the bad and the empty file (the watch may see the empty one too)');
});

t.test('connections accepted while a reload is being published are served, none dropped', async (t) => {
  // Workers install generation N+1 before the acceptor switches to it: connections accepted in
  // between carry N and must still find it in the worker.
  const { a, b } = await twoUpstreams(t);
  const port = await freePort();
  const daemon = await startDaemon(t, config(port, a.port));
  let stop = false;
  let served = 0;
  const failures: string[] = [];
  const loop = async (): Promise<void> => {
    while (!stop) {
      let socket: net.Socket | undefined;
      try {
        socket = await connectTcp(port);
        const greeting = await readUntil(socket, '\n', 5000);
        if (greeting !== 'A\n' && greeting !== 'B\n') failures.push(`unexpected greeting ${JSON.stringify(greeting)}`);
        else served++;
      } catch (err) {
        failures.push((err as Error).message);
      } finally {
        socket?.destroy();
      }
    }
  };
  const clients = Array.from({ length: 8 }, loop);
  const reloads = (): number => daemon.logs.filter((l) => l.msg === 'config reloaded').length;
  for (let i = 1; i <= 10; i++) {
    daemon.writeConfig(config(port, i % 2 === 1 ? b.port : a.port));
    daemon.proc.kill('SIGHUP');
    await daemon.waitForLog(() => reloads() >= i);
  }
  stop = true;
  await Promise.all(clients);
  t.ok(served > 50, `connections kept flowing through 10 reloads (${served} served)`);
  t.same(failures, [], 'no connection was closed without its greeting');
});

t.test('SIGTERM drains: no new connections, open ones finish, then the process exits 0', async (t) => {
  const { a } = await twoUpstreams(t);
  const port = await freePort();
  const daemon = await startDaemon(t, { ...config(port, a.port), drain_timeout: 20 });
  const open = await connectTcp(port);
  await readUntil(open, 'A\n');
  daemon.proc.kill('SIGTERM');
  await daemon.waitForLog((l) => l.msg === 'draining');
  const refused = await new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    s.on('connect', () => resolve('connected'));
  });
  t.equal(refused, 'ECONNREFUSED', `the listener is closed while draining (${refused})`);
  open.write('during drain\n');
  t.match(await readUntil(open, 'during drain\n'), 'during drain', 'the open connection still works while draining');
  t.equal(daemon.proc.exitCode, null, 'still running while a connection is open');
  const rest = readAll(open);
  open.end();
  await rest;
  t.equal(await daemon.exited, 0, 'exits 0 once drained');
});

t.test('edgeplane check reports every problem with its path and exits 1; a good file exits 0', async (t) => {
  const dir = tempDir(t);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, [
    'edges:',
    '  - id: edgtcp_x',
    '    type: tcp',
    '    hostports: [ "127.0.0.1:70000" ]',
    '    backend: { backend_id: nope }',
    '  - id: edgtls_y',
    '    type: tls',
    '    hostports: [ "a.example.test:8443" ]',
    '    tls_termination: { terminate_at: upstream, min_version: "1.3" }',
    'ip_policies:',
    '  - { id: ipp, rules: [ { cidr: 10.0.0.1/8, action: allow } ] }',
  ].join('\n'));
  const res = await run(process.execPath, [CLI, 'check', '--config', bad]);
  t.equal(res.code, 1);
  for (const path of ['edges[0].hostports', 'edges[0].backend.backend_id', 'edges[1].tls_termination.min_version', 'ip_policies[0].rules[0].cidr']) {
    t.match(res.stderr, path, `names ${path}`);
  }
  t.match(res.stderr, '10.0.0.0/8', 'suggests the lowest address of the range');
  const good = join(dir, 'good.yaml');
  const port = await freePort();
  writeFileSync(good, JSON.stringify(config(port, 1)));
  const ok = await run(process.execPath, [CLI, 'check', '--config', good]);
  t.equal(ok.code, 0, ok.stderr);
  const serve = await run(process.execPath, [CLI, 'serve', '--config', bad]);
  t.equal(serve.code, 1, 'serve refuses the bad file too');
  t.match(serve.stderr, 'edges[0].backend.backend_id');
});
