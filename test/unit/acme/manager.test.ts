// The manager against directories that fail (no ACME server listening; one that answers garbage): the
// job is reported with INTERNAL_ERROR and a retry time, nothing is installed, and close() stops it.
// Issuance itself is tested against pebble in test/e2e/acme.test.ts.
import t from 'tap';
import http from 'node:http';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigObject } from '../../../core/config/load.js';
import { AcmeManager, type AcmeHost } from '../../../core/acme/manager.js';
import { freePort } from '../../helpers/net.js';

function configFor(directoryUrl: string) {
  return loadConfigObject({
    http: { plain_listen: '127.0.0.1:8080' },
    acme: { directory_url: directoryUrl },
    reserved_domains: [{ domain: 'app.example.test', certificate_management_policy: { authority: 'letsencrypt' } }, { domain: 'other.example.test' }],
    backends: [{ id: 'bkd_ok', type: 'http_response', status_code: 200 }],
    edges: [{ id: 'edghts_app', type: 'https', hostports: ['app.example.test:8443'], routes: [{ match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_ok' } }] }],
  }, { baseDir: process.cwd(), env: {} });
}

function hostOf(directoryUrl: string, stateDir: string | null, installs: unknown[]): AcmeHost {
  const loaded = configFor(directoryUrl);
  return { current: () => loaded, stateDir: () => stateDir, setChallenge: () => {}, installCertificates: async (m) => { installs.push(m); } };
}

async function failedStatus(manager: AcmeManager) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = manager.status('app.example.test');
    if (s?.provisioning_job?.error_code != null) return s;
    if (Date.now() > deadline) throw new Error('no failure reported');
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('an unreachable directory is an INTERNAL_ERROR with a retry time', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-acme-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const installs: unknown[] = [];
  const manager = new AcmeManager(hostOf(`https://127.0.0.1:${await freePort()}/dir`, dir, installs), { retryDelaysMs: [60_000] });
  t.teardown(() => manager.close());
  t.equal(manager.status('other.example.test'), null, 'a domain without a policy has no status');
  manager.onConfig();
  const s = await failedStatus(manager);
  t.equal(s.renews_at, null);
  t.equal(s.provisioning_job!.error_code, 'INTERNAL_ERROR', 'the CA or network: temporary');
  t.match(s.provisioning_job!.msg, /cannot be reached/);
  const retries = Date.parse(s.provisioning_job!.retries_at!) - Date.parse(s.provisioning_job!.started_at);
  t.ok(retries >= 60_000 && retries <= 70_000, `retries a minute after the failure (${retries} ms after the start)`);
  t.same(installs, [], 'nothing to install');
  t.equal(statSync(join(dir, 'acme')).mode & 0o777, 0o700, 'the account key was kept in a private directory');
  await manager.close();
});

t.test('a directory that is not ACME fails the same way, and a config without the domain drops its status', async (t) => {
  const server = http.createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>not acme</html>'); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  // https is required by the schema; a plain server behind an https URL makes the TLS handshake fail
  const port = (server.address() as { port: number }).port;
  const installs: unknown[] = [];
  const host = hostOf(`https://127.0.0.1:${port}/dir`, null, installs);
  let loaded = host.current();
  const manager = new AcmeManager({ ...host, current: () => loaded });
  t.teardown(() => manager.close());
  manager.onConfig();
  const s = await failedStatus(manager);
  t.equal(s.provisioning_job!.error_code, 'INTERNAL_ERROR');
  t.ok(s.provisioning_job!.msg.length > 0, 'with a message');
  const raw = structuredClone(loaded.raw) as { reserved_domains: { certificate_management_policy?: unknown }[]; edges: unknown[] };
  raw.reserved_domains[0]!.certificate_management_policy = null;
  raw.edges = [];
  loaded = loadConfigObject(raw, { baseDir: process.cwd(), env: {} });
  manager.onConfig();
  t.equal(manager.status('app.example.test'), null, 'policy removed: no status');
});
