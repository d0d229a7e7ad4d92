// Automatic certificates against a real ACME server (pebble): a daemon runs in this process with an
// AcmeManager wired to it the way the CLI wires it (challenges through the shared store, certificates
// installed as a new generation). Issue, serve (the chain a verifying client sees ends in pebble's
// root), renew without dropping an open connection, a restart that reuses the kept certificate, and a
// name the CA cannot validate reporting its provisioning job.
import t from 'tap';
import tls from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { existsSync, statSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigObject } from '../../core/config/load.js';
import { AcmeManager, acmeChallengeKey, encodeKeyAuthorization, ACME_CHALLENGE_TTL_MS, type AcmeHost } from '../../core/acme/manager.js';
import type { Daemon as DaemonType } from '../../core/daemon.js';
import { startPebble, type Pebble } from '../helpers/pebble.js';
import { tempDir } from '../helpers/daemon.js';
import { freePort, readUntil, run } from '../helpers/net.js';

const APP = 'app.example.test';
const BAD = 'bad.example.test';

/** AcmeHost over an in-process Daemon: what the daemon's own wiring does. */
function hostFor(daemon: DaemonType, stateDir: string, installs: string[]): AcmeHost {
  return {
    current: () => daemon.current,
    stateDir: () => stateDir,
    setChallenge: (token, keyAuthorization) => daemon.setSharedValue(acmeChallengeKey(token), keyAuthorization === null ? null : encodeKeyAuthorization(keyAuthorization), ACME_CHALLENGE_TTL_MS),
    installCertificates: async (managed) => {
      await daemon.installManagedCertificates(managed);
      installs.push(managed.get(APP)?.certPem ?? '');
    },
  };
}

interface Peer { serial: string; leaf: X509Certificate; socket: tls.TLSSocket }

