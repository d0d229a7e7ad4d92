// The oauth module's authorization rules (spec §1.6): email_addresses (exact, case-insensitive),
// email_domains (exactly the part after '@'), and for GitHub teams ('org/team' or numeric id) and
// organizations. A user matching any rule is let in; with no rule every authenticated user is.
//
// GitHub memberships travel in Identity.groups (they go into the session cookie, so refreshes and
// other workers can re-check them): 'org' for an organization, 'org/team' for a team, and
// 'team-id:<n>' for a team the rules name by numeric id ('team-id:' keeps a numeric organization
// slug from passing for a team id). Entries that match a rule come first, then the cap applies.
import type { AuthorizationVerdict, Identity } from './provider.js';
import type { GithubMemberships } from './oauth-github.js';

export interface OAuthRuleSet {
  /** Lower-case (the config schema requires it). */
  emailAddresses: readonly string[];
  emailDomains: readonly string[];
  teams: readonly string[];
  organizations: readonly string[];
}

const TEAM_ID_PREFIX = 'team-id:';
/** Keeps the session cookie small: entries and bytes of groups at most. */
export const MAX_GROUPS = 64;
const MAX_GROUP_BYTES = 2048;

export class OAuthRules {
  private readonly addresses: ReadonlySet<string>;
  private readonly domains: ReadonlySet<string>;
  /** Team slugs and 'team-id:<n>' entries, lower-case. */
  private readonly teams: ReadonlySet<string>;
  private readonly organizations: ReadonlySet<string>;
  readonly needsTeams: boolean;
  readonly needsOrganizations: boolean;

  constructor(rules: OAuthRuleSet) {
    this.addresses = new Set(rules.emailAddresses.map((a) => a.toLowerCase()));
    this.domains = new Set(rules.emailDomains.map((d) => d.toLowerCase()));
    this.teams = new Set(rules.teams.map((team) => (/^[0-9]+$/.test(team) ? TEAM_ID_PREFIX + team : team.toLowerCase())));
    this.organizations = new Set(rules.organizations.map((o) => o.toLowerCase()));
    this.needsTeams = this.teams.size > 0;
    this.needsOrganizations = this.organizations.size > 0;
  }

  authorize(identity: Identity): AuthorizationVerdict {
    if (this.addresses.size + this.domains.size + this.teams.size + this.organizations.size === 0) return { allowed: true };
    const email = identity.email?.toLowerCase();
    if (email !== undefined) {
      if (this.addresses.has(email)) return { allowed: true };
      if (this.domains.has(email.slice(email.lastIndexOf('@') + 1))) return { allowed: true };
    }
    for (const group of identity.groups ?? []) {
      const g = group.toLowerCase();
      if (this.teams.has(g) || this.organizations.has(g)) return { allowed: true };
    }
    return { allowed: false, reason: this.refusal(email) };
  }

  /** Groups for the identity: every membership, the ones the rules name first, capped. */
  githubGroups(m: GithubMemberships): string[] {
    const candidates = [
      ...m.organizations,
      ...m.teams.map((t) => t.slug),
      ...m.teams.map((t) => TEAM_ID_PREFIX + t.id).filter((entry) => this.teams.has(entry)),
    ];
    const relevant = (g: string) => this.teams.has(g) || this.organizations.has(g);
    const ordered = [...new Set([...candidates.filter(relevant), ...candidates.filter((g) => !relevant(g))])];
    const groups: string[] = [];
    let bytes = 0;
    for (const g of ordered) {
      if (groups.length === MAX_GROUPS || bytes + Buffer.byteLength(g) > MAX_GROUP_BYTES) break;
      groups.push(g);
      bytes += Buffer.byteLength(g);
    }
    return groups;
  }

  private refusal(email: string | undefined): string {
    const kinds = [
      this.addresses.size > 0 || this.domains.size > 0 ? (email === undefined ? 'the provider gave no verified email' : `email ${email} is not allowed`) : null,
      this.teams.size > 0 || this.organizations.size > 0 ? 'not a member of an allowed GitHub team or organization' : null,
    ].filter((k): k is string => k !== null);
    return kinds.join('; ');
  }
}
