// What GitHub's /user does not say: the primary verified email (when the profile email is not public),
// and the user's teams and organizations (read:org scope), read from the REST API at api_url.
import { asObject } from './oauth-http.js';
import { emailOf } from './oauth-providers.js';

/** GET of an API URL with the user's token; resolves with the JSON body and the Link header's next page. */
export type GithubGet = (url: string) => Promise<{ body: unknown; next: string | null }>;

export interface GithubTeam {
  /** Numeric team id, as text. */
  id: string;
  /** 'org-slug/team-slug', lower-case. */
  slug: string;
}

export interface GithubMemberships {
  teams: GithubTeam[];
  /** Organization slugs, lower-case. */
  organizations: string[];
}

// 10 pages of 100: more teams than any rule list needs to be matched against.
const PER_PAGE = 100;
const MAX_PAGES = 10;

/** Joins api_url and a path: api_url may be https://HOST/api/v3 (Enterprise), with or without a trailing slash. */
export function githubApiUrl(apiUrl: string, path: string): string {
  return `${apiUrl.replace(/\/+$/, '')}${path}`;
}

/** GET /user/emails: [{ email, primary, verified }]; the primary email if it is verified. */
export async function githubPrimaryEmail(apiUrl: string, get: GithubGet): Promise<string | undefined> {
  for (const entry of await allPages(githubApiUrl(apiUrl, `/user/emails?per_page=${PER_PAGE}`), get)) {
    const o = asObject(entry);
    if (o !== null && o.primary === true && o.verified === true) return emailOf(o.email);
  }
  return undefined;
}

/** GET /user/teams and /user/orgs (only the ones the rules need), every page up to MAX_PAGES. */
export async function githubMemberships(apiUrl: string, get: GithubGet, need: { teams: boolean; organizations: boolean }): Promise<GithubMemberships> {
  const teams: GithubTeam[] = [];
  const organizations = new Set<string>();
  if (need.teams) {
    for (const entry of await allPages(githubApiUrl(apiUrl, `/user/teams?per_page=${PER_PAGE}`), get)) {
      const o = asObject(entry);
      const org = asObject(o?.organization)?.login;
      if (o === null || (typeof o.id !== 'number' && typeof o.id !== 'string') || typeof o.slug !== 'string' || typeof org !== 'string') continue;
      teams.push({ id: String(o.id), slug: `${org}/${o.slug}`.toLowerCase() });
      organizations.add(org.toLowerCase()); // a team member is a member of the team's organization
    }
  }
  if (need.organizations) {
    for (const entry of await allPages(githubApiUrl(apiUrl, `/user/orgs?per_page=${PER_PAGE}`), get)) {
      const login = asObject(entry)?.login;
      if (typeof login === 'string' && login !== '') organizations.add(login.toLowerCase());
    }
  }
  return { teams, organizations: [...organizations] };
}

async function allPages(first: string, get: GithubGet): Promise<unknown[]> {
  const items: unknown[] = [];
  let url: string | null = first;
  for (let page = 0; url !== null && page < MAX_PAGES; page++) {
    const answer = await get(url);
    if (!Array.isArray(answer.body)) break;
    items.push(...answer.body);
    url = answer.next;
  }
  return items;
}

/** The rel="next" URL of a Link header, when it is on the same origin as `current`. */
export function nextPage(link: string | null, current: string): string | null {
  if (link === null) return null;
  const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  if (match === null) return null;
  try {
    const next = new URL(match[1]!, current);
    return next.origin === new URL(current).origin ? next.href : null; // never send the token elsewhere
  } catch {
    return null;
  }
}
