// `edgeplane serve` with no --config: the embedded demo works on a fresh machine (README command).
import t from 'tap';
import { spawn } from 'node:child_process';
import { CLI } from '../helpers/daemon.js';
import { connectTcp, readUntil, run } from '../helpers/net.js';

t.test('the embedded default serves its demo edges and prints what to try', async (t) => {
  const proc = spawn(process.execPath, [CLI, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  t.teardown(() => { if (proc.exitCode === null) proc.kill('SIGKILL'); });
  let stderr = '';
  let stdout = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no hints printed:\n${stderr}`)), 20_000);
    proc.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (stderr.includes('Ctrl-C drains and stops')) { clearTimeout(timer); resolve(); }
    });
    proc.once('exit', () => reject(new Error(`exited early:\n${stderr}`)));
  });
  t.match(stderr, 'openssl s_client -connect 127.0.0.1:8443 -servername echo.localhost');

  const terminated = await run('openssl', ['s_client', '-connect', '127.0.0.1:8443', '-servername', 'echo.localhost', '-quiet'], { input: 'hello edge\n', keepStdinOpenMs: 1500 });
  t.match(terminated.stdout, 'hello edge', 'the echo upstream answers through the terminating edge');
  const through = await run('openssl', ['s_client', '-connect', '127.0.0.1:8443', '-servername', 'secure.localhost'], { input: '' });
  t.match(through.stdout, 'edgeplane demo upstream', 'passthrough shows the upstream certificate');
  const tcp = await connectTcp(9000);
  await readUntil(tcp, 'type a line');
  tcp.write('over tcp\n');
  await readUntil(tcp, 'over tcp\n');
  tcp.destroy();
  // The HTTPS demo edge, with the README's own curl commands (h2 by ALPN, gzip by the route's module).
  const app = await run('curl', ['-sk', '--http2', '--compressed', '-i', 'https://app.localhost:8443/hello', '--resolve', 'app.localhost:8443:127.0.0.1']);
  t.match(app.stdout, /^HTTP\/2 200/m, 'the https edge answers over HTTP/2');
  t.match(app.stdout, /content-encoding: (gzip|deflate)/i, 'the route compresses');
  t.match(app.stdout, '"path": "/hello"', 'the demo app saw the request');
  const status = await run('curl', ['-sk', 'https://app.localhost:8443/status', '--resolve', 'app.localhost:8443:127.0.0.1']);
  t.ok(status.stdout.length > 0, 'the /status route answers from the edge');
  const redirect = await run('curl', ['-si', 'http://app.localhost:8080/x?y=1', '--resolve', 'app.localhost:8080:127.0.0.1']);
  t.match(redirect.stdout, /^HTTP\/1\.1 308/m, 'cleartext HTTP is redirected');
  t.match(redirect.stdout, /location: https:\/\/app\.localhost:8443\/x\?y=1/i);
  const health = await fetch('http://127.0.0.1:4040/healthz');
  t.equal(health.status, 200);
  const config = await (await fetch('http://127.0.0.1:4040/config')).text();
  t.notMatch(config, 'PRIVATE KEY', 'the private key is redacted from /config');
  t.match(config, '[redacted]');
  // The tunnel group route: a 503 page until the hint's agent command brings an agent online.
  const offline = await run('curl', ['-sk', 'https://app.localhost:8443/agent/x', '--resolve', 'app.localhost:8443:127.0.0.1']);
  t.match(offline.stdout, 'no agent with label app=demo is online', 'failover page while no agent is online');
  const hint = stderr.split('\n').find((l) => l.includes(' agent --edge '));
  if (hint === undefined) throw new Error(`no agent hint in:\n${stderr}`);
  const args = hint.split('#')[0]!.trim().split(/\s+/).slice(2); // drop "node dist/core/cli.js"
  const agent = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => { if (agent.exitCode === null) agent.kill('SIGKILL'); });
  await new Promise<void>((resolve, reject) => {
    let agentLog = '';
    const timer = setTimeout(() => reject(new Error(`agent not online:\n${agentLog}`)), 15_000);
    agent.stderr.setEncoding('utf8').on('data', (d: string) => { agentLog += d; if (agentLog.includes('agent online')) { clearTimeout(timer); resolve(); } });
  });
  const online = await run('curl', ['-sk', 'https://app.localhost:8443/agent/x', '--resolve', 'app.localhost:8443:127.0.0.1']);
  t.match(online.stdout, '"path": "/agent/x"', 'the demo app answers through the agent');
  agent.kill('SIGTERM');
  proc.kill('SIGTERM');
  t.equal(await exited, 0);
  t.match(stdout, '"event_type":"tcp_connection_closed.v0"', 'events go to stdout by default');
  t.match(stdout, '"event_type":"http_request_complete.v0"', 'and so do HTTP request events');
});
