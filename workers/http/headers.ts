// Header rewriting between client and upstream (spec §1.5): hop-by-hop headers dropped both ways
// (Connection: upgrade kept for WebSockets), X-Forwarded-For/Proto appended, X-Forwarded-Host kept
// or set from Host, and ngrok-error-code never accepted from an upstream.
import type { HeaderList } from './exchange.js';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length', 'http2-settings']);

/** Names listed in Connection headers (they are hop-by-hop too), lower case; null when none. */
function connectionListed(headers: HeaderList): Set<string> | null {
  let listed: Set<string> | null = null;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'connection') continue;
    for (const token of headers[i + 1]!.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '' && name !== 'close' && name !== 'keep-alive' && name !== 'upgrade') (listed ??= new Set()).add(name);
    }
  }
  return listed;
}

/** Lower-cases names of a raw [name, value, ...] list in place and returns it. */
export function lowerCaseNames(raw: string[]): HeaderList {
  for (let i = 0; i < raw.length; i += 2) raw[i] = raw[i]!.toLowerCase();
  return raw;
}

export function firstHeader(headers: HeaderList, name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

export interface ForwardedFacts {
  clientIp: string;
  proto: 'http' | 'https';
  /** Host to send as X-Forwarded-Host when the client sent none. */
  host: string;
  /** Keep Connection: upgrade + Upgrade (a WebSocket handshake). */
  upgrade: string | null;
}

/** The headers to send upstream, before modules run: end-to-end ones plus X-Forwarded-*. */
export function upstreamHeaders(request: HeaderList, facts: ForwardedFacts): HeaderList {
  const listed = connectionListed(request);
  const out: HeaderList = [];
  let xff: string | undefined;
  let xfp: string | undefined;
  let xfh: string | undefined;
  for (let i = 0; i < request.length; i += 2) {
    const name = request[i]!;
    const value = request[i + 1]!;
    if (HOP_BY_HOP.has(name) || (listed !== null && listed.has(name))) continue;
    if (name.startsWith('ngrok-mtls-')) continue; // only the edge may vouch for a client certificate
    if (name === 'x-forwarded-for') { xff = xff === undefined ? value : `${xff}, ${value}`; continue; }
    if (name === 'x-forwarded-proto') { xfp = xfp === undefined ? value : `${xfp}, ${value}`; continue; }
    if (name === 'x-forwarded-host') { xfh ??= value; continue; }
    out.push(name, value);
  }
  out.push('x-forwarded-for', xff === undefined ? facts.clientIp : `${xff}, ${facts.clientIp}`);
  out.push('x-forwarded-proto', xfp === undefined ? facts.proto : `${xfp}, ${facts.proto}`);
  out.push('x-forwarded-host', xfh ?? facts.host);
  if (facts.upgrade !== null) out.push('connection', 'upgrade', 'upgrade', facts.upgrade);
  return out;
}

/**
 * Response headers for the client: lower-case names, hop-by-hop and ngrok-error-code removed. The
 * upstream's Content-Length (framing: the engine writes its own) is returned beside them, -1 if none.
 */
export function clientResponseHeaders(raw: string[], keepUpgrade: boolean): { headers: HeaderList; length: number } {
  const headers = lowerCaseNames(raw);
  const listed = connectionListed(headers);
  const out: HeaderList = [];
  let length = -1;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name === 'content-length') { length = Number(headers[i + 1]); continue; }
    if (name === 'ngrok-error-code') continue;
    if (keepUpgrade && (name === 'connection' || name === 'upgrade')) { out.push(name, headers[i + 1]!); continue; }
    if (HOP_BY_HOP.has(name) || (listed !== null && listed.has(name))) continue;
    out.push(name, headers[i + 1]!);
  }
  return { headers: out, length };
}
