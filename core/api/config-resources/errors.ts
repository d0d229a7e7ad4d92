// Errors of the config-backed resources. Shapes and the common codes come from ../errors.ts; the
// conditions below are the ones only these resources have.
import { ApiError } from '../errors.js';
import type { ReloadResult } from '../../daemon.js';
import { json, type ApiReply } from '../handler.js';
import { operationId } from '../errors.js';

export const notFound = (what: string, id: string) => new ApiError(404, 'ERR_EDGEPLANE_4043', `${what} '${id}' not found`);
export const moduleNotSet = (module: string, id: string) => new ApiError(404, 'ERR_EDGEPLANE_4044', `${id} has no ${module} module`);
export const backendInUse = (id: string, by: string[]) => new ApiError(400, 'ERR_NGROK_6502', `backend ${id} is still referenced by ${by.join(', ')}`);
export const ipPolicyInUse = (id: string, by: string[]) => new ApiError(400, 'ERR_NGROK_1420', `ip policy ${id} is still used by ${by.join(', ')}`);
export const createOnly = (field: string) => new ApiError(400, 'ERR_EDGEPLANE_4005', `${field} can only be set when the resource is created`);
export const missingField = (field: string) => new ApiError(400, 'ERR_EDGEPLANE_4006', `${field} is required`);
export const unknownField = (field: string, allowed: readonly string[]) =>
  new ApiError(400, 'ERR_EDGEPLANE_4003', `unknown field '${field}' (allowed: ${allowed.join(', ')})`);

/**
 * The config checker refused the edited document: 400 with the first spec code its messages carry
 * (they end in "(ERR_NGROK_nnnn)"), else ERR_EDGEPLANE_4007; every problem is listed in details.
 */
export function configRefused(result: ReloadResult): ApiReply {
  const details = result.details ?? (result.problems ?? []).map((reason) => ({ path: '', reason }));
  const lines = details.map((p) => (p.path === '' ? p.reason : `${p.path}: ${p.reason}`));
  const code = lines.map((l) => /\b(ERR_NGROK_\d+)\b/.exec(l)?.[1]).find((c) => c !== undefined) ?? 'ERR_EDGEPLANE_4007';
  return json(400, {
    error_code: code,
    status_code: 400,
    msg: `the configuration change was refused: ${lines.join('; ')}`,
    details: { operation_id: operationId(), problems: details },
  });
}
