// compression (spec §1.6): compresses response bodies while streaming, with the coding the client
// prefers by Accept-Encoding q-values (RFC 9110 §12.5.3). gzip and deflate as ngrok does, br as an extra.
import type { Exchange, HeaderList, HttpModule } from '../exchange.js';
import type { ModuleFactory } from '../pipeline.js';
import { createEncoder, type Coding } from './compression-encoder.js';

export type { Coding };

// Server preference when the client gives two codings the same q at the same place (only via `*`).
const SUPPORTED: readonly Coding[] = ['gzip', 'deflate', 'br'];

// ---- Accept-Encoding negotiation ----

const Q_VALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * The coding to use for a request's Accept-Encoding (all its values joined by ','), or null for none.
 * A coding is acceptable when it is listed, or `*` is, with q > 0; the highest q wins and on equal q
 * the one listed first (spec §1.6: curl's "deflate, gzip" gets deflate). An element with an invalid
 * q is ignored. No header, or an empty one, means no compression (spec §1.6).
 */
export function negotiateEncoding(acceptEncoding: string | undefined): Coding | null {
  if (acceptEncoding === undefined || acceptEncoding === '') return null;
  const listedQ: Record<Coding, number> = { gzip: -1, deflate: -1, br: -1 };
  const listedAt: Record<Coding, number> = { gzip: 0, deflate: 0, br: 0 };
  let starQ = -1;
  let starAt = 0;
  const elements = acceptEncoding.split(',');
  for (let position = 0; position < elements.length; position++) {
    const element = elements[position]!;
    const semicolon = element.indexOf(';');
    const name = (semicolon < 0 ? element : element.slice(0, semicolon)).trim().toLowerCase();
    if (name === '') continue;
    let q = 1;
    if (semicolon >= 0) {
      const weight = readWeight(element.slice(semicolon + 1));
      if (weight < 0) continue;
      q = weight;
    }
    const coding = name === 'x-gzip' ? 'gzip' : name;
    if (coding === '*') {
      if (starQ < 0) { starQ = q; starAt = position; }
    } else if (coding === 'gzip' || coding === 'deflate' || coding === 'br') {
      if (listedQ[coding] < 0) { listedQ[coding] = q; listedAt[coding] = position; }
    }
  }
  let best: Coding | null = null;
  let bestQ = 0;
  let bestAt = Infinity;
  for (const coding of SUPPORTED) {
    const listed = listedQ[coding] >= 0;
    const q = listed ? listedQ[coding] : starQ;
    const at = listed ? listedAt[coding] : starAt;
    if (q > bestQ || (q === bestQ && q > 0 && at < bestAt)) { best = coding; bestQ = q; bestAt = at; }
  }
  return best;
}

// `q=0.5` among an element's parameters → 0.5; no q → 1; an invalid q → -1 (ignore the element).
function readWeight(parameters: string): number {
  let q = 1;
  for (const parameter of parameters.split(';')) {
    const equals = parameter.indexOf('=');
    if (equals < 0) { if (parameter.trim() === '') continue; return -1; }
    if (parameter.slice(0, equals).trim().toLowerCase() !== 'q') continue;
    const value = parameter.slice(equals + 1).trim();
    if (!Q_VALUE.test(value)) return -1;
    q = Number(value);
  }
  return q;
}

// Browsers send a handful of distinct Accept-Encoding strings; remember their answers.
const NEGOTIATED = new Map<string, Coding | null>();
const NEGOTIATED_LIMIT = 256;

function cachedNegotiation(acceptEncoding: string): Coding | null {
  let coding = NEGOTIATED.get(acceptEncoding);
  if (coding === undefined) {
    coding = negotiateEncoding(acceptEncoding);
    if (NEGOTIATED.size >= NEGOTIATED_LIMIT) NEGOTIATED.clear();
    NEGOTIATED.set(acceptEncoding, coding);
  }
  return coding;
}

// ---- response header edits ----

function headerValue(headers: HeaderList, name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

function removeHeader(headers: HeaderList, name: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i] === name) headers.splice(i, 2);
}

const VARY_COVERED = /(?:^|,)\s*(?:\*|accept-encoding)\s*(?:,|$)/i;
const NO_TRANSFORM = /(?:^|,)\s*no-transform\s*(?:,|$)/i;

function addVary(headers: HeaderList): void {
  let first = -1;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'vary') continue;
    if (VARY_COVERED.test(headers[i + 1]!)) return;
    if (first < 0) first = i;
  }
  if (first < 0) headers.push('vary', 'Accept-Encoding');
  else headers[first + 1] = headers[first + 1]!.trim() === '' ? 'Accept-Encoding' : `${headers[first + 1]}, Accept-Encoding`;
}

/** Whether the response may be compressed at all, whatever the client accepts. */
function compressible(x: Exchange): boolean {
  if (x.method === 'HEAD') return false;
  const status = x.status;
  if (status < 200 || status === 204 || status === 304 || status === 206) return false;
  const headers = x.responseHeaders;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name === 'content-encoding') return false; // spec §1.6: never compress twice
    if (name === 'content-length' && headers[i + 1]!.trim() === '0') return false;
    if (name === 'content-range') return false;
    if (name === 'cache-control' && NO_TRANSFORM.test(headers[i + 1]!)) return false; // RFC 9111 §5.2.2.6
  }
  return true;
}

function acceptEncodingOf(x: Exchange): string | undefined {
  const headers = x.requestHeaders;
  let joined: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === 'accept-encoding') joined = joined === undefined ? headers[i + 1] : `${joined}, ${headers[i + 1]}`;
  }
  return joined;
}

/** Exchanges whose upstream response had a Content-Length (between onResponseHead and responseBody). */
const sized = new WeakSet<Exchange>();

export const createCompression: ModuleFactory<'compression'> = (): HttpModule => ({
  name: 'compression',
  onResponseHead(x) {
    const acceptEncoding = acceptEncodingOf(x);
    const coding = acceptEncoding === undefined || !compressible(x) ? null : cachedNegotiation(acceptEncoding);
    if (coding === null) { x.vars.compressionAlgorithm = 'none'; return; }
    x.vars.compressionAlgorithm = coding;
    const headers = x.responseHeaders;
    if (headerValue(headers, 'content-length') !== undefined) sized.add(x);
    removeHeader(headers, 'content-length');
    removeHeader(headers, 'accept-ranges'); // ranges would address the compressed bytes
    headers.push('content-encoding', coding);
    addVary(headers);
    const etag = headerValue(headers, 'etag');
    if (etag !== undefined && etag.startsWith('"')) {
      for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'etag') headers[i + 1] = `W/${headers[i + 1]}`;
    }
  },
  responseBody(x) {
    const coding = x.vars.compressionAlgorithm;
    if (coding === undefined || coding === 'none') return null;
    // A body of known length is finite and arrives as fast as the upstream sends it: the idle flush
    // is for streams (server-sent events). Under load a busy event loop spaces one response's chunks
    // more than IDLE_FLUSH_MS apart, and flushing then would cut the body into many small segments.
    const idleFlush = !sized.delete(x);
    return createEncoder(coding, (raw, compressed) => { x.vars.compressionBytesSaved = raw - compressed; }, { idleFlush });
  },
});
