// CEL filters of traffic sources (spec §1.8): the event's object is bound as `ev`. Validation for the
// API (5404 bad expression, 5405 unknown field, 5406 field not filterable) and a compiled predicate
// per source, parsed once.
import { Environment } from '@marcbachmann/cel-js';
import type { ASTNode } from '@marcbachmann/cel-js';
import { eventFields, fieldInfo } from './fields.js';
import type { EventProblem } from './fields.js';
import { EventFieldError } from './fields.js';
import type { TrafficEventType } from './model.js';

/**
 * Type-checks filters: `ev` declared with only the filterable fields and their CEL types, so
 * `ev.conn.server_port == "80"` is refused at the API instead of never matching.
 */
const checkingEnv = new Environment().registerVariable({
  name: 'ev',
  schema: { conn: { client_ip: 'string', server_ip: 'string', server_name: 'string', server_port: 'int' } },
});

/**
 * Evaluates filters: `ev` as a dynamic map, so the worker's event object is passed as is (no copy,
 * no BigInt conversion per event; CEL compares the JS number 80 equal to the int literal 80).
 */
const evaluatingEnv = new Environment().registerVariable('ev', 'map');

/** Filter evaluations that threw (bad regex at run time, missing field...): counted as "no match" (6014). */
let evaluationFailures = 0;
export function filterEvaluationFailures(): number {
  return evaluationFailures;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

function isNode(value: unknown): value is ASTNode {
  return typeof value === 'object' && value !== null && 'op' in value && 'args' in value;
}

const COMPUTED = '[computed]';

/** `ev.a.b` / `ev.a["b"]` → "a.b"; null when the access chain does not start at `ev`; '' for `ev` itself. */
function evPath(node: ASTNode): string | null {
  const keys: string[] = [];
  let current: ASTNode = node;
  for (;;) {
    if (current.op === 'id') {
      return current.args === 'ev' ? keys.reverse().join('.') : null;
    }
    if (current.op === '.' || current.op === '.?') {
      const [target, key] = current.args;
      keys.push(key);
      current = target;
      continue;
    }
    if (current.op === '[]' || current.op === '[?]') {
      const [target, index] = current.args;
      // A computed index could reach any field: only literal keys can be checked.
      if (index.op !== 'value' || typeof index.args !== 'string') return evPath(target) === null ? null : COMPUTED;
      keys.push(index.args);
      current = target;
      continue;
    }
    return null;
  }
}

/** Every `ev…` field reference in the expression, with its source position. */
function referencedFields(root: ASTNode): Array<{ path: string; pos: number }> {
  const found: Array<{ path: string; pos: number }> = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) { value.forEach(visit); return; }
    if (!isNode(value)) return;
    const path = evPath(value);
    if (path !== null) { found.push({ path, pos: value.pos }); return; }
    visit(value.args);
  };
  visit(root);
  return found;
}

/** Regex literals given to `matches` that JS cannot compile: caught at the API, not per event. */
function badRegex(root: ASTNode): string | null {
  let bad: string | null = null;
  const visit = (value: unknown): void => {
    if (bad !== null) return;
    if (Array.isArray(value)) { value.forEach(visit); return; }
    if (!isNode(value)) return;
    if (value.op === 'rcall' && value.args[0] === 'matches') {
      const pattern = value.args[2][0];
      if (pattern?.op === 'value' && typeof pattern.args === 'string') {
        try { new RegExp(pattern.args); } catch { bad = pattern.args; return; }
      }
    }
    visit(value.args);
  };
  visit(root);
  return bad;
}

/**
 * Why a filter is refused, or null when it is valid. The spec's filterable fields are the same for
 * both traffic types; the type is needed to tell an unknown field (5405) from one that exists but
 * is not filterable (5406). '' (no filter) is valid.
 */
export function filterProblem(type: TrafficEventType, text: string): EventProblem | null {
  if (text.trim() === '') return null;
  let ast: ASTNode;
  try {
    ast = evaluatingEnv.parse(text).ast;
  } catch (err) {
    return { code: 5404, msg: `Invalid filter: ${firstLine((err as Error).message)}` };
  }
  for (const { path, pos } of referencedFields(ast)) {
    const problem = referenceProblem(type, path, pos);
    if (problem) return problem;
  }
  const regex = badRegex(ast);
  if (regex !== null) return { code: 5404, msg: `Invalid filter: invalid regular expression ${JSON.stringify(regex)}.` };
  const checked = checkingEnv.check(text);
  if (!checked.valid) return { code: 5404, msg: `Invalid filter: ${firstLine(checked.error?.message ?? 'type error')}` };
  if (String(checked.type) !== 'bool' && String(checked.type) !== 'dyn') {
    return { code: 5404, msg: `Invalid filter: the expression must be a boolean, not ${String(checked.type)}.` };
  }
  return null;
}

/** 5405 for a path no field of the type starts, 5406 for anything else but a filterable field. */
function referenceProblem(type: TrafficEventType, path: string, pos: number): EventProblem | null {
  const shown = `ev${path === '' ? '' : '.' + path}`;
  if (path === COMPUTED) {
    return { code: 5406, msg: `Invalid filter: fields must be named literally (computed access at position ${pos}).` };
  }
  // The field itself, or one it belongs to (`http.request.headers.Host` → `http.request.headers`).
  const keys = path.split('.');
  for (let i = 1; i <= keys.length; i++) {
    const info = fieldInfo(type, keys.slice(0, i).join('.'));
    if (info === undefined) continue;
    if (info.filterable && i === keys.length) return null;
    if (info.filterable) return { code: 5405, msg: `Invalid filter: unknown field '${path}' for the event type '${type}'.` };
    return { code: 5406, msg: `Invalid filter: the field '${info.path}' is not filterable (at '${shown}').` };
  }
  // `ev` or `ev.conn` as a whole would expose fields that are not filterable.
  if (path === '' || eventFields(type).some((f) => f.path.startsWith(path + '.'))) {
    return { code: 5406, msg: `Invalid filter: '${shown}' is an object; only filterable fields may be used.` };
  }
  return { code: 5405, msg: `Invalid filter: unknown field '${path}' for the event type '${type}'.` };
}

export type EventFilter = (object: object) => boolean;

const matchAll: EventFilter = () => true;

/**
 * Compiles a source's filter once. Throws EventFieldError (with the spec code) on an invalid one.
 * The returned predicate never throws: an evaluation error is "no match", counted in
 * filterEvaluationFailures().
 */
export function compileFilter(type: TrafficEventType, text: string): EventFilter {
  const problem = filterProblem(type, text);
  if (problem) throw new EventFieldError(problem);
  if (text.trim() === '') return matchAll;
  const evaluate = evaluatingEnv.parse(text);
  // One context reused per filter: evaluation is synchronous, so no event can see another's.
  const context: { ev: object | null } = { ev: null };
  return (object) => {
    context.ev = object;
    try {
      return evaluate(context) === true;
    } catch {
      evaluationFailures++;
      return false;
    } finally {
      context.ev = null;
    }
  };
}
