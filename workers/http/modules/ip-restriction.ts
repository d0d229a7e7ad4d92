// ip_restriction on an HTTPS route (spec §1.6): the L4 client address only, never X-Forwarded-For,
// checked against the pooled rules of the route's policies in the shared IP table.
import type { EdgeResponse, HttpModule } from '../exchange.js';
import type { ModuleFactory } from '../pipeline.js';

const REFUSED: EdgeResponse = { status: 403, errorCode: 'ERR_NGROK_3205', body: 'Access denied by IP policy.' };

export const createIpRestriction: ModuleFactory<'ip_restriction'> = (spec, ctx): HttpModule => {
  const policies = spec.ipPolicies.slice();
  const table = ctx.ipTable;
  for (const policy of policies) {
    if (!(policy >= 0 && policy < table.policyCount)) throw new RangeError(`ip_restriction: no ip policy ${policy} in this generation's table`);
  }
  return {
    name: 'ip_restriction',
    onRequest(x) {
      const { allowed, matchingRule } = table.evaluate(policies, x.conn.clientIp);
      x.vars.ipPolicyDecision = allowed ? 'allow' : 'block';
      if (matchingRule >= 0) x.vars.ipPolicyMatchingRule = table.ruleCidr(matchingRule);
      return allowed ? undefined : REFUSED;
    },
  };
};
