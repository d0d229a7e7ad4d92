import t, { type Test } from 'tap';
import zlib from 'node:zlib';
import { once } from 'node:events';
import { buildIpTable, IpTable } from '../../../core/tables/ip-table.js';
import { Breakers, createBreakerBuffer } from '../../../core/tables/breakers.js';
import type { RouteSpec } from '../../../core/generation/spec.js';
import { compilePipeline, type CompileContext } from '../../../workers/http/pipeline.js';
import { MODULE_REGISTRY } from '../../../workers/http/modules/registry.js';
import type { EdgeResponse, Exchange } from '../../../workers/http/exchange.js';
import { makeExchange } from './exchange-fixture.js';

function context(): CompileContext {
  const ipTable = new IpTable(buildIpTable([[{ cidr: '203.0.113.0/24', action: 'allow' }]]));
  return { edgeId: 'edghts_1', routeId: 'edghtsrt_1', ipTable, breakers: new Breakers(createBreakerBuffer()) };
}

// Every module on; the header templates record what earlier modules decided.
const ROUTE: RouteSpec = {
  id: 'edghtsrt_1',
  matchType: 'path_prefix',
  match: '/',
  backend: 0,
  maxRequestBodyBytes: 0,
  modules: {
    request_headers: {
      add: { 'x-seen': '${.ip_policy.decision}/${user_agent_filter.decision}/${.circuit_breaker.decision}', host: 'api.internal' },
      remove: ['x-secret'],
    },
    response_headers: { add: { 'x-compression': '${.compression.algorithm}', 'x-location-seen': '${res.location}' }, remove: ['vary'] },
    compression: {},
    user_agent_filter: { allow: [], deny: ['(?i)badbot'] },
    circuit_breaker: { slot: 11, errorThresholdPercentage: 0.5, trippedDurationMs: 60_000, rollingWindowMs: 10_000, numBuckets: 10, volumeThreshold: 3 },
    ip_restriction: { ipPolicies: [0] },
  },
};

function request(overrides: Parameters<typeof makeExchange>[0] = {}): Exchange {
  return makeExchange({
    requestHeaders: ['host', 'app.example.test', 'user-agent', 'Mozilla/5.0', 'accept-encoding', 'gzip', 'x-secret', 's3cret'],
    ...overrides,
  });
}

// These modules answer synchronously: the chain must not turn into promises.
function sync(t: Test, result: EdgeResponse | undefined | Promise<EdgeResponse | undefined>): EdgeResponse | undefined {
  t.notOk(result instanceof Promise, 'answered synchronously');
  return result as EdgeResponse | undefined;
}

t.test('modules compile in the registry order of spec §1.9, whatever the config order', async (t) => {
  const pipeline = compilePipeline(ROUTE, context());
  const order = ['ip_restriction', 'user_agent_filter', 'circuit_breaker', 'compression', 'response_headers', 'request_headers'];
  t.same(pipeline.modules.map((m) => m.name), order);
  // webhook verification, then the identity modules, answer right after the L4-ish address check (spec §1.9 leaves their place open)
  t.same(MODULE_REGISTRY.map((entry) => entry.key), ['ip_restriction', 'webhook_verification', 'oidc', 'oauth', 'saml', ...order.slice(1)]);
  t.ok(Object.isFrozen(MODULE_REGISTRY));
});

t.test('ip_restriction runs first: a refused address reaches no other module', async (t) => {
  const pipeline = compilePipeline(ROUTE, context());
  const x = request({ conn: { clientIp: '192.0.2.1' }, requestHeaders: ['user-agent', 'badbot'] });
  const upstreamBefore = x.upstreamHeaders.slice();
  t.match(sync(t, pipeline.request(x)), { status: 403, errorCode: 'ERR_NGROK_3205' });
  t.same(x.vars, { ipPolicyDecision: 'block' });
  t.same(x.upstreamHeaders, upstreamBefore, 'request_headers did not run');
  x.status = 403;
  pipeline.complete(x);
});

