// Builds the seed corpus (test/fuzz/corpus/<target>/) from real inputs: ClientHellos from the
// hello builder and captured from node's TLS client and `openssl s_client`; HTTP heads captured from
// node's http client and curl, plus hand-written edge cases; the example configs; the webhook test
// signers' signed requests; SAML responses signed by the samlify test IdP; cookies and login states
// sealed by the product's own session code. Run once (node dist/test/fuzz/make-corpus.js [target…]);
// files are named by their sha1, so running it again adds only what is new.
import net from 'node:net';
import tls from 'node:tls';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildClientHello, chromeLikeHello, defaultExtensions, ext, reframe } from '../fixtures/client-hello/hello-builder.js';
import { ALL_SIGNERS } from '../helpers/webhooks/signers.js';
import { selfSignedRsa, startSamlIdp } from '../helpers/saml-idp.js';
import { SamlAdapter, SAML_METADATA_PATH } from '../../workers/http/auth/saml-adapter.js';
import { AssertionReplayCache } from '../../workers/http/auth/saml-replay.js';
import { REPO_ROOT } from './paths.js';
import { writeCorpusFile } from './target.js';
import { stringify as stringifyYaml } from 'yaml';
import { createDefaultSetup } from '../../core/default-config.js';
import { encodeWebhook } from './webhook-format.js';
import { FIXED_NOW_MS, WEBHOOK_ORIGIN } from './targets/webhooks.js';
import { FUZZ_COOKIE_NOW_MS, loginStates, sessions } from './targets/cookies.js';
import { SAML_IDP_ENTITY_ID, SAML_IDP_KEY_FILE, SAML_SP_BASE, samlIdpKeys } from './targets/saml.js';

/** The first bytes a client sends to a TCP server, as the server saw them. */
async function captureFirstBytes(connect: (port: number) => { kill(): void }): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no client bytes in 5 s')), 5000);
      let client: { kill(): void } | null = null;
      server.once('connection', (socket) => {
        const chunks: Buffer[] = [];
        // A little time for the whole head/hello to arrive, then the client is cut off.
        socket.on('data', (d) => chunks.push(d));
        setTimeout(() => { clearTimeout(timer); socket.destroy(); client?.kill(); resolve(Buffer.concat(chunks)); }, 300);
      });
      client = connect(port);
    });
  } finally {
    server.close();
  }
}

function nodeTlsHello(servername: string, alpn: string[]): Promise<Buffer> {
  return captureFirstBytes((port) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername, ALPNProtocols: alpn, rejectUnauthorized: false });
    s.on('error', () => {});
    return { kill: () => s.destroy() };
  });
}

function opensslHello(servername: string): Promise<Buffer> {
  return captureFirstBytes((port) => {
    const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', servername, '-alpn', 'h2,http/1.1'], { stdio: ['pipe', 'ignore', 'ignore'] });
    p.on('error', () => {});
    return { kill: () => p.kill() };
  });
}

function nodeHttpHead(options: http.RequestOptions, body?: string): Promise<Buffer> {
  return captureFirstBytes((port) => {
    const req = http.request({ ...options, host: '127.0.0.1', port, headers: { host: 'app.example.test', ...options.headers } });
    req.on('error', () => {});
    req.end(body);
    return { kill: () => req.destroy() };
  });
}

function curlHead(args: string[]): Promise<Buffer> {
  return captureFirstBytes((port) => {
    const p = spawn('curl', ['-s', '-m', '2', '-H', 'Host: app.example.test', ...args, `http://127.0.0.1:${port}/`], { stdio: 'ignore' });
    p.on('error', () => {});
    return { kill: () => p.kill() };
  });
}

async function clientHello(): Promise<Buffer[]> {
  const out = [
    buildClientHello(),
    buildClientHello({ extensions: defaultExtensions('App.Example.Test.') }),
    buildClientHello({ extensions: [ext.serverName('127.0.0.1'), ext.supportedVersions([0x0303])] }),
    buildClientHello({ extensions: [ext.serverName('::1')] }),
    buildClientHello({ extensions: null, legacyVersion: 0x0301 }),
    buildClientHello({ extensions: [...defaultExtensions('a.example.test'), ext.padding(40)] }, 60),
    chromeLikeHello(),
    reframe(chromeLikeHello('x.example.test'), 512),
    Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'),
  ];
  out.push(await nodeTlsHello('node.example.test', ['h2', 'http/1.1']));
  out.push(await nodeTlsHello('edgeplane-tunnel-w1', ['edgeplane-tunnel-w1']));
  out.push(await opensslHello('openssl.example.test'));
  return out;
}

