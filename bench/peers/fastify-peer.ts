// fastify + @fastify/http-proxy peer (undici pool behind @fastify/reply-from), one process, logger
// off: peers-bench's node/fastify-peer.js, same settings, so its S1 row compares with the target table.
// Usage: node dist/bench/peers/fastify-peer.js <listen port> <origin port>
import Fastify from 'fastify';
import httpProxy from '@fastify/http-proxy';

const [port, originPort] = process.argv.slice(2);
const app = Fastify({ logger: false, keepAliveTimeout: 120_000 });
await app.register(httpProxy, {
  upstream: `http://127.0.0.1:${originPort}`,
  undici: { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 },
});
await app.listen({ port: Number(port), host: '127.0.0.1' });
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)); });
