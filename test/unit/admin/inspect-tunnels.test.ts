// The inspection page's "Tunnel groups" and "Tunnel sessions" sections. The daemon's inspection source
// reads a real TunnelSessions registry fed the LegReports workers send; the snapshot message the live
// feed greets a page with is then run through the page's own inline script, in a small DOM stand-in
// whose innerHTML-style setters throw: agent-chosen labels must reach the page as text, never markup.
import t, { type Test } from 'tap';
import { runInNewContext } from 'node:vm';
import { daemonInspectionSource } from '../../../core/admin/inspect/daemon-source.js';
import { LiveFeed } from '../../../core/admin/inspect/live.js';
import { inspectPage } from '../../../core/admin/inspect/page.js';
import type { TunnelGroup } from '../../../core/admin/inspect/tunnels.js';
import { TunnelSessions } from '../../../core/tunnel/sessions.js';
import { EventHub } from '../../../core/events/hub.js';
import type { EventSink } from '../../../core/events/sink.js';
import { Breakers, createBreakerBuffer } from '../../../core/tables/breakers.js';
import type { LegReport } from '../../../workers/tunnel/leg.js';

const HOSTILE_KEY = '<img src=x onerror="window.pwned=1">';
const HOSTILE_VALUE = '</td><script>window.pwned=1</script>';

function report(sessionId: string, leg: number, up: boolean, labels: Record<string, string>): LegReport {
  return {
    up, reason: up ? '' : 'connection closed (1006)',
    info: {
      key: `${sessionId}/${leg}`, sessionId, credentialId: 'cr_ops', labels, metadata: '', agentVersion: 'edgeplane-agent/0.1.0', os: 'linux',
      forwardsTo: 'localhost:3000', terminatesTls: false, clientIp: '198.51.100.4', clientPort: 50000 + leg, leg,
      startedAt: '2026-01-02T03:04:05.000Z',
    },
  };
}

const GROUPS: TunnelGroup[] = [
  { backend: 'bkd_web', labels: { app: 'web' } },
  { backend: 'bkd_web_eu', labels: { app: 'web', region: 'eu' } },
  { backend: 'bkd_batch', labels: { app: 'batch' } },
];

/** Two workers; ts_1 has both legs, ts_2 (hostile labels) lost one, ts_3 came and went. */
function daemonSource() {
  const written: string[] = [];
  const hub = new EventHub({ write: (data: string) => { written.push(data); } } as unknown as EventSink);
  const sessions = new TunnelSessions((line) => hub.publish(line + '\n', 1));
  const web = { app: 'web', region: 'eu' };
  const hostile = { app: 'web', [HOSTILE_KEY]: HOSTILE_VALUE };
  for (const leg of [0, 1]) {
    sessions.onLeg(report('ts_1', leg, true, web));
    sessions.onLeg(report('ts_2', leg, true, hostile));
    sessions.onLeg(report('ts_3', leg, true, web));
  }
  sessions.onLeg(report('ts_2', 1, false, hostile));
  sessions.onLeg(report('ts_3', 0, false, web));
  sessions.onLeg(report('ts_3', 1, false, web));
  const source = daemonInspectionSource({
    events: hub,
    breakers: new Breakers(createBreakerBuffer()),
    breakerSlots: () => [],
    workers: () => [{ worker: 0, active: 0, handled: 0 }, { worker: 1, active: 0, handled: 0 }],
    tunnels: () => ({ sessions: sessions.list(), groups: GROUPS }),
  });
  return { source, written };
}

t.test('the daemon source summarises sessions and each group\'s members', async (t) => {
  const { source, written } = daemonSource();
  const tunnels = source.snapshot().tunnels!;
  t.equal(tunnels.workers, 2, 'a whole session has one leg per worker');
  t.same(tunnels.sessions.map((s) => [s.id, s.legs, s.groups]), [
    ['ts_1', [0, 1], ['bkd_web', 'bkd_web_eu']],
    ['ts_2', [0], ['bkd_web']],
  ], 'online sessions with their live legs and the groups selecting them; ts_3 stopped');
  t.match(tunnels.sessions[0], { credential_id: 'cr_ops', agent_version: 'edgeplane-agent/0.1.0', ip: '198.51.100.4', started_at: '2026-01-02T03:04:05.000Z', forwards_to: 'localhost:3000', labels: { app: 'web', region: 'eu' } });
  t.same(tunnels.groups, [
    { backend: 'bkd_web', labels: { app: 'web' }, sessions: 2 },
    { backend: 'bkd_web_eu', labels: { app: 'web', region: 'eu' }, sessions: 1 },
    { backend: 'bkd_batch', labels: { app: 'batch' }, sessions: 0 },
  ], 'every group, the empty one included');
  t.equal(written.length, 4, 'three session starts and one stop went through the event hub');
  t.notMatch(JSON.stringify(tunnels), /token/i, 'no authtoken or token in the summary');
});

// ---- a DOM stand-in with just what the page script uses ----

