// Tunnel-agent membership: which online agent sessions each tunnel_group backend selects. /metrics and
// the inspection page both show it, so both compute it here, from the same rule the routing uses
// (a session belongs to a group when its labels include all of the group's labels).
import type { TunnelSessionView } from '../../tunnel/sessions.js';

/** A tunnel_group backend as membership needs it. */
export interface TunnelGroup {
  backend: string;
  labels: Record<string, string>;
}

/** One online agent session as the inspection page shows it (never its authtoken: the view has none). */
export interface TunnelSessionStatus {
  id: string;
  credential_id: string;
  labels: Record<string, string>;
  /** Worker indexes with a live leg; the session is whole when there is one per worker. */
  legs: number[];
  agent_version: string;
  ip: string;
  started_at: string;
  forwards_to: string;
  /** tunnel_group backends that select this session. */
  groups: string[];
}

export interface TunnelGroupStatus {
  backend: string;
  labels: Record<string, string>;
  sessions: number;
}

export interface TunnelsStatus {
  /** Worker count: how many legs a whole session has. */
  workers: number;
  sessions: TunnelSessionStatus[];
  groups: TunnelGroupStatus[];
}

export function inGroup(session: TunnelSessionView, group: TunnelGroup): boolean {
  return Object.entries(group.labels).every(([k, v]) => session.labels[k] === v);
}

/** Each group with the sessions it selects, in the groups' order (groups with none included). */
export function groupMembers(sessions: readonly TunnelSessionView[], groups: readonly TunnelGroup[]): Array<{ group: TunnelGroup; members: TunnelSessionView[] }> {
  return groups.map((group) => ({ group, members: sessions.filter((s) => inGroup(s, group)) }));
}

export function tunnelsStatus(sessions: readonly TunnelSessionView[], groups: readonly TunnelGroup[], workers: number): TunnelsStatus {
  return {
    workers,
    sessions: sessions.map((s) => ({
      id: s.id, credential_id: s.credential.id, labels: { ...s.labels }, legs: [...s.legs],
      agent_version: s.agent_version, ip: s.ip, started_at: s.started_at, forwards_to: s.forwards_to,
      groups: groups.filter((g) => inGroup(s, g)).map((g) => g.backend),
    })),
    groups: groupMembers(sessions, groups).map(({ group, members }) => ({ backend: group.backend, labels: { ...group.labels }, sessions: members.length })),
  };
}
