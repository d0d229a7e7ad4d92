import t from 'tap';
import { buildIpTable, IpTable } from '../../../core/tables/ip-table.js';
import { Breakers, createBreakerBuffer } from '../../../core/tables/breakers.js';
import type { CircuitBreakerSpec } from '../../../core/generation/spec.js';
import { createIpRestriction } from '../../../workers/http/modules/ip-restriction.js';
import { createUserAgentFilter } from '../../../workers/http/modules/user-agent-filter.js';
import { breakerOutcome, createCircuitBreaker } from '../../../workers/http/modules/circuit-breaker.js';
import type { CompileContext } from '../../../workers/http/pipeline.js';
import { makeExchange } from './exchange-fixture.js';

function context(): CompileContext {
  const ipTable = new IpTable(buildIpTable([
    [{ cidr: '203.0.113.0/24', action: 'allow' }, { cidr: '203.0.113.66/32', action: 'deny' }],
    [{ cidr: '2001:db8::/32', action: 'allow' }],
    [{ cidr: '198.51.100.0/24', action: 'allow' }],
  ]));
  return { edgeId: 'edghts_1', routeId: 'edghtsrt_1', ipTable, breakers: new Breakers(createBreakerBuffer()) };
}

t.test('ip_restriction: L4 address against the pooled policies, 403 ERR_NGROK_3205 when refused', async (t) => {
  const module = createIpRestriction({ ipPolicies: [0, 1] }, context());
  const cases: Array<[string, boolean, string | undefined]> = [
    ['203.0.113.7', true, '203.0.113.0/24'],
    ['::ffff:203.0.113.7', true, '203.0.113.0/24'],
    ['203.0.113.66', false, '203.0.113.66/32'], // deny beats allow
    ['2001:db8::42', true, '2001:db8::/32'],
    ['198.51.100.1', false, undefined], // in policy 2, which this route does not use
    ['not-an-ip', false, undefined],
  ];
  for (const [clientIp, allowed, rule] of cases) {
    // X-Forwarded-For is never consulted
    const x = makeExchange({ conn: { clientIp }, requestHeaders: ['x-forwarded-for', '203.0.113.7'] });
    const answer = module.onRequest!(x);
    t.equal(x.vars.ipPolicyDecision, allowed ? 'allow' : 'block', clientIp);
    t.equal(x.vars.ipPolicyMatchingRule, rule, `${clientIp}: matching rule`);
    if (allowed) t.equal(answer, undefined);
    else t.match(answer, { status: 403, errorCode: 'ERR_NGROK_3205' });
  }
  t.throws(() => createIpRestriction({ ipPolicies: [3] }, context()), /no ip policy 3/);
});

t.test('user_agent_filter: allow beats deny; no User-Agent only with an allow rule matching \'\'', async (t) => {
  const module = createUserAgentFilter({ allow: ['(?i)google-images'], deny: ['(?i)google', 'curl'] }, context());
  const cases: Array<[string[], boolean]> = [
    [['user-agent', 'Googlebot-Images/1.0 google-images'], true],
    [['user-agent', 'Googlebot/2.1'], false],
    [['user-agent', 'curl/8.5.0'], false],
    [['user-agent', 'Mozilla/5.0'], true],
    [[], false], // no User-Agent
    [['user-agent', ''], false],
    [['user-agent', 'Mozilla/5.0', 'user-agent', 'curl/8.5.0'], true], // only the first one counts
    [['user-agent', 'curl/8.5.0', 'user-agent', 'Mozilla/5.0'], false],
  ];
  for (const [requestHeaders, allowed] of cases) {
    const x = makeExchange({ requestHeaders });
    const answer = module.onRequest!(x);
    t.equal(x.vars.userAgentFilterDecision, allowed ? 'allow' : 'block', JSON.stringify(requestHeaders));
    if (allowed) t.equal(answer, undefined);
    else t.match(answer, { status: 403, errorCode: 'ERR_NGROK_3211' });
  }
  const emptyAllowed = createUserAgentFilter({ allow: ['^$'], deny: ['.*'] }, context());
  t.equal(emptyAllowed.onRequest!(makeExchange({ requestHeaders: [] })), undefined, 'allow ^$ lets a request without User-Agent through');
  const denyOnly = createUserAgentFilter({ allow: [], deny: ['bot'] }, context());
  t.equal(denyOnly.onRequest!(makeExchange({ requestHeaders: ['user-agent', 'browser'] })), undefined);
  t.throws(() => createUserAgentFilter({ allow: ['(?U)x'], deny: [] }, context()), /ungreedy/);
});

