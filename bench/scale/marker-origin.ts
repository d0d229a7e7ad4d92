// The route-scale origins: two TLS 1.3 ports that complete the handshake, write one marker byte
// ("A" or "B", the port's name) and close, so a client learns where the proxy routed it.
// No session resumption: every connection is a full handshake.
// Usage: node dist/bench/scale/marker-origin.js <cert.pem> <key.pem> <port A> <port B>
import { constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { MARKER } from './names.js';

const [certPath, keyPath, portA, portB] = process.argv.slice(2);
if (!certPath || !keyPath || !portA || !portB) {
  process.stderr.write('usage: marker-origin.js <cert.pem> <key.pem> <port A> <port B>\n');
  process.exit(2);
}
const cert = readFileSync(certPath);
const key = readFileSync(keyPath);

for (const [port, marker] of [[portA, MARKER.a], [portB, MARKER.b]] as const) {
  const server = tls.createServer({ cert, key, minVersion: 'TLSv1.3', secureOptions: constants.SSL_OP_NO_TICKET }, (socket) => {
    socket.on('error', () => { /* clients close abruptly; nothing to do */ });
    socket.end(marker);
  });
  server.on('tlsClientError', () => { /* a probe that gave up mid-handshake */ });
  server.listen({ port: Number(port), host: '127.0.0.1', backlog: 4096 });
}
process.on('SIGTERM', () => process.exit(0));
