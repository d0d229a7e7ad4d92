// A client of the Event Subscriptions / REST API on a daemon's admin listener: bearer key, the
// ngrok-version header, JSON in and out.
export interface ApiReply { status: number; body: any; text: string }

export type ApiCall = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiReply>;

/** `base` is `http://host:port`; a path that is already a URL is used as is. */
export function apiClient(base: string, key: string): ApiCall {
  return async (method, path, body, headers = {}) => {
    const res = await fetch(path.startsWith('http') ? path : base + path, {
      method,
      headers: { authorization: `Bearer ${key}`, 'ngrok-version': '2', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : JSON.parse(text), text };
  };
}
