// Option values of `edgeplane bench` that need more than Number(): byte sizes and request text with
// escapes. Each throws a UsageError with a message for the user.

export class UsageError extends Error {}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `65536`, `512K`, `64M`, `1G` (K/M/G are KiB/MiB/GiB; a trailing `iB` or `B` is allowed). */
export function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(text.trim());
  const bytes = m === null ? NaN : Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new UsageError(`${flag} '${text}': expected a size in bytes such as 65536, 512K, 64M or 1G`);
  return bytes;
}

export function parseCount(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${text}'`);
  return n;
}

/** Request text from the command line: \r \n \t \0 \\ and \xHH become the bytes they name. */
export function parseEscapes(text: string, flag: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') { bytes.push(...Buffer.from(c, 'utf8')); continue; }
    const e = text[++i];
    if (e === 'r') bytes.push(13);
    else if (e === 'n') bytes.push(10);
    else if (e === 't') bytes.push(9);
    else if (e === '0') bytes.push(0);
    else if (e === '\\') bytes.push(92);
    else if (e === 'x' && /^[0-9a-f]{2}$/i.test(text.slice(i + 1, i + 3))) { bytes.push(parseInt(text.slice(i + 1, i + 3), 16)); i += 2; }
    else throw new UsageError(`${flag}: unknown escape '\\${e ?? ''}' (use \\r \\n \\t \\0 \\\\ or \\xHH)`);
  }
  return Buffer.from(bytes);
}

/** `tcp://HOST:PORT` (IPv6 in brackets) → host and port. */
export function parseTcpTarget(text: string): { host: string; port: number } {
  let url: URL;
  try { url = new URL(text); } catch { throw new UsageError(`--url '${text}' is not a URL; bench tcp wants tcp://HOST:PORT`); }
  if (url.protocol !== 'tcp:' || url.hostname === '' || url.port === '') throw new UsageError(`--url '${text}': bench tcp wants tcp://HOST:PORT`);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) };
}
