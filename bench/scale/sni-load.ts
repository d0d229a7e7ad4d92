// New TLS connections through a passthrough proxy, each with a hostname drawn at random from the N
// routed ones (so the proxy looks up a different name every time, over the whole table). Closed loop:
// C workers, each: connect, full TLS 1.3 handshake (no resumption), read the origin's marker byte,
// close. A connection counts when the marker is the expected one.
// Usage: node dist/bench/scale/sni-load.js <port> <hosts> <conns> <seconds> <marker>
// Prints one line: SCALELOAD {...}
import tls from 'node:tls';
import { hostName } from './names.js';

const [port, hosts, conns, seconds, want] = process.argv.slice(2).map((s, i) => (i === 4 ? s : Number(s))) as [number, number, number, number, string];
if (!(port > 0 && hosts > 0 && conns > 0 && seconds > 0 && typeof want === 'string')) {
  process.stderr.write('usage: sni-load.js <port> <hosts> <conns> <seconds> <marker>\n');
  process.exit(2);
}
const names = Array.from({ length: Math.min(hosts, 1 << 16) }, (_, i) => hostName(i));
const pick = (): string => {
  const i = Math.floor(Math.random() * hosts);
  return i < names.length ? names[i]! : hostName(i);
};

const latencies: number[] = [];
const errors = { refused: 0, closed: 0, wrong_origin: 0, other: 0 };
const deadline = performance.now() + seconds * 1000;

function once(): Promise<void> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let done = false;
    const finish = (outcome: 'ok' | keyof typeof errors): void => {
      if (done) return;
      done = true;
      socket.destroy();
      if (outcome === 'ok') latencies.push(performance.now() - t0);
      else errors[outcome]++;
      resolve();
    };
    const socket = tls.connect({ host: '127.0.0.1', port, servername: pick(), rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    socket.setTimeout(5000, () => finish('other'));
    socket.setEncoding('latin1');
    socket.once('data', (d: string) => finish(d.startsWith(want) ? 'ok' : 'wrong_origin'));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'ECONNRESET' ? 'closed' : 'other'));
    socket.once('close', () => finish('closed'));
  });
}

async function worker(): Promise<void> {
  while (performance.now() < deadline) await once();
}

const start = performance.now();
await Promise.all(Array.from({ length: conns }, worker));
const elapsedS = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const q = (p: number): number => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0) * 1000);
process.stdout.write(`SCALELOAD ${JSON.stringify({
  connections: latencies.length, seconds: elapsedS, per_s: latencies.length / elapsedS, errors, p50_us: q(0.5), p99_us: q(0.99),
})}\n`);
