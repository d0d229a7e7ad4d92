// PEM parsing and validation for uploaded certificates and CAs, with ngrok's error codes (spec §1.4).
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

/** A validated certificate: the chain (leaf first), its key, and what the leaf covers. */
export interface ParsedCertificate {
  id: string;
  /** The chain re-encoded, leaf first. */
  certificatePem: string;
  /** The private key as unencrypted PKCS#8 PEM. */
  privateKeyPem: string;
  leaf: X509Certificate;
  chain: X509Certificate[];
  dnsNames: string[];
  ips: string[];
  notBefore: Date;
  notAfter: Date;
  privateKeyType: 'rsa' | 'ecdsa' | 'ed25519';
}

/** A validated certificate authority (one CA certificate with basicConstraints cA=true). */
export interface ParsedAuthority {
  id: string;
  caPem: string;
  cert: X509Certificate;
  subjectCommonName: string;
}

export type CertificateField = 'certificate' | 'private_key' | 'ca';

export class CertificateError extends Error {
  /** 'ERR_NGROK_19xx' where ngrok has a code, otherwise 'ERR_EDGEPLANE_…'. */
  readonly code: string;
  /** Which input is wrong, so that callers can point at the right config field. */
  readonly field: CertificateField;

  constructor(code: string, field: CertificateField, message: string) {
    super(message);
    this.name = 'CertificateError';
    this.code = code;
    this.field = field;
  }
}

// spec §1.4: "PEM too large" (1921); ngrok's own cap is unpublished, 1 MiB is far above any real chain.
export const MAX_PEM_BYTES = 1024 * 1024;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
const KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'ENCRYPTED PRIVATE KEY']);
const CERT_LABELS = new Set(['CERTIFICATE', 'TRUSTED CERTIFICATE', 'X509 CERTIFICATE']);

interface PemBlock {
  label: string;
  text: string;
}

function findPemBlocks(pem: string, field: CertificateField, what: string): PemBlock[] {
  if (typeof pem !== 'string' || Buffer.byteLength(pem) > MAX_PEM_BYTES) {
    throw new CertificateError('ERR_NGROK_1921', field, `${what} is too large (more than ${MAX_PEM_BYTES} bytes) (ERR_NGROK_1921)`);
  }
  const blocks: PemBlock[] = [];
  for (const m of pem.matchAll(PEM_BLOCK)) blocks.push({ label: m[1]!, text: m[0] });
  if (blocks.length === 0) {
    throw new CertificateError('ERR_NGROK_1922', field, `no PEM block found in ${what} (ERR_NGROK_1922)`);
  }
  return blocks;
}

function parseX509(block: PemBlock, field: CertificateField, position: string): X509Certificate {
  try {
    return new X509Certificate(block.text);
  } catch (err) {
    throw new CertificateError('ERR_EDGEPLANE_BAD_CERTIFICATE', field, `${position} is not a valid X.509 certificate: ${(err as Error).message}`);
  }
}

/** The CN of a distinguished name as node prints it ("C=US\nCN=foo"), or '' when there is none. */
export function commonName(dn: string): string {
  for (const line of dn.split('\n')) {
    if (line.startsWith('CN=')) return line.slice(3);
  }
  return '';
}

function describe(cert: X509Certificate): string {
  const cn = commonName(cert.subject);
  return cn === '' ? cert.subject.replace(/\n/g, ', ') : `CN=${cn}`;
}

// node prints SANs as "DNS:a, IP Address:1.2.3.4", quoting (JSON style) values with odd characters.
function parseSubjectAltName(san: string | undefined): { dnsNames: string[]; ips: string[] } {
  const dnsNames: string[] = [];
  const ips: string[] = [];
  if (san === undefined) return { dnsNames, ips };
  const entry = /(DNS|IP Address|[A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (const m of san.matchAll(entry)) {
    let value = m[2]!;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    if (m[1] === 'DNS') dnsNames.push(value.toLowerCase());
    else if (m[1] === 'IP Address') ips.push(value);
  }
  return { dnsNames, ips };
}

function parsePrivateKey(keyPem: string): KeyObject {
  const blocks = findPemBlocks(keyPem, 'private_key', 'private_key_pem');
  const keys = blocks.filter((b) => KEY_LABELS.has(b.label));
  if (keys.length === 0) {
    if (blocks.some((b) => CERT_LABELS.has(b.label))) {
      throw new CertificateError('ERR_NGROK_1924', 'private_key', 'private_key_pem holds a certificate, not a private key (ERR_NGROK_1924)');
    }
    throw new CertificateError('ERR_NGROK_1922', 'private_key', `no private key PEM block found in private_key_pem (found ${blocks[0]!.label}) (ERR_NGROK_1922)`);
  }
  if (keys.length > 1) {
    throw new CertificateError('ERR_EDGEPLANE_BAD_KEY', 'private_key', `private_key_pem holds ${keys.length} private keys, expected one`);
  }
  const key = keys[0]!;
  if (key.label === 'ENCRYPTED PRIVATE KEY' || /^Proc-Type:\s*4,\s*ENCRYPTED/m.test(key.text)) {
    throw new CertificateError('ERR_EDGEPLANE_ENCRYPTED_KEY', 'private_key', 'encrypted private keys are not supported: decrypt it first (spec §1.4)');
  }
  try {
    return createPrivateKey({ key: key.text, format: 'pem' });
  } catch (err) {
    throw new CertificateError('ERR_EDGEPLANE_BAD_KEY', 'private_key', `private_key_pem is not a valid private key: ${(err as Error).message}`);
  }
}

function keyTypeOf(key: KeyObject): ParsedCertificate['privateKeyType'] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'rsa';
    case 'ec':
      return 'ecdsa';
    case 'ed25519':
      return 'ed25519';
    default:
      throw new CertificateError(
        'ERR_EDGEPLANE_BAD_KEY',
        'private_key',
        `unsupported private key type '${key.asymmetricKeyType ?? 'unknown'}': use RSA, ECDSA or Ed25519`,
      );
  }
}

