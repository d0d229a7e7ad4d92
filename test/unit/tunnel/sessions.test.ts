// The main thread's session registry: legs come and go per worker; a session starts with its first leg
// and stops with its last, also when a reconnected leg overlaps the half-open one it replaces.
import t from 'tap';
import { TunnelSessions } from '../../../core/tunnel/sessions.js';
import type { LegReport } from '../../../workers/tunnel/leg.js';

function report(key: string, sessionId: string, leg: number, up: boolean, labels: Record<string, string> = { app: 'web' }): LegReport {
  return {
    up, reason: up ? '' : 'connection closed (1006)',
    info: {
      key, sessionId, credentialId: 'cr_agents', labels, metadata: '', agentVersion: 'test', os: 'linux', forwardsTo: '127.0.0.1:3000',
      terminatesTls: false, clientIp: '127.0.0.1', clientPort: 40000, leg, startedAt: new Date().toISOString(),
    },
  };
}

function registry(): { sessions: TunnelSessions; events: Array<Record<string, any>> } {
  const events: Array<Record<string, any>> = [];
  return { sessions: new TunnelSessions((line) => events.push(JSON.parse(line))), events };
}

t.test('a session starts with its first leg and stops with its last', async (t) => {
  const { sessions, events } = registry();
  sessions.onLeg(report('0.1', 'ts_aaaaaaaaaaaa', 0, true));
  sessions.onLeg(report('1.1', 'ts_aaaaaaaaaaaa', 1, true));
  t.same(sessions.list().map((s) => s.legs), [[0, 1]]);
  t.same(events.map((e) => e.event_type), ['agent_session_start.v0'], 'one start for two legs');
  sessions.onLeg(report('0.1', 'ts_aaaaaaaaaaaa', 0, false));
  t.same(sessions.list().map((s) => s.legs), [[1]]);
  sessions.onLeg(report('1.1', 'ts_aaaaaaaaaaaa', 1, false));
  t.same(sessions.list(), []);
  t.same(events.map((e) => e.event_type), ['agent_session_start.v0', 'agent_session_stop.v0']);
  t.equal(events[1]!.object.reason, 'connection closed (1006)');
  t.equal(sessions.started, 1);
  t.equal(sessions.stopped, 1);
});

t.test('a reconnected leg that overlaps the one it replaces keeps the session up', async (t) => {
  const { sessions, events } = registry();
  sessions.onLeg(report('0.1', 'ts_bbbbbbbbbbbb', 0, true));
  sessions.onLeg(report('0.2', 'ts_bbbbbbbbbbbb', 0, true)); // the agent reconnected before the old leg was seen dead
  sessions.onLeg(report('0.1', 'ts_bbbbbbbbbbbb', 0, false));
  t.same(sessions.list().map((s) => [s.id, s.legs]), [['ts_bbbbbbbbbbbb', [0]]], 'still online on worker 0');
  t.same(events.map((e) => e.event_type), ['agent_session_start.v0'], 'no stop event');
  sessions.onLeg(report('0.1', 'ts_bbbbbbbbbbbb', 0, false));
  t.equal(sessions.list().length, 1, 'a repeated down report changes nothing');
});

t.test('a worker that exits takes its legs with it', async (t) => {
  const { sessions, events } = registry();
  sessions.onLeg(report('0.1', 'ts_cccccccccccc', 0, true));
  sessions.onLeg(report('1.1', 'ts_cccccccccccc', 1, true));
  sessions.onLeg(report('1.2', 'ts_dddddddddddd', 1, true, { app: 'db' }));
  sessions.dropWorker(1);
  t.same(sessions.list().map((s) => [s.id, s.legs]), [['ts_cccccccccccc', [0]]]);
  t.same(events.filter((e) => e.event_type === 'agent_session_stop.v0').map((e) => [e.object.id, e.object.reason]), [['ts_dddddddddddd', 'worker exited']]);
  t.same(sessions.matching({ app: 'web' }).map((s) => s.id), ['ts_cccccccccccc']);
  t.same(sessions.matching({ app: 'db' }), []);
});