async function http1(): Promise<Buffer[]> {
  // Byte 0 of each input: how the target cuts the bytes into reads (0 = one read).
  const heads: [number, string | Buffer][] = [
    [0, 'GET / HTTP/1.1\r\nHost: app.example.test\r\nUser-Agent: x\r\n\r\n'],
    [0, 'GET /echo HTTP/1.1\r\nHost: app.example.test\r\nx-echo: a\r\nx-echo: b c\r\n\r\n'],
    [0, 'POST /upload HTTP/1.1\r\nHost: app.example.test\r\nContent-Length: 5\r\n\r\nhello'],
    [7, 'POST /upload HTTP/1.1\r\nHost: app.example.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    [0, 'GET / HTTP/1.1\r\nHost: app.example.test\r\n\r\nGET /echo HTTP/1.1\r\nHost: app.example.test\r\nx-echo: 2\r\n\r\nHEAD / HTTP/1.1\r\nHost: app.example.test\r\n\r\n'],
    [0, 'GET /chat HTTP/1.1\r\nHost: app.example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'],
    [0, 'GET / HTTP/1.0\r\n\r\n'],
    [0, 'GET http://app.example.test/a/../b?x=1 HTTP/1.1\r\nHost: app.example.test\r\n\r\n'],
    [0, 'POST /upload HTTP/1.1\r\nHost: app.example.test\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc'],
    [0, 'GET / HTTP/1.1\r\nHost: other.example.test\r\n\r\n'],
    [0, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
    [0, 'POST / HTTP/1.1\r\nHost: app.example.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n'],
    [0, 'POST / HTTP/1.1\r\nHost: app.example.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'],
    [0, 'OPTIONS * HTTP/1.1\r\nHost: app.example.test\r\n\r\n'],
    [3, 'GET /' + 'a'.repeat(1100) + ' HTTP/1.1\r\nHost: app.example.test\r\n\r\n'],
  ];
  const out = heads.map(([cut, text]) => Buffer.concat([Buffer.of(cut), Buffer.from(text as string, 'latin1')]));
  const captured = [
    await nodeHttpHead({ method: 'GET', path: '/echo?q=1', headers: { 'x-echo': 'node' } }),
    await nodeHttpHead({ method: 'POST', path: '/upload', headers: { 'content-type': 'application/json' } }, '{"a":1}'),
    await curlHead(['-X', 'POST', '--data', 'a=1&b=2']),
    await curlHead(['-H', 'Transfer-Encoding: chunked', '--data', 'chunky']),
  ];
  for (const c of captured) out.push(Buffer.concat([Buffer.of(0), c]));
  return out;
}

async function config(): Promise<Buffer[]> {
  const out = [readFileSync(join(REPO_ROOT, 'test/fixtures/configs/sample.yaml'))];
  // The demo config `npm start` serves (every kind of edge, modules, a tunnel), as YAML and as JSON.
  const demo = await createDefaultSetup();
  out.push(Buffer.from(stringifyYaml(demo.config)), Buffer.from(JSON.stringify(demo.config)));
  demo.close();
  out.push(Buffer.from([
    'backends:', '  - { id: bkd_ok, type: http_response, status_code: 200, body: ok }', 'edges:', '  - id: edghts_app', '    type: https',
    '    hostports: ["app.example.test:443"]', '    routes:', '      - match_type: path_prefix', '        match: /hooks/', '        backend: { backend_id: bkd_ok }',
    '        modules:', '          webhook_verification: { provider: github, secret: { env: FUZZ_SECRET } }',
    '          request_headers: { add: { x-user: "${oauth.user.name}" } }', '',
  ].join('\n')));
  // The fenced YAML examples of the config reference, small ones only.
  const doc = readFileSync(join(REPO_ROOT, 'docs/config.md'), 'utf8');
  for (const m of doc.matchAll(/```ya?ml\n([\s\S]*?)```/g)) if (m[1]!.length < 3000) out.push(Buffer.from(m[1]!));
  out.push(Buffer.from(JSON.stringify({ admin: { listen: '127.0.0.1:4040' }, workers: 1, edges: [] })));
  out.push(Buffer.from('edges:\n  - &e { id: edghts_a, type: https, hostports: ["a.example.test:443"] }\n  - *e\n'));
  return out;
}

function templates(): Buffer[] {
  return [
    '${req.method} ${req.url.path}', 'user=${oauth.user.name}\nAlice\r\nX-Injected: 1', '${.http.request.url.host}:${conn.server_port}',
    '${req.headers.x-h}/${res.headers.content-type}', 'cn=${conn.tls.client.subject.common_name}\nCN=caf\u00e9\u0000\u2028', '${unknown.var}', '${', '${ }',
    'plain text', '${conn.tls.client.san.dns_names} ${req.url} ${endpoint.url} ${res.status_code}',
  ].map((t) => Buffer.from(t, 'utf8'));
}

async function webhooks(): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const signer of ALL_SIGNERS) {
    const signed = await signer.sign({ url: `${WEBHOOK_ORIGIN}/webhooks/in`, nowMs: FIXED_NOW_MS, secret: signer.signingSecret });
    const headers: string[] = [];
    for (const [name, value] of Object.entries(signed.headers)) for (const v of Array.isArray(value) ? value : [value]) headers.push(name.toLowerCase(), v);
    out.push(encodeWebhook({ provider: signer.provider, method: signed.method.toUpperCase(), pathAndQuery: signed.pathAndQuery, headers, body: signed.body }));
  }
  return out;
}

