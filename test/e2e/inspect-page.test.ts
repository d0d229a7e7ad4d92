// The inspection page (GET /inspect + WebSocket /inspect/live) in a real browser: Debian's chromium,
// headless, driven over the DevTools protocol. The traffic it shows is real: events a real daemon
// wrote for real requests, replayed through a fake InspectionSource; the snapshot's route counts are
// tallied from those same events.
import t from 'tap';
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePki } from '../helpers/pki.js';
import { startDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { lookupLoopback, startOrigin, exampleTestCertificates } from '../helpers/http.js';
import { FakeInspectionSource, startInspectionServer } from '../helpers/inspection.js';
import { chromiumInstalled, CHROMIUM, openHeadlessPage } from '../helpers/headless-chromium.js';
import { decodePng, pixelStats } from '../helpers/png.js';
import { RouteStatusTally } from '../../core/admin/inspect/tally.js';

const APP = 'app.example.test';
const SECRET = 's3cr3t-bearer-value';

function plainGet(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host: `${APP}:${port}`, ...headers }, agent: false, lookup: lookupLoopback }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Real http_request_complete events: a daemon in plain "serve" mode, four requests, its events file. */
async function realEvents(tt: Parameters<typeof startDaemon>[0]): Promise<Array<Record<string, any>>> {
  const pki = makePki();
  tt.teardown(() => pki.cleanup());
  const origin = await startOrigin(tt);
  const plainPort = await freePort();
  const daemon = await startDaemon(tt, {
    workers: 1,
    listen_address: '127.0.0.1',
    ...exampleTestCertificates(pki),
    backends: [{ id: 'bkd_origin', type: 'static_address', address: origin.address }],
    edges: [{
      id: 'edghts_app', type: 'https', hostports: [`${APP}:${await freePort()}`],
      routes: [{ id: 'rt_app', match_type: 'path_prefix', match: '/app', backend: { backend_id: 'bkd_origin' } }],
    }],
    http: { plain_listen: `127.0.0.1:${plainPort}`, plain_mode: 'serve' },
  });
  await plainGet(plainPort, '/app/orders/42');
  await plainGet(plainPort, '/app/search?q=widgets', { authorization: `Bearer ${SECRET}` });
  await plainGet(plainPort, '/app/cart');
  await plainGet(plainPort, '/nowhere');
  const events = await daemon.waitForEvents(4);
  await daemon.stop();
  return events.filter((e) => e.event_type === 'http_request_complete.v0');
}

t.test('GET /inspect is one self-contained page with a strict CSP', async (t) => {
  const server = await startInspectionServer(t, new FakeInspectionSource());
  const res = await fetch(`${server.base}/inspect`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/html/);
  const csp = res.headers.get('content-security-policy') ?? '';
  t.match(csp, /default-src 'none'/, 'nothing loads by default');
  t.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/, 'only the inline script, pinned by hash');
  const html = await res.text();
  t.notMatch(html, /\s(src|href)=/i, 'no external scripts, styles or links');
  t.match(html, /\/inspect\/live/, 'the page opens the live feed');
});

