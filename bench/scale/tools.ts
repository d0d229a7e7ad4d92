// The origin and the new-connection client of the route-scale job: the Go `sniload` (built into
// workDir/bin) when Go is installed, because Go's TLS costs the shared load core a fraction of what
// node's OpenSSL 3.0 does per handshake (so the proxy, not the load core, is what saturates); else the
// node scripts marker-origin.js and sni-load.js, which behave and report the same.
import { buildGoTool } from '../load/go-tool.js';

export type ToolKind = 'go' | 'node';

export interface ScaleTools { kind: ToolKind; version: string; bin?: string; note?: string }

const SRC = new URL('../../../bench/scale/sniload/', import.meta.url).pathname;
const NODE_ORIGIN = new URL('./marker-origin.js', import.meta.url).pathname;
const NODE_LOAD = new URL('./sni-load.js', import.meta.url).pathname;

/** Builds sniload when needed; `wanted` 'go' fails loudly, 'auto' falls back to node. */
export function prepareTools(workDir: string, wanted: 'auto' | ToolKind): ScaleTools {
  const nodeTools: ScaleTools = { kind: 'node', version: `node ${process.version} (OpenSSL ${process.versions.openssl})` };
  if (wanted === 'node') return nodeTools;
  try {
    const { bin, goVersion } = buildGoTool(SRC, 'sniload', workDir);
    return { kind: 'go', version: `sniload (${goVersion}, crypto/tls)`, bin };
  } catch (e) {
    const why = (e as { stderr?: Buffer; message: string }).stderr?.toString().trim() || (e as Error).message;
    if (wanted === 'go') throw new Error(`sniload (Go) unavailable: ${why}`);
    return { ...nodeTools, note: `Go sniload unavailable (${why.split('\n')[0]}); node origin and client used, so the load core saturates sooner` };
  }
}

export function originCommand(t: ScaleTools, cert: { cert: string; key: string }, ports: { originA: number; originB: number }): [string, string[]] {
  return t.kind === 'go'
    ? [t.bin!, ['origin', '-cert', cert.cert, '-key', cert.key, '-a', String(ports.originA), '-b', String(ports.originB)]]
    : [process.execPath, [NODE_ORIGIN, cert.cert, cert.key, String(ports.originA), String(ports.originB)]];
}

export function loadCommand(t: ScaleTools, port: number, hosts: number, conns: number, seconds: number, want: string): [string, string[]] {
  return t.kind === 'go'
    ? [t.bin!, ['load', '-port', String(port), '-hosts', String(hosts), '-c', String(conns), '-d', `${seconds}s`, '-want', want]]
    : [process.execPath, [NODE_LOAD, String(port), String(hosts), String(conns), String(seconds), want]];
}
