// Fallback origin when nginx is not installed: the same three TLS ports + one HTTP port,
// GET /small (~100 B JSON), GET /big (64 MiB) and GET /json (~100 KB JSON), HTTP/1.1 keep-alive,
// TLS 1.3 only, no resumption.
// Usage: node dist/bench/origin/node-origin.js <cert.pem> <key.pem> <big.bin> [port offset] [data.json]
import http from 'node:http';
import https from 'node:https';
import { constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { originHttpPort, originTlsPorts, setPortOffset } from '../ports.js';
import { SMALL_BODY } from '../fixtures.js';

const [certPath, keyPath, bigPath, offset, jsonPath] = process.argv.slice(2);
setPortOffset(Number(offset ?? 0));
const big = readFileSync(bigPath);
const json = jsonPath ? readFileSync(jsonPath) : Buffer.alloc(0);

function answer(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/small') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(SMALL_BODY) });
    res.end(SMALL_BODY);
  } else if (req.url === '/json' && json.length > 0) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': json.length });
    res.end(json);
  } else if (req.url === '/big') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': big.length });
    res.end(big);
  } else {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
  }
}

const plain = http.createServer({ keepAliveTimeout: 120_000 }, answer);
plain.listen(originHttpPort(), '127.0.0.1');
for (const port of originTlsPorts()) {
  const srv = https.createServer({
    cert: readFileSync(certPath), key: readFileSync(keyPath), minVersion: 'TLSv1.3',
    // no tickets, no cache: every new connection is a full handshake
    secureOptions: constants.SSL_OP_NO_TICKET, keepAliveTimeout: 120_000,
  }, answer);
  srv.listen(port, '127.0.0.1');
}
process.on('SIGTERM', () => process.exit(0));