class FakeElement {
  readonly children: FakeElement[] = [];
  readonly dataset: Record<string, string> = {};
  readonly style: Record<string, string> = {};
  className = '';
  #text = '';
  constructor(readonly tagName: string) {}
  get textContent(): string { return this.#text + this.children.map((c) => c.textContent).join(''); }
  set textContent(value: string) { this.children.length = 0; this.#text = String(value); }
  set innerHTML(_: string) { throw new Error('innerHTML used'); }
  set outerHTML(_: string) { throw new Error('outerHTML used'); }
  insertAdjacentHTML(): void { throw new Error('insertAdjacentHTML used'); }
  get firstChild(): FakeElement | null { return this.children[0] ?? null; }
  get lastChild(): FakeElement | null { return this.children[this.children.length - 1] ?? null; }
  appendChild(child: FakeElement): FakeElement { this.children.push(child); return child; }
  insertBefore(child: FakeElement, before: FakeElement | null): FakeElement {
    const at = before === null ? -1 : this.children.indexOf(before);
    if (at < 0) this.children.push(child); else this.children.splice(at, 0, child);
    return child;
  }
  removeChild(child: FakeElement): FakeElement { this.children.splice(this.children.indexOf(child), 1); return child; }
  replaceChildren(): void { this.children.length = 0; this.#text = ''; }
}

interface FakeSocket { onopen?: () => void; onmessage?: (m: { data: string }) => void; onclose?: () => void }

/** Runs the page's inline script against the stand-in; returns its elements by id and its socket. */
function runPage(t: Test): { byId: Map<string, FakeElement>; created: string[]; socket: FakeSocket } {
  const html = inspectPage(200);
  const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
  const byId = new Map([...html.matchAll(/ id="([^"]+)"/g)].map(([, id]) => [id!, new FakeElement('x')]));
  const created: string[] = [];
  const sockets: FakeSocket[] = [];
  runInNewContext(script, {
    document: {
      body: { dataset: { maxRows: '200' } },
      getElementById: (id: string) => byId.get(id) ?? null,
      createElement: (tag: string) => { created.push(tag); return new FakeElement(tag); },
    },
    location: { protocol: 'http:', host: '127.0.0.1:1' },
    WebSocket: class { constructor() { sockets.push(this as FakeSocket); } },
    setTimeout: () => 0,
  });
  t.equal(sockets.length, 1, 'the page opened its live feed');
  return { byId, created, socket: sockets[0]! };
}

const cells = (row: FakeElement): string[] => row.children.map((td) => td.textContent);

t.test('the page renders both sections as text, hostile labels included', async (t) => {
  const { source } = daemonSource();
  const feed = new LiveFeed(source, { publish: () => {} }, { maxEventsPerSecond: 10, flushIntervalMs: 1000, snapshotIntervalMs: 1000 });
  t.teardown(() => feed.stop());
  const greeting = feed.clientOpened();
  const page = runPage(t);
  page.socket.onopen!();
  page.socket.onmessage!({ data: greeting });

  const groups = page.byId.get('tunnel-groups')!.children;
  t.same(groups.map((r) => r.dataset.group), ['bkd_web', 'bkd_web_eu', 'bkd_batch']);
  t.same(groups.map(cells), [
    ['bkd_web', 'app=web', '2 sessions'],
    ['bkd_web_eu', 'app=web, region=eu', '1 session'],
    ['bkd_batch', 'app=batch', 'no agent online'],
  ], 'one line per tunnel_group: labels and how many sessions it selects');
  t.equal(groups[2]!.children[2]!.className, 'no-agent');

  const sessions = page.byId.get('tunnel-sessions')!.children;
  t.same(sessions.map((r) => r.dataset.session), ['ts_1', 'ts_2']);
  t.same(cells(sessions[0]!), ['ts_1', 'app=web, region=eu', '2 / 2', 'edgeplane-agent/0.1.0', '198.51.100.4', '2026-01-02T03:04:05.000Z', 'localhost:3000', 'bkd_web, bkd_web_eu']);
  t.same(cells(sessions[1]!).slice(0, 3), ['ts_2', `app=web, ${HOSTILE_KEY}=${HOSTILE_VALUE}`, '1 / 2'], 'hostile label shown verbatim, as text');
  t.match(sessions[1]!.children[2]!.className, /legs-partial/, 'a session missing a leg stands out');
  t.same([...new Set(page.created)].sort(), ['div', 'td', 'tr'], 'only the page\'s own elements were made, none from label text');

  // Every agent gone: the groups say so and the session table is empty.
  page.socket.onmessage!({ data: JSON.stringify({ type: 'snapshot', at: '', routes: [], breakers: [], workers: [], tunnels: { workers: 2, sessions: [], groups: [{ backend: 'bkd_web', labels: { app: 'web' }, sessions: 0 }] } }) });
  t.same(page.byId.get('tunnel-groups')!.children.map(cells), [['bkd_web', 'app=web', 'no agent online']]);
  t.same(page.byId.get('tunnel-sessions')!.children.map(cells), [['no agent online']]);
});

t.test('a source without tunnels (older snapshot shape) leaves the sections empty, not broken', async (t) => {
  const page = runPage(t);
  page.socket.onmessage!({ data: JSON.stringify({ type: 'snapshot', at: '', routes: [], breakers: [], workers: [] }) });
  t.same(page.byId.get('tunnel-groups')!.children.map(cells), [['no tunnel_group backends']]);
  t.same(page.byId.get('tunnel-sessions')!.children.map(cells), [['no agent online']]);
});
