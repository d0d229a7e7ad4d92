// Runs pebble (Let's Encrypt's test ACME server) and pebble-challtestsrv (its fake DNS) for a test, on
// free loopback ports, and stops both in the test's teardown. Pebble serves its directory over HTTPS
// with a certificate made here (trusted through acme.directory_ca) and validates HTTP-01 on `httpPort`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, run } from './net.js';

interface Teardown { teardown(fn: () => unknown): void }

export interface Pebble {
  directoryUrl: string;
  /** The PEM pebble's own HTTPS (directory, management) is served with. */
  tlsCertPem: string;
  tlsCertFile: string;
  /** GET on the management endpoint (e.g. /roots/0: the root every issued chain ends in). */
  management(path: string): Promise<string>;
  /** Points a name at another address in the fake DNS (e.g. one nothing listens on, so validation fails). */
  addA(host: string, address: string): Promise<void>;
  logs(): string;
}

function spawnLogged(cmd: string, args: string[], env: NodeJS.ProcessEnv, out: string[]): ChildProcess {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d: Buffer) => { out.push(d.toString()); if (out.length > 2000) out.splice(0, 1000); };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  return proc;
}

function stop(t: Teardown, proc: ChildProcess): void {
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGKILL'); await exited; }
  });
}

/** One request (https trusting `ca`, or plain http for challtestsrv's management API). */
function get(url: string, ca: string, method = 'GET', body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? https : http)
      .request(url, { method, ca, timeout: 5000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.end(body);
  });
}

export async function startPebble(t: Teardown, opts: { httpPort: number }): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-pebble-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const certFile = join(dir, 'pebble.crt');
  const keyFile = join(dir, 'pebble.key');
  const made = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=pebble test directory', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile]);
  if (made.code !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  const [acmePort, mgmtPort, dnsPort, challMgmtPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const configFile = join(dir, 'pebble.json');
  writeFileSync(configFile, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: certFile,
      privateKey: keyFile,
      httpPort: opts.httpPort,
      tlsPort: await freePort(), // unused: only http-01 is answered
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
    },
  }));
  const out: string[] = [];
  // Every name resolves to 127.0.0.1 (IPv4 only: the edge's plain listener is on 127.0.0.1).
  const dns = spawnLogged('pebble-challtestsrv', ['-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dns01', `127.0.0.1:${dnsPort}`,
    '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${challMgmtPort}`], {}, out);
  stop(t, dns);
  const pebble = spawnLogged('pebble', ['-config', configFile, '-dnsserver', `127.0.0.1:${dnsPort}`],
    { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' }, out);
  stop(t, pebble);
  const tlsCertPem = readFileSync(certFile, 'utf8');
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await get(directoryUrl, tlsCertPem).then((r) => r.status === 200, () => false)
      && await get(`http://127.0.0.1:${challMgmtPort}/`, '').then(() => true, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`pebble did not start:\n${out.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    directoryUrl,
    tlsCertPem,
    tlsCertFile: certFile,
    async management(path) {
      const r = await get(`https://127.0.0.1:${mgmtPort}${path}`, tlsCertPem);
      if (r.status !== 200) throw new Error(`pebble management ${path}: ${r.status}`);
      return r.text;
    },
    async addA(host, address) {
      const r = await get(`http://127.0.0.1:${challMgmtPort}/add-a`, '', 'POST', JSON.stringify({ host, addresses: [address] }));
      if (r.status !== 200) throw new Error(`challtestsrv add-a: ${r.status} ${r.text}`);
    },
    logs: () => out.join(''),
  };
}
