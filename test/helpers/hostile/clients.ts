// Clients for hostile-client tests: an ordinary client that keeps making requests while an attack
// runs (and reports its latencies), and the slow clients themselves.
import https from 'node:https';
import tls from 'node:tls';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { httpsRequest } from '../http.js';

export interface OrdinaryReport {
  ok: number;
  failed: string[];
  latenciesMs: number[];
  p50: number;
  p99: number;
  max: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/**
 * Requests `path` one after another over a keep-alive agent (as a browser would) until stop();
 * every answer must be 200 with the body complete.
 */
export function ordinaryLoop(o: { port: number; host: string; ca: string; path: string; pauseMs?: number; onFirstAnswer?: () => void }): { stop(): Promise<OrdinaryReport> } {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  let running = true;
  const latenciesMs: number[] = [];
  const failed: string[] = [];
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const res = await httpsRequest({ port: o.port, host: o.host, ca: o.ca, path: o.path, agent, timeoutMs: 10_000 });
        if (res.status === 200 && res.complete) {
          latenciesMs.push(performance.now() - started);
          if (latenciesMs.length === 1) o.onFirstAnswer?.();
        }
        else failed.push(`status ${res.status} complete ${res.complete} ${res.error ?? ''}`);
      } catch (err) {
        failed.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, o.pauseMs ?? 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      agent.destroy();
      const sorted = [...latenciesMs].sort((a, b) => a - b);
      return { ok: latenciesMs.length, failed, latenciesMs, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? 0 };
    },
  };
}

const ORDINARY_CHILD = fileURLToPath(new URL('./ordinary-child.js', import.meta.url));

/**
 * ordinaryLoop in a child process: its latencies are the edge's, not those of the test's own event
 * loop, which is busy being the attacker.
 */
export async function ordinaryClient(o: { port: number; host: string; ca: string; path: string }): Promise<{ stop(): Promise<OrdinaryReport> }> {
  const child = spawn(process.execPath, [ORDINARY_CHILD, JSON.stringify(o)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // The child says "serving" after its first answer; the attack starts after that.
  await new Promise<void>((resolve, reject) => {
    const onData = (d: string): void => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      out = out.slice(nl + 1);
      child.stdout.off('data', onData);
      child.stdout.on('data', (more: string) => { out += more; });
      resolve();
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    void exited.then(() => reject(new Error(`the ordinary client exited before its first answer: ${out}`)));
  });
  return {
    async stop() {
      child.stdin.end('stop\n');
      await exited;
      return JSON.parse(out) as OrdinaryReport;
    },
  };
}

export interface ClosedSocket { closedAfterMs: number; received: string }

/**
 * Resolves when `socket` closes: how long after `startedAt`, and what the server had sent; after
 * `timeoutMs` it destroys the socket and reports closedAfterMs = Infinity (the server never closed it).
 */
export function whenClosed(socket: tls.TLSSocket | import('node:net').Socket, startedAt: number, timeoutMs = 15_000): Promise<ClosedSocket> {
  return new Promise((resolve) => {
    let received = '';
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; socket.destroy(); }, timeoutMs);
    const done = (): void => { clearTimeout(timer); resolve({ closedAfterMs: timedOut ? Infinity : Date.now() - startedAt, received }); };
    socket.on('data', (d: Buffer) => { received += d.toString('latin1'); });
    socket.on('error', () => {});
    socket.on('end', () => socket.end()); // the server's FIN: finish our half too (allowHalfOpen sockets)
    if (socket.destroyed) { done(); return; }
    socket.once('close', done);
  });
}

/** Opens `count` TLS connections `batch` at a time; each with the time its handshake finished. */
export async function openTlsConnections(count: number, port: number, servername: string, batch = 20): Promise<Array<{ socket: tls.TLSSocket; openedAt: number }>> {
  const opened: Array<{ socket: tls.TLSSocket; openedAt: number }> = [];
  for (let i = 0; i < count; i += batch) {
    opened.push(...await Promise.all(Array.from({ length: Math.min(batch, count - i) }, () => new Promise<{ socket: tls.TLSSocket; openedAt: number }>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => resolve({ socket, openedAt: Date.now() }));
      socket.once('error', reject);
    }))));
  }
  return opened;
}