/** A verifying TLS client: SNI `name`, trusting only `root`. Rejects when the handshake or the chain fails. */
function connectVerified(port: number, name: string, root: string): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: name, ca: root, ALPNProtocols: ['http/1.1'] }, () => {
      const leaf = socket.getPeerX509Certificate()!; // read now: later the socket may no longer hold it
      resolve({ serial: leaf.serialNumber, leaf, socket });
    });
    socket.once('error', reject);
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try { const v = await probe(); if (v !== undefined) return v; } catch (err) { last = err; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${(last as Error | undefined)?.message ?? 'no result'}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function get(socket: tls.TLSSocket): Promise<string> {
  socket.write(`GET / HTTP/1.1\r\nHost: ${APP}\r\n\r\n`);
  return readUntil(socket, 'hello from the edge');
}

t.test('ACME against pebble: issue, serve, renew, restart, failure', async (t) => {
  const httpsPort = await freePort();
  const plainPort = await freePort();
  const pebble: Pebble = await startPebble(t, { httpPort: plainPort });
  await pebble.addA(BAD, '127.0.0.2'); // nothing listens there: the CA cannot reach our HTTP-01 answer
  const dir = tempDir(t, 'edgeplane-acme-');
  const caFile = join(dir, 'directory-ca.pem');
  writeFileSync(caFile, pebble.tlsCertPem);
  const stateDir = join(dir, 'state');
  const loaded = loadConfigObject({
    workers: 2,
    listen_address: '127.0.0.1',
    drain_timeout: 1,
    acme: { directory_url: pebble.directoryUrl, directory_ca: { file: caFile }, email: 'ops@example.test' },
    reserved_domains: [
      { domain: APP, certificate_management_policy: { authority: 'letsencrypt' } },
      { domain: `*.example.test`, certificate_management_policy: { authority: 'letsencrypt', private_key_type: 'rsa' } },
    ],
    backends: [{ id: 'bk_hello', type: 'http_response', status_code: 200, body: 'hello from the edge' }],
    edges: [{
      id: 'edghts_app', type: 'https', hostports: [`${APP}:${httpsPort}`, `${BAD}:${httpsPort}`],
      routes: [{ id: 'rt_all', match_type: 'path_prefix', match: '/', backend: { backend_id: 'bk_hello' } }],
    }],
    http: { plain_listen: `127.0.0.1:${plainPort}`, plain_mode: 'redirect' },
  }, { baseDir: dir, sourceName: 'acme test' });
  const { Daemon } = await import('../../core/daemon.js');
  const daemon = await Daemon.start({ loaded, configPath: null });
  t.teardown(() => daemon.shutdown('test end'));

  let skewMs = 0;
  const installs: string[] = [];
  const manager = new AcmeManager(hostFor(daemon, stateDir, installs), { now: () => Date.now() + skewMs, retryDelaysMs: [10 * 60_000] });
  t.teardown(() => manager.close());

  await t.rejects(connectVerified(httpsPort, BAD, pebble.tlsCertPem), 'before issuance a managed name has no certificate: the handshake fails');
  manager.onConfig();

  const root = await pebble.management('/roots/0');
  writeFileSync(join(dir, 'root.pem'), root);
  const first = await waitFor('the issued certificate', () => connectVerified(httpsPort, APP, root));
  t.test('issued certificate is served and verifies to pebble\'s root', async (t) => {
    const leaf = first.leaf;
    t.ok(leaf.checkHost(APP), 'the leaf names app.example.test');
    t.match(leaf.publicKey.asymmetricKeyType, 'ec', 'ecdsa by default');
    t.equal(first.socket.authorized, true, 'the chain verifies against pebble\'s root');
    const status = manager.status(APP)!;
    t.ok(status.renews_at !== null && Date.parse(status.renews_at) < Date.parse(leaf.validTo), 'renews_at is before expiry');
    t.ok(Date.parse(status.renews_at!) > Date.now(), 'and in the future');
    t.equal(status.provisioning_job, null, 'no job left over');
    t.equal(await get(first.socket), await get(first.socket), 'requests are served over it');
    // openssl as a second, independent client
    const out = await run('openssl', ['s_client', '-connect', `127.0.0.1:${httpsPort}`, '-servername', APP, '-CAfile', join(dir, 'root.pem'), '-verify_return_error', '-brief'],
      { input: 'Q\n', timeoutMs: 15_000 }).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }));
    t.equal(out.code, 0, `openssl verifies the chain: ${out.stderr.slice(0, 300)}`);
    t.match(out.stderr, /Verification: OK/);
  });
  t.test('state directory holds the account key and certificate, private', async (t) => {
    const acmeDir = join(stateDir, 'acme');
    t.equal(statSync(acmeDir).mode & 0o777, 0o700);
    const files = readdirSync(acmeDir);
    t.ok(files.some((f) => f.startsWith('account-')), 'account key kept');
    for (const f of files) t.equal(statSync(join(acmeDir, f)).mode & 0o777, 0o600, `${f} is 0600`);
  });

  t.test('a name the CA cannot validate reports its provisioning job', async (t) => {
    const status = await waitFor('the failed job', async () => {
      const s = manager.status('*.example.test');
      return s?.provisioning_job?.error_code != null ? s : undefined;
    });
    t.equal(status.renews_at, null, 'no certificate, no renewal');
    t.equal(status.provisioning_job!.error_code, 'DNS_ERROR', 'a validation failure is for the user to fix');
    t.match(status.provisioning_job!.msg, BAD);
    t.ok(Date.parse(status.provisioning_job!.retries_at!) > Date.now(), 'retries_at is in the future');
    t.ok(Date.parse(status.provisioning_job!.started_at) <= Date.now(), 'started_at is set');
    await t.rejects(connectVerified(httpsPort, BAD, root), 'still no certificate for it');
  });

  t.test('renewal swaps the certificate without dropping an open connection', async (t) => {
    const renewsAt = Date.parse(manager.status(APP)!.renews_at!);
    const before = installs.length;
    skewMs = renewsAt - Date.now() + 1000; // the manager's clock reaches renewal time
    manager.onConfig();
    const second = await waitFor('a renewed certificate', async () => {
      if (installs.length === before) return undefined;
      const peer = await connectVerified(httpsPort, APP, root);
      if (peer.serial !== first.serial) return peer;
      peer.socket.destroy();
      return undefined;
    });
    t.not(second.serial, first.serial, 'a new serial is served to new connections');
    t.equal(second.socket.authorized, true, 'and it verifies');
    t.match(await get(first.socket), /200 OK/, 'the keep-alive connection opened before the renewal still serves');
    t.ok(Date.parse(manager.status(APP)!.renews_at!) > renewsAt, 'renews_at moved on');
    second.socket.destroy();
  });

  t.test('a restart reuses the kept certificate without a new order', async (t) => {
    const servedPem = installs[installs.length - 1]!;
    const seen: string[] = [];
    const again = new AcmeManager({ ...hostFor(daemon, stateDir, seen), setChallenge: () => { throw new Error('no order expected'); } }, { now: () => Date.now() + skewMs, retryDelaysMs: [10 * 60_000] });
    t.teardown(() => again.close());
    await manager.close();
    again.onConfig();
    await waitFor('the kept certificate installed', async () => (seen.length > 0 ? true : undefined), 10_000);
    t.equal(seen[0], servedPem, 'the same certificate, read back from the state directory');
    t.ok(again.status(APP)!.renews_at !== null);
    t.ok(existsSync(join(stateDir, 'acme')));
  });

  t.teardown(() => { first.socket.destroy(); });
});