async function saml(): Promise<Buffer[]> {
  if (!existsSync(SAML_IDP_KEY_FILE)) {
    const keys = await selfSignedRsa('edgeplane-fuzz-idp');
    mkdirSync(dirname(SAML_IDP_KEY_FILE), { recursive: true });
    writeFileSync(SAML_IDP_KEY_FILE, `# Test-only IdP key for the SAML fuzz corpus (signs test/fuzz/corpus/saml/*). Not a secret.\n${keys.certPem}${keys.privateKeyPem}`);
  }
  const servers: (() => unknown)[] = [];
  const idp = await startSamlIdp({ teardown: (fn) => void servers.push(fn) }, { entityId: SAML_IDP_ENTITY_ID, keys: samlIdpKeys() });
  const sp = await selfSignedRsa('edgeplane-fuzz-sp');
  const adapter = new SamlAdapter({
    idpMetadata: idp.metadataXml, idpMetadataUrl: null, forceAuthn: false, allowIdpInitiated: true, authorizedGroups: [],
    nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', spCertificatePem: sp.certPem, spPrivateKeyPem: sp.privateKeyPem,
  }, { baseUrl: SAML_SP_BASE, replayCache: new AssertionReplayCache() });
  idp.registerSp(adapter.extraPaths.get(SAML_METADATA_PATH)!().body);
  const out = [Buffer.from(await idp.unsolicited(), 'base64'), Buffer.from(await idp.unsolicited({ authnStatements: 2 }), 'base64')];
  idp.loginAs({ nameId: 'fuzz-bob', attributes: { email: 'bob@example.test', groups: ['a', 'b'] } });
  out.push(Buffer.from(await idp.unsolicited({ inResponseTo: '_abcdef0123456789' }), 'base64'));
  out.push(Buffer.from('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1" Version="2.0"/>'));
  out.push(Buffer.from('!PHNhbWxwOlJlc3BvbnNlLz4='));
  for (const stop of servers) await stop();
  return out;
}

function cookies(): Buffer[] {
  const session = (sub: string) => /^[^=]+=([^;]*)/.exec(sessions.issue(sessions.create({ sub, provider: 'fuzz', name: 'Fuzz User', email: `${sub}@example.test` })))![1]!;
  const a = session('fuzz-user-1');
  const b = session('fuzz-user-2');
  const begun = loginStates.begin('/app/page?x=1');
  const nonce = /^([^=]+)=([^;]*)/.exec(begun.nonceCookie)!;
  const lines = [
    `ngrok.session=${a}`,
    `theme=dark; ngrok.session="${b}"; ngrok.session=${a}`,
    `${nonce[1]}=${nonce[2]}; other=1\n${begun.state}`,
    `ngrok.session=${a}; ${nonce[1]}=${nonce[2]}\n${begun.state}`,
    'a=1; b=2; c; =d; e="f"; g=h i',
  ];
  void FUZZ_COOKIE_NOW_MS;
  return lines.map((l) => Buffer.from(l, 'latin1'));
}

const BUILDERS: Record<string, () => Buffer[] | Promise<Buffer[]>> = { 'client-hello': clientHello, http1, config, templates, webhooks, saml, cookies };

const wanted = process.argv.slice(2);
for (const [name, build] of Object.entries(BUILDERS)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const inputs = await build();
  for (const input of inputs) writeCorpusFile(name, input);
  console.log(`${name}: ${inputs.length} seed inputs`);
}
process.exit(0);
