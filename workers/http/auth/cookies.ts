// Cookie header parsing and Set-Cookie building for the auth modules. Hand-written on purpose: the
// `cookie` package in node_modules is only a dev-time transitive dependency (fastify → light-my-request),
// and what we need is small: our own names, base64url values, fixed attributes.
import type { HeaderList } from '../exchange.js';

/** RFC 6265 §4.1.1 cookie-name = token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** cookie-octet: printable US-ASCII except space, DQUOTE, comma, semicolon and backslash. */
const COOKIE_OCTETS = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;
/** Browsers keep at most this many bytes per cookie (name, value and attributes together). */
export const MAX_SET_COOKIE_BYTES = 4096;
// Bounds the work a hostile Cookie header can cause.
const MAX_PAIRS = 256;

/** Cookie name → every value sent under it, in header order (a name may repeat, e.g. from a parent domain). */
export type CookieJar = Map<string, string[]>;

/**
 * Parses every Cookie header value (HTTP/2 may split cookies over several). Pairs with a bad name or
 * bad value bytes are skipped, never fatal. Values keep their bytes; one pair of surrounding quotes is removed.
 */
export function parseCookies(headerValues: readonly string[]): CookieJar {
  const jar: CookieJar = new Map();
  let pairs = 0;
  for (const header of headerValues) {
    for (const part of header.split(';')) {
      if (++pairs > MAX_PAIRS) return jar;
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const name = part.slice(0, eq).trim();
      let value = part.slice(eq + 1).trim();
      if (!TOKEN.test(name)) continue;
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      if (!COOKIE_OCTETS.test(value)) continue;
      const list = jar.get(name);
      if (list === undefined) jar.set(name, [value]);
      else list.push(value);
    }
  }
  return jar;
}

/** All `cookie` request headers of an exchange, parsed. */
export function cookiesFromHeaders(headers: HeaderList): CookieJar {
  const values: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i] === 'cookie') values.push(headers[i + 1]!);
  return parseCookies(values);
}

export interface SetCookieOptions {
  /** Seconds; omitted = a browser-session cookie. Expires is written alongside for old clients. */
  maxAgeS?: number;
  /** Defaults: Path=/, HttpOnly, Secure, SameSite=Lax. */
  path?: string;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: 'Lax' | 'Strict' | 'None';
  /** Wall clock for Expires, ms since the epoch. */
  nowMs?: number;
}

export class CookieTooLargeError extends Error {
  constructor(readonly cookieName: string, readonly bytes: number) {
    super(`the ${cookieName} cookie would be ${bytes} bytes; browsers drop cookies over ${MAX_SET_COOKIE_BYTES}`);
    this.name = 'CookieTooLargeError';
  }
}

/** A Set-Cookie header value. Throws on an invalid name or value (the message never includes the value). */
export function buildSetCookie(name: string, value: string, options: SetCookieOptions = {}): string {
  if (!TOKEN.test(name)) throw new Error(`cookie name ${JSON.stringify(name)} is not a valid token`);
  if (!COOKIE_OCTETS.test(value)) throw new Error(`the value for cookie ${name} holds characters a cookie cannot carry`);
  const path = checkedPath(options.path);
  const parts = [`${name}=${value}`, `Path=${path}`];
  if (options.maxAgeS !== undefined) {
    const maxAge = Math.max(0, Math.floor(options.maxAgeS));
    parts.push(`Max-Age=${maxAge}`, `Expires=${new Date((options.nowMs ?? Date.now()) + maxAge * 1000).toUTCString()}`);
  }
  if (options.httpOnly ?? true) parts.push('HttpOnly');
  if (options.secure ?? true) parts.push('Secure');
  parts.push(`SameSite=${options.sameSite ?? 'Lax'}`);
  const header = parts.join('; ');
  const bytes = Buffer.byteLength(header, 'latin1');
  if (bytes > MAX_SET_COOKIE_BYTES) throw new CookieTooLargeError(name, bytes);
  return header;
}

/** A Set-Cookie value that makes the browser drop the cookie now. */
export function buildDeleteCookie(name: string, options: Pick<SetCookieOptions, 'path' | 'sameSite'> = {}): string {
  if (!TOKEN.test(name)) throw new Error(`cookie name ${JSON.stringify(name)} is not a valid token`);
  return `${name}=; Path=${checkedPath(options.path)}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=${options.sameSite ?? 'Lax'}`;
}

function checkedPath(path = '/'): string {
  if (!/^\/[\x21-\x3A\x3C-\x7E]*$/.test(path)) throw new Error(`cookie path ${JSON.stringify(path)} is not a valid path`);
  return path;
}
