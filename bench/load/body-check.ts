import { gunzipSync, inflateSync } from 'node:zlib';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPinned, type CpuList } from '../processes.js';

/** One response as sent on the wire: body and header bytes, its Content-Encoding, and whether it decodes to the original. */
export interface BodyCheck { status: number; body_bytes: number; header_bytes: number; encoding: string; body_matches: boolean }

// curl (no --compressed, so the body is kept as sent) with the same request the load sends; the
// decoded body is compared with the origin's file byte for byte.
export async function checkBody(cpu: CpuList, port: number, host: string, path: string, acceptEncoding: string, expected: Buffer): Promise<BodyCheck> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-bench-body-'));
  try {
    const headersFile = join(dir, 'headers');
    const bodyFile = join(dir, 'body');
    const out = await runPinned(cpu, 'curl', ['-s', '--http1.1', '-D', headersFile, '-o', bodyFile, '-w', '%{http_code}',
      '-H', `Host: ${host}`, '-H', `Accept-Encoding: ${acceptEncoding}`, `http://127.0.0.1:${port}${path}`], 30_000);
    const head = readFileSync(headersFile, 'latin1');
    const body = readFileSync(bodyFile);
    const encoding = /^content-encoding:\s*([^\r\n]*)/im.exec(head)?.[1]?.trim().toLowerCase() || 'identity';
    let decoded: Buffer | null = body;
    try {
      if (encoding === 'gzip') decoded = gunzipSync(body);
      else if (encoding === 'deflate') decoded = inflateSync(body);
      else if (encoding !== 'identity') decoded = null;
    } catch { decoded = null; }
    return {
      status: Number(out.stdout.trim()) || 0, body_bytes: body.length, header_bytes: Buffer.byteLength(head, 'latin1'),
      encoding, body_matches: decoded !== null && decoded.equals(expected),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
