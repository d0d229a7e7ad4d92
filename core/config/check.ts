// Semantic checks the schema cannot express: unique ids, references, CIDRs, cycles, hostports.
// Every check adds to one list and carries on, so that a config shows all its problems at once.
import { formatIp, parseCidr } from '../tables/ip-address.js';
import { checkBackends } from './check-backends.js';
import { CheckContext, type CheckInput } from './check-context.js';
import { checkEdges } from './check-edges.js';
import type { ConfigProblem } from './errors.js';
import { COLLECTIONS } from './schema.js';

export type { CheckInput } from './check-context.js';

export function checkConfig(input: CheckInput): ConfigProblem[] {
  const ctx = new CheckContext(input);
  for (const collection of COLLECTIONS) ctx.indexIds(collection, input.config[collection]);
  checkReservedDomains(ctx);
  checkIpPolicies(ctx);
  checkBackends(ctx);
  checkEdges(ctx);
  return ctx.problems;
}

function checkReservedDomains(ctx: CheckContext): void {
  const seen = new Map<string, string>();
  ctx.config.reserved_domains.forEach((d, i) => {
    const at = ctx.at('reserved_domains', i);
    const domain = d.domain.toLowerCase();
    const first = seen.get(domain);
    if (first !== undefined) ctx.add(`${at}.domain`, `domain '${d.domain}' is already reserved by ${first}`);
    else seen.set(domain, at);
    if (d.certificate_id !== null && !ctx.exists('tls_certificates', d.certificate_id)) {
      ctx.add(`${at}.certificate_id`, `unknown tls certificate '${d.certificate_id}'`);
    }
  });
}

function checkIpPolicies(ctx: CheckContext): void {
  ctx.config.ip_policies.forEach((policy, i) => {
    const at = ctx.at('ip_policies', i);
    const seen = new Map<string, number>();
    policy.rules.forEach((rule, j) => {
      const path = `${at}.rules[${j}].cidr`;
      const parsed = parseCidr(rule.cidr);
      if ('error' in parsed) {
        ctx.add(path, parsed.code === undefined ? parsed.error : `${parsed.error} (ERR_NGROK_${parsed.code})`);
        return;
      }
      const key = `${formatIp(parsed.family, parsed.words)}/${parsed.prefix}`;
      const first = seen.get(key);
      if (first !== undefined) ctx.add(path, `CIDR '${rule.cidr}' duplicates rules[${first}] of this policy (ERR_NGROK_1408)`);
      else seen.set(key, j);
    });
  });
}
