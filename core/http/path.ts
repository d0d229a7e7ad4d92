// Request-target normalisation before routing (issue 3, spec §1.5). Routes and the modules on them
// must see one canonical path, or `/admin` guarded by auth is reachable as `//admin`, `/x/../admin`
// or `/%61dmin`. Same rules as RFC 3986 §6.2.2 plus what proxies in front of path ACLs do:
// percent-decode unreserved characters, treat %2F and %5C as separators, merge slashes, resolve
// dot segments (decoded ones too), never climb above the root.

export interface SplitTarget { path: string; query: string }

/** Splits an origin-form or absolute-form target into path and query; null when it is neither. */
export function splitTarget(target: string): SplitTarget | null {
  let start = 0;
  if (target.charCodeAt(0) !== 47 /* / */) {
    // absolute-form (RFC 9112 §3.2.2): scheme://authority/path
    const scheme = target.indexOf('://');
    if (scheme <= 0) return target === '*' ? { path: '*', query: '' } : null;
    const slash = target.indexOf('/', scheme + 3);
    if (slash < 0) {
      const q = target.indexOf('?', scheme + 3);
      return { path: '/', query: q < 0 ? '' : target.slice(q + 1) };
    }
    start = slash;
  }
  const q = target.indexOf('?', start);
  const hash = target.indexOf('#', start);
  const pathEnd = q >= 0 ? q : hash >= 0 ? hash : target.length;
  const query = q < 0 ? '' : target.slice(q + 1, hash > q ? hash : target.length);
  return { path: target.slice(start, pathEnd), query };
}

const HEX = /%[0-9A-Fa-f]{2}/g;
const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Canonical path for matching; null for a path that cannot be made canonical (bad escapes, NUL). */
export function normalizePath(raw: string): string | null {
  if (raw === '*') return '*';
  // Fast path: plain paths without escapes, dots after slashes or doubled slashes stay as they are.
  if (!needsWork(raw)) return raw;
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return null; // a lone % is not a path we can canonicalise
  let bad = false;
  const decoded = raw.replace(HEX, (esc) => {
    const code = parseInt(esc.slice(1), 16);
    if (code === 0x2f || code === 0x5c) return '/';
    if (code === 0) bad = true;
    const ch = String.fromCharCode(code);
    return UNRESERVED.test(ch) ? ch : esc.toUpperCase();
  });
  if (bad) return null;
  const out: string[] = [];
  for (const segment of decoded.replace(/\\/g, '/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') { out.pop(); continue; }
    out.push(segment);
  }
  const trailing = /\/(\.|\.\.)?$/.test(decoded) && out.length > 0 ? '/' : '';
  return '/' + out.join('/') + trailing;
}

function needsWork(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 /* % */ || c === 92 /* \ */) return true;
    if (c === 47 /* / */ && i + 1 < path.length) {
      const n = path.charCodeAt(i + 1);
      if (n === 47 || n === 46 /* . */) return true;
    }
  }
  return path.length === 0;
}
