// `edgeplane bench tls`: new TLS connections per second, closed loop. Each worker connects, does a full
// handshake (no session reuse, so every connection pays for one), optionally sends one HTTP request with
// Connection: close and reads to EOF, then closes. For TLS passthrough and terminating edges alike.
import tls from 'node:tls';

export interface TlsLoadOptions {
  host: string;
  port: number;
  servername: string;
  connections: number;
  durationS: number;
  /** Path of one GET per connection (HTTPS edges), or null to close right after the handshake. */
  path: string | null;
  progress: NodeJS.WritableStream | null;
}

export interface TlsLoadSummary {
  scenario: 'tls';
  target: string;
  connections: number;
  durationS: number;
  completed: number;
  connectionsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  errors: { connect: number; handshake: number; response: number };
  protocols: Record<string, number>;
  perSecond: number[];
}

export async function runTlsLoad(o: TlsLoadOptions): Promise<TlsLoadSummary> {
  const started = performance.now();
  const deadline = started + o.durationS * 1000;
  const latencies: number[] = [];
  const errors = { connect: 0, handshake: 0, response: 0 };
  const protocols: Record<string, number> = {};
  const perSecond: number[] = [];
  let thisSecond = 0;
  const ticker = setInterval(() => {
    perSecond.push(thisSecond);
    o.progress?.write(`\r${perSecond.length}s: ${thisSecond} conn/s   `);
    thisSecond = 0;
  }, 1000);
  const one = (): Promise<void> => new Promise((resolve) => {
    const t0 = performance.now();
    let secured = false;
    let text = '';
    const socket = tls.connect({ host: o.host, port: o.port, servername: o.servername, rejectUnauthorized: false, session: undefined });
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
    socket.once('secureConnect', () => {
      secured = true;
      const protocol = socket.getProtocol() ?? 'unknown';
      protocols[protocol] = (protocols[protocol] ?? 0) + 1;
      if (o.path === null) socket.end();
      else socket.end(`GET ${o.path} HTTP/1.1\r\nHost: ${o.servername}\r\nConnection: close\r\n\r\n`);
    });
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => { if (text.length < 16) text += d; });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (secured) errors.response++;
      else if (err.code === 'ECONNREFUSED') errors.connect++;
      else errors.handshake++;
    });
    socket.once('close', (hadError) => {
      if (!hadError) {
        if (o.path !== null && !/^HTTP\/1\.[01] [23]\d\d/.test(text)) errors.response++;
        else { latencies.push(performance.now() - t0); thisSecond++; }
      }
      resolve();
    });
  });
  const worker = async (): Promise<void> => { while (performance.now() < deadline) await one(); };
  await Promise.all(Array.from({ length: o.connections }, worker));
  clearInterval(ticker);
  o.progress?.write('\n');
  const elapsedS = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => (latencies.length === 0 ? 0 : Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! * 100) / 100);
  return {
    scenario: 'tls',
    target: `${o.host}:${o.port} (SNI ${o.servername})`,
    connections: o.connections,
    durationS: Math.round(elapsedS * 100) / 100,
    completed: latencies.length,
    connectionsPerSecond: Math.round(latencies.length / elapsedS),
    latencyMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1) },
    errors,
    protocols,
    perSecond,
  };
}

export function formatTlsSummary(s: TlsLoadSummary): string {
  const rows: Array<[string, string]> = [
    ['target', s.target],
    ['connections × seconds', `${s.connections} × ${s.durationS}`],
    ['completed connections', String(s.completed)],
    ['new connections/s', String(s.connectionsPerSecond)],
    ['latency p50 / p90 / p99 / max (ms)', `${s.latencyMs.p50} / ${s.latencyMs.p90} / ${s.latencyMs.p99} / ${s.latencyMs.max}`],
    ['TLS versions', Object.entries(s.protocols).map(([p, n]) => `${p}: ${n}`).join(', ') || '–'],
    ['errors connect / handshake / response', `${s.errors.connect} / ${s.errors.handshake} / ${s.errors.response}`],
    ['connections/s per second', s.perSecond.join(' ')],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}
