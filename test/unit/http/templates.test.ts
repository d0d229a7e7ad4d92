import t from 'tap';
import { compileTemplate, templateProblem, TEMPLATE_VARIABLES } from '../../../core/http/templates.js';
import { makeExchange } from './exchange-fixture.js';

const CERT = { subjectCn: 'client-1', sanDns: ['a.example.test', 'b.example.test'], emailAddresses: ['c1@example.test'], serialNumber: '0A1B2C' };

function fullExchange() {
  return makeExchange({
    conn: { clientCert: CERT, serverPort: 8443 },
    method: 'POST',
    version: '2',
    rawUrl: '/api//items/../items?limit=5',
    requestHeaders: ['user-agent', 'curl/8.5.0', 'x-trace', 'abc', 'x-trace', 'second', 'content-type', 'application/json', 'content-length', '12'],
    status: 201,
    responseHeaders: ['content-type', 'text/plain', 'location', '/next', 'x-served-by', 'origin-3'],
    vars: {
      ipPolicyDecision: 'allow',
      ipPolicyMatchingRule: '203.0.113.0/24',
      circuitBreakerDecision: 'allow_while_open',
      compressionAlgorithm: 'gzip',
      compressionBytesSaved: 1234,
      userAgentFilterDecision: 'block',
      webhookDecision: 'allow',
      backendId: 'bkdsa_1',
      backendConnectionReused: true,
      backendDialMs: 3,
      oauthDecision: 'allow',
      oauthAppClientId: 'client-github',
      oauthUserId: '1001',
      oauthUserName: 'Alice Hub',
    },
  });
}

// Every supported variable and what it renders for fullExchange(); the older dotted names included.
const EXPECTED: Record<string, string> = {
  'conn.client_ip': '203.0.113.7',
  'conn.client_port': '51234',
  'conn.server_ip': '198.51.100.1',
  'conn.server_port': '8443',
  'conn.server_name': 'app.example.test',
  '.conn.server_name': 'app.example.test',
  'conn.ts.start': '2026-01-02T03:04:05.678Z',
  '.conn.start_ts': '2026-01-02T03:04:05.678Z',
  'conn.tls.version': 'TLSv1.3',
  'conn.tls.cipher_suite': 'TLS_AES_128_GCM_SHA256',
  'conn.tls.sni': 'app.example.test',
  'conn.tls.client.serial_number': '0A1B2C',
  'conn.tls.client.subject.common_name': 'client-1',
  'conn.tls.client.san.dns_names': 'a.example.test,b.example.test',
  'conn.tls.client.san.email_addresses': 'c1@example.test',
  '.tls.client_cert.serial_number': '0A1B2C',
  '.tls.client_cert.subject.cn': 'client-1',
  '.tls.version': 'TLSv1.3',
  '.tls.cipher_suite': 'TLS_AES_128_GCM_SHA256',
  '.ngrok.client_ip': '203.0.113.7',
  'endpoint.host': 'app.example.test',
  'endpoint.port': '8443',
  'endpoint.addr': 'app.example.test:8443',
  'endpoint.protocol': 'https',
  'endpoint.url': 'https://app.example.test:8443',
  'req.method': 'POST',
  'req.url': 'https://app.example.test:8443/api/items?limit=5',
  'req.url.path': '/api/items',
  'req.url.query': 'limit=5',
  'req.url.host': 'app.example.test',
  'req.url.port': '8443',
  'req.url.scheme': 'https',
  'req.url.authority': 'app.example.test:8443',
  'req.url.raw': '/api//items/../items?limit=5',
  'req.url.raw_path': '/api//items/../items',
  'req.host': 'app.example.test',
  'req.user_agent': 'curl/8.5.0',
  'req.version': 'HTTP/2.0',
  'req.content_length': '12',
  'req.content_type': 'application/json',
  'req.headers.x-trace': 'abc',
  'req.headers.x-missing': '',
  '.http.request.method': 'POST',
  '.http.request.url.host': 'app.example.test',
  '.http.request.url.path': '/api/items',
  '.http.request.url.query': 'limit=5',
  '.http.request.url.raw': 'https://app.example.test:8443/api/items?limit=5',
  '.http.request.url.scheme': 'https',
  '.http.request.user_agent': 'curl/8.5.0',
  '.http.request.version': 'HTTP/2.0',
  'res.status_code': '201',
  '.http.response.status_code': '201',
  'res.content_type': 'text/plain',
  'res.content_length': '',
  'res.location': '/next',
  'res.headers.x-served-by': 'origin-3',
  '.ip_policy.decision': 'allow',
  '.ip_policy.matching_rule': '203.0.113.0/24',
  '.circuit_breaker.decision': 'allow_while_open',
  '.compression.algorithm': 'gzip',
  '.compression.bytes_saved': '1234',
  'user_agent_filter.decision': 'block',
  '.user_agent_filter.decision': 'block',
  '.webhook_validation.decision': 'allow',
  '.backend.id': 'bkdsa_1',
  '.backend.connection_reused': 'true',
  '.backend.dial_duration': '3ms',
  '.oauth.decision': 'allow',
  '.oauth.app_client_id': 'client-github',
  '.oauth.user.id': '1001',
  '.oauth.user.name': 'Alice Hub',
};

