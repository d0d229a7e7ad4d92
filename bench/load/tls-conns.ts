import { buildGoTool } from './go-tool.js';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { runPinned, type CpuList } from '../processes.js';

export type ConnsClient = { kind: 'tlsload'; bin: string; version: string } | { kind: 'node-tls'; script: string; version: string };

/** Result of one closed-loop new-connection run. */
export interface ConnsResult { requests: number; duration_us: number; err_connect: number; err_read: number; err_status: number; p50_us: number; p99_us: number; client: string }

/**
 * Picks the new-connection client: the Go tlsload (built into workDir/bin) when `go` is installed,
 * because Go's crypto/tls costs the shared load core less per handshake than an OpenSSL 3.0 client;
 * else the node fallback.
 */
export function prepareConnsClient(repoRoot: string, workDir: string, wanted: 'auto' | 'tlsload' | 'node'): ConnsClient {
  const script = fileURLToPath(new URL('./tls-conns-client.js', import.meta.url));
  const nodeClient: ConnsClient = { kind: 'node-tls', script, version: `node ${process.version}` };
  if (wanted === 'node') return nodeClient;
  const src = join(repoRoot, 'bench/load/tlsload');
  try {
    const { bin, goVersion } = buildGoTool(src, 'tlsload', workDir);
    return { kind: 'tlsload', bin, version: `tlsload (${goVersion})` };
  } catch (e) {
    if (wanted === 'tlsload') throw new Error(`tlsload unavailable: ${(e as Error).message}`);
    return nodeClient;
  }
}

export async function runConns(client: ConnsClient, cpu: CpuList, port: number, sni: string, conns: number, seconds: number): Promise<ConnsResult> {
  const [cmd, args] = client.kind === 'tlsload'
    ? [client.bin, ['-addr', `127.0.0.1:${port}`, '-sni', sni, '-path', '/small', '-c', String(conns), '-d', `${seconds}s`]]
    : [process.execPath, [client.script, String(port), sni, String(conns), String(seconds)]];
  const out = await runPinned(cpu, cmd, args, (seconds + 30) * 1000);
  const line = out.stdout.split('\n').find((l) => l.startsWith('LOADJSON '));
  if (!line) throw new Error(`new-connection client gave no result (rc ${out.code}${out.timedOut ? ', timed out' : ''}): ${out.stderr.slice(-400)}`);
  return JSON.parse(line.slice('LOADJSON '.length)) as ConnsResult;
}
