// A browser in miniature for the identity-module tests: one cookie jar (name → value) and one new
// HTTPS connection per request (so requests spread over the workers), optional form POSTs.
import { httpsRequest, type ClientResult } from './http.js';

export interface CookieBrowserTarget { port: number; ca: string }

export class CookieBrowser {
  readonly jar = new Map<string, string>();

  /** `issued` collects every cookie value the edge ever set (for the tests' secret greps). */
  constructor(readonly host: string, private readonly target: CookieBrowserTarget, private readonly issued?: Set<string>) {}

  async request(path: string, options: { method?: string; headers?: Record<string, string>; form?: URLSearchParams } = {}): Promise<ClientResult> {
    const cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const headers: Record<string, string> = { ...options.headers };
    if (cookie !== '') headers.cookie = cookie;
    let body: Buffer | undefined;
    if (options.form !== undefined) {
      body = Buffer.from(options.form.toString());
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(body.length);
    }
    const res = await httpsRequest({
      port: this.target.port, host: this.host, ca: this.target.ca, path,
      method: options.method ?? (body ? 'POST' : 'GET'), headers, ...(body ? { body } : {}),
    });
    for (const line of res.headers['set-cookie'] ?? []) this.keep(line);
    return res;
  }

  /** Names of the jar's cookies that match. */
  names(pattern: RegExp): string[] {
    return [...this.jar.keys()].filter((name) => pattern.test(name));
  }

  private keep(line: string): void {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (/max-age=0/i.test(line) || value === '') this.jar.delete(name);
    else { this.jar.set(name, value); this.issued?.add(value); }
  }
}
