// API errors as spec §1.2 shapes them: {"error_code","status_code","msg","details":{"operation_id"}}.
// Codes the spec names are ERR_NGROK_*; conditions it does not name get ERR_EDGEPLANE_* (README lists them).
import { randomBytes } from 'node:crypto';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, msg: string) {
    super(msg);
  }
}

const ngrok = (n: number) => `ERR_NGROK_${n}`;
const edgeplane = (n: number) => `ERR_EDGEPLANE_${n}`;

/** Every error the API answers with, by name: one place to read them all. */
export const E = {
  versionMissing: () => new ApiError(400, ngrok(218), 'the Ngrok-Version header is required and must be 2'),
  unauthorized: () => new ApiError(401, edgeplane(4010), 'missing or invalid API key: send Authorization: Bearer <key> with a key from admin.api_keys'),
  apiOff: () => new ApiError(404, edgeplane(4040), 'the Event Subscriptions API is off: list keys in admin.api_keys to turn it on'),
  noRoute: (path: string) => new ApiError(404, edgeplane(4041), `no API resource at ${path}`),
  methodNotAllowed: (method: string, path: string) => new ApiError(405, edgeplane(4050), `${method.toUpperCase()} is not allowed on ${path}`),
  notJson: () => new ApiError(415, edgeplane(4150), 'requests with a body must send Content-Type: application/json'),
  badJson: (why: string) => new ApiError(400, edgeplane(4000), `the request body is not valid JSON: ${why}`),
  tooLarge: (max: number) => new ApiError(413, edgeplane(4130), `the request body is larger than ${max} bytes`),
  badField: (msg: string) => new ApiError(400, edgeplane(4003), msg),
  badPaging: (msg: string) => new ApiError(400, edgeplane(4004), msg),
  descriptionTooLong: (max: number) => new ApiError(400, edgeplane(4001), `description is longer than ${max} bytes`),
  metadataTooLong: (max: number) => new ApiError(400, edgeplane(4002), `metadata is longer than ${max} bytes`),
  readOnly: (id: string) => new ApiError(409, edgeplane(4090), `${id} is declared in the config file and is read-only through the API: change it in the config file`),
  destinationNotFound: (id: string) => new ApiError(404, edgeplane(4042), `event destination '${id}' not found`),
  needsRestart: () => new ApiError(503, edgeplane(5030), 'admin.api_keys was empty at start-up, so the store is not open: restart the daemon to make changes'),
  storeFailed: (why: string) => new ApiError(500, edgeplane(5000), `the change could not be stored: ${why}`),
  // 507 Insufficient Storage (RFC 4918): nothing was stored, and a retry can work once space is freed.
  storeFull: (why: string) => new ApiError(507, edgeplane(5070), `the change could not be stored, the disk is full: ${why}`),
  // spec §1.8, event destinations
  badFormat: (format: string) => new ApiError(400, ngrok(235), `format '${format}' is not supported: use 'json' (or the edgeplane extension 'protobuf' for http and file targets)`),
  noTarget: () => new ApiError(400, ngrok(5100), 'target must set exactly one target type; none was given'),
  severalTargets: (keys: string[]) => new ApiError(400, ngrok(5115), `target must set exactly one target type; got ${keys.join(', ')}`),
  badArn: (field: string) => new ApiError(400, ngrok(5104), `${field} is not a valid ARN (arn:partition:service:region:account:resource)`),
  missingAuth: () => new ApiError(400, ngrok(5106), 'auth is required for AWS targets'),
  emptyAuth: () => new ApiError(400, ngrok(5107), 'auth must set one of role or creds'),
  bothAuth: () => new ApiError(400, ngrok(5116), 'auth must set only one of role or creds'),
  targetTypeChange: (from: string, to: string) => new ApiError(400, ngrok(5108), `the target type of a destination cannot change (from ${from} to ${to})`),
  destinationInUse: (id: string, by: string[]) => new ApiError(409, ngrok(5112), `event destination ${id} is used by event subscription(s) ${by.join(', ')}`),
  datadogKeyMissing: () => new ApiError(400, ngrok(5133), 'datadog.api_key is required'),
  // spec §1.8, subscriptions and sources
  missingDestination: (id: string) => new ApiError(400, ngrok(6006), `event destination '${id}' does not exist`),
  duplicateSource: (type: string) => new ApiError(400, ngrok(5127), `source type '${type}' is listed more than once; each type may appear once per subscription`),
  unknownType: (type: string) => new ApiError(400, ngrok(238), `unknown event source type '${type}'`),
  subscriptionNotFound: (id: string) => new ApiError(404, ngrok(5123), `event subscription '${id}' not found`),
  sourceNotFound: (id: string, type: string) => new ApiError(404, ngrok(5125), `event subscription '${id}' has no source of type '${type}'`),
  fieldsRequired: (type: string) => new ApiError(400, ngrok(5400), `source '${type}' is a traffic event and must list the fields to capture`),
  auditFields: (type: string) => new ApiError(400, ngrok(5401), `source '${type}' is an audit event: it may not list fields`),
  auditFilter: (type: string) => new ApiError(400, ngrok(5402), `source '${type}' is an audit event: it may not have a filter`),
  unknownField: (field: string) => new ApiError(400, ngrok(5405), `unknown field '${field}'`),
};

export function operationId(): string {
  return `op_${randomBytes(14).toString('base64url')}`;
}

export function errorBody(err: ApiError): { error_code: string; status_code: number; msg: string; details: { operation_id: string } } {
  return { error_code: err.code, status_code: err.status, msg: err.message, details: { operation_id: operationId() } };
}