t.test('every supported variable renders from the exchange', async (t) => {
  const x = fullExchange();
  for (const [name, value] of Object.entries(EXPECTED)) {
    t.equal(templateProblem(`\${${name}}`), null, `${name} is known`);
    t.equal(compileTemplate(`\${${name}}`)(x), value, name);
  }
  // the exported list and the table above agree
  const listed = new Set(TEMPLATE_VARIABLES);
  for (const name of Object.keys(EXPECTED)) {
    const bare = name.replace(/^\./, '').replace(/^(req|res)\.headers\..*$/, '$1.headers.<name>');
    t.ok(listed.has(bare), `${bare} is in TEMPLATE_VARIABLES`);
  }
  for (const name of TEMPLATE_VARIABLES) {
    if (name.endsWith('<name>')) continue;
    t.ok(name in EXPECTED || `.${name}` in EXPECTED, `${name} is tested`);
  }
});

t.test('a variable whose module did not run renders empty', async (t) => {
  const x = makeExchange();
  for (const name of ['.ip_policy.decision', '.ip_policy.matching_rule', '.circuit_breaker.decision', '.compression.algorithm',
    '.compression.bytes_saved', 'user_agent_filter.decision', '.backend.id', '.backend.connection_reused', '.backend.dial_duration',
    'res.status_code', 'conn.tls.client.serial_number', '.tls.client_cert.subject.cn',
    '.oauth.decision', '.oauth.app_client_id', '.oauth.user.id', '.oauth.user.name', '.webhook_validation.decision']) {
    t.equal(compileTemplate(`[\${${name}}]`)(x), '[]', name);
  }
});

t.test('templates mix text and variables; whitespace inside ${} is allowed', async (t) => {
  const x = fullExchange();
  t.equal(compileTemplate('plain text')(x), 'plain text');
  t.equal(compileTemplate('')(x), '');
  t.equal(compileTemplate('${ conn.client_ip }')(x), '203.0.113.7');
  t.equal(compileTemplate('ip=${conn.client_ip}')(x), 'ip=203.0.113.7');
  t.equal(compileTemplate('${req.method} ${req.url.path}')(x), 'POST /api/items');
  t.equal(compileTemplate('${req.method}:${req.url.path}?${req.url.query}#${res.status_code}')(x), 'POST:/api/items?limit=5#201');
  t.equal(compileTemplate('cost $5 {not a template} $ {x}')(x), 'cost $5 {not a template} $ {x}');
});

t.test('compiled templates read the exchange they are given, not the first one', async (t) => {
  const render = compileTemplate('${conn.client_ip}/${req.headers.x-trace}');
  t.equal(render(makeExchange({ conn: { clientIp: '10.0.0.1' }, requestHeaders: ['x-trace', 'one'] })), '10.0.0.1/one');
  t.equal(render(makeExchange({ conn: { clientIp: '10.0.0.2' }, requestHeaders: ['x-trace', 'two'] })), '10.0.0.2/two');
});

t.test('client certificate text is made header-safe', async (t) => {
  const x = makeExchange({ conn: { clientCert: { ...CERT, subjectCn: 'evil\r\nx-injected: 1', serialNumber: '01' } } });
  t.equal(compileTemplate('${.tls.client_cert.subject.cn}')(x), 'evilx-injected: 1');
  const utf8 = makeExchange({ conn: { clientCert: { ...CERT, subjectCn: 'Jörg' } } });
  t.equal(Buffer.from(compileTemplate('${.tls.client_cert.subject.cn}')(utf8), 'latin1').toString('utf8'), 'Jörg');
});

t.test('identity values from the provider are made header-safe; a refused login renders block', async (t) => {
  const x = makeExchange({ vars: { oauthDecision: 'block', oauthAppClientId: 'cid', oauthUserId: 'id\r\nx-injected: 1', oauthUserName: 'Zoë\n' } });
  t.equal(compileTemplate('${.oauth.decision}')(x), 'block');
  t.equal(compileTemplate('${.oauth.user.id}')(x), 'idx-injected: 1');
  t.equal(Buffer.from(compileTemplate('${.oauth.user.name}')(x), 'latin1').toString('utf8'), 'Zoë');
  // Not yet in ExchangeVars, so not offered: a config using them gets a clear error, not ''.
  t.match(templateProblem('${.oauth.user.email}'), /unknown template variable/);
  t.match(templateProblem('${.ngrok.saml.subject}'), /unknown template variable/);
});

t.test('bad templates are config errors with the reason', async (t) => {
  t.match(templateProblem('${conn.nope}'), /unknown template variable \$\{conn\.nope\}/);
  t.match(templateProblem('${.geo.country}'), /unknown template variable/);
  t.match(templateProblem('a ${conn.client_ip'), /unclosed \$\{ at offset 2/);
  t.match(templateProblem('${}'), /empty/);
  t.match(templateProblem('${   }'), /empty/);
  t.match(templateProblem('${req.headers.}'), /not a lower-case header name/);
  t.match(templateProblem('${req.headers.X-Upper}'), /not a lower-case header name/);
  t.match(templateProblem('${req.headers.a b}'), /not a lower-case header name/);
  t.match(templateProblem('x'.repeat(5000)), /longer than/);
  t.match(templateProblem(42 as unknown as string), /must be a string/);
  t.equal(templateProblem('${req.headers.x-ok_1}'), null);
  t.throws(() => compileTemplate('${bogus}'), /unknown template variable/);
});
