import { execFileSync } from 'node:child_process';
import t, { type Test } from 'tap';
import {
  CertificateError,
  MAX_PEM_BYTES,
  certificateCovers,
  parseAuthority,
  parseCertificateBundle,
} from '../../../core/tls/certificates.js';
import { makePki } from '../../helpers/pki.js';

const pki = makePki();
t.teardown(() => pki.cleanup());

function expectError(tt: Test, fn: () => unknown, code: string, field: string, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  tt.ok(caught instanceof CertificateError, 'throws CertificateError');
  const err = caught as CertificateError;
  tt.equal(err.code, code);
  tt.equal(err.field, field);
  tt.match(err.message, message);
}

t.test('accepts every supported key format', async (tt) => {
  const cases: [string, string, string][] = [
    ['bundle.crt', 'leaf.key', 'ecdsa'], // SEC 1
    ['bundle.crt', 'leaf.pkcs8.key', 'ecdsa'],
    ['rsa-leaf.crt', 'rsa-leaf.pkcs1.key', 'rsa'],
    ['ed-leaf.crt', 'ed-leaf.key', 'ed25519'],
  ];
  for (const [cert, key, type] of cases) {
    const parsed = parseCertificateBundle(pki.read(cert), pki.read(key), 'cert_x');
    tt.equal(parsed.privateKeyType, type, `${cert} + ${key}`);
    tt.match(parsed.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/, 'key normalised to PKCS#8');
  }
});

t.test('bundle: leaf first, names, validity', async (tt) => {
  const parsed = parseCertificateBundle(pki.read('bundle.crt'), pki.read('leaf.key'), 'cert_demo');
  tt.equal(parsed.id, 'cert_demo');
  tt.equal(parsed.chain.length, 2);
  tt.match(parsed.leaf.subject, /CN=edgeplane test leaf/);
  tt.match(parsed.chain[1]!.subject, /CN=edgeplane test intermediate CA/);
  tt.same(parsed.dnsNames, ['*.example.test', 'example.test', 'localhost']);
  tt.same(parsed.ips, ['127.0.0.1']);
  tt.ok(parsed.notBefore.getTime() < Date.now() && parsed.notAfter.getTime() > Date.now());
  tt.equal((parsed.certificatePem.match(/BEGIN CERTIFICATE/g) ?? []).length, 2);
  tt.ok(parsed.certificatePem.startsWith(parsed.leaf.toString()), 'leaf comes first');
});

t.test('no PEM block (1922)', async (tt) => {
  expectError(tt, () => parseCertificateBundle('hello', pki.read('leaf.key'), 'c'), 'ERR_NGROK_1922', 'certificate', /no PEM block found in certificate_pem/);
  expectError(tt, () => parseCertificateBundle(pki.read('leaf.crt'), '', 'c'), 'ERR_NGROK_1922', 'private_key', /no PEM block found in private_key_pem/);
  const truncated = pki.read('leaf.crt').split('-----END')[0]!;
  expectError(tt, () => parseCertificateBundle(truncated, pki.read('leaf.key'), 'c'), 'ERR_NGROK_1922', 'certificate', /no PEM block/);
});

t.test('PEM too large (1921)', async (tt) => {
  const huge = pki.read('leaf.crt') + '#'.repeat(MAX_PEM_BYTES);
  expectError(tt, () => parseCertificateBundle(huge, pki.read('leaf.key'), 'c'), 'ERR_NGROK_1921', 'certificate', /too large/);
});

t.test('chain out of order (1926)', async (tt) => {
  const reversed = pki.read('int.crt') + pki.read('leaf.crt');
  expectError(
    tt,
    () => parseCertificateBundle(reversed, pki.read('leaf.key'), 'c'),
    'ERR_NGROK_1926',
    'certificate',
    /certificate 1 \(CN=edgeplane test intermediate CA\) is not signed by certificate 2 \(CN=edgeplane test leaf\)/,
  );
  const unrelated = pki.read('leaf.crt') + pki.read('other-ca.crt');
  expectError(tt, () => parseCertificateBundle(unrelated, pki.read('leaf.key'), 'c'), 'ERR_NGROK_1926', 'certificate', /certificate 1 \(CN=edgeplane test leaf\) is not signed by certificate 2 \(CN=edgeplane other CA\)/);
  const full = pki.read('leaf.crt') + pki.read('int.crt') + pki.read('ca.crt');
  tt.equal(parseCertificateBundle(full, pki.read('leaf.key'), 'c').chain.length, 3, 'a full chain with the root is fine');
});

