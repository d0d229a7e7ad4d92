// `edgeplane bench tls`: new TLS connections per second, closed loop. Each worker connects, does a full
// handshake (no session reuse, so every connection pays for one), optionally sends one HTTP request with
// Connection: close and reads to EOF, then closes. For TLS passthrough and terminating edges alike.
import tls from 'node:tls';
import { LatencyHistogram, type LatencyBucket, type LatencyStats } from './histogram.js';
import { PerSecondSampler } from './per-second.js';

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
  /** connect to close (handshake only) or to the end of the response */
  latencyMs: LatencyStats;
  latencyDistribution: LatencyBucket[];
  errors: { connect: number; handshake: number; response: number };
  protocols: Record<string, number>;
  perSecond: number[];
}

export async function runTlsLoad(o: TlsLoadOptions): Promise<TlsLoadSummary> {
  const started = performance.now();
  const deadline = started + o.durationS * 1000;
  const latencies = new LatencyHistogram();
  const errors = { connect: 0, handshake: 0, response: 0 };
  const protocols: Record<string, number> = {};
  const sampler = new PerSecondSampler((second, value) => o.progress?.write(`\r${second}s: ${value} conn/s   `));
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
        else { latencies.record(performance.now() - t0); sampler.add(1); }
      }
      resolve();
    });
  });
  const worker = async (): Promise<void> => { while (performance.now() < deadline) await one(); };
  await Promise.all(Array.from({ length: o.connections }, worker));
  const perSecond = sampler.stop();
  o.progress?.write('\n');
  const elapsedS = (performance.now() - started) / 1000;
  return {
    scenario: 'tls',
    target: `${o.host}:${o.port} (SNI ${o.servername})`,
    connections: o.connections,
    durationS: Math.round(elapsedS * 100) / 100,
    completed: latencies.count,
    connectionsPerSecond: Math.round(latencies.count / elapsedS),
    latencyMs: latencies.stats(),
    latencyDistribution: latencies.buckets(),
    errors,
    protocols,
    perSecond,
  };
}
