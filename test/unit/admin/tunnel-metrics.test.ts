// Tunnel-agent membership on /metrics: the main thread's session registry is fed the LegReports the
// workers send (two workers, so a whole session has two legs), then rendered. Online sessions, legs,
// started/stopped totals and each tunnel_group's members follow what the legs did; a hostile session
// id is escaped exactly as prom-client escapes it; the registry's events are session envelopes with
// no principal and no token anywhere.
import t from 'tap';
import { metricsRegistry, renderMetrics, type MetricsSnapshot, type TunnelMetricsInput } from '../../../core/admin/metrics.js';
import { TunnelSessions, AGENT_SESSION_START, AGENT_SESSION_STOP } from '../../../core/tunnel/sessions.js';
import type { LegReport } from '../../../workers/tunnel/leg.js';
import type { TunnelGroup } from '../../../core/admin/inspect/tunnels.js';
import { Counters, createCounterBuffer, SlotMap, metricSlotsOf } from '../../../core/tables/counters.js';
import { Breakers, createBreakerBuffer } from '../../../core/tables/breakers.js';
import { metricValue } from '../../helpers/daemon.js';

// An agent-chosen-looking id with a quote, a backslash and a newline: must not break the exposition.
const HOSTILE = 'ts_b"} 1\nedgeplane_fake{x="\\';
const HOSTILE_ESCAPED = 'ts_b\\"} 1\\nedgeplane_fake{x=\\"\\\\';

function report(sessionId: string, leg: number, up: boolean, labels: Record<string, string>, reason = ''): LegReport {
  return {
    up, reason,
    info: {
      key: `${sessionId}/${leg}`, sessionId, credentialId: `cr_${sessionId.slice(0, 4)}`, labels, metadata: '{"team":"edge"}', agentVersion: 'edgeplane-agent/0.1.0',
      os: 'linux', forwardsTo: 'localhost:8080', terminatesTls: false, clientIp: '192.0.2.7', clientPort: 40000 + leg, leg,
      startedAt: '2026-01-02T03:04:05.000Z',
    },
  };
}

function snapshot(tunnels: TunnelMetricsInput | undefined): MetricsSnapshot {
  const edgeSlots = new SlotMap(16, 'edge');
  metricSlotsOf(edgeSlots).backends = new SlotMap(16, 'backend');
  return {
    counters: new Counters(createCounterBuffer()), edgeSlots,
    breakers: new Breakers(createBreakerBuffer()), breakerSlots: new SlotMap(16, 'breaker'),
    workers: [0, 1].map((index) => ({ index, threadId: index + 1, ready: true, active: 0, handled: 0n, restarts: 0 })),
    accepted: 0, refusals: new Map(), generation: 1, reloads: { ok: 0, failed: 0 }, events: { written: 0, dropped: 0 },
    nativeLoaded: true, tunnels,
  };
}

const GROUPS: TunnelGroup[] = [
  { backend: 'bkd_prod', labels: { env: 'prod' } },
  { backend: 'bkd_prod_eu', labels: { env: 'prod', region: 'eu' } },
  { backend: 'bkd_empty', labels: { env: 'nowhere' } },
];

/** Sessions A (both legs up), HOSTILE (one of two legs went down) and C (both legs up, then both down). */
function drive(): { sessions: TunnelSessions; lines: string[] } {
  const lines: string[] = [];
  const sessions = new TunnelSessions((line) => lines.push(line));
  const a = { env: 'prod', region: 'eu' };
  const b = { env: 'prod', region: 'us' };
  const c = { env: 'prod', region: 'eu' };
  sessions.onLeg(report('ts_a', 0, true, a));
  sessions.onLeg(report('ts_a', 1, true, a));
  sessions.onLeg(report(HOSTILE, 0, true, b));
  sessions.onLeg(report(HOSTILE, 1, true, b));
  sessions.onLeg(report('ts_c', 1, true, c));
  sessions.onLeg(report('ts_c', 0, true, c));
  sessions.onLeg(report(HOSTILE, 1, false, b, 'connection closed (1006)'));
  sessions.onLeg(report('ts_c', 0, false, c, 'drained'));
  sessions.onLeg(report('ts_c', 1, false, c, 'drained'));
  return { sessions, lines };
}

const input = (s: TunnelSessions): TunnelMetricsInput => ({ sessions: s.list(), groups: GROUPS, started: s.started, stopped: s.stopped });

