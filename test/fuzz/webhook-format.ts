// The webhooks target's input format, text up to the body:
//   <provider id> <METHOD> <path?query>\n  then  <name>: <value>\n  lines, then an empty line, then the body.
// Written by the corpus generator from real signed requests, read back by the target.
export interface WebhookInput {
  provider: string;
  method: string;
  pathAndQuery: string;
  headers: string[];
  body: Buffer;
}

export function encodeWebhook(input: WebhookInput): Buffer {
  let head = `${input.provider} ${input.method} ${input.pathAndQuery}\n`;
  for (let i = 0; i < input.headers.length; i += 2) head += `${input.headers[i]}: ${input.headers[i + 1]}\n`;
  return Buffer.concat([Buffer.from(head + '\n', 'latin1'), input.body]);
}

export function decodeWebhook(data: Buffer): WebhookInput | null {
  const end = data.indexOf('\n\n');
  const head = data.subarray(0, end < 0 ? data.length : end).toString('latin1').split('\n');
  const [provider, method, pathAndQuery] = (head[0] ?? '').split(' ');
  if (provider === undefined || method === undefined || pathAndQuery === undefined) return null;
  const headers: string[] = [];
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).replace(/^ /, ''));
  }
  return { provider, method, pathAndQuery, headers, body: end < 0 ? Buffer.alloc(0) : data.subarray(end + 2) };
}
