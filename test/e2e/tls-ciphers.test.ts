// Edges offer forward-secret AEAD suites only: openssl, asked for a CBC suite on TLS 1.2, is refused;
// GCM and ChaCha20 on TLS 1.2 and the TLS 1.3 suites connect (test/long/testssl-scan.ts is the full scan).
import t from 'tap';
import { startDaemon } from '../helpers/daemon.js';
import { makePki } from '../helpers/pki.js';
import { exampleTestCertificates } from '../helpers/http.js';
import { freePort, run } from '../helpers/net.js';

t.test('TLS edges refuse CBC suites and accept AEAD ones', async (t) => {
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const port = await freePort();
  await startDaemon(t, {
    workers: 1,
    ...exampleTestCertificates(pki),
    backends: [{ id: 'bkd_page', type: 'http_response', status_code: 200, body: 'ok' }],
    edges: [{ id: 'edghts_app', type: 'https', hostports: [`app.example.test:${port}`], routes: [{ match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_page' } }] }],
  });
  const handshake = (args: string[]) => run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'app.example.test', '-CAfile', pki.path('ca.crt'), ...args], { input: '' });
  for (const cipher of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-ECDSA-AES128-SHA256']) {
    const r = await handshake(['-tls1_2', '-cipher', cipher]);
    t.notMatch(r.stdout, /Cipher is ECDHE/, `${cipher} (CBC) is refused`);
  }
  for (const cipher of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
    const r = await handshake(['-tls1_2', '-cipher', cipher]);
    t.match(r.stdout, `Cipher is ${cipher}`, `${cipher} is accepted`);
  }
  for (const suite of ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']) {
    const r = await handshake(['-tls1_3', '-ciphersuites', suite]);
    t.match(r.stdout, `Cipher is ${suite}`, `TLS 1.3 ${suite} is accepted`);
  }
});
