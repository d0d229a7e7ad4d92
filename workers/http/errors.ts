// Edge-generated HTTP errors: status, ngrok-error-code and a short plain-text body (spec §1.10).
// Limits that ngrok has no code for get edgeplane codes in the same header.
import type { EdgeResponse } from './exchange.js';

export const EDGE_ERRORS = {
  noRoute: { status: 404, errorCode: 'ERR_NGROK_3200', body: 'No route for this path on this endpoint.' },
  noEndpoint: { status: 404, errorCode: 'ERR_NGROK_3200', body: 'Endpoint not found for this host.' },
  misdirected: { status: 421, errorCode: 'ERR_EDGEPLANE_421', body: 'This connection cannot serve that host.' },
  noBackend: { status: 503, errorCode: 'ERR_NGROK_6528', body: 'No online backend for this route.' },
  connectFailed: { status: 502, errorCode: 'ERR_NGROK_3005', body: 'The upstream could not be reached.' },
  connectRefused: { status: 502, errorCode: 'ERR_NGROK_3006', body: 'The upstream refused the connection.' },
  invalidResponse: { status: 502, errorCode: 'ERR_NGROK_3004', body: 'The upstream sent an invalid or incomplete HTTP response.' },
  upstreamTimeout: { status: 504, errorCode: 'ERR_NGROK_3008', body: 'The upstream did not answer in time.' },
  badRequest: { status: 400, errorCode: 'ERR_EDGEPLANE_400', body: 'Bad request.' },
  unsupportedTransferCoding: { status: 501, errorCode: 'ERR_EDGEPLANE_501', body: 'Only the chunked transfer coding is supported.' },
  headerTimeout: { status: 408, errorCode: 'ERR_EDGEPLANE_408', body: 'The request head did not arrive in time.' },
  bodyTooLarge: { status: 413, errorCode: 'ERR_EDGEPLANE_413', body: 'Request body too large for this route.' },
  urlTooLong: { status: 414, errorCode: 'ERR_EDGEPLANE_414', body: 'Request URL too long.' },
  headersTooLarge: { status: 431, errorCode: 'ERR_EDGEPLANE_431', body: 'Request header fields too large.' },
} as const satisfies Record<string, EdgeResponse>;

const REASONS: Record<number, string> = {
  100: 'Continue', 101: 'Switching Protocols', 103: 'Early Hints',
  200: 'OK', 202: 'Accepted', 203: 'Non-Authoritative Information', 205: 'Reset Content', 206: 'Partial Content',
  303: 'See Other', 409: 'Conflict', 410: 'Gone', 411: 'Length Required', 412: 'Precondition Failed',
  415: 'Unsupported Media Type', 416: 'Range Not Satisfiable', 417: 'Expectation Failed', 418: "I'm a teapot",
  422: 'Unprocessable Content', 425: 'Too Early', 426: 'Upgrade Required', 428: 'Precondition Required', 451: 'Unavailable For Legal Reasons',
  501: 'Not Implemented', 505: 'HTTP Version Not Supported', 201: 'Created', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found', 304: 'Not Modified',
  307: 'Temporary Redirect', 308: 'Permanent Redirect', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
  404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout', 413: 'Content Too Large', 414: 'URI Too Long',
  421: 'Misdirected Request', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Status';
}
