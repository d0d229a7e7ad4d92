// OpenID provider discovery (/.well-known/openid-configuration) through openid-client, with a
// timeout and a per-issuer cache. One cache per worker thread (or per test): it is an ordinary
// object, not module state, so nothing assumes a single thread. Concurrent lookups of one issuer
// share one request; failures are not cached, so the next login retries.
import * as oidc from 'openid-client';
import { OidcError, toOidcError } from './oidc-errors.js';

export type OidcFetch = oidc.CustomFetch;

/** Discovered provider metadata; a new object whenever discovery runs again. */
export type OidcServerMetadata = Readonly<oidc.ServerMetadata>;

export interface OidcDiscoveryOptions {
  /** Per-request timeout. Default 5 s. */
  timeoutMs?: number;
  /** How long discovered metadata is reused. Default 1 hour. */
  maxAgeMs?: number;
  /** Replaces global fetch (tests, proxies). */
  fetch?: OidcFetch;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_AGE_MS = 60 * 60 * 1000;
/** Spec §1.6: the issuer field is at most 255 bytes. */
const MAX_ISSUER_BYTES = 255;
/** Throwaway client id: discovery needs one, but the metadata does not depend on it. */
const DISCOVERY_CLIENT_ID = 'edgeplane-discovery';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Plain http is accepted only for a provider on this machine (development and tests). */
export function isLocalHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname);
}

/** Parses and checks a configured issuer: https, or http on localhost; no query or fragment. */
export function parseIssuer(issuer: string): URL {
  if (Buffer.byteLength(issuer) > MAX_ISSUER_BYTES) {
    throw new OidcError('discovery_invalid', `issuer longer than ${MAX_ISSUER_BYTES} bytes`);
  }
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new OidcError('discovery_invalid', 'issuer is not a URL');
  }
  if (url.protocol !== 'https:' && !isLocalHttp(url)) {
    throw new OidcError('discovery_invalid', 'issuer must use https (http only for localhost)');
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new OidcError('discovery_invalid', 'issuer must not carry a query, fragment or credentials');
  }
  return url;
}

interface CacheEntry {
  metadata: Promise<OidcServerMetadata>;
  fetchedAt: number;
}

export class OidcDiscoveryCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly timeoutMs: number;
  private readonly maxAgeMs: number;
  private readonly fetchImpl: OidcFetch | undefined;

  constructor(options: OidcDiscoveryOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.fetchImpl = options.fetch;
  }

  /** The issuer's metadata, from cache while fresh. Throws OidcError. */
  get(issuer: string): Promise<OidcServerMetadata> {
    let url: URL;
    try {
      url = parseIssuer(issuer);
    } catch (err) {
      return Promise.reject(err);
    }
    const key = url.href;
    const cached = this.entries.get(key);
    if (cached && Date.now() - cached.fetchedAt < this.maxAgeMs) return cached.metadata;
    const entry: CacheEntry = { metadata: this.discover(url), fetchedAt: Date.now() };
    this.entries.set(key, entry);
    entry.metadata.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return entry.metadata;
  }

  /** Forgets an issuer, e.g. after an ID token was signed by a key its JWKS did not have. */
  invalidate(issuer: string): void {
    try {
      this.entries.delete(parseIssuer(issuer).href);
    } catch {
      // An invalid issuer was never cached.
    }
  }

  private async discover(issuer: URL): Promise<OidcServerMetadata> {
    const options: oidc.DiscoveryRequestOptions = { timeout: this.timeoutMs / 1000 };
    if (isLocalHttp(issuer)) options.execute = [oidc.allowInsecureRequests];
    if (this.fetchImpl) options[oidc.customFetch] = this.fetchImpl;
    let config: oidc.Configuration;
    try {
      config = await oidc.discovery(issuer, DISCOVERY_CLIENT_ID, undefined, oidc.None(), options);
    } catch (err) {
      throw toOidcError(err, 'discovery');
    }
    const metadata = config.serverMetadata();
    checkEndpoints(metadata, issuer);
    return metadata;
  }
}

/** The endpoints the code flow needs must exist and use https (or local http for a local issuer). */
function checkEndpoints(metadata: oidc.ServerMetadata, issuer: URL): void {
  const required = ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const;
  for (const name of required) {
    if (typeof metadata[name] !== 'string') throw new OidcError('discovery_invalid', `missing ${name}`);
  }
  for (const name of [...required, 'userinfo_endpoint'] as const) {
    const value = metadata[name];
    if (value === undefined) continue;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new OidcError('discovery_invalid', `${name} is not a URL`);
    }
    const allowed = url.protocol === 'https:' || (isLocalHttp(issuer) && isLocalHttp(url));
    if (!allowed) throw new OidcError('discovery_invalid', `${name} must use https`);
  }
}
