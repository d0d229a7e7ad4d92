// A stand-in for sns.<region>.amazonaws.com in tests: a local HTTPS server (certificate from a
// throwaway test CA) that serves an SNS signing certificate for SNS_SIGNING_KEY at every *.pem path
// and counts fetches. Point an SnsCertificateSource at it with fetchOrigin: server.origin, ca: server.ca.
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { SNS_SIGNING_KEY, type PemKeyPair } from './signers-asymmetric.js';

// selfsigned's typings are fine, but it is CommonJS; load it the same way everywhere
const selfsigned = createRequire(import.meta.url)('selfsigned') as typeof import('selfsigned');

export interface TestCa { cert: string; key: string }

const DAY_MS = 24 * 60 * 60 * 1000;

function rsaKeyPair(): PemKeyPair {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

export async function createTestCa(): Promise<TestCa> {
  const keyPair = rsaKeyPair();
  const ca = await selfsigned.generate([{ name: 'commonName', value: 'edgeplane test CA' }], {
    algorithm: 'sha256',
    keyPair,
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true }],
  });
  return { cert: ca.cert, key: keyPair.privateKey };
}

/** A certificate for `keyPair` issued by `ca` (validity: one day either side of now unless given). */
export async function issueSnsCertificate(ca: TestCa, keyPair: PemKeyPair, validity: { notBefore?: Date; notAfter?: Date } = {}): Promise<string> {
  const issued = await selfsigned.generate([{ name: 'commonName', value: 'sns.amazonaws.com' }], {
    algorithm: 'sha256',
    keyPair,
    ca: { key: ca.key, cert: ca.cert },
    notBeforeDate: validity.notBefore ?? new Date(Date.now() - DAY_MS),
    notAfterDate: validity.notAfter ?? new Date(Date.now() + DAY_MS),
    extensions: [{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true }],
  });
  return issued.cert;
}

export interface SnsCertServer {
  /** https://127.0.0.1:<port> */
  readonly origin: string;
  /** PEM of the CA the server's TLS certificate chains to (SnsCertificateSource's `ca`). */
  readonly ca: string;
  /** The test CA, to issue more certificates. */
  readonly testCa: TestCa;
  /** The certificate served by default: SNS_SIGNING_KEY's, issued by the test CA. */
  readonly certificate: string;
  /** GET requests seen for `path`, or for every path when omitted. */
  fetches(path?: string): number;
  /** Serves `response` at `path` instead of the default: a PEM text, or an HTTP status to fail with. */
  serve(path: string, response: string | number): void;
  /** Delays every response by `ms` (to make concurrent requests overlap). */
  delay(ms: number): void;
  close(): Promise<void>;
}

export async function startSnsCertServer(signingKey: PemKeyPair = SNS_SIGNING_KEY): Promise<SnsCertServer> {
  const testCa = await createTestCa();
  const tlsKey = rsaKeyPair();
  const tlsCert = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
    algorithm: 'sha256',
    keyPair: tlsKey,
    ca: { key: testCa.key, cert: testCa.cert },
    extensions: [{ name: 'basicConstraints', cA: false }, { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }],
  });
  const certificate = await issueSnsCertificate(testCa, signingKey);

  const overrides = new Map<string, string | number>();
  const counts = new Map<string, number>();
  let delayMs = 0;
  const server = createServer({ key: tlsKey.privateKey, cert: tlsCert.cert }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    setTimeout(() => {
      const response = overrides.get(path) ?? (path.endsWith('.pem') ? certificate : 404);
      if (typeof response === 'number') {
        res.writeHead(response).end();
      } else {
        res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(response);
      }
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `https://127.0.0.1:${port}`,
    ca: testCa.cert,
    testCa,
    certificate,
    fetches: (path) => (path === undefined ? [...counts.values()].reduce((a, b) => a + b, 0) : counts.get(path) ?? 0),
    serve: (path, response) => { overrides.set(path, response); },
    delay: (ms) => { delayMs = ms; },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
