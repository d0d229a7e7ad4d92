// user_agent_filter (spec §1.6): a request passes if its User-Agent matches any allow rule, or matches no
// deny rule. A request without one passes only if an allow rule matches ''. Only the first User-Agent
// header counts. Rules are RE2 syntax, compiled once here.
import { compileUserAgentPattern } from '../../../core/http/ua-regex.js';
import type { EdgeResponse, Exchange, HttpModule } from '../exchange.js';
import type { ModuleFactory } from '../pipeline.js';

const REFUSED: EdgeResponse = { status: 403, errorCode: 'ERR_NGROK_3211', body: 'Access denied for this user agent.' };

function anyMatches(rules: readonly RegExp[], text: string): boolean {
  for (const rule of rules) if (rule.test(text)) return true;
  return false;
}

function firstUserAgent(x: Exchange): string | undefined {
  const headers = x.requestHeaders;
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'user-agent') return headers[i + 1];
  return undefined;
}

export const createUserAgentFilter: ModuleFactory<'user_agent_filter'> = (spec): HttpModule => {
  const allow = spec.allow.map(compileUserAgentPattern);
  const deny = spec.deny.map(compileUserAgentPattern);
  const emptyAllowed = anyMatches(allow, ''); // decided once: no User-Agent, or an empty one
  return {
    name: 'user_agent_filter',
    onRequest(x) {
      const agent = firstUserAgent(x);
      const allowed = agent === undefined || agent === '' ? emptyAllowed : anyMatches(allow, agent) || !anyMatches(deny, agent);
      x.vars.userAgentFilterDecision = allowed ? 'allow' : 'block';
      return allowed ? undefined : REFUSED;
    },
  };
};
