import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { waitPortOpen } from '../ports.js';
import { isRunning, startPinned, type BenchChild } from '../processes.js';
import { SCALE_DOMAIN } from './names.js';
import { originCommand, type ScaleTools } from './tools.js';

/** ECDSA P-256 certificate for *.scale.test (made once, kept under workDir/scale-certs). */
export function ensureScaleCert(workDir: string): { cert: string; key: string } {
  const dir = join(workDir, 'scale-certs');
  const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  if (existsSync(files.cert) && existsSync(files.key)) return files;
  mkdirSync(dir, { recursive: true });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', files.key, '-out', files.cert, '-days', '3650', '-subj', `/CN=origin.${SCALE_DOMAIN}`,
    '-addext', `subjectAltName=DNS:*.${SCALE_DOMAIN}`], { stdio: 'ignore' });
  return files;
}

/** Starts the two marker origins (one process) pinned to `cpu` and waits for both ports. */
export async function startMarkerOrigin(tools: ScaleTools, cert: { cert: string; key: string }, ports: { originA: number; originB: number },
  cpu: number, logPath: string): Promise<BenchChild> {
  const [cmd, args] = originCommand(tools, cert, ports);
  const child = startPinned('origin', cpu, cmd, args, logPath);
  for (const port of [ports.originA, ports.originB]) {
    if (!(await waitPortOpen(port, 15_000, () => isRunning(child)))) throw new Error(`the marker origin did not open port ${port} (see ${logPath})`);
  }
  return child;
}
