import t from 'tap';
import { createRequestHeaders, rewriteLocation } from '../../../workers/http/modules/request-headers.js';
import { createResponseHeaders } from '../../../workers/http/modules/response-headers.js';
import type { CompileContext } from '../../../workers/http/pipeline.js';
import { makeExchange } from './exchange-fixture.js';

const ctx = {} as CompileContext;

t.test('request_headers: remove drops every value of a name, add appends, templates render per request', async (t) => {
  const module = createRequestHeaders({ add: { 'x-client-ip': '${conn.client_ip}', 'x-tag': 'edge', 'x-route': '${req.url.path}' }, remove: ['x-tag', 'cookie'] }, ctx);
  const requestHeaders = ['host', 'app.example.test', 'x-tag', 'one', 'cookie', 'a=1', 'accept', '*/*', 'x-tag', 'two', 'cookie', 'b=2'];
  const x = makeExchange({ requestHeaders });
  t.equal(module.onRequest!(x), undefined);
  t.same(x.upstreamHeaders, ['host', 'app.example.test', 'accept', '*/*', 'x-client-ip', '203.0.113.7', 'x-tag', 'edge', 'x-route', '/api/items']);
  t.same(x.requestHeaders, requestHeaders, 'only the upstream sees the changes (spec §1.6)');
  t.equal(module.onResponseHead, undefined, 'no response work unless Host is rewritten');

  const other = makeExchange({ conn: { clientIp: '2001:db8::1' }, path: '/other' });
  module.onRequest!(other);
  t.same(other.upstreamHeaders, ['host', 'app.example.test', 'user-agent', 'curl/8.5.0', 'accept', '*/*', 'x-client-ip', '2001:db8::1', 'x-tag', 'edge', 'x-route', '/other']);
});

t.test('request_headers: names are matched case-insensitively; an added name keeps earlier values', async (t) => {
  const module = createRequestHeaders({ add: { 'X-Extra': 'b' }, remove: ['X-Drop'] }, ctx);
  const x = makeExchange({ requestHeaders: ['x-drop', '1', 'x-extra', 'a'] });
  module.onRequest!(x);
  t.same(x.upstreamHeaders, ['x-extra', 'a', 'x-extra', 'b']);
});

t.test('request_headers: adding host replaces it and rewrites Location back to the endpoint', async (t) => {
  const module = createRequestHeaders({ add: { host: 'api.internal:8080' }, remove: [] }, ctx);
  const x = makeExchange({ requestHeaders: ['host', 'app.example.test', 'accept', '*/*'] });
  module.onRequest!(x);
  t.same(x.upstreamHeaders, ['accept', '*/*', 'host', 'api.internal:8080']);
  x.status = 302;
  x.responseHeaders = ['location', 'http://api.internal:8080/login?next=%2F', 'content-length', '0'];
  module.onResponseHead!(x);
  t.same(x.responseHeaders, ['location', 'https://app.example.test/login?next=%2F', 'content-length', '0']);

  const onPort = makeExchange({ conn: { serverPort: 8443 }, requestHeaders: ['host', 'app.example.test:8443'] });
  module.onRequest!(onPort);
  onPort.responseHeaders = ['location', '//API.internal/x', 'location', '/relative', 'location', 'https://elsewhere.test/'];
  module.onResponseHead!(onPort);
  t.same(onPort.responseHeaders, ['location', '//app.example.test:8443/x', 'location', '/relative', 'location', 'https://elsewhere.test/']);
});

t.test('rewriteLocation: only absolute or network-path URLs naming the upstream host', async (t) => {
  const cases: Array<[string, string | null]> = [
    ['http://api.internal/a', 'https://edge.test/a'],
    ['https://api.internal:9000/a?b#c', 'https://edge.test/a?b#c'],
    ['HTTP://API.INTERNAL', 'https://edge.test'],
    ['//api.internal/p', '//edge.test/p'],
    ['/api.internal/p', null],
    ['api.internal/p', null],
    ['http://other.internal/a', null],
    ['http://api.internal.evil.test/a', null],
    ['http://user@api.internal/a', null],
    ['ftp://api.internal/a', null],
    ['', null],
  ];
  for (const [location, expected] of cases) t.equal(rewriteLocation(location, 'api.internal', 'edge.test'), expected, location || '(empty)');
  t.equal(rewriteLocation('http://[::1]:8080/x', '[::1]', 'edge.test:8443'), 'https://edge.test:8443/x');
});

t.test('response_headers: edits the client response with response-side templates', async (t) => {
  const module = createResponseHeaders({ add: { 'x-status': '${res.status_code}', 'x-powered-by': 'edgeplane' }, remove: ['server', 'x-powered-by'] }, ctx);
  t.equal(module.onRequest, undefined);
  const x = makeExchange({ status: 404, responseHeaders: ['server', 'nginx', 'content-type', 'text/html', 'x-powered-by', 'PHP', 'server', 'again'] });
  module.onResponseHead!(x);
  t.same(x.responseHeaders, ['content-type', 'text/html', 'x-status', '404', 'x-powered-by', 'edgeplane']);
});

t.test('a bad template fails at compile time, not per request', async (t) => {
  t.throws(() => createRequestHeaders({ add: { 'x-a': '${nope}' }, remove: [] }, ctx), /unknown template variable/);
  t.throws(() => createResponseHeaders({ add: { 'x-a': '${conn.client_ip' }, remove: [] }, ctx), /unclosed/);
});
