// TLS edges end to end: passthrough and termination on one port, SNI routing with wildcards,
// no-SNI and fragmented hellos, mutual TLS — with openssl, curl and node's tls as clients.
import t from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import http from 'node:http';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { makePki, makeLeaf } from '../helpers/pki.js';
import { startDaemon } from '../helpers/daemon.js';
import { echoServer, tlsEchoServer, freePort, readUntil, readAll, run } from '../helpers/net.js';

const cn = (pem: string): string => /CN=([^\n]+)/.exec(new X509Certificate(pem).subject)![1]!;

const pki = makePki();
t.teardown(() => pki.cleanup());
makeLeaf(pki, 'edge', { dns: ['*.example.test', '*.deep.example.test', 'exact.deep.example.test'], signer: 'int', cn: 'edgeplane test edge' });
writeFileSync(pki.path('edge-bundle.crt'), pki.read('edge.crt') + pki.read('int.crt')); // leaf first, then its issuer

async function setup(tt: { teardown(fn: () => unknown): void }, env?: NodeJS.ProcessEnv) {
  const port = await freePort();
  const upstreamTls = await tlsEchoServer(tt, 'PASSTHROUGH', pki.read('upstream.crt'), pki.read('upstream.key'));
  const echo = async (name: string) => (await echoServer(tt, name)).port;
  const httpUpstream = http.createServer((req, res) => res.end(`http upstream saw ${req.method} ${req.url}\n`));
  await new Promise<void>((r) => httpUpstream.listen(0, '127.0.0.1', r));
  tt.teardown(() => { httpUpstream.closeAllConnections(); httpUpstream.close(); });
  const ports = { term: await echo('TERM'), wild: await echo('WILD'), deep: await echo('DEEP'), exact: await echo('EXACT'), mtls: await echo('MTLS') };
  const backend = (id: string, p: number) => ({ id, type: 'static_address', address: `127.0.0.1:${p}` });
  const terminating = (id: string, host: string, backendId: string, extra: object = {}) => ({
    id, type: 'tls', hostports: [`${host}:${port}`], backend: { backend_id: backendId },
    tls_termination: { terminate_at: 'edge', min_version: '1.2' }, ...extra,
  });
  const daemon = await startDaemon(tt, {
    workers: 2,
    listen_address: '127.0.0.1',
    tls_certificates: [{ id: 'cert_edge', certificate_pem: { file: pki.path('edge-bundle.crt') }, private_key_pem: { file: pki.path('edge.key') } }],
    certificate_authorities: [{ id: 'ca_clients', ca_pem: { file: pki.path('ca.crt') } }],
    reserved_domains: [{ domain: '*.example.test', certificate_id: 'cert_edge' }, { domain: '*.deep.example.test', certificate_id: 'cert_edge' }],
    backends: [
      backend('bkd_up', upstreamTls.port), backend('bkd_term', ports.term), backend('bkd_wild', ports.wild),
      backend('bkd_deep', ports.deep), backend('bkd_exact', ports.exact), backend('bkd_mtls', ports.mtls),
      { id: 'bkd_tls_up', type: 'static_address', address: `127.0.0.1:${upstreamTls.port}`, tls: { enabled: true } },
      { id: 'bkd_http', type: 'static_address', address: `127.0.0.1:${(httpUpstream.address() as net.AddressInfo).port}` },
    ],
    edges: [
      { id: 'edgtls_db', type: 'tls', hostports: [`db.example.test:${port}`], backend: { backend_id: 'bkd_up' }, tls_termination: { terminate_at: 'upstream' } },
      terminating('edgtls_term', 'term.example.test', 'bkd_term'),
      terminating('edgtls_wild', '*.example.test', 'bkd_wild'),
      terminating('edgtls_deep', '*.deep.example.test', 'bkd_deep'),
      terminating('edgtls_exact', 'exact.deep.example.test', 'bkd_exact'),
      terminating('edgtls_web', 'web.example.test', 'bkd_http'),
      terminating('edgtls_reencrypt', 'reencrypt.example.test', 'bkd_tls_up'),
      terminating('edgtls_mtls', 'mtls.example.test', 'bkd_mtls', { mutual_tls: { certificate_authority_ids: ['ca_clients'] } }),
    ],
  }, { env });
  return { port, daemon };
}