function parseChain(certPem: string): X509Certificate[] {
  const blocks = findPemBlocks(certPem, 'certificate', 'certificate_pem');
  const certBlocks = blocks.filter((b) => CERT_LABELS.has(b.label));
  if (certBlocks.length === 0) {
    if (blocks.some((b) => KEY_LABELS.has(b.label))) {
      throw new CertificateError('ERR_NGROK_1925', 'certificate', 'certificate_pem holds a private key, not a certificate (ERR_NGROK_1925)');
    }
    throw new CertificateError('ERR_NGROK_1922', 'certificate', `no CERTIFICATE PEM block found in certificate_pem (found ${blocks[0]!.label}) (ERR_NGROK_1922)`);
  }
  if (blocks.some((b) => KEY_LABELS.has(b.label))) {
    throw new CertificateError('ERR_NGROK_1925', 'certificate', 'certificate_pem also holds a private key: put it in private_key_pem (ERR_NGROK_1925)');
  }
  const chain = certBlocks.map((b, i) => parseX509(b, 'certificate', `certificate ${i + 1}`));
  // spec §1.4: leaf first, each certificate signed by the one after it.
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i]!;
    const parent = chain[i + 1]!;
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      throw new CertificateError(
        'ERR_NGROK_1926',
        'certificate',
        `certificate ${i + 1} (${describe(child)}) is not signed by certificate ${i + 2} (${describe(parent)}): the chain must be leaf first, then each issuer (ERR_NGROK_1926)`,
      );
    }
  }
  return chain;
}

export function parseCertificateBundle(certPem: string, keyPem: string, id: string): ParsedCertificate {
  const chain = parseChain(certPem);
  const key = parsePrivateKey(keyPem);
  const leaf = chain[0]!;
  const privateKeyType = keyTypeOf(key);
  if (!leaf.checkPrivateKey(key)) {
    throw new CertificateError('ERR_NGROK_1923', 'private_key', `private_key_pem does not match the certificate (${describe(leaf)}) (ERR_NGROK_1923)`);
  }
  const { dnsNames, ips } = parseSubjectAltName(leaf.subjectAltName);
  return {
    id,
    certificatePem: chain.map((c) => c.toString()).join(''),
    privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    leaf,
    chain,
    dnsNames,
    ips,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    privateKeyType,
  };
}

export function parseAuthority(caPem: string, id: string): ParsedAuthority {
  const blocks = findPemBlocks(caPem, 'ca', 'ca_pem');
  const certBlocks = blocks.filter((b) => CERT_LABELS.has(b.label));
  if (certBlocks.length === 0) {
    if (blocks.some((b) => KEY_LABELS.has(b.label))) {
      throw new CertificateError('ERR_NGROK_1925', 'ca', 'ca_pem holds a private key, not a certificate (ERR_NGROK_1925)');
    }
    throw new CertificateError('ERR_NGROK_1922', 'ca', `no CERTIFICATE PEM block found in ca_pem (found ${blocks[0]!.label}) (ERR_NGROK_1922)`);
  }
  if (certBlocks.length > 1) {
    throw new CertificateError('ERR_NGROK_1912', 'ca', `ca_pem holds ${certBlocks.length} certificates: upload one CA per certificate authority (ERR_NGROK_1912)`);
  }
  const cert = parseX509(certBlocks[0]!, 'ca', 'ca_pem');
  if (!cert.ca) {
    throw new CertificateError(
      'ERR_NGROK_1913',
      'ca',
      `ca_pem (${describe(cert)}) is not a CA: its basicConstraints must have cA=true (RFC 5280 §4.2.1.9) (ERR_NGROK_1913)`,
    );
  }
  return { id, caPem: cert.toString(), cert, subjectCommonName: commonName(cert.subject) };
}

/** Whether a SAN dNSName (or IP) of the leaf covers `hostname`; a wildcard covers exactly one label (RFC 6125 §6.4.3). */
export function certificateCovers(cert: ParsedCertificate, hostname: string): boolean {
  let name = hostname.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '') return false;
  if (cert.ips.includes(name)) return true;
  for (const dns of cert.dnsNames) {
    if (dns === name) return true;
    if (dns.startsWith('*.')) {
      const dot = name.indexOf('.');
      if (dot > 0 && name.slice(dot) === dns.slice(1) && name[0] !== '*') return true;
    }
  }
  return false;
}