t.test('tunnel families: HELP and TYPE, same text as prom-client', async (t) => {
  const { sessions } = drive();
  const m = snapshot(input(sessions));
  const text = renderMetrics(m);
  t.equal(text, await metricsRegistry(() => m).metrics(), 'identical exposition, escaping included');
  for (const [name, type] of [
    ['edgeplane_tunnel_sessions', 'gauge'], ['edgeplane_tunnel_sessions_started_total', 'counter'],
    ['edgeplane_tunnel_sessions_stopped_total', 'counter'], ['edgeplane_tunnel_session_legs', 'gauge'],
    ['edgeplane_tunnel_group_sessions', 'gauge'], ['edgeplane_tunnel_group_member', 'gauge'],
  ]) {
    t.match(text, new RegExp(`^# HELP ${name} \\S.*\\n# TYPE ${name} ${type}$`, 'm'), `${name} is a ${type} with help`);
  }
});

t.test('sessions, legs and group membership follow the legs', async (t) => {
  const { sessions } = drive();
  const text = renderMetrics(snapshot(input(sessions)));
  t.equal(metricValue(text, 'edgeplane_tunnel_sessions'), 2, 'A and the half-up session are online; C stopped');
  t.equal(metricValue(text, 'edgeplane_tunnel_sessions_started_total'), 3);
  t.equal(metricValue(text, 'edgeplane_tunnel_sessions_stopped_total'), 1);
  t.equal(metricValue(text, 'edgeplane_tunnel_session_legs', '{session_id="ts_a",credential_id="cr_ts_a"}'), 2, 'A is whole');
  t.equal(metricValue(text, 'edgeplane_tunnel_session_legs', `{session_id="${HOSTILE_ESCAPED}",credential_id="cr_ts_b"}`), 1, 'one leg of two');
  t.notMatch(text, /session_id="ts_c"/, 'the stopped session is gone from every family');
  t.equal(metricValue(text, 'edgeplane_tunnel_group_sessions', '{backend="bkd_prod"}'), 2);
  t.equal(metricValue(text, 'edgeplane_tunnel_group_sessions', '{backend="bkd_prod_eu"}'), 1);
  t.equal(metricValue(text, 'edgeplane_tunnel_group_sessions', '{backend="bkd_empty"}'), 0, 'an empty group still has its row');
  const members = text.split('\n').filter((l) => l.startsWith('edgeplane_tunnel_group_member{'));
  t.same(members, [
    'edgeplane_tunnel_group_member{backend="bkd_prod",session_id="ts_a"} 1',
    `edgeplane_tunnel_group_member{backend="bkd_prod",session_id="${HOSTILE_ESCAPED}"} 1`,
    'edgeplane_tunnel_group_member{backend="bkd_prod_eu",session_id="ts_a"} 1',
  ], 'one row per (group, session) membership');
  t.notOk(text.split('\n').some((l) => l.startsWith('edgeplane_fake')), 'the hostile id did not start a sample line of its own');
  t.notMatch(text, /token/i, 'no authtoken or token anywhere');
});

t.test('without a tunnel registry the families render at zero', async (t) => {
  const text = renderMetrics(snapshot(undefined));
  t.equal(metricValue(text, 'edgeplane_tunnel_sessions'), 0);
  t.equal(metricValue(text, 'edgeplane_tunnel_sessions_started_total'), 0);
  t.match(text, /# TYPE edgeplane_tunnel_group_sessions gauge\n\n/, 'no group rows');
});

t.test('the registry emits session start/stop envelopes with no principal and no token', async (t) => {
  const { lines } = drive();
  const events = lines.map((l) => JSON.parse(l) as Record<string, any>);
  t.same(events.map((e) => [e.event_type, e.object.id]), [
    [AGENT_SESSION_START, 'ts_a'], [AGENT_SESSION_START, HOSTILE], [AGENT_SESSION_START, 'ts_c'], [AGENT_SESSION_STOP, 'ts_c'],
  ], 'one start per session, a stop only when its last leg went down');
  t.same([AGENT_SESSION_START, AGENT_SESSION_STOP], ['agent_session_start.v0', 'agent_session_stop.v0']);
  for (const e of events) {
    t.equal(e.principal, null, `${e.event_type} has principal null`);
    t.match(e, { event_id: /^ev_/, account_id: 'ac_edgeplane', object: { credential: { id: String }, transport: 'wss' } });
    t.notOk('legs' in e.object, 'worker-internal leg list is not in the event');
  }
  t.match(events[3]!.object, { reason: 'drained', stopped_at: /^\d{4}-\d\d-\d\dT/ });
  const keys: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null) return;
    for (const [k, inner] of Object.entries(v)) { keys.push(k); walk(inner); }
  };
  walk(events);
  t.notOk(keys.some((k) => /token/i.test(k)), `no authtoken or token field (keys: ${[...new Set(keys)].join(',')})`);
});
