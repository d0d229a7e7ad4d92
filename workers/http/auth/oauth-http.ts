// The adapters' HTTP client: node's global fetch with a timeout, no redirects (a redirect could carry
// a token to another host), https only (http for loopback test servers), bodies capped and parsed as
// JSON or, for GitHub's token endpoint without the right Accept header, as a form.
import { OAuthError } from './oauth-errors.js';

export type OAuthStage = 'token' | 'userinfo';

export interface OAuthHttpOptions {
  timeoutMs: number;
  /** Replaces global fetch (tests). */
  fetch?: typeof fetch;
}

export interface OAuthHttpAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON (or form fields as an object); undefined when the body is empty or unreadable. */
  body: unknown;
}

const MAX_BODY_BYTES = 1024 * 1024;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Null when edgeplane may send credentials to `text`; else why not (the config schema checks the same). */
export function endpointProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `'${text}' is not an absolute URL`;
  }
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return null;
  return `'${text}' must be an https URL (http only for 127.0.0.1, localhost and [::1])`;
}

export async function oauthRequest(url: string, init: RequestInit, stage: OAuthStage, options: OAuthHttpOptions): Promise<OAuthHttpAnswer> {
  const unreachable = stage === 'token' ? 'token_unreachable' : 'userinfo_unreachable';
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (err) {
    throw new OAuthError(unreachable, networkDetail(err));
  }
  let text: string;
  try {
    text = await readCapped(response);
  } catch (err) {
    throw new OAuthError(unreachable, err instanceof OAuthError ? err.detail : networkDetail(err));
  }
  return { status: response.status, headers: response.headers, body: parseBody(text, response.headers.get('content-type') ?? '') };
}

async function readCapped(response: Response): Promise<string> {
  if (response.body === null) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new OAuthError('userinfo_unreachable', `answer over ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string, contentType: string): unknown {
  if (text.trim() === '') return undefined;
  if (/application\/x-www-form-urlencoded/i.test(contentType)) return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function networkDetail(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
    const cause = err.cause as { code?: unknown } | undefined;
    if (cause !== undefined && typeof cause.code === 'string' && /^[A-Z0-9_]{1,40}$/.test(cause.code)) return cause.code;
  }
  return 'network error';
}

/** The answer's body as a plain object, or null. */
export function asObject(body: unknown): Record<string, unknown> | null {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
}

/** 429, or GitHub's 403 with an exhausted quota: the provider is throttling us, not refusing the user. */
export function isThrottled(answer: OAuthHttpAnswer): boolean {
  if (answer.status === 429) return true;
  return answer.status === 403 && answer.headers.get('x-ratelimit-remaining') === '0';
}
