// A throwaway PKI made with the openssl CLI: root CA, intermediate, leaves of every key type, client certs
// and a second, unrelated CA. ECDSA P-256 keeps generation fast; only the RSA leaf pays for an RSA key.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  path(name: string): string;
  read(name: string): string;
  cleanup(): void;
}

export interface PkiSpec {
  /** DNS names of leaf.crt (default ['*.example.test', 'example.test', 'localhost']). */
  dns?: string[];
  /** IP SANs of leaf.crt (default ['127.0.0.1']). */
  ips?: string[];
  /** Validity of every certificate in days (default 30). */
  days?: number;
}

export interface LeafOptions {
  dns: string[];
  ips?: string[];
  emails?: string[];
  signer?: 'ca' | 'int' | 'other-ca';
  keyType?: 'ec' | 'rsa' | 'ed25519';
  cn?: string;
  /** 'server' (default) or 'client' extended key usage. */
  usage?: 'server' | 'client';
  days?: number;
}

const DEFAULT_DNS = ['*.example.test', 'example.test', 'localhost'];
const DEFAULT_IPS = ['127.0.0.1'];

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function serial(): string {
  return `0x${randomBytes(12).toString('hex')}`;
}

function writeKey(dir: string, name: string, keyType: 'ec' | 'rsa' | 'ed25519'): void {
  const file = `${name}.key`;
  if (keyType === 'ec') openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file]);
  else if (keyType === 'rsa') openssl(dir, ['genrsa', '-traditional', '-out', file, '2048']);
  else openssl(dir, ['genpkey', '-algorithm', 'ed25519', '-out', file]);
}

function makeCa(dir: string, name: string, cn: string, days: number, signer?: string): void {
  writeKey(dir, name, 'ec');
  const ext = `${name}.ext`;
  writeFileSync(
    join(dir, ext),
    'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n' +
      (signer === undefined ? '' : 'authorityKeyIdentifier=keyid:always\n'),
  );
  if (signer === undefined) {
    openssl(dir, ['req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-days', String(days), '-set_serial', serial(),
      '-extensions', 'v3_ca_pki', '-config', writeReqConfig(dir, name, ext), '-out', `${name}.crt`]);
    return;
  }
  signCsr(dir, name, cn, signer, ext, days);
}

// `req -x509` takes extensions only from a config section; wrap the .ext file into one.
function writeReqConfig(dir: string, name: string, ext: string): string {
  const cnf = `${name}.cnf`;
  const body = readFileSync(join(dir, ext), 'utf8');
  writeFileSync(join(dir, cnf), `[req]\ndistinguished_name=dn\n[dn]\n[v3_ca_pki]\n${body}`);
  return cnf;
}

function signCsr(dir: string, name: string, cn: string, signer: string, ext: string, days: number): void {
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.crt`, '-CAkey', `${signer}.key`, '-set_serial', serial(),
    '-days', String(days), '-extfile', ext, '-out', `${name}.crt`]);
}

/** Writes name.key, name.crt (the leaf alone) and name.chain.crt (leaf, then int.crt when int signed it). */
export function makeLeaf(pki: Pki, name: string, opts: LeafOptions): void {
  const dir = pki.dir;
  const keyType = opts.keyType ?? 'ec';
  writeKey(dir, name, keyType);
  const san = [
    ...opts.dns.map((d) => `DNS:${d}`),
    ...(opts.ips ?? []).map((ip) => `IP:${ip}`),
    ...(opts.emails ?? []).map((e) => `email:${e}`),
  ];
  const usage = opts.usage ?? 'server';
  const keyUsage = keyType === 'rsa' ? 'digitalSignature,keyEncipherment' : 'digitalSignature';
  const ext = `${name}.ext`;
  writeFileSync(
    join(dir, ext),
    'basicConstraints=critical,CA:FALSE\n' +
      `keyUsage=critical,${keyUsage}\n` +
      `extendedKeyUsage=${usage === 'server' ? 'serverAuth' : 'clientAuth'}\n` +
      'authorityKeyIdentifier=keyid:always\n' +
      (san.length > 0 ? `subjectAltName=${san.join(',')}\n` : ''),
  );
  const signer = opts.signer ?? 'int';
  signCsr(dir, name, opts.cn ?? opts.dns[0] ?? name, signer, ext, opts.days ?? 30);
  // what a server should send: the leaf plus the intermediate, so that clients trusting ca.crt verify it
  const chain = signer === 'int' ? pki.read(`${name}.crt`) + pki.read('int.crt') : pki.read(`${name}.crt`);
  writeFileSync(join(dir, `${name}.chain.crt`), chain);
}

/** Creates a fresh PKI in its own temp dir; call cleanup() in teardown. */
export function makePki(spec: PkiSpec = {}): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-pki-'));
  const pki: Pki = {
    dir,
    path: (name) => join(dir, name),
    read: (name) => readFileSync(join(dir, name), 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  const days = spec.days ?? 30;
  try {
    makeCa(dir, 'ca', 'edgeplane test root CA', days);
    makeCa(dir, 'int', 'edgeplane test intermediate CA', days, 'ca');
    makeCa(dir, 'other-ca', 'edgeplane other CA', days);

    makeLeaf(pki, 'leaf', { dns: spec.dns ?? DEFAULT_DNS, ips: spec.ips ?? DEFAULT_IPS, signer: 'int', cn: 'edgeplane test leaf', days });
    openssl(dir, ['pkcs8', '-topk8', '-nocrypt', '-in', 'leaf.key', '-out', 'leaf.pkcs8.key']);
    openssl(dir, ['pkcs8', '-topk8', '-in', 'leaf.key', '-out', 'leaf.enc.key', '-passout', 'pass:edgeplane']);
    writeFileSync(join(dir, 'bundle.crt'), pki.read('leaf.crt') + pki.read('int.crt'));

    makeLeaf(pki, 'client', { dns: [], emails: ['client-1@example.test'], signer: 'ca', cn: 'client-1', usage: 'client', days });
    makeLeaf(pki, 'rogue-client', { dns: [], emails: ['rogue@example.test'], signer: 'other-ca', cn: 'rogue-client', usage: 'client', days });

    makeLeaf(pki, 'rsa-leaf', { dns: spec.dns ?? DEFAULT_DNS, ips: spec.ips ?? DEFAULT_IPS, signer: 'int', keyType: 'rsa', cn: 'edgeplane rsa leaf', days });
    writeFileSync(join(dir, 'rsa-leaf.pkcs1.key'), pki.read('rsa-leaf.key'));
    makeLeaf(pki, 'ed-leaf', { dns: spec.dns ?? DEFAULT_DNS, ips: spec.ips ?? DEFAULT_IPS, signer: 'int', keyType: 'ed25519', cn: 'edgeplane ed25519 leaf', days });

    makeLeaf(pki, 'upstream', { dns: ['upstream.example.test', 'db.example.test', 'localhost'], ips: ['127.0.0.1'], signer: 'other-ca', cn: 'upstream.example.test', days });
  } catch (err) {
    pki.cleanup();
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`makePki: openssl failed: ${(err as Error).message}\n${stderr}`);
  }
  return pki;
}
