// Where SNS verifiers get signing certificates: only https URLs on AWS's SNS hosts, fetched at most
// once per URL at a time, parsed into a public key and cached (failures too, briefly, so a flood of
// bad URLs cannot turn into a flood of fetches). Response bodies are never logged or echoed.
import { Agent, request as httpsRequest } from 'node:https';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { SnsCertificateSource } from './types.js';
import { DEFAULT_SNS_HOST_PATTERN } from './sns-defaults.js';

/** AWS's SNS endpoints: sns.<region>.amazonaws.com, and .amazonaws.com.cn in China. */
const DEFAULT_HOST_PATTERN = new RegExp(DEFAULT_SNS_HOST_PATTERN);

export interface SnsCertificateSourceOptions {
  /** Hosts a SigningCertURL may name (matched against the URL's host name, lower case, no port). */
  hostPattern?: RegExp;
  /**
   * When set (scheme://host:port), certificates are fetched from this origin with the SigningCertURL's
   * path: for tests and air-gapped mirrors. The host rule still applies to the SigningCertURL itself.
   */
  fetchOrigin?: string | null;
  /** Extra PEM CA(s) trusted for the fetch (tests); the system store is used otherwise. */
  ca?: string | readonly string[] | null;
  /** Whole-fetch deadline. */
  timeoutMs?: number;
  /** Largest certificate accepted; real SNS certificates are about 2 KiB. */
  maxBytes?: number;
  /** Certificates kept. */
  cacheSize?: number;
  /** How long a good certificate is kept (never past its notAfter). */
  ttlMs?: number;
  /** How long a failure is remembered before the URL is tried again. */
  failureTtlMs?: number;
}

type Lookup = { ok: true; key: KeyObject } | { ok: false; detail: string };

const DEFAULTS = {
  timeoutMs: 5000,
  maxBytes: 64 * 1024,
  cacheSize: 100,
  ttlMs: 60 * 60 * 1000,
  failureTtlMs: 30 * 1000,
};

class FetchError extends Error {}

export function createSnsCertificateSource(options: SnsCertificateSourceOptions = {}): SnsCertificateSource {
  const hostPattern = options.hostPattern ?? DEFAULT_HOST_PATTERN;
  const fetchOrigin = options.fetchOrigin ? new URL(options.fetchOrigin) : null;
  if (fetchOrigin !== null && fetchOrigin.protocol !== 'https:') throw new Error('sns fetchOrigin must be an https:// origin');
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const maxBytes = options.maxBytes ?? DEFAULTS.maxBytes;
  const ttlMs = options.ttlMs ?? DEFAULTS.ttlMs;
  const failureTtlMs = options.failureTtlMs ?? DEFAULTS.failureTtlMs;
  const ca = options.ca === undefined || options.ca === null ? undefined : typeof options.ca === 'string' ? [options.ca] : [...options.ca];
  // an agent of our own: fetches are rare, and settings on https.globalAgent must not change who we trust
  const agent = new Agent({ keepAlive: false, maxSockets: 8, ...(ca !== undefined ? { ca } : {}) });

  // lru-cache's fetch() shares one in-flight fetchMethod call between concurrent callers of a key
  const cache = new LRUCache<string, Lookup>({
    max: options.cacheSize ?? DEFAULTS.cacheSize,
    ttl: ttlMs,
    fetchMethod: async (url, _stale, { signal, options: entry }) => {
      const target = fetchOrigin === null ? new URL(url) : new URL(new URL(url).pathname, fetchOrigin);
      let pem: string;
      try {
        pem = await download(target, { agent, timeoutMs, maxBytes, signal });
      } catch (err) {
        entry.ttl = failureTtlMs;
        return { ok: false, detail: `certificate fetch failed: ${err instanceof FetchError ? err.message : 'network error'}` };
      }
      const parsed = parseCertificate(pem, Date.now());
      if (!parsed.ok) {
        entry.ttl = failureTtlMs;
        return parsed;
      }
      entry.ttl = Math.max(1, Math.min(ttlMs, parsed.notAfterMs - Date.now()));
      return { ok: true, key: parsed.key };
    },
  });

  return {
    async publicKey(url) {
      const problem = checkCertificateUrl(url, hostPattern);
      if (problem !== null) return { ok: false, detail: problem };
      const found = await cache.fetch(url);
      return found ?? { ok: false, detail: 'certificate fetch was abandoned' };
    },
  };
}

/** Why `url` may not be fetched as a SigningCertURL, or null when it may. */
export function checkCertificateUrl(url: string, hostPattern: RegExp): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'SigningCertURL is not a URL';
  }
  if (parsed.protocol !== 'https:') return 'SigningCertURL is not https';
  if (parsed.username !== '' || parsed.password !== '' || parsed.port !== '' || parsed.search !== '' || parsed.hash !== '') {
    return 'SigningCertURL has credentials, a port, a query or a fragment';
  }
  if (!hostPattern.test(parsed.hostname)) return 'SigningCertURL host is not an allowed SNS host';
  if (!parsed.pathname.endsWith('.pem')) return 'SigningCertURL path does not end in .pem';
  return null;
}

function parseCertificate(pem: string, nowMs: number): { ok: true; key: KeyObject; notAfterMs: number } | { ok: false; detail: string } {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return { ok: false, detail: 'fetched document is not an X.509 certificate' };
  }
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  if (!(notBefore <= nowMs && nowMs <= notAfter)) return { ok: false, detail: 'certificate is not currently valid' };
  if (cert.publicKey.asymmetricKeyType !== 'rsa') return { ok: false, detail: 'certificate key is not RSA' };
  return { ok: true, key: cert.publicKey, notAfterMs: notAfter };
}

interface DownloadOptions { agent: Agent; timeoutMs: number; maxBytes: number; signal: AbortSignal }

/** GETs `target` over https: status 200 only, no redirects, at most maxBytes, within timeoutMs. */
function download(target: URL, o: DownloadOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const deadline = AbortSignal.timeout(o.timeoutMs);
    const signal = AbortSignal.any([o.signal, deadline]);
    const failure = (): FetchError => new FetchError(deadline.aborted ? 'timed out' : o.signal.aborted ? 'abandoned' : 'connection failed');
    const req = httpsRequest(target, { method: 'GET', agent: o.agent, signal }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new FetchError(`HTTP status ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > o.maxBytes) {
          req.destroy();
          reject(new FetchError(`certificate larger than ${o.maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
      res.on('error', () => reject(failure()));
    });
    req.on('error', () => reject(failure()));
    req.end();
  });
}
