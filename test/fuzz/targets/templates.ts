// Header-value templates (core/http/templates.ts): templateProblem and compileTemplate must agree
// (a template either compiles or has a problem, never both or neither), a compiled template applied
// to an exchange full of hostile text (client certificate fields, identity names, headers) yields a
// string, and headerSafeValue makes any text safe to put in a header.
import { compileTemplate, headerSafeValue, templateProblem } from '../../../core/http/templates.js';
import type { Exchange } from '../../../workers/http/exchange.js';
import { check, type FuzzTarget } from '../target.js';

/** Text a client controls, planted everywhere a template can read it. */
function exchangeWith(hostile: string): Exchange {
  return {
    conn: {
      clientIp: '203.0.113.7', clientPort: 50000, serverIp: '127.0.0.1', serverPort: 8443, serverName: 'app.example.test',
      startMs: Date.UTC(2026, 0, 1), tlsVersion: 'TLSv1.3', tlsCipher: 'TLS_AES_128_GCM_SHA256', ja4: '',
      clientCert: { subjectCn: hostile, sanDns: [hostile, 'b.example'], emailAddresses: [hostile], serialNumber: hostile },
    },
    edgeId: 'edghts_1', edgeSlot: 0, routeId: 'rt', method: 'GET', rawUrl: '/a?b', path: '/a', query: 'b', host: 'app.example.test',
    version: '1.1', requestHeaders: ['user-agent', 'fuzz', 'x-h', 'v'], upstreamHeaders: [], status: 200,
    responseHeaders: ['content-type', 'text/plain'], vars: { oauthUserId: hostile, oauthUserName: hostile, oauthDecision: 'allow' },
    startMs: 0, requestBodyBytes: 0, responseBodyBytes: 0, errorCode: '', readBody: () => Promise.resolve(null),
  } as Exchange;
}

const SAFE = /^[\x20-\x7e\x80-\xff]*$/;

const target: FuzzTarget = {
  name: 'templates',
  maxLen: 2048,
  dictionary: [
    '${', '}', '${req.method}', '${.http.request.method}', '${req.headers.', '${res.headers.', 'req.', 'res.', 'conn.', 'tls.', '.',
    'conn.tls.client.subject.common_name', 'conn.tls.client.serial_number', 'oauth.user.name', 'oauth.user.id', 'req.url', 'endpoint.url',
    'conn.tls.client.san.dns_names', 'x-h', 'user-agent', '\r\n', '\0', '\u2028', '\ud800', 'é', ' ',
  ],
  run(data) {
    // The first line is the template, the rest is planted as hostile client text.
    const text = data.toString('utf8');
    const nl = text.indexOf('\n');
    const template = nl < 0 ? text : text.slice(0, nl);
    const hostile = nl < 0 ? 'CN=x\r\nInjected: 1' : text.slice(nl + 1);
    const safe = headerSafeValue(hostile);
    check(SAFE.test(safe), `headerSafeValue left a control character: ${JSON.stringify(safe)}`);
    check(!/[^\x00-\xff]/.test(safe), 'headerSafeValue left a non-latin1 character');
    const problem = templateProblem(template);
    let render: ((x: Exchange) => string) | null = null;
    let compileError: unknown = null;
    try { render = compileTemplate(template); } catch (err) { compileError = err; }
    if (problem === null) {
      check(render !== null, `templateProblem saw no problem but compile threw: ${String(compileError)}`);
      const out = render(exchangeWith(hostile));
      check(typeof out === 'string', 'rendered template is not a string');
      // Hostile text only reaches the output through header-safe readers: no CR/LF unless the template has them.
      if (!/[\r\n\0]/.test(template)) check(!/[\r\n\0]/.test(out), `rendered value carries CR/LF/NUL from client text: ${JSON.stringify(out.slice(0, 200))}`);
    } else {
      check(render === null && compileError instanceof Error, `templateProblem said '${problem}' but compile ${render !== null ? 'succeeded' : 'threw a non-Error'}`);
      check((compileError as Error).message === problem, 'compile error differs from templateProblem');
    }
  },
};

export default target;