t.test('circuit_breaker: what counts as a failure', async (t) => {
  const cases: Array<[number, string, boolean | null]> = [
    [200, '', false],
    [404, '', false],
    [499, '', false],
    [500, '', true],
    [502, 'ERR_NGROK_3005', true],
    [503, 'ERR_NGROK_6528', true],
    [504, 'ERR_NGROK_3008', true],
    [0, 'ERR_NGROK_3004', true], // no response written, but the upstream failed
    [0, 'ERR_NGROK_3006', true],
    [0, '', null], // the client left before the upstream answered: no evidence
    [0, 'ERR_EDGEPLANE_408', null],
  ];
  for (const [status, errorCode, failed] of cases) t.equal(breakerOutcome(makeExchange({ status, errorCode })), failed, `${status} ${errorCode}`);
});

t.test('circuit_breaker: trips on upstream 5xx, answers 503 ERR_NGROK_3202, records its decision', async (t) => {
  const ctx = context();
  const spec: CircuitBreakerSpec = { slot: 5, errorThresholdPercentage: 0.5, trippedDurationMs: 60_000, rollingWindowMs: 10_000, numBuckets: 10, volumeThreshold: 4 };
  const module = createCircuitBreaker(spec, ctx);
  for (let i = 0; i < 4; i++) {
    const x = makeExchange();
    t.equal(module.onRequest!(x), undefined);
    t.equal(x.vars.circuitBreakerDecision, 'allow');
    x.status = 502;
    x.errorCode = 'ERR_NGROK_3005';
    module.onComplete!(x);
  }
  t.equal(ctx.breakers.state(spec.slot).state, 'open');
  const refused = makeExchange();
  t.match(module.onRequest!(refused), { status: 503, errorCode: 'ERR_NGROK_3202' });
  t.equal(refused.vars.circuitBreakerDecision, 'block');
  refused.status = 503;
  module.onComplete!(refused); // its own refusal is not a failure to count
  t.equal(ctx.breakers.state(spec.slot).trips, 1);
});

t.test('circuit_breaker: refusals by earlier modules and client aborts are not counted', async (t) => {
  const ctx = context();
  const spec: CircuitBreakerSpec = { slot: 6, errorThresholdPercentage: 0.5, trippedDurationMs: 60_000, rollingWindowMs: 10_000, numBuckets: 10, volumeThreshold: 2 };
  const module = createCircuitBreaker(spec, ctx);
  const earlier = makeExchange({ status: 403, errorCode: 'ERR_NGROK_3205' }); // never reached the breaker
  module.onComplete!(earlier);
  for (let i = 0; i < 5; i++) {
    const aborted = makeExchange();
    module.onRequest!(aborted);
    module.onComplete!(aborted); // status 0, no error code
  }
  t.same(ctx.breakers.state(spec.slot), { state: 'closed', trips: 0, trials: 0, requests: 0, errors: 0 });
});

t.test('circuit_breaker: compiling again with other parameters starts the breaker over', async (t) => {
  const ctx = context();
  const spec: CircuitBreakerSpec = { slot: 9, errorThresholdPercentage: 0.5, trippedDurationMs: 60_000, rollingWindowMs: 10_000, numBuckets: 10, volumeThreshold: 2 };
  const first = createCircuitBreaker(spec, ctx);
  for (let i = 0; i < 3; i++) {
    const x = makeExchange();
    first.onRequest!(x);
    x.status = 500;
    first.onComplete!(x);
  }
  t.equal(ctx.breakers.state(spec.slot).state, 'open');
  createCircuitBreaker({ ...spec }, ctx); // same parameters: a reload keeps the state
  t.equal(ctx.breakers.state(spec.slot).state, 'open');
  const reloaded = createCircuitBreaker({ ...spec, volumeThreshold: 10 }, ctx);
  t.equal(ctx.breakers.state(spec.slot).state, 'closed');
  t.equal(reloaded.onRequest!(makeExchange()), undefined);
});
