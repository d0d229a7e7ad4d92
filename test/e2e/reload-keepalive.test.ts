// Config reloads reach keep-alive clients: after a reload, HTTP/1.1 connections served by the old
// generation end after their next response (connection: close) and HTTP/2 sessions get GOAWAY, so
// busy clients move to the new config within a request or two instead of keeping the old one for
// as long as they stay busy — and no request fails on the way.
import t from 'tap';
import { renameSync, writeFileSync } from 'node:fs';
import type http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { stringify } from 'yaml';
import { startDaemon, type DaemonHandle } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { h2Connect, readUntilMatch, tlsConnect } from '../helpers/http.js';
import { startLoad, type Shot } from '../helpers/faults/load.js';
import { h2, type Outcome } from '../helpers/faults/clients.js';
import { APP, REQUEST_TIMEOUT_MS, faultEdge } from '../helpers/faults/edge.js';

const RELOADS = 5;
const H1_CLIENTS = 2;

const edge = await faultEdge(t);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A request as the client saw it: when it was sent, and its outcome (after at most one retry, HTTP/2 only). */
interface Sent { sentAt: number; outcome: Outcome; retried: string | null }

/**
 * One HTTP/2 client sending requests back to back on one session, and opening a new session once the
 * old one got GOAWAY or closed. A stream the server refused with its GOAWAY (it arrived after the
 * GOAWAY's last stream id; RFC 9113 §6.8: never processed, safe to retry) is retried once on a new
 * session, as browsers do. Any other failure counts.
 */
function startH2Client(port: number): { sent: Sent[]; sessionsOpened: () => number; stop(): Promise<void> } {
  const sent: Sent[] = [];
  let opened = 0;
  let stopping = false;
  let session: http2.ClientHttp2Session | null = null;
  let goneAway = false;
  const fresh = async (): Promise<http2.ClientHttp2Session> => {
    if (session !== null && !goneAway && !session.closed && !session.destroyed) return session;
    session?.close();
    opened++;
    goneAway = false;
    const s = await h2Connect(t, port, APP, edge.ca);
    s.once('goaway', () => { if (session === s) goneAway = true; });
    session = s;
    return s;
  };
  const once = async (n: number): Promise<Outcome> => {
    const s = await fresh();
    if (s.closed || s.destroyed) return { status: 0, headers: {}, body: Buffer.alloc(0), complete: false, error: 'ERR_HTTP2_GOAWAY_SESSION (before sending)', ms: 0, reused: true };
    try {
      return await h2(s, { ':method': 'GET', ':path': `/h2/${n}`, ':authority': APP }, { timeoutMs: REQUEST_TIMEOUT_MS });
    } catch (err) {
      return { status: 0, headers: {}, body: Buffer.alloc(0), complete: false, error: (err as Error).message, ms: 0, reused: true };
    }
  };
  const refusedByGoaway = (o: Outcome): boolean => o.status === 0 && /GOAWAY|REFUSED_STREAM|RST_STREAM 7\b/.test(o.error ?? '');
  const running = (async () => {
    for (let n = 0; !stopping; n++) {
      const sentAt = Date.now();
      let outcome = await once(n);
      let retried: string | null = null;
      if (refusedByGoaway(outcome)) { goneAway = true; retried = outcome.error; outcome = await once(n); }
      sent.push({ sentAt, outcome, retried });
    }
  })();
  return {
    sent,
    sessionsOpened: () => opened,
    async stop() { stopping = true; await running; session?.close(); },
  };
}

/** Rewrites the config the way editors and deploy tools do: a temp file renamed over the path. */
function saveConfig(daemon: DaemonHandle, config: Record<string, unknown>): void {
  const tmp = `${daemon.configPath}.tmp`;
  writeFileSync(tmp, stringify({ admin: { listen: '127.0.0.1:0', debug_endpoints: true }, events: { file: daemon.eventsPath }, ...config }));
  renameSync(tmp, daemon.configPath);
}