function tlsConnect(port: number, servername: string | undefined, extra: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ...extra }, () => resolve(socket));
    socket.once('error', reject);
  });
}

// workers: native accept loop + worker pool; net.Server: the same pool fed by net.Server accepts;
// degraded: no native addon, everything on the main thread.
const MODES = {
  workers: undefined,
  'workers, net.Server accept': { EDGEPLANE_DISABLE_NATIVE_ACCEPT: '1' },
  degraded: { EDGEPLANE_DISABLE_NATIVE: '1' },
} as const;
for (const [mode, env] of Object.entries(MODES)) {
  t.test(`TLS edges (${mode})`, async (t) => {
    const { port, daemon } = await setup(t, env);
    if (mode === 'degraded') t.ok(daemon.logs.some((l) => String(l.msg).includes('running degraded')), 'degraded mode is announced');

    t.test('passthrough: openssl sees the upstream certificate; termination on the same port: the edge certificate', async (t) => {
      const through = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'db.example.test'], { input: '' });
      t.match(through.stdout, `CN = ${cn(pki.read('upstream.crt'))}`, 'passthrough shows the upstream certificate');
      const terminated = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'term.example.test'], { input: '' });
      t.match(terminated.stdout, 'CN = edgeplane test edge', 'termination shows the edge certificate');
      t.notMatch(terminated.stdout, cn(pki.read('upstream.crt')));
    });

    t.test('passthrough carries the upstream stream untouched (node tls verifies the upstream chain)', async (t) => {
      const socket = await tlsConnect(port, 'db.example.test', { ca: pki.read('other-ca.crt'), rejectUnauthorized: true });
      t.equal(cn(socket.getPeerX509Certificate()!.toString()), cn(pki.read('upstream.crt')));
      await readUntil(socket, 'PASSTHROUGH\n');
      socket.write('ping through\n');
      await readUntil(socket, 'ping through\n');
      socket.destroy();
    });

    t.test('exact name beats wildcard; nested names match; the longest wildcard wins', async (t) => {
      const cases: Array<[string, string]> = [
        ['term.example.test', 'TERM'],
        ['other.example.test', 'WILD'],
        ['a.b.c.example.test', 'WILD'],
        ['x.deep.example.test', 'DEEP'],
        ['y.x.deep.example.test', 'DEEP'],
        ['exact.deep.example.test', 'EXACT'],
        ['TERM.Example.Test', 'TERM'],
      ];
      for (const [name, want] of cases) {
        const socket = await tlsConnect(port, name);
        const text = await readUntil(socket, '\n');
        t.equal(text, `${want}\n`, `${name} → ${want}`);
        socket.destroy();
      }
    });

    t.test('terminate at the edge, then TLS again to a static_address backend with tls.enabled', async (t) => {
      const socket = await tlsConnect(port, 'reencrypt.example.test');
      t.equal(cn(socket.getPeerX509Certificate()!.toString()), 'edgeplane test edge', 'the client sees the edge certificate');
      t.equal(await readUntil(socket, '\n'), 'PASSTHROUGH\n', 'the TLS upstream answers through the second TLS hop');
      socket.write('twice encrypted\n');
      await readUntil(socket, 'twice encrypted\n');
      socket.destroy();
    });

    t.test('curl over a terminating edge reaches the HTTP upstream and verifies the edge chain', async (t) => {
      const res = await run('curl', ['-sS', '--cacert', pki.path('ca.crt'), '--resolve', `web.example.test:${port}:127.0.0.1`, `https://web.example.test:${port}/hello`]);
      t.equal(res.code, 0, res.stderr);
      t.equal(res.stdout, 'http upstream saw GET /hello\n');
    });

    t.test('no SNI, unknown names and garbage are closed without a byte', async (t) => {
      const noSni = await new Promise<string>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }); // IP host: node sends no SNI
        socket.on('error', (err) => resolve(`error: ${err.message}`));
        socket.on('secureConnect', () => resolve('connected'));
      });
      t.match(noSni, /^error: /, 'a hello without SNI is refused');
      const unknown = await new Promise<string>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port, servername: 'nobody.elsewhere.test', rejectUnauthorized: false });
        socket.on('error', (err) => resolve(`error: ${err.message}`));
        socket.on('secureConnect', () => resolve('connected'));
      });
      t.match(unknown, /^error: /, 'an unknown name is refused');
      const garbage = net.connect(port, '127.0.0.1');
      garbage.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      t.equal(await readAll(garbage), '', 'plain HTTP on a TLS port is closed without an answer');
      const metrics = await daemon.metrics();
      t.match(metrics, /edgeplane_acceptor_refusals_total\{reason="no_sni"\} [1-9]/);
      t.match(metrics, /edgeplane_acceptor_refusals_total\{reason="not_tls"\} [1-9]/);
    });

    t.test('a ClientHello written one byte at a time still routes', async (t) => {
      const raw = await new Promise<net.Socket>((resolve) => { const s = net.connect(port, '127.0.0.1', () => resolve(s)); });
      let writes = 0;
      // A real TLS client whose every byte goes out in its own TCP segment.
      const dribble = new Duplex({
        write(chunk: Buffer, _enc, cb) {
          let i = 0;
          const next = (): void => {
            if (i >= chunk.length) { cb(); return; }
            raw.write(chunk.subarray(i, i + 1));
            writes++;
            i++;
            setTimeout(next, 0);
          };
          next();
        },
        read() {},
      });
      raw.on('data', (d) => dribble.push(d));
      raw.on('end', () => dribble.push(null));
      raw.setNoDelay(true);
      const socket = tls.connect({ socket: dribble, servername: 'term.example.test', rejectUnauthorized: false });
      await new Promise((r) => socket.once('secureConnect', r));
      t.ok(writes > 200, `the hello went out in ${writes} writes`);
      t.equal(await readUntil(socket, '\n'), 'TERM\n');
      socket.destroy();
      raw.destroy();
    });

    t.test('mutual TLS: no client certificate or an untrusted one fails the handshake; a trusted one passes', async (t) => {
      const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'mtls.example.test', '-CAfile', pki.path('ca.crt')];
      const without = await run('openssl', args, { input: 'hello\n', keepStdinOpenMs: 1000 });
      t.match(without.stderr, /alert certificate required|alert handshake failure/, `no certificate: the handshake ends with an alert (${without.stderr.trim().split('\n').pop()})`);
      t.notMatch(without.stdout, /^MTLS$/m, 'and the upstream is never reached');
      const rogue = await run('openssl', [...args, '-cert', pki.path('rogue-client.crt'), '-key', pki.path('rogue-client.key')], { input: 'hello\n', keepStdinOpenMs: 1000 });
      t.notMatch(rogue.stdout, /^MTLS$/m, 'untrusted certificate: the upstream is never reached');
      t.notMatch(rogue.stdout, /^hello$/m, 'and nothing is echoed');
      const good = await tlsConnect(port, 'mtls.example.test', { cert: pki.read('client.crt'), key: pki.read('client.key') });
      t.equal(await readUntil(good, '\n'), 'MTLS\n', 'a certificate from the configured CA gets through');
      good.destroy();
      const failures = (await daemon.metrics()).match(/edgeplane_edge_tls_handshake_failures_total\{edge="edgtls_mtls"\} (\d+)/);
      t.ok(failures !== null && Number(failures[1]) >= 2, 'handshake failures are counted per edge');
    });
  });
}
