// `${...}` templates in header values (spec §1.6, request/response headers). A template is parsed and
// compiled once per generation into a closure over its literal parts and variable readers; requests only
// call the closure. A variable whose module did not run renders ''.
//
// Names are the spec's template-variable table, modern (`conn.client_ip`) and older dotted ones
// (`.http.request.method`); the leading '.' is optional for every name. `req.headers.<name>` and
// `res.headers.<name>` give the first value of that header.
import type { Exchange, HeaderList } from '../../workers/http/exchange.js';

type Reader = (x: Exchange) => string;

const MAX_TEMPLATE_LENGTH = 4096;
// RFC 9110 token characters, lower case (header names are lower case in an Exchange).
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

function firstValue(headers: HeaderList, name: string): string {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1]!;
  return '';
}

function httpVersion(x: Exchange): string {
  return x.version === '2' ? 'HTTP/2.0' : `HTTP/${x.version}`;
}

function endpointAuthority(x: Exchange): string {
  return x.conn.serverPort === 443 ? x.host : `${x.host}:${x.conn.serverPort}`;
}

function requestUrl(x: Exchange): string {
  const base = `https://${endpointAuthority(x)}${x.path}`;
  return x.query === '' ? base : `${base}?${x.query}`;
}

function rawPath(x: Exchange): string {
  const q = x.rawUrl.indexOf('?');
  return q < 0 ? x.rawUrl : x.rawUrl.slice(0, q);
}

/**
 * Makes client-supplied text (certificate fields) safe as a header value: control characters, CR/LF
 * included, are dropped, and non-ASCII text is sent as its UTF-8 bytes (header strings go out as latin1).
 */
export function headerSafeValue(text: string): string {
  if (!/[^\x20-\x7e]/.test(text)) return text;
  return Buffer.from(text.replace(/[\x00-\x1f\x7f]/g, ''), 'utf8').toString('latin1');
}

const certSerial: Reader = (x) => (x.conn.clientCert === null ? '' : headerSafeValue(x.conn.clientCert.serialNumber));
const certCommonName: Reader = (x) => (x.conn.clientCert === null ? '' : headerSafeValue(x.conn.clientCert.subjectCn));
const requestMethod: Reader = (x) => x.method;
const requestPath: Reader = (x) => x.path;
const requestQuery: Reader = (x) => x.query;
const requestHost: Reader = (x) => x.host;
const userAgent: Reader = (x) => firstValue(x.requestHeaders, 'user-agent');
const statusCode: Reader = (x) => (x.status === 0 ? '' : String(x.status));
const clientIp: Reader = (x) => x.conn.clientIp;
const serverName: Reader = (x) => x.conn.serverName;
const connStart: Reader = (x) => new Date(x.conn.startMs).toISOString();
const https: Reader = () => 'https';
const ipPolicyDecision: Reader = (x) => x.vars.ipPolicyDecision ?? '';
const ipPolicyRule: Reader = (x) => x.vars.ipPolicyMatchingRule ?? '';
const breakerDecision: Reader = (x) => x.vars.circuitBreakerDecision ?? '';
const compressionAlgorithm: Reader = (x) => x.vars.compressionAlgorithm ?? '';
const compressionSaved: Reader = (x) => (x.vars.compressionBytesSaved === undefined ? '' : String(x.vars.compressionBytesSaved));
const userAgentDecision: Reader = (x) => x.vars.userAgentFilterDecision ?? '';
const webhookDecision: Reader = (x) => x.vars.webhookDecision ?? '';
// Set by the identity flow (oauth and oidc share these names in the spec; saml fills them too). Ids and
// names come from the identity provider, so they are made header-safe like certificate text.
const oauthDecision: Reader = (x) => x.vars.oauthDecision ?? '';
const oauthAppClientId: Reader = (x) => x.vars.oauthAppClientId ?? '';
const oauthUserId: Reader = (x) => (x.vars.oauthUserId === undefined ? '' : headerSafeValue(x.vars.oauthUserId));
const oauthUserName: Reader = (x) => (x.vars.oauthUserName === undefined ? '' : headerSafeValue(x.vars.oauthUserName));

