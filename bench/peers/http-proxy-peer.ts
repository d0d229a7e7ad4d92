// node:http + `http-proxy` peer (proxy.web() through a keep-alive http.Agent), one process:
// peers-bench's node/http-proxy-peer.js, same settings, so its S1 row compares with the target table.
// Usage: node dist/bench/peers/http-proxy-peer.js <listen port> <origin port>
import http from 'node:http';
import httpProxy from 'http-proxy';

const [port, originPort] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${originPort}`, agent, xfwd: false });
proxy.on('error', (_err, _req, res) => {
  // res is a Socket only for WebSocket upgrades, which this peer never proxies
  if (!(res instanceof http.ServerResponse)) { res.destroy(); return; }
  if (!res.headersSent) res.writeHead(502);
  res.end();
});
const server = http.createServer((req, res) => {
  // hop-by-hop: keep the upstream connection pooled even when the client sends "Connection: close"
  delete req.headers.connection;
  proxy.web(req, res);
});
server.keepAliveTimeout = 120_000;
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => { server.close(); agent.destroy(); process.exit(0); });
