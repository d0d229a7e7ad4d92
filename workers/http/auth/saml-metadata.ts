// The IdP side of the SAML module's configuration: what the SP needs from the IdP metadata
// (entity id, the HTTP-Redirect SingleSignOnService, the signing certificates), read from the inline
// XML or fetched from idp_metadata_url and cached. Signature checking itself is node-saml's.
import { X509Certificate } from 'node:crypto';
import { childElements, parseXml, type XmlElement } from './saml-xml.js';

const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';

/** Same cap as the config schema's MAX_IDP_METADATA_BYTES, for fetched documents. */
export const MAX_FETCHED_METADATA_BYTES = 256 * 1024;

export interface IdpMetadata {
  entityId: string;
  /** Where AuthnRequests go (HTTP-Redirect binding). */
  ssoRedirectUrl: string;
  /** PEM certificates the IdP signs with (usually one; several during a key rollover). */
  signingCertsPem: string[];
}

/** Why metadata cannot be used; the message names the problem, never echoes large input. */
export class IdpMetadataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdpMetadataError';
  }
}

/** Parses an EntityDescriptor (or the first IdP in an EntitiesDescriptor). Throws IdpMetadataError. */
export function parseIdpMetadata(xml: string): IdpMetadata {
  const idp = firstIdpDescriptor(parseDocument(xml));
  const entity = idp.parentNode as XmlElement | null;
  const entityId = entity?.getAttribute('entityID') ?? '';
  if (entityId === '') throw new IdpMetadataError('IdP metadata EntityDescriptor has no entityID');
  if (!(idp.getAttribute('protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2_PROTOCOL)) {
    throw new IdpMetadataError('IdP metadata does not support the SAML 2.0 protocol');
  }
  return { entityId, ssoRedirectUrl: redirectSsoUrl(idp), signingCertsPem: signingCerts(idp) };
}

function parseDocument(xml: string) {
  const parsed = parseXml(xml);
  if (parsed.doc === null) throw new IdpMetadataError(`IdP metadata is not well-formed XML: ${parsed.problem}`);
  return parsed.doc;
}

function firstIdpDescriptor(doc: ReturnType<typeof parseDocument>): XmlElement {
  const descriptors = doc.getElementsByTagNameNS(MD_NS, 'IDPSSODescriptor');
  for (let i = 0; i < descriptors.length; i++) {
    const d = descriptors.item(i)!;
    const parent = d.parentNode as XmlElement | null;
    if (parent?.namespaceURI === MD_NS && parent.localName === 'EntityDescriptor') return d;
  }
  throw new IdpMetadataError('IdP metadata has no IDPSSODescriptor inside an EntityDescriptor (namespace urn:oasis:names:tc:SAML:2.0:metadata)');
}

function redirectSsoUrl(idp: XmlElement): string {
  const services = childElements(idp, MD_NS, 'SingleSignOnService');
  const redirect = services.find((s) => s.getAttribute('Binding') === REDIRECT_BINDING);
  if (redirect === undefined) {
    throw new IdpMetadataError('IdP metadata has no SingleSignOnService with the HTTP-Redirect binding (AuthnRequests are sent by redirect)');
  }
  const location = redirect.getAttribute('Location') ?? '';
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new IdpMetadataError('IdP metadata SingleSignOnService Location is not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new IdpMetadataError('IdP metadata SingleSignOnService Location must be an http(s) URL');
  return location;
}

function signingCerts(idp: XmlElement): string[] {
  const certs: string[] = [];
  for (const key of childElements(idp, MD_NS, 'KeyDescriptor')) {
    const use = key.getAttribute('use');
    if (use !== null && use !== '' && use !== 'signing') continue; // no `use` = both signing and encryption
    const bodies = key.getElementsByTagNameNS(DS_NS, 'X509Certificate');
    for (let i = 0; i < bodies.length; i++) certs.push(certificatePem(bodies.item(i)!.textContent ?? ''));
  }
  if (certs.length === 0) throw new IdpMetadataError('IdP metadata has no signing certificate (KeyDescriptor with ds:X509Certificate)');
  return [...new Set(certs)];
}

function certificatePem(base64: string): string {
  const body = base64.replace(/\s+/g, '');
  try {
    return new X509Certificate(Buffer.from(body, 'base64')).toString();
  } catch {
    throw new IdpMetadataError('IdP metadata contains a ds:X509Certificate that is not a valid certificate');
  }
}

export type MetadataFetch = (url: string, init: { signal: AbortSignal; headers: Record<string, string> }) => Promise<Response>;

export interface IdpMetadataSourceOptions {
  /** The inline XML (idp_metadata) or null. */
  xml: string | null;
  /** idp_metadata_url, used when xml is null. */
  url: string | null;
  /** How long a fetched document is used before it is fetched again. Default 1 hour. */
  refreshMs?: number;
  /** Per-fetch timeout. Default 5 s. */
  timeoutMs?: number;
  fetch?: MetadataFetch;
  now?: () => number;
}

/**
 * The IdP metadata of one module: parsed once for inline XML; fetched on first use and refreshed
 * hourly for a URL. When a refresh fails the last good copy stays in use (an IdP outage of its
 * metadata endpoint must not log everyone out); with no good copy the error is thrown.
 */
export class IdpMetadataSource {
  private readonly url: string | null;
  private readonly refreshMs: number;
  private readonly timeoutMs: number;
  private readonly fetchImpl: MetadataFetch;
  private readonly now: () => number;
  private current: { metadata: IdpMetadata; fetchedAt: number } | null = null;
  private inline: IdpMetadata | IdpMetadataError | null = null;
  private inflight: Promise<IdpMetadata> | null = null;

  constructor(options: IdpMetadataSourceOptions) {
    if (options.xml === null && options.url === null) throw new IdpMetadataError('saml needs idp_metadata or idp_metadata_url');
    this.url = options.xml === null ? options.url : null;
    if (options.xml !== null) {
      try {
        this.inline = parseIdpMetadata(options.xml);
      } catch (err) {
        this.inline = err instanceof IdpMetadataError ? err : new IdpMetadataError('IdP metadata could not be read');
      }
    }
    this.refreshMs = options.refreshMs ?? 3_600_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.fetchImpl = options.fetch ?? ((url, init) => fetch(url, init));
    this.now = options.now ?? Date.now;
  }

  /** The metadata to use now. Throws IdpMetadataError when there is none. */
  async get(): Promise<IdpMetadata> {
    if (this.inline instanceof IdpMetadataError) throw this.inline;
    if (this.inline !== null) return this.inline;
    if (this.current !== null && this.now() - this.current.fetchedAt < this.refreshMs) return this.current.metadata;
    this.inflight ??= this.refresh().finally(() => { this.inflight = null; });
    return this.inflight;
  }

  private async refresh(): Promise<IdpMetadata> {
    try {
      const metadata = parseIdpMetadata(await this.download(this.url!));
      this.current = { metadata, fetchedAt: this.now() };
      return metadata;
    } catch (err) {
      if (this.current !== null) return this.current.metadata;
      throw err instanceof IdpMetadataError ? err : new IdpMetadataError('IdP metadata could not be fetched');
    }
  }

  private async download(url: string): Promise<string> {
    let res: Response;
    try {
      res = await this.fetchImpl(url, { signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' } });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      throw new IdpMetadataError(`IdP metadata could not be fetched from idp_metadata_url (${timedOut ? 'timed out' : 'network error'})`);
    }
    if (!res.ok) throw new IdpMetadataError(`IdP metadata fetch from idp_metadata_url answered HTTP ${res.status}`);
    return readCapped(res, MAX_FETCHED_METADATA_BYTES);
  }
}

/** The body as text, refusing (and cancelling) one larger than `cap` bytes without buffering it all. */
async function readCapped(res: Response, cap: number): Promise<string> {
  const tooLarge = () => new IdpMetadataError(`IdP metadata is larger than ${cap} bytes`);
  if (Number(res.headers.get('content-length') ?? '0') > cap) {
    await res.body?.cancel();
    throw tooLarge();
  }
  if (res.body === null) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > cap) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
