// circuit_breaker (spec §1.6): Hystrix breaker over the process-wide shared table, so every worker sees
// one breaker per route. Refuses with 503 while open; accounts every admitted request when it is over.
import type { EdgeResponse, Exchange, HttpModule } from '../exchange.js';
import type { ModuleFactory } from '../pipeline.js';

const REFUSED: EdgeResponse = { status: 503, errorCode: 'ERR_NGROK_3202', body: 'Circuit breaker tripped: the upstream is failing.' };

// spec §1.10: the upstream gateway errors (invalid response, unreachable, refused, timeouts).
const UPSTREAM_GATEWAY_ERRORS = new Set(['ERR_NGROK_3004', 'ERR_NGROK_3005', 'ERR_NGROK_3006', 'ERR_NGROK_3008', 'ERR_NGROK_3009', 'ERR_NGROK_3010']);

/**
 * The outcome of an admitted request: true = failure, false = success, null = no evidence either way.
 * A response ≥ 500 (from the upstream or the edge answering for it, e.g. 502) is a failure. Status 0
 * means no response was sent: a failure only when the edge recorded an upstream gateway error; otherwise
 * the client left before the upstream answered, which says nothing about the upstream and is not
 * counted (a trial that ends so is simply replaced after tripped_duration).
 */
export function breakerOutcome(x: Exchange): boolean | null {
  if (x.status >= 500) return true;
  if (x.status !== 0) return false;
  return UPSTREAM_GATEWAY_ERRORS.has(x.errorCode) ? true : null;
}

export const createCircuitBreaker: ModuleFactory<'circuit_breaker'> = (spec, ctx): HttpModule => {
  const breakers = ctx.breakers;
  const slot = spec.slot;
  breakers.adopt(slot, spec); // a reload that changed the parameters starts this breaker over
  return {
    name: 'circuit_breaker',
    onRequest(x) {
      const decision = breakers.admit(slot, spec, Date.now());
      x.vars.circuitBreakerDecision = decision;
      return decision === 'block' ? REFUSED : undefined;
    },
    onComplete(x) {
      const decision = x.vars.circuitBreakerDecision;
      if (decision === undefined || decision === 'block') return; // refused earlier, or by this breaker
      const failed = breakerOutcome(x);
      if (failed !== null) breakers.record(slot, spec, Date.now(), decision, failed);
    },
  };
};