t.test('keep-alive HTTP/1.1 and HTTP/2 clients move to each reloaded config within two requests, with no failed request', async (t) => {
  const port = await freePort();
  const versioned = (v: number) => edge.config(port, { response_headers: { add: { 'x-config': `v${v}` } } });
  const daemon = await startDaemon(t, versioned(0));
  const h1Load = startLoad(H1_CLIENTS, { port, host: APP, ca: edge.ca, path: '/h1', timeoutMs: REQUEST_TIMEOUT_MS });
  const h2Client = startH2Client(port);

  // Every client's requests as (sent at, x-config), h2 last.
  const h1Sent = (client: number): Sent[] => h1Load.shots.filter((s: Shot) => s.client === client)
    .map((s) => ({ sentAt: s.at - s.ms, outcome: s, retried: null }));
  const clients = (): Array<{ name: string; sent: Sent[] }> => [
    ...Array.from({ length: H1_CLIENTS }, (_, c) => ({ name: `h1 client ${c}`, sent: h1Sent(c) })),
    { name: 'h2 client', sent: h2Client.sent },
  ];
  /** Waits (bounded) until every client has sent `count` requests since `since`. */
  const requestsSince = async (since: number, count: number): Promise<void> => {
    const until = Date.now() + 15_000;
    while (clients().some((c) => c.sent.filter((s) => s.sentAt >= since).length < count)) {
      if (Date.now() > until) throw new Error(`clients did not send ${count} requests within 15 s`);
      await sleep(20);
    }
  };

  await requestsSince(0, 3);
  let generation = 1;
  const confirmedAt: number[] = [];
  for (let v = 1; v <= RELOADS; v++) {
    saveConfig(daemon, versioned(v));
    daemon.proc.kill('SIGHUP');
    const reloaded = await daemon.waitForLog((l) => l.msg === 'config reloaded' && Number(l.generation) > generation);
    generation = Number(reloaded.generation);
    const at = Date.now();
    confirmedAt.push(at);
    // Enough requests after the confirmation to see the switch (checked below).
    await requestsSince(at, 4);
  }
  await h1Load.stop();
  await h2Client.stop();

  for (const { name, sent } of clients()) {
    const failed = sent.filter((s) => s.outcome.status !== 200 || !s.outcome.complete);
    t.same(failed.map((s) => `${s.outcome.status} ${s.outcome.error}`), [], `${name}: zero failed requests (${sent.length} sent)`);
    for (let v = 1; v <= RELOADS; v++) {
      const from = confirmedAt[v - 1]!;
      const to = confirmedAt[v] ?? Infinity;
      const after = sent.filter((s) => s.sentAt >= from && s.sentAt < to).map((s) => String(s.outcome.headers['x-config']));
      // The first request sent after the confirmation may still be answered by the old generation
      // (its response head may have left before the worker handled the retire); from the second on
      // every answer is the new config's.
      t.same(after.slice(1, 4), Array(Math.max(0, Math.min(3, after.length - 1))).fill(`v${v}`), `${name} sees v${v} within 2 requests of reload ${v} (saw ${after.slice(0, 4).join(', ')})`);
    }
  }
  const retried = h2Client.sent.filter((s) => s.retried !== null).map((s) => s.retried);
  const retries = retried.length;
  t.comment(`h1 connections opened per client: ${h1Load.connectionsOpened.join(', ')}; h2 sessions opened: ${h2Client.sessionsOpened()}, GOAWAY-refused streams retried: ${retries} (${[...new Set(retried)].join('; ')})`);
  // Each reload moves each client once (a connection that raced the reload may cost one more); before
  // the fix they kept their first connection and its generation throughout.
  for (const [c, n] of h1Load.connectionsOpened.entries()) t.ok(n > RELOADS && n <= 2 * RELOADS + 1, `h1 client ${c} reconnected once per reload (${n} connections for ${RELOADS} reloads)`);
  t.ok(h2Client.sessionsOpened() > RELOADS && h2Client.sessionsOpened() <= 2 * RELOADS + 1, `the h2 client opened a new session per reload (${h2Client.sessionsOpened()})`);
  t.ok(retries <= RELOADS, `at most one GOAWAY-refused stream per reload (${retries})`);
  // Old generations held by a worker have no observable (no metric or debug endpoint reports them),
  // so that they are dropped is not asserted here: it follows from no connection pinning them.
});

t.test('a reload does not close an idle keep-alive connection: its next response says connection: close; pipelined requests already read are answered first', async (t) => {
  const port = await freePort();
  const versioned = (v: number) => edge.config(port, { response_headers: { add: { 'x-config': `v${v}` } } });
  const daemon = await startDaemon(t, versioned(0));
  const request = (path: string): string => `GET ${path} HTTP/1.1\r\nhost: ${APP}\r\n\r\n`;
  // The origin answers `ok\n` with content-length 3: n responses are in once n bodies are.
  const responses = (n: number) => (text: string): boolean => text.split('\r\n\r\nok\n').length > n;
  const heads = (text: string): string[] => text.split('\r\n\r\nok\n').slice(0, -1);
  const ended = (socket: TLSSocket): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not close the connection within 10 s')), 10_000);
    socket.once('end', () => { clearTimeout(timer); resolve(); });
    socket.resume();
  });

  const idle = await tlsConnect(port, APP);
  const pipelined = await tlsConnect(port, APP);
  t.teardown(() => { idle.destroy(); pipelined.destroy(); });
  for (const socket of [idle, pipelined]) {
    socket.write(request('/before'));
    const [head] = heads(await readUntilMatch(socket, responses(1)));
    t.match(head, /^HTTP\/1\.1 200 .*x-config: v0\r\n/s, 'served by the first config');
    t.notMatch(head, /connection: close/i, 'kept alive');
  }

  saveConfig(daemon, versioned(1));
  daemon.proc.kill('SIGHUP');
  await daemon.waitForLog((l) => l.msg === 'config reloaded' && l.generation === 2);

  // Still open after the reload (a close now would race with a request the client is sending): the
  // next request is answered, by the generation the connection started on, and ends the connection.
  const idleEnded = ended(idle);
  idle.write(request('/after'));
  const [last] = heads(await readUntilMatch(idle, responses(1)));
  t.match(last, /^HTTP\/1\.1 200 .*x-config: v0\r\n/s, 'the idle connection\'s next request is served');
  t.match(last, /\r\nconnection: close(\r\n|$)/i, 'and its response says connection: close');
  await idleEnded;
  t.pass('the server closes the connection after that response');

  const pipelinedEnded = ended(pipelined);
  pipelined.write(request('/one') + request('/two'));
  const [one, two] = heads(await readUntilMatch(pipelined, responses(2)));
  t.match(one, /^HTTP\/1\.1 200 /, 'the first pipelined request is answered');
  t.notMatch(one, /connection: close/i, 'not as the last response: a request already read follows it');
  t.match(two, /^HTTP\/1\.1 200 .*\r\nconnection: close$/is, 'the second one is answered and ends the connection');
  await pipelinedEnded;

  const fresh = await edge.get(port, '/fresh');
  t.equal(fresh.headers['x-config'], 'v1', 'a new connection is served by the new config');
});
