// webhook_verification end to end: a real daemon with one route per provider (58), real HTTPS
// requests signed by each provider's test signer (an official SDK where one signs, else the spec),
// and an origin that reports what reached it. For every provider: a correctly signed request reaches
// the upstream with its body unchanged; a tampered body, a wrong secret, a missing signature and (where
// timestamps are signed) a stale timestamp each get 403 ERR_NGROK_3204 and never reach the upstream.
// SNS certificates come from a local HTTPS server through webhooks.sns_certificate_fetch_origin.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { makePki } from '../helpers/pki.js';
import { startDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { exampleTestCertificates, httpsRequest, startOrigin, type ClientResult } from '../helpers/http.js';
import { ALL_SIGNERS } from '../helpers/webhooks/signers.js';
import { tamperLastByte, withoutHeader, type SignedWebhook, type WebhookSigner } from '../helpers/webhooks/types.js';
import { startSnsCertServer } from '../helpers/webhooks/sns-cert-server.js';
import { PROVIDERS } from '../../workers/http/webhooks/providers/index.js';

const pki = makePki();
t.teardown(() => pki.cleanup());
const CA = pki.read('ca.crt');
const HOST = 'hooks.example.test';
const port = await freePort();
const origin = await startOrigin(t);
const sns = await startSnsCertServer();
t.teardown(() => sns.close());

const pathOf = (signer: WebhookSigner): string => `/hooks/${signer.provider}`;
const routes = ALL_SIGNERS.map((signer, i) => ({
  id: `rt_${i}`, match_type: 'exact_path', match: pathOf(signer), backend: { backend_id: 'bkd_origin' },
  webhook_verification: signer.configSecret === null ? { provider: signer.provider } : { provider: signer.provider, secret: signer.configSecret },
}));
const daemon = await startDaemon(t, {
  workers: 2,
  listen_address: '127.0.0.1',
  ...exampleTestCertificates(pki),
  webhooks: { sns_certificate_fetch_origin: sns.origin, sns_certificate_ca: sns.ca },
  backends: [{ id: 'bkd_origin', type: 'static_address', address: origin.address }],
  edges: [{ id: 'edghts_hooks', type: 'https', hostports: [`${HOST}:${port}`], routes }],
});

async function send(signed: SignedWebhook): Promise<ClientResult> {
  const headers: Record<string, string | string[]> = { ...signed.headers };
  // the client sends the Host the provider signed (with the port, as a provider would)
  return httpsRequest({ port, host: HOST, ca: CA, method: signed.method, path: signed.pathAndQuery, headers: { ...headers, 'content-length': String(signed.body.length) }, body: signed.body });
}

const refusedAsWebhook = (res: ClientResult): boolean => res.status === 403 && res.headers['ngrok-error-code'] === 'ERR_NGROK_3204';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

t.test('every provider in the registry has a signer here (the README table lists the same set)', async (t) => {
  t.same(ALL_SIGNERS.map((s) => s.provider).sort(), PROVIDERS.map((p) => p.id).sort());
  t.equal(PROVIDERS.length, 58);
});

for (const signer of ALL_SIGNERS) {
  const label = `${signer.provider}${signer.confirmed ? '' : ' (not confirmed in the spec)'} [${signer.oracle}]`;
  t.test(label, async (t) => {
    const url = `https://${HOST}:${port}${pathOf(signer)}`;
    const now = Date.now();
    const before = origin.requestsTo(pathOf(signer)).length;

    const signed = await signer.sign({ url, nowMs: now, secret: signer.signingSecret });
    const ok = await send(signed);
    t.equal(ok.status, 200, 'signed as the provider signs: admitted');
    if (ok.status === 200) t.equal(JSON.parse(ok.body.toString()).bodySha256, sha256(signed.body), 'the upstream got the body unchanged');

    const cases: Array<[string, SignedWebhook]> = [
      ['tampered body', (signer.tamper ?? tamperLastByte)(signed)],
      ['wrong secret', await signer.sign({ url, nowMs: now, secret: signer.wrongSecret })],
      ['missing signature', signer.unsign !== undefined ? signer.unsign(signed) : withoutHeader(signed, signer.signatureHeader!)],
    ];
    if (signer.toleranceSeconds !== null) {
      cases.push(['stale timestamp', await signer.sign({ url, nowMs: now - (signer.toleranceSeconds + 60) * 1000, secret: signer.signingSecret })]);
    }
    for (const [what, request] of cases) {
      const res = await send(request);
      t.ok(refusedAsWebhook(res), `${what}: 403 ERR_NGROK_3204 (got ${res.status} ${String(res.headers['ngrok-error-code'] ?? '')})`);
    }
    t.equal(origin.requestsTo(pathOf(signer)).length - before, 1, 'only the admitted request reached the upstream');
  });
}

t.test('a 1 MB body is verified (in the pool) and forwarded unchanged; a body over the limit gets 413', async (t) => {
  const github = ALL_SIGNERS.find((s) => s.provider === 'github')!;
  const url = `https://${HOST}:${port}${pathOf(github)}`;
  const big = Buffer.alloc(1_000_000, 'a');
  big.write('{"zen":"', 0);
  const signed = await github.sign({ url, nowMs: Date.now(), secret: github.signingSecret, body: big });
  const res = await send(signed);
  t.equal(res.status, 200);
  t.equal(JSON.parse(res.body.toString()).bodySha256, sha256(big), 'the whole megabyte arrived unchanged');
  t.ok(refusedAsWebhook(await send(tamperLastByte(signed))), 'a tampered megabyte is refused');

  const huge = await github.sign({ url, nowMs: Date.now(), secret: github.signingSecret, body: Buffer.alloc(1024 * 1024 + 1, 'b') });
  const tooLarge = await send(huge);
  t.equal(tooLarge.status, 413, 'over the 1 MiB verification limit');
  t.equal(tooLarge.headers['ngrok-error-code'], 'ERR_NGROK_3204');
});

t.test('curl with Expect: 100-continue gets its go-ahead from the edge (no stall before the body)', async (t) => {
  const github = ALL_SIGNERS.find((s) => s.provider === 'github')!;
  const url = `https://${HOST}:${port}${pathOf(github)}`;
  const signed = await github.sign({ url, nowMs: Date.now(), secret: github.signingSecret, body: Buffer.alloc(64 * 1024, 'c') });
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-webhook-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'body');
  writeFileSync(file, signed.body);
  const headerArgs = Object.entries(signed.headers).flatMap(([k, v]) => ['-H', `${k}: ${String(v)}`]);
  // curl waits --expect100-timeout for the 100 before sending the body; -m is shorter, so without the
  // edge's 100 Continue the request times out instead of succeeding
  for (const version of ['--http1.1', '--http2']) {
    // async: the origin answering curl lives in this process
    const out = await promisify(execFile)('curl', ['-sS', version, '-m', '10', '--expect100-timeout', '30', '--cacert', pki.path('ca.crt'),
      '--resolve', `${HOST}:${port}:127.0.0.1`, '-H', 'Expect: 100-continue', ...headerArgs,
      '--data-binary', `@${file}`, '-o', '/dev/null', '-w', '%{http_code}', url], { encoding: 'utf8' }).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? String(err) }));
    t.equal(out.stdout, '200', `${version}: curl answered 200 (stderr: ${out.stderr.trim()})`);
  }
});