/** Every variable name (without a leading '.') and how to read it from an Exchange. */
const VARIABLES: ReadonlyMap<string, Reader> = new Map<string, Reader>([
  // connection
  ['conn.client_ip', clientIp],
  ['conn.client_port', (x) => String(x.conn.clientPort)],
  ['conn.server_ip', (x) => x.conn.serverIp],
  ['conn.server_port', (x) => String(x.conn.serverPort)],
  ['conn.server_name', serverName],
  ['conn.ts.start', connStart],
  ['conn.start_ts', connStart],
  ['conn.tls.version', (x) => x.conn.tlsVersion],
  ['conn.tls.cipher_suite', (x) => x.conn.tlsCipher],
  ['conn.tls.sni', serverName],
  ['conn.tls.client.serial_number', certSerial],
  ['conn.tls.client.subject.common_name', certCommonName],
  ['conn.tls.client.san.dns_names', (x) => (x.conn.clientCert === null ? '' : headerSafeValue(x.conn.clientCert.sanDns.join(',')))],
  ['conn.tls.client.san.email_addresses', (x) => (x.conn.clientCert === null ? '' : headerSafeValue(x.conn.clientCert.emailAddresses.join(',')))],
  ['tls.client_cert.serial_number', certSerial],
  ['tls.client_cert.subject.cn', certCommonName],
  ['tls.version', (x) => x.conn.tlsVersion],
  ['tls.cipher_suite', (x) => x.conn.tlsCipher],
  ['ngrok.client_ip', clientIp],
  // endpoint
  ['endpoint.host', requestHost],
  ['endpoint.port', (x) => String(x.conn.serverPort)],
  ['endpoint.addr', (x) => `${x.host}:${x.conn.serverPort}`],
  ['endpoint.protocol', https],
  ['endpoint.url', (x) => `https://${endpointAuthority(x)}`],
  // request
  ['req.method', requestMethod],
  ['req.url', requestUrl],
  ['req.url.path', requestPath],
  ['req.url.query', requestQuery],
  ['req.url.host', requestHost],
  ['req.url.port', (x) => String(x.conn.serverPort)],
  ['req.url.scheme', https],
  ['req.url.authority', endpointAuthority],
  ['req.url.raw', (x) => x.rawUrl],
  ['req.url.raw_path', rawPath],
  ['req.host', requestHost],
  ['req.user_agent', userAgent],
  ['req.version', httpVersion],
  ['req.content_length', (x) => firstValue(x.requestHeaders, 'content-length')],
  ['req.content_type', (x) => firstValue(x.requestHeaders, 'content-type')],
  ['http.request.method', requestMethod],
  ['http.request.url.host', requestHost],
  ['http.request.url.path', requestPath],
  ['http.request.url.query', requestQuery],
  ['http.request.url.raw', requestUrl],
  ['http.request.url.scheme', https],
  ['http.request.user_agent', userAgent],
  ['http.request.version', httpVersion],
  // response (meaningful in response_headers; '' before a response exists)
  ['res.status_code', statusCode],
  ['res.content_length', (x) => firstValue(x.responseHeaders, 'content-length')],
  ['res.content_type', (x) => firstValue(x.responseHeaders, 'content-type')],
  ['res.location', (x) => firstValue(x.responseHeaders, 'location')],
  ['http.response.status_code', statusCode],
  // module results
  ['ip_policy.decision', ipPolicyDecision],
  ['ip_policy.matching_rule', ipPolicyRule],
  ['circuit_breaker.decision', breakerDecision],
  ['compression.algorithm', compressionAlgorithm],
  ['compression.bytes_saved', compressionSaved],
  ['user_agent_filter.decision', userAgentDecision],
  ['webhook_validation.decision', webhookDecision],
  ['oauth.decision', oauthDecision],
  ['oauth.app_client_id', oauthAppClientId],
  ['oauth.user.id', oauthUserId],
  ['oauth.user.name', oauthUserName],
  ['backend.id', (x) => x.vars.backendId ?? ''],
  ['backend.connection_reused', (x) => (x.vars.backendConnectionReused === undefined ? '' : String(x.vars.backendConnectionReused))],
  ['backend.dial_duration', (x) => (x.vars.backendDialMs === undefined ? '' : `${x.vars.backendDialMs}ms`)],
]);

/** The variable names templates accept (for docs and tests), without the optional leading '.'. */
export const TEMPLATE_VARIABLES: readonly string[] = [...VARIABLES.keys(), 'req.headers.<name>', 'res.headers.<name>'];

type Part = string | Reader;

/** Splits a template into literal text and variable readers, or says why it cannot. */
function parse(text: string): Part[] | string {
  if (typeof text !== 'string') return 'template must be a string';
  if (text.length > MAX_TEMPLATE_LENGTH) return `template longer than ${MAX_TEMPLATE_LENGTH} characters`;
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('${', i);
    if (open < 0) { literal += text.slice(i); break; }
    literal += text.slice(i, open);
    const close = text.indexOf('}', open + 2);
    if (close < 0) return `unclosed \${ at offset ${open}`;
    const expression = text.slice(open + 2, close).trim();
    if (expression === '') return `empty \${} at offset ${open}`;
    const reader = variableReader(expression);
    if (typeof reader === 'string') return reader;
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push(reader);
    i = close + 1;
  }
  if (literal !== '') parts.push(literal);
  return parts;
}

function variableReader(expression: string): Reader | string {
  const name = expression.startsWith('.') ? expression.slice(1) : expression;
  const known = VARIABLES.get(name);
  if (known !== undefined) return known;
  for (const [prefix, side] of [['req.headers.', 'requestHeaders'], ['res.headers.', 'responseHeaders']] as const) {
    if (!name.startsWith(prefix)) continue;
    const header = name.slice(prefix.length);
    if (!HEADER_NAME.test(header)) return `\${${expression}}: '${header}' is not a lower-case header name`;
    return (x) => firstValue(x[side], header);
  }
  return `unknown template variable \${${expression}}`;
}

/** Why a template is invalid (unknown variable, unclosed `${`, empty expression), or null when it is fine. */
export function templateProblem(text: string): string | null {
  const parsed = parse(text);
  return typeof parsed === 'string' ? parsed : null;
}

/** Compiles a template once; the result renders it for one exchange. Throws on an invalid template. */
export function compileTemplate(text: string): (x: Exchange) => string {
  const parts = parse(text);
  if (typeof parts === 'string') throw new Error(parts);
  if (parts.length === 0) return () => '';
  if (parts.length === 1) {
    const only = parts[0]!;
    return typeof only === 'string' ? () => only : only;
  }
  const readers = parts.map((part): Reader => (typeof part === 'string' ? () => part : part));
  if (readers.length === 2) {
    const [a, b] = readers as [Reader, Reader];
    return (x) => a(x) + b(x);
  }
  if (readers.length === 3) {
    const [a, b, c] = readers as [Reader, Reader, Reader];
    return (x) => a(x) + b(x) + c(x);
  }
  return (x) => {
    let out = '';
    for (let i = 0; i < readers.length; i++) out += readers[i]!(x);
    return out;
  };
}
