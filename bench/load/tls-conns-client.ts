// Fallback new-connection client when Go is not installed (slower per handshake than tlsload, so the
// shared load core saturates earlier). Closed loop: C workers, each: TCP connect, full TLS 1.3
// handshake (no session reuse), GET /small with Connection: close, read to EOF, close.
// Usage: node dist/bench/load/tls-conns-client.js <port> <sni> <conns> <seconds>
import tls from 'node:tls';

const [port, sni, conns, seconds] = process.argv.slice(2);
const deadline = Date.now() + Number(seconds) * 1000;
const request = `GET /small HTTP/1.1\r\nHost: ${sni}\r\nConnection: close\r\n\r\n`;
const lat: number[] = [];
let errConnect = 0;
let errRead = 0;
let errStatus = 0;
let bytes = 0;

function once(): Promise<void> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let got = '';
    let secured = false;
    const sock = tls.connect({ host: '127.0.0.1', port: Number(port), servername: sni, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    sock.setTimeout(5000, () => sock.destroy(new Error('timeout')));
    sock.once('secureConnect', () => { secured = true; sock.end(request); });
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => { got += d; });
    sock.once('error', () => { if (secured) errRead++; else errConnect++; resolve(); });
    sock.once('close', (hadError) => {
      if (hadError) return;
      if (!got.startsWith('HTTP/1.1 200')) errStatus++;
      bytes += got.length;
      lat.push(Number(process.hrtime.bigint() - t0) / 1000);
      resolve();
    });
  });
}

async function worker(): Promise<void> {
  while (Date.now() < deadline) await once();
}

const start = process.hrtime.bigint();
await Promise.all(Array.from({ length: Number(conns) }, worker));
const us = Number(process.hrtime.bigint() - start) / 1000;
lat.sort((a, b) => a - b);
const pct = (p: number): number => Math.round(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? 0);
console.log(`LOADJSON ${JSON.stringify({
  requests: lat.length, duration_us: Math.round(us), bytes, err_connect: errConnect, err_read: errRead,
  err_status: errStatus, p50_us: pct(50), p99_us: pct(99), client: 'node-tls',
})}`);