t.test('decisions appear in http_request_complete.v0 as webhook_verification.decision; no secret in logs or events', async (t) => {
  await daemon.waitForEvents(ALL_SIGNERS.length * 4);
  const events = daemon.events().filter((e) => e.event_type === 'http_request_complete.v0' && String(e.object?.http?.request?.url?.path ?? '').startsWith('/hooks/'));
  const decisions = new Set(events.map((e) => e.object.webhook_verification?.decision));
  t.ok(decisions.has('allow') && decisions.has('block'), `both decisions recorded (${[...decisions].join(', ')})`);
  const text = readFileSync(daemon.eventsPath, 'utf8') + daemon.stderr() + readFileSync(daemon.configPath, 'utf8').replace(/secret:.*$/gm, '');
  for (const signer of ALL_SIGNERS) {
    if (signer.configSecret === null || signer.configSecret.length < 8) continue;
    const at = text.indexOf(signer.configSecret);
    t.notOk(at >= 0, `${signer.provider}'s secret is not in the logs or events${at >= 0 ? `: …${text.slice(Math.max(0, at - 300), at + 40)}…` : ''}`);
  }
  const config = await fetch(`http://${daemon.admin}/config`).then((r) => r.text());
  const leaked = ALL_SIGNERS.filter((s) => s.configSecret !== null && s.configSecret.length >= 8 && config.includes(s.configSecret)).map((s) => s.provider);
  t.same(leaked, [], '/config shows no webhook secret');
});