t.test('user_agent_filter runs before the circuit breaker and the header edits', async (t) => {
  const pipeline = compilePipeline(ROUTE, context());
  const x = request({ requestHeaders: ['user-agent', 'BadBot/1.0'] });
  t.match(sync(t, pipeline.request(x)), { status: 403, errorCode: 'ERR_NGROK_3211' });
  t.same(x.vars, { ipPolicyDecision: 'allow', ipPolicyMatchingRule: '203.0.113.0/24', userAgentFilterDecision: 'block' });
});

t.test('request_headers runs last, sees every decision, and only the upstream gets its edits', async (t) => {
  const pipeline = compilePipeline(ROUTE, context());
  const x = request();
  t.equal(sync(t, pipeline.request(x)), undefined);
  t.same(x.upstreamHeaders, ['user-agent', 'Mozilla/5.0', 'accept-encoding', 'gzip', 'x-seen', 'allow/allow/allow', 'host', 'api.internal']);
  t.same(x.requestHeaders, ['host', 'app.example.test', 'user-agent', 'Mozilla/5.0', 'accept-encoding', 'gzip', 'x-secret', 's3cret']);
});

t.test('response side: compression, then response_headers, then the Location rewrite; body gzip', async (t) => {
  const pipeline = compilePipeline(ROUTE, context());
  const x = request();
  sync(t, pipeline.request(x));
  x.status = 302;
  x.responseHeaders = ['content-type', 'application/json', 'content-length', '27', 'location', 'http://api.internal/next', 'vary', 'Origin'];
  pipeline.responseHead(x);
  t.same(x.responseHeaders, [
    'content-type', 'application/json',
    'location', 'https://app.example.test/next', // request_headers' rewrite came after response_headers read it
    'content-encoding', 'gzip', // compression ran before response_headers ...
    'x-compression', 'gzip', // ... which saw its decision
    'x-location-seen', 'http://api.internal/next',
  ]);
  t.notOk(x.responseHeaders.includes('vary'), 'response_headers removed the Vary that compression extended');

  const transforms = pipeline.responseBody(x);
  t.equal(transforms.length, 1);
  const out: Buffer[] = [];
  transforms[0]!.on('data', (d: Buffer) => out.push(d));
  const ended = once(transforms[0]!, 'end');
  transforms[0]!.end('{"next":"/next","ok":true}!');
  await ended;
  t.equal(zlib.gunzipSync(Buffer.concat(out)).toString(), '{"next":"/next","ok":true}!');
  pipeline.complete(x);
});

t.test('circuit breaker accounting happens on completion; once open it answers before the upstream', async (t) => {
  const ctx = context();
  const pipeline = compilePipeline(ROUTE, ctx);
  for (let i = 0; i < 3; i++) {
    const x = request();
    t.equal(sync(t, pipeline.request(x)), undefined);
    x.status = 500;
    pipeline.complete(x);
  }
  t.equal(ctx.breakers.state(11).state, 'open');
  const x = request();
  t.match(sync(t, pipeline.request(x)), { status: 503, errorCode: 'ERR_NGROK_3202' });
  t.same(x.vars, { ipPolicyDecision: 'allow', ipPolicyMatchingRule: '203.0.113.0/24', userAgentFilterDecision: 'allow', circuitBreakerDecision: 'block' });
  t.notOk(x.upstreamHeaders.includes('x-seen'), 'request_headers did not run for a refused request');
});

t.test('a route without modules compiles to empty phases', async (t) => {
  const pipeline = compilePipeline({ ...ROUTE, modules: {} }, context());
  const x = request();
  t.equal(pipeline.modules.length, 0);
  t.equal(sync(t, pipeline.request(x)), undefined);
  pipeline.responseHead(x);
  t.same(pipeline.responseBody(x), []);
  pipeline.complete(x);
  t.same(x.vars, {});
});
