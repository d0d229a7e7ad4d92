// One POST with node:http(s): a timeout, an abort signal, and the answer read back (bounded).
import http from 'node:http';
import https from 'node:https';

export interface PostResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface PostOptions {
  agent: http.Agent;
  timeoutMs: number;
  signal: AbortSignal;
}

const MAX_RESPONSE_BYTES = 1024 * 1024;

export function agentFor(url: URL, maxSockets: number): http.Agent {
  const options = { keepAlive: true, maxSockets };
  return url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
}

/** Rejects on network errors, timeouts and aborts (callers treat those as retryable). */
export function post(url: URL, headers: Record<string, string>, body: Buffer, options: PostOptions): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      agent: options.agent,
      headers: { ...headers, 'content-length': String(body.length) },
      signal: options.signal,
      timeout: options.timeoutMs,
    }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url.host} within ${options.timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

/** Parses an http(s) URL from user config, or says what is wrong with it. */
export function parseHttpUrl(text: string, what: string): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${what} is not a valid URL: ${JSON.stringify(text)}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${what} must be an http:// or https:// URL, got ${url.protocol}`;
  return url;
}
