// HTTP/1.1 engine bugs the fuzzer found (test/fuzz, target http1), each kept as a regression on a
// real loopback TCP connection (so the engine reads through llhttp's consume path, not the JS
// 'data' path the in-memory fuzz harness uses). The routes are the fuzz target's: '/' answers
// "hello", '/upload' reads the body first, '/echo' echoes x-echo; unknown hosts get 404.
import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { serveHttp1 } from '../../../workers/http/h1.js';
import { routeRequest } from '../../../workers/http/request.js';
import { CONN, CTX, SETTINGS, SITE } from '../../fuzz/targets/http1.js';

interface Served { port: number; closes: () => number }

async function serve(tt: { teardown(fn: () => unknown): void }): Promise<Served> {
  let closes = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    serveHttp1(socket, { conn: CONN, settings: SETTINGS, ctx: CTX, route: (start) => routeRequest(SITE, start), onClose: () => { closes++; } });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  tt.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as net.AddressInfo).port, closes: () => closes };
}

/** Sends `bytes` (then FIN when `finish`), and collects everything until the server closes (bounded). */
async function exchange(port: number, bytes: string, finish: boolean, limitMs = 8000): Promise<{ text: string; closedByServer: boolean }> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.write(bytes, 'latin1');
  if (finish) socket.end();
  const ended = once(socket, 'end').then(() => true);
  const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), limitMs).unref());
  const closedByServer = await Promise.race([ended, timeout]);
  socket.destroy();
  return { text: Buffer.concat(chunks).toString('latin1'), closedByServer };
}

const HOST = 'Host: app.example.test\r\n';

t.test('HEAD refused before routing (unknown host) gets a head without a body', async (t) => {
  const { port } = await serve(t);
  const { text, closedByServer } = await exchange(port, `HEAD / HTTP/1.1\r\nHost: nowhere.example.test\r\n\r\n`, false);
  t.ok(closedByServer, 'the server closed after its answer');
  t.match(text, /^HTTP\/1\.1 404 /);
  t.match(text, /content-length: 33\r\n/, 'Content-Length says what a GET would get');
  t.ok(text.endsWith('\r\n\r\n'), `nothing after the head: ${JSON.stringify(text.slice(-60))}`);
});

t.test('HEAD with a refused Transfer-Encoding gets a head without a body', async (t) => {
  const { port } = await serve(t);
  const { text } = await exchange(port, `HEAD / HTTP/1.1\r\n${HOST}Transfer-Encoding: gzip\r\n\r\n`, false);
  t.match(text, /^HTTP\/1\.1 400 /);
  t.ok(text.endsWith('\r\n\r\n'), `nothing after the head: ${JSON.stringify(text.slice(-60))}`);
});

t.test('a refused request in a pipeline: earlier requests answered, later ones ignored, in order', async (t) => {
  const { port } = await serve(t);
  // 1: served; 2: no Host (400); 3 and 4: after the refusal, must not be answered (before the fix
  // they were, ahead of the 400, so the client paired 3's response with request 2).
  const pipeline = `GET /upload HTTP/1.1\r\n${HOST}Content-Length: 2\r\n\r\nab` +
    'GET /echo HTTP/1.1\r\nx-echo: 2\r\n\r\n' +
    `HEAD / HTTP/1.1\r\n${HOST}\r\n` +
    `GET /echo HTTP/1.1\r\n${HOST}x-echo: 4\r\n\r\n`;
  const { text, closedByServer } = await exchange(port, pipeline, false);
  t.ok(closedByServer, 'closed after the refusal');
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  t.same(statuses, [200, 400], `responses: ${JSON.stringify(text)}`);
  const first = text.slice(0, text.indexOf('HTTP/1.1 400'));
  t.match(first, /got 2\n$/, 'the first answer is the upload one');
  t.notMatch(first, /connection: close/i, 'the first answer does not announce a close: the 400 still follows');
  t.ok(text.endsWith('Bad request.'), 'the 400 is the last thing sent');
});

t.test('a client that ends in the middle of a body: the connection is closed, not kept forever', async (t) => {
  const served = await serve(t);
  const { text, closedByServer } = await exchange(served.port, `POST /upload HTTP/1.1\r\n${HOST}Content-Length: 5\r\n\r\nh`, true, 5000);
  t.ok(closedByServer, 'the server ended the connection (before the fix: open for good)');
  t.equal(text, '', 'no answer to a request that never completed');
  await t.resolves(waitFor(() => served.closes() === 1), 'onClose ran');
});

t.test('ending mid-body of a pipelined request still answers the complete one before it', async (t) => {
  const { port } = await serve(t);
  const { text, closedByServer } = await exchange(port, `POST /upload HTTP/1.1\r\n${HOST}Content-Length: 3\r\n\r\nabc` +
    `POST /upload HTTP/1.1\r\n${HOST}Content-Length: 9\r\n\r\nxy`, true, 5000);
  t.ok(closedByServer, 'closed');
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  t.same(statuses, [200], `one answer: ${JSON.stringify(text)}`);
  t.match(text, /got 3\n$/);
});

async function waitFor(cond: () => boolean, limitMs = 3000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
