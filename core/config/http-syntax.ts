// Syntax rules for HTTPS route values (spec §1.5, §1.6): route matches and the request/response
// headers modules. Each returns a reason (ending in its ngrok code where ngrok has one) or null.
import { templateProblem } from '../http/templates.js';
import { normalizePath } from '../http/path.js';

export const MAX_ROUTE_MATCH_BYTES = 1024; // spec §1.5 (7135)
export const MAX_HEADERS_PER_MODULE = 5; // spec §1.6 (7015): 5 added and 5 removed
export const MAX_HEADER_NAME_BYTES = 256; // spec §1.6 (7105)
export const MAX_HEADER_VALUE_BYTES = 4096; // spec §1.6 (7106)

// RFC 3986 pchar (unreserved, sub-delims, ':', '@', pct-encoded) plus '/'.
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
// RFC 9110 §5.6.2 tchar.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Control characters other than tab (RFC 9110 §5.5), and what Latin-1 cannot carry on the wire.
const BAD_VALUE_CHAR = /[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]/;

/** spec §1.5: a route's `match` is a `/path`, matched against normalised request paths. */
export function routeMatchProblem(match: string): string | null {
  if (match === '') return 'match must not be empty (ERR_NGROK_7123)';
  if (Buffer.byteLength(match) > MAX_ROUTE_MATCH_BYTES) return `match is longer than ${MAX_ROUTE_MATCH_BYTES} bytes (ERR_NGROK_7135)`;
  if (!match.startsWith('/')) return `match '${match}' must be a path such as /foo or /foo/bar (ERR_NGROK_7131)`;
  if (!PATH_CHARS.test(match)) {
    const bad = [...match].find((c) => !PATH_CHARS.test(c))!;
    return `match '${match}' contains ${JSON.stringify(bad)}, which a path may not (no query, fragment, spaces or control characters) (ERR_NGROK_7131)`;
  }
  const canonical = normalizePath(match);
  if (canonical === null) return `match '${match}' has a '%' that is not followed by two hex digits (ERR_NGROK_7131)`;
  // Requests are matched after normalisation, so any other spelling could never match.
  if (canonical !== match) return `match '${match}' is not in normal form and could never match a request: write '${canonical}' (ERR_NGROK_7131)`;
  return null;
}

export function headerNameProblem(name: string): string | null {
  if (name === '') return 'header names must not be empty (ERR_NGROK_7023)';
  if (Buffer.byteLength(name) > MAX_HEADER_NAME_BYTES) return `header name is longer than ${MAX_HEADER_NAME_BYTES} bytes (ERR_NGROK_7105)`;
  if (!TOKEN.test(name)) return `header name ${JSON.stringify(name)} may contain only letters, digits and !#$%&'*+-.^_\`|~ (ERR_NGROK_7023)`;
  return null;
}

export function headerValueProblem(value: string): string | null {
  if (value.trim() === '') return 'header values must not be empty (ERR_NGROK_7024)';
  if (Buffer.byteLength(value) > MAX_HEADER_VALUE_BYTES) return `header value is longer than ${MAX_HEADER_VALUE_BYTES} bytes (ERR_NGROK_7106)`;
  const bad = BAD_VALUE_CHAR.exec(value);
  if (bad !== null) {
    const code = bad[0].codePointAt(0)!;
    const what = code > 0xff ? 'a character outside Latin-1' : `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    return `header value contains ${what}, which HTTP header values cannot carry (ERR_NGROK_7024)`;
  }
  const template = templateProblem(value);
  return template === null ? null : `${template} (ERR_NGROK_2213)`;
}

// Framing and hop-by-hop headers belong to the edge (RFC 9110 §7.6.1): a module that set Content-Length
// or Transfer-Encoding could make the edge and the upstream disagree about where a message ends.
const EDGE_MANAGED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer', 'http2-settings']);

export type HeadersSide = 'request' | 'response';

export interface HeadersProblem {
  /** Relative to the module: ['add', name] or ['remove', index] or ['add'] / ['remove']. */
  path: (string | number)[];
  message: string;
}

/** spec §1.6: every rule of one request_headers / response_headers module. */
export function headersModuleProblems(side: HeadersSide, add: Record<string, string>, remove: readonly string[]): HeadersProblem[] {
  const problems: HeadersProblem[] = [];
  const report = (path: (string | number)[], message: string) => problems.push({ path, message });
  const names = Object.keys(add);
  if (names.length > MAX_HEADERS_PER_MODULE) report(['add'], `at most ${MAX_HEADERS_PER_MODULE} headers may be added, got ${names.length} (ERR_NGROK_7015)`);
  if (remove.length > MAX_HEADERS_PER_MODULE) report(['remove'], `at most ${MAX_HEADERS_PER_MODULE} headers may be removed, got ${remove.length} (ERR_NGROK_7015)`);

  const added = new Map<string, string>(); // lower-case name → name as written
  for (const name of names) {
    const path = ['add', name];
    const problem = headerNameProblem(name) ?? headerValueProblem(add[name]!);
    if (problem !== null) { report(path, problem); continue; }
    const lower = name.toLowerCase();
    const first = added.get(lower);
    if (first !== undefined) { report(path, `header '${name}' is already added as '${first}': names are case-insensitive (ERR_NGROK_7069)`); continue; }
    added.set(lower, name);
    const refused = refusedAdd(side, lower);
    if (refused !== null) report(path, refused);
  }
  remove.forEach((name, j) => {
    const path = ['remove', j];
    const problem = headerNameProblem(name);
    if (problem !== null) return void report(path, problem);
    const lower = name.toLowerCase();
    if (EDGE_MANAGED.has(lower)) return void report(path, `'${lower}' is managed by the edge (message framing, hop-by-hop) and cannot be removed`);
    if (side === 'request' && lower === 'user-agent') return void report(path, "request_headers may not remove 'user-agent': the client's own is what the upstream sees");
    if (side === 'request' && lower === 'host' && !added.has('host')) {
      report(path, "request_headers may remove 'host' only when it also adds one: every request needs a Host (ERR_NGROK_7164)");
    }
  });
  return problems;
}

function refusedAdd(side: HeadersSide, lower: string): string | null {
  if (EDGE_MANAGED.has(lower)) return `'${lower}' is managed by the edge (message framing, hop-by-hop) and cannot be added`;
  if (lower === 'ngrok-error-code') return "'ngrok-error-code' is set only by the edge, on the errors it generates, and cannot be added";
  if (side === 'request' && lower === 'user-agent') return "request_headers may not add 'user-agent': the client's own is what the upstream sees";
  if (side === 'request' && lower === 'ngrok-skip-browser-warning') return "request_headers may not add 'ngrok-skip-browser-warning'";
  return null;
}