t.test('the page in headless chromium shows live requests, route counts, breakers and worker load', { skip: chromiumInstalled() ? false : `chromium not found at ${CHROMIUM}: apt-get install -y chromium (add it to .ci/run)` }, async (t) => {
  const events = await realEvents(t);
  t.ok(events.length >= 4, `the daemon wrote ${events.length} http_request_complete events`);
  t.ok(JSON.stringify(events).includes('[redacted]') && !JSON.stringify(events).includes(SECRET), 'the events file already redacts the bearer token');

  const source = new FakeInspectionSource();
  const server = await startInspectionServer(t, source, { snapshotIntervalMs: 200, flushIntervalMs: 100 });
  const page = await openHeadlessPage(t);
  await page.navigate(`${server.base}/inspect`);
  await page.waitFor(`document.body.dataset.state === 'live'`);
  t.equal(source.subscribers, 1, 'the feed subscribed to the source once the page connected');

  // Snapshot: route counts tallied from the real events, breakers and workers as the daemon would report them.
  const tally = new RouteStatusTally();
  tally.add(events);
  const routes = tally.snapshot();
  const appRoute = routes.find((r) => r.route === 'rt_app');
  t.ok(appRoute, 'the tally found rt_app in the real events');
  source.current = {
    routes,
    breakers: [
      { edge: 'edghts_app', route: 'rt_app', state: 'open', trips: 3 },
      { edge: 'edghts_app', route: 'rt_api', state: 'half_open', trips: 1 },
      { edge: 'edghts_shop', route: 'rt_shop', state: 'closed', trips: 0 },
    ],
    workers: [{ worker: 0, active: 8, handled: 120 }, { worker: 1, active: 2, handled: 95 }],
  };
  await page.waitFor(`document.querySelector('[data-breaker="edghts_app/rt_app"]')`);

  // Traffic: the real events, then a hostile path that must stay text.
  source.emit(events);
  const hostile = { ...events[0], event_id: 'ev_hostile', object: { ...events[0].object, http: { ...events[0].object.http, request: { ...events[0].object.http.request, url: { ...events[0].object.http.request.url, path: '/<img src=x onerror="window.pwned=1">' } } } } };
  source.emit([hostile]);
  await page.waitFor(`document.querySelectorAll('#traffic tr').length === ${events.length + 1}`);

  const dom = await page.dom();
  for (const e of events) {
    t.ok(dom.includes(e.object.http.request.url.path), `row for ${e.object.http.request.url.path}`);
  }
  const statuses = await page.evaluate<string[]>(`[...document.querySelectorAll('#traffic tr')].map((tr) => tr.children[6].textContent)`);
  t.same(statuses.slice(1).reverse(), events.map((e) => String(e.object.http.response.status_code)), 'statuses, newest first');
  t.ok(statuses.includes('404'), 'the unrouted request shows as 404');
  t.notOk(dom.includes(SECRET), 'no bearer token on the page');
  t.ok(dom.includes('&lt;img src=x onerror'), 'the hostile path is shown as text');
  t.equal(await page.evaluate<number>('document.images.length'), 0, 'and no element was made from it');
  t.equal(await page.evaluate<unknown>('window.pwned'), undefined, 'and no script ran');

  const routeCells = await page.evaluate<string[]>(`[...document.querySelector('[data-route="edghts_app/rt_app"]').children].map((td) => td.textContent)`);
  t.same(routeCells.slice(0, 4), ['edghts_app', 'rt_app', String(appRoute!.requests), String(appRoute!.statuses['2xx'] ?? 0)], 'rt_app: requests and 2xx from the events');
  const breakerStates = await page.evaluate<string[]>(`[...document.querySelectorAll('#breakers tr')].map((tr) => tr.children[2].textContent)`);
  t.same(breakerStates, ['open', 'half_open', 'closed'], 'breaker states');
  const bars = await page.evaluate<string[]>(`[...document.querySelectorAll('#workers .bar > div')].map((d) => d.style.width)`);
  t.same(bars, ['100%', '25%'], 'worker load bars relative to the busiest worker');

  // Live: a breaker closes and a worker gets busy; the page follows without a reload.
  source.current = { ...source.current, breakers: [{ edge: 'edghts_app', route: 'rt_app', state: 'closed', trips: 3 }], workers: [{ worker: 0, active: 1, handled: 121 }, { worker: 1, active: 4, handled: 99 }] };
  await page.waitFor(`document.querySelector('[data-breaker="edghts_app/rt_app"]').children[2].textContent === 'closed'`);
  t.same(await page.evaluate<string[]>(`[...document.querySelectorAll('#workers .bar > div')].map((d) => d.style.width)`), ['25%', '100%'], 'bars follow the load');
  t.same(page.problems, [], 'no script errors or CSP violations in the page');

  const png = await page.screenshot();
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-inspect-'));
  writeFileSync(join(dir, 'inspect.png'), png);
  writeFileSync(join(dir, 'inspect.html'), await page.dom());
  t.comment(`screenshot and DOM kept in ${dir}`);
  const image = decodePng(png);
  t.same([image.width, image.height], [1280, 900], 'screenshot at the viewport size');
  const stats = pixelStats(image);
  t.ok(stats.variance > 200, `not a blank page (luma variance ${stats.variance.toFixed(0)})`);
  t.ok(stats.colours > 50, `rendered text and colours (${stats.colours} distinct colours)`);
});
