import { createCipheriv } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BIG_BYTES = 64 * 1024 * 1024;
// ~100-byte JSON answer for the new-connection tests (same as peers-bench's /small)
export const SMALL_BODY = '{"ok":true,"service":"origin","msg":"hello from the bench origin","pad":"xxxxxxxxxxxxxxxxxxxx"}';

/** Files the origins and peers read, all under the git-ignored work dir. */
export interface Fixtures { dir: string; cert: string; key: string; combined: string; www: string; big: string; json: string }

/** Certificate files of the TLS-terminating jobs (ECDSA P-256, SANs app1..3.example.test). */
export type CertFiles = Pick<Fixtures, 'cert' | 'key' | 'combined'>;

/**
 * ~100 KB JSON for the gzip scenario: the generator of peers-bench's scripts/setup-data.sh, copied as
 * is (same LCG, same float arithmetic), so the body is byte-identical (100,082 B) and its compressed
 * sizes compare with peers-bench's RESULTS.md.
 */
export function jsonBody(): string {
  let s = 12345;
  const r = (): number => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
  const items: unknown[] = [];
  let i = 0;
  while (JSON.stringify({ items }).length < 100000) {
    items.push({
      id: i++, uuid: Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0') + '-' + Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0'),
      name: words[Math.floor(r() * 12)] + ' ' + words[Math.floor(r() * 12)], active: r() > 0.5, score: Math.round(r() * 100000) / 100,
      tags: [words[Math.floor(r() * 12)], words[Math.floor(r() * 12)]], createdAt: new Date(1.6e12 + Math.floor(r() * 1e10)).toISOString(),
    });
  }
  return JSON.stringify({ items });
}

export function ensureFixtures(workDir: string): Fixtures {
  const certs = join(workDir, 'certs');
  const www = join(workDir, 'www');
  mkdirSync(certs, { recursive: true });
  mkdirSync(www, { recursive: true });
  const f: Fixtures = {
    dir: workDir, cert: join(certs, 'cert.pem'), key: join(certs, 'key.pem'),
    combined: join(certs, 'combined.pem'), www, big: join(www, 'big.bin'), json: join(www, 'data.json'),
  };
  if (!existsSync(f.cert) || !existsSync(f.key)) {
    // ECDSA P-256, SANs for the three SNI names
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', f.key, '-out', f.cert, '-days', '3650', '-subj', '/CN=app1.example.test',
      '-addext', 'subjectAltName=DNS:app1.example.test,DNS:app2.example.test,DNS:app3.example.test,DNS:localhost,IP:127.0.0.1'],
    { stdio: 'ignore' });
  }
  // haproxy's crt format
  writeFileSync(f.combined, readFileSync(f.cert, 'utf8') + readFileSync(f.key, 'utf8'));
  if (!existsSync(f.big) || statSync(f.big).size !== BIG_BYTES) {
    // incompressible, deterministic: AES-128-CTR keystream
    const c = createCipheriv('aes-128-ctr', Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'), Buffer.alloc(16));
    writeFileSync(f.big, Buffer.concat([c.update(Buffer.alloc(BIG_BYTES)), c.final()]));
  }
  if (!existsSync(f.json)) writeFileSync(f.json, jsonBody());
  return f;
}
