// Automatic certificates against a real ACME server (pebble): a daemon runs in this process with an
// AcmeManager wired to it the way the CLI wires it (challenges through the shared store, certificates
// installed as a new generation). Issue, serve (the chain a verifying client sees ends in pebble's
// root), renew without dropping an open connection, a restart that reuses the kept certificate, and a
// name the CA cannot validate reporting its provisioning job.
import t from 'tap';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { statSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigObject } from '../../core/config/load.js';
import { AcmeManager, acmeChallengeKey, encodeKeyAuthorization, ACME_CHALLENGE_TTL_MS, type AcmeHost } from '../../core/acme/manager.js';
import type { Daemon as DaemonType } from '../../core/daemon.js';
import { startPebble, type Pebble } from '../helpers/pebble.js';
import { tempDir } from '../helpers/daemon.js';
import { freePort, readUntil, run } from '../helpers/net.js';

const APP = 'app.example.test';
const BAD = 'bad.example.test';
const RSA = 'rsa.example.test';

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
    admin: { listen: '127.0.0.1:0', state_dir: stateDir },
    acme: { directory_url: pebble.directoryUrl, directory_ca: { file: caFile }, email: 'ops@example.test' },
    reserved_domains: [
      { domain: APP, certificate_management_policy: { authority: 'letsencrypt' } },
      { domain: RSA, certificate_management_policy: { authority: 'letsencrypt', private_key_type: 'rsa' } },
      { domain: `*.example.test`, certificate_management_policy: { authority: 'letsencrypt', private_key_type: 'rsa' } },
    ],
    backends: [{ id: 'bk_hello', type: 'http_response', status_code: 200, body: 'hello from the edge' }],
    edges: [{
      id: 'edghts_app', type: 'https', hostports: [`${APP}:${httpsPort}`, `${BAD}:${httpsPort}`, `${RSA}:${httpsPort}`],
      routes: [{ id: 'rt_all', match_type: 'path_prefix', match: '/', backend: { backend_id: 'bk_hello' } }],
    }],
    http: { plain_listen: `127.0.0.1:${plainPort}`, plain_mode: 'redirect' },
  }, { baseDir: dir, sourceName: 'acme test' });
  const { Daemon } = await import('../../core/daemon.js');
  // The daemon's own manager (started because a reserved domain has a policy), with a clock the test moves.
  let skewMs = 0;
  const daemon = await Daemon.start({ loaded, configPath: null, acme: { now: () => Date.now() + skewMs, retryDelaysMs: [10 * 60_000] } });
  t.teardown(() => daemon.shutdown('test end'));
  await t.rejects(connectVerified(httpsPort, BAD, pebble.tlsCertPem), 'before issuance a managed name has no certificate: the handshake fails');
  const manager = await waitFor('the daemon to start its ACME manager', async () => daemon.acmeManager ?? undefined);

  const root = await pebble.management('/roots/0');
  writeFileSync(join(dir, 'root.pem'), root);
  const first = await waitFor('the issued certificate', () => connectVerified(httpsPort, APP, root));
  t.test('issued certificate is served and verifies to pebble\'s root', async (t) => {
    const leaf = first.leaf;
    t.ok(leaf.checkHost(APP), 'the leaf names app.example.test');
    t.equal(leaf.publicKey.asymmetricKeyType, 'ec', 'ecdsa by default');
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
  t.test('private_key_type: rsa gets an RSA certificate', async (t) => {
    const peer = await waitFor('the RSA certificate', () => connectVerified(httpsPort, RSA, root));
    t.equal(peer.leaf.publicKey.asymmetricKeyType, 'rsa', 'an RSA key');
    t.ok(peer.leaf.checkHost(RSA), 'for its name');
    t.not(peer.serial, first.serial, 'its own certificate');
    peer.socket.destroy();
  });

  t.test('state directory holds the account key and certificate, private', async (t) => {
    const acmeDir = join(stateDir, 'acme');
    t.equal(statSync(acmeDir).mode & 0o777, 0o700, 'the directory is 0700');
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
    skewMs = renewsAt - Date.now() + 1000; // the manager's clock reaches renewal time
    manager.onConfig();
    const second = await waitFor('a renewed certificate', async () => {
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

  t.test('a policy change orders a new certificate', async (t) => {
    const applied = await daemon.updateConfig((doc) => {
      const domains = doc.reserved_domains as { domain: string; certificate_management_policy: { private_key_type?: string } }[];
      domains.find((d) => d.domain === RSA)!.certificate_management_policy.private_key_type = 'ecdsa';
    }, 'acme test');
    t.equal(applied.ok, true, 'config applied (the daemon tells its manager)');
    const peer = await waitFor('an ECDSA certificate for the RSA name', async () => {
      const p = await connectVerified(httpsPort, RSA, root);
      if (p.leaf.publicKey.asymmetricKeyType === 'ec') return p;
      p.socket.destroy();
      return undefined;
    });
    t.ok(peer.leaf.checkHost(RSA), 'for its name');
    peer.socket.destroy();
  });

  t.test('a restart reuses the kept certificate without a new order', async (t) => {
    const served = await connectVerified(httpsPort, APP, root);
    const servedLeaf = served.leaf.toString();
    served.socket.destroy();
    const seen: string[] = [];
    const again = new AcmeManager(hostFor(daemon, stateDir, seen), { now: () => Date.now() + skewMs, retryDelaysMs: [10 * 60_000] });
    t.teardown(() => again.close());
    await manager.close();
    again.onConfig();
    t.ok(again.status(APP)!.renews_at !== null, 'renews_at is known at once: nothing was ordered');
    t.equal(again.status(APP)!.provisioning_job, null, 'no job for it');
    await waitFor('the kept certificate installed', async () => (seen.length > 0 ? true : undefined), 10_000);
    t.equal(new X509Certificate(seen[0]!).toString(), servedLeaf, 'the same certificate, read back from the state directory');
    const peer = await connectVerified(httpsPort, APP, root);
    t.equal(peer.leaf.toString(), servedLeaf, 'and it is what clients get');
    peer.socket.destroy();
  });

  t.teardown(() => { first.socket.destroy(); });
});