t.test('key does not match certificate (1923)', async (tt) => {
  expectError(tt, () => parseCertificateBundle(pki.read('bundle.crt'), pki.read('rsa-leaf.key'), 'c'), 'ERR_NGROK_1923', 'private_key', /does not match/);
  expectError(tt, () => parseCertificateBundle(pki.read('bundle.crt'), pki.read('client.key'), 'c'), 'ERR_NGROK_1923', 'private_key', /does not match/);
});

t.test('certificate where the key belongs (1924) and key where the certificate belongs (1925)', async (tt) => {
  expectError(tt, () => parseCertificateBundle(pki.read('leaf.crt'), pki.read('leaf.crt'), 'c'), 'ERR_NGROK_1924', 'private_key', /holds a certificate, not a private key/);
  expectError(tt, () => parseCertificateBundle(pki.read('leaf.key'), pki.read('leaf.key'), 'c'), 'ERR_NGROK_1925', 'certificate', /holds a private key, not a certificate/);
  expectError(tt, () => parseCertificateBundle(pki.read('leaf.crt') + pki.read('leaf.key'), pki.read('leaf.key'), 'c'), 'ERR_NGROK_1925', 'certificate', /also holds a private key/);
});

t.test('encrypted keys are refused', async (tt) => {
  expectError(tt, () => parseCertificateBundle(pki.read('bundle.crt'), pki.read('leaf.enc.key'), 'c'), 'ERR_EDGEPLANE_ENCRYPTED_KEY', 'private_key', /encrypted private keys are not supported/);
  // the legacy OpenSSL form: 'EC PRIVATE KEY' with Proc-Type/DEK-Info headers
  const legacy = execFileSync('openssl', ['ec', '-in', pki.path('leaf.key'), '-aes128', '-passout', 'pass:edgeplane'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  tt.match(legacy, /Proc-Type: 4,ENCRYPTED/);
  expectError(tt, () => parseCertificateBundle(pki.read('bundle.crt'), legacy, 'c'), 'ERR_EDGEPLANE_ENCRYPTED_KEY', 'private_key', /encrypted private keys are not supported/);
});

t.test('garbage inside a PEM block', async (tt) => {
  const bad = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
  expectError(tt, () => parseCertificateBundle(bad, pki.read('leaf.key'), 'c'), 'ERR_EDGEPLANE_BAD_CERTIFICATE', 'certificate', /certificate 1 is not a valid X.509 certificate/);
  const badKey = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n';
  expectError(tt, () => parseCertificateBundle(pki.read('leaf.crt'), badKey, 'c'), 'ERR_EDGEPLANE_BAD_KEY', 'private_key', /not a valid private key/);
});

t.test('certificate authorities', async (tt) => {
  const ca = parseAuthority(pki.read('ca.crt'), 'ca_clients');
  tt.equal(ca.subjectCommonName, 'edgeplane test root CA');
  tt.equal(ca.id, 'ca_clients');
  tt.equal(parseAuthority(pki.read('int.crt'), 'ca_int').subjectCommonName, 'edgeplane test intermediate CA');
  expectError(tt, () => parseAuthority(pki.read('ca.crt') + pki.read('other-ca.crt'), 'x'), 'ERR_NGROK_1912', 'ca', /holds 2 certificates/);
  expectError(tt, () => parseAuthority(pki.read('leaf.crt'), 'x'), 'ERR_NGROK_1913', 'ca', /basicConstraints must have cA=true/);
  expectError(tt, () => parseAuthority(pki.read('ca.key'), 'x'), 'ERR_NGROK_1925', 'ca', /holds a private key/);
  expectError(tt, () => parseAuthority('not pem', 'x'), 'ERR_NGROK_1922', 'ca', /no PEM block/);
});

t.test('certificateCovers: one-label wildcards (RFC 6125)', async (tt) => {
  const cert = parseCertificateBundle(pki.read('bundle.crt'), pki.read('leaf.key'), 'c');
  const cases: [string, boolean][] = [
    ['a.example.test', true],
    ['A.Example.TEST', true],
    ['example.test', true],
    ['example.test.', true],
    ['localhost', true],
    ['127.0.0.1', true],
    ['*.example.test', true],
    ['a.b.example.test', false],
    ['.example.test', false],
    ['example.test.evil', false],
    ['aexample.test', false],
    ['*.b.example.test', false],
    ['other.test', false],
    ['', false],
  ];
  for (const [name, want] of cases) tt.equal(certificateCovers(cert, name), want, name);
  const upstream = parseCertificateBundle(pki.read('upstream.crt'), pki.read('upstream.key'), 'u');
  tt.ok(certificateCovers(upstream, 'db.example.test'));
  tt.notOk(certificateCovers(upstream, 'x.example.test'));
});
