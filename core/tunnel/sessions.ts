// The main thread's view of agent sessions: legs reported by the workers are grouped by session id.
// A session starts with its first leg and stops with its last (agent_session_start/stop.v0 events);
// /metrics and the inspection page read it.
import { newEventId } from '../events/serializers.js';
import type { LegReport } from '../../workers/tunnel/leg.js';

export const AGENT_SESSION_START = 'agent_session_start.v0';
export const AGENT_SESSION_STOP = 'agent_session_stop.v0';

/** A session as events, metrics and the inspection page show it (never the authtoken). */
export interface TunnelSessionView {
  id: string;
  credential: { id: string };
  labels: Record<string, string>;
  metadata: string;
  agent_version: string;
  os: string;
  forwards_to: string;
  ip: string;
  transport: 'wss';
  started_at: string;
  /** Worker indexes with a live leg. */
  legs: number[];
}

/** Live legs by leg key → worker index (a reconnected leg may briefly overlap the one it replaces). */
interface Session { view: TunnelSessionView; legs: Map<string, number> }

const workersOf = (legs: Map<string, number>): number[] => [...new Set(legs.values())].sort((a, b) => a - b);

export class TunnelSessions {
  private readonly sessions = new Map<string, Session>();
  started = 0;
  stopped = 0;

  /** `emit` gets one serialized event line (no newline). */
  constructor(private readonly emit: (line: string) => void, private readonly accountId = 'ac_edgeplane') {}

  onLeg(report: LegReport): void {
    const { info } = report;
    let session = this.sessions.get(info.sessionId);
    if (report.up) {
      if (session === undefined) {
        session = {
          legs: new Map(),
          view: {
            id: info.sessionId, credential: { id: info.credentialId }, labels: info.labels, metadata: info.metadata,
            agent_version: info.agentVersion, os: info.os, forwards_to: info.forwardsTo, ip: info.clientIp,
            transport: 'wss', started_at: info.startedAt, legs: [],
          },
        };
        this.sessions.set(info.sessionId, session);
        this.started++;
        session.legs.set(info.key, info.leg);
        session.view.legs = workersOf(session.legs);
        this.publish(AGENT_SESSION_START, session.view, null);
        return;
      }
      // A leg of a running session (or a reconnected one): the newest leg's labels are the session's.
      session.view.labels = info.labels;
      session.legs.set(info.key, info.leg);
      session.view.legs = workersOf(session.legs);
      return;
    }
    if (session === undefined || !session.legs.delete(info.key)) return;
    session.view.legs = workersOf(session.legs);
    if (session.legs.size === 0) this.end(session, report.reason);
  }

  /** A worker died: its legs died with it. */
  dropWorker(index: number): void {
    for (const session of [...this.sessions.values()]) {
      const gone = [...session.legs].filter(([, worker]) => worker === index);
      if (gone.length === 0) continue;
      for (const [key] of gone) session.legs.delete(key);
      session.view.legs = workersOf(session.legs);
      if (session.legs.size === 0) this.end(session, 'worker exited');
    }
  }

  list(): TunnelSessionView[] {
    return [...this.sessions.values()].map((s) => s.view).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Sessions whose labels include all of `want` (what a tunnel group with those labels routes to). */
  matching(want: Record<string, string>): TunnelSessionView[] {
    const pairs = Object.entries(want);
    return this.list().filter((s) => pairs.every(([k, v]) => s.labels[k] === v));
  }

  private end(session: Session, reason: string): void {
    this.sessions.delete(session.view.id);
    this.stopped++;
    this.publish(AGENT_SESSION_STOP, session.view, { stopped_at: new Date().toISOString(), reason });
  }

  private publish(type: string, view: TunnelSessionView, extra: Record<string, string> | null): void {
    this.emit(JSON.stringify({
      event_id: newEventId(),
      event_type: type,
      event_timestamp: new Date().toISOString(),
      account_id: this.accountId,
      object: { ...view, legs: undefined, ...extra },
      principal: null,
    }));
  }
}
