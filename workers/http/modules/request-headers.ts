// request_headers (spec §1.6): the last request hook before the upstream (registry order), so its edits
// win over every other module's; only the upstream sees them. Adding `host` replaces the Host, and then
// a Location that points at that upstream host is rewritten back to the endpoint's (the agent's
// --host-header=rewrite), so redirects keep the client on the edge.
import type { Exchange, HeaderList, HttpModule } from '../exchange.js';
import type { ModuleFactory } from '../pipeline.js';
import { applyHeaderEdits, compileHeaderEdits } from './header-edits.js';

const REPLACING: ReadonlySet<string> = new Set(['host']);

function firstValue(headers: HeaderList, name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

// 'Example.com:8080' → 'example.com'; '[::1]:80' → '[::1]'.
function hostName(authority: string): string {
  const lower = authority.trim().toLowerCase();
  if (lower.startsWith('[')) {
    const close = lower.indexOf(']');
    return close < 0 ? lower : lower.slice(0, close + 1);
  }
  const colon = lower.indexOf(':');
  return colon < 0 ? lower : lower.slice(0, colon);
}

const ABSOLUTE_LOCATION = /^(?:([A-Za-z][A-Za-z0-9+.-]*):)?\/\/([^/?#]*)([\s\S]*)$/;

/**
 * `location` rewritten to the endpoint when it is absolute (or network-path) and names the upstream
 * host (the Host this module sent, compared without ports); null when it is left alone.
 */
export function rewriteLocation(location: string, upstreamHost: string, endpointAuthority: string): string | null {
  const m = ABSOLUTE_LOCATION.exec(location);
  if (m === null) return null;
  const scheme = m[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') return null;
  const authority = m[2]!;
  if (authority.includes('@') || hostName(authority) !== hostName(upstreamHost)) return null;
  return `${scheme === undefined ? '' : 'https:'}//${endpointAuthority}${m[3]}`;
}

function endpointAuthority(x: Exchange): string {
  return x.conn.serverPort === 443 ? x.host : `${x.host}:${x.conn.serverPort}`;
}

export const createRequestHeaders: ModuleFactory<'request_headers'> = (spec): HttpModule => {
  const edits = compileHeaderEdits(spec);
  const rewritesHost = edits.add.some(([name]) => name === 'host');
  const module: HttpModule = {
    name: 'request_headers',
    onRequest(x) {
      applyHeaderEdits(x.upstreamHeaders, edits, x, REPLACING);
      return undefined;
    },
  };
  if (!rewritesHost) return module;
  return {
    ...module,
    onResponseHead(x) {
      const upstreamHost = firstValue(x.upstreamHeaders, 'host');
      if (upstreamHost === undefined) return;
      const headers = x.responseHeaders;
      for (let i = 0; i < headers.length; i += 2) {
        if (headers[i] !== 'location') continue;
        const rewritten = rewriteLocation(headers[i + 1]!, upstreamHost, endpointAuthority(x));
        if (rewritten !== null) headers[i + 1] = rewritten;
      }
    },
  };
};
