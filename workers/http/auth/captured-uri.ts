// The URI a login returns to. It must be a path on this origin: anything a browser could read as
// another origin (`//evil`, `/\evil`, `http://…`, tabs or newlines the URL parser strips) would make
// the callback an open redirect.

/** Longer captured URIs fall back to '/' rather than bloat the state parameter. */
export const MAX_CAPTURED_URI_CHARS = 2048;

/** True for an origin-form path (+query) that cannot be read as another origin. */
export function isSameOriginPath(uri: string): boolean {
  if (uri.length === 0 || uri.length > MAX_CAPTURED_URI_CHARS) return false;
  if (uri[0] !== '/') return false;
  if (uri[1] === '/' || uri[1] === '\\') return false;
  // Printable ASCII only: no backslash anywhere, no whitespace or controls (browsers drop tab/CR/LF).
  return /^[\x21-\x5B\x5D-\x7E]+$/.test(uri);
}

/**
 * Path and query of the original request, for the redirect after login. Accepts origin-form and
 * absolute-form request targets (only the path and query of the latter are kept). The method is
 * not kept: the return is always a GET. Unsafe or unusable targets give '/'.
 */
export function captureRequestUri(rawUrl: string): string {
  let target = rawUrl;
  if (!target.startsWith('/')) {
    const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
    if (match === null) return '/';
    target = target.slice(match[0].length);
    if (!target.startsWith('/')) target = `/${target}`;
  }
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  return isSameOriginPath(target) ? target : '/';
}
