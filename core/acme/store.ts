// Keeps the ACME account key and the issued certificates in the state directory, so a restart serves
// the certificate it had (no handshake failures while re-issuing) and reuses the account. Files are
// private to the daemon's user (0600, directory 0700): they hold private keys.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StoredCertificate {
  /** The names ordered, sorted; a config change that alters them means a new order. */
  names: string[];
  keyType: 'ecdsa' | 'rsa';
  directoryUrl: string;
  certPem: string;
  keyPem: string;
  /** ms epoch, when we got it (renewals are spaced from it). */
  issuedAt: number;
}

function slug(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 24);
}

export class AcmeStore {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'acme');
  }

  /** An account belongs to one directory: a key per directory URL. */
  readAccountKey(directoryUrl: string): string | null {
    return this.read(`account-${slug(directoryUrl)}.pem`);
  }

  writeAccountKey(directoryUrl: string, keyPem: string): void {
    this.write(`account-${slug(directoryUrl)}.pem`, keyPem);
  }

  readCertificate(domain: string): StoredCertificate | null {
    const text = this.read(`cert-${slug(domain)}.json`);
    if (text === null) return null;
    try {
      const parsed = JSON.parse(text) as StoredCertificate;
      return typeof parsed.certPem === 'string' && typeof parsed.keyPem === 'string' && Array.isArray(parsed.names) ? parsed : null;
    } catch {
      return null; // damaged: issue again
    }
  }

  writeCertificate(domain: string, cert: StoredCertificate): void {
    this.write(`cert-${slug(domain)}.json`, JSON.stringify(cert));
  }

  private read(name: string): string | null {
    try { return readFileSync(join(this.dir, name), 'utf8'); } catch { return null; }
  }

  // Written aside and renamed: a crash mid-write never leaves half a key behind.
  private write(name: string, text: string): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const tmp = join(this.dir, `.${name}.${process.pid}.tmp`);
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, join(this.dir, name));
  }
}
