// JSON serialiser for a source's selected fields: a fast-json-stringify schema built from the field
// catalogue per (type, fields), compiled once per subscription. Data protection keeps the field
// types (hashed/truncated IPs are strings, redacted headers are string lists), so one serialiser
// covers protected events too.
import fastJson from 'fast-json-stringify';
import { compileProjection, fieldInfo, pathTree } from './fields.js';
import type { FieldKind, PathTree } from './fields.js';
import type { TrafficEventType } from './model.js';
import type { EventEnvelope } from './types.js';

const str = { type: 'string' } as const;

const KIND_SCHEMAS: Record<FieldKind, object> = {
  string: str,
  timestamp: str,
  int: { type: 'integer' },
  bool: { type: 'boolean' },
  headers: { type: 'object', additionalProperties: { type: 'array', items: str } },
  logs: { type: 'array', items: { type: 'object', additionalProperties: str } },
};

function treeSchema(type: TrafficEventType, tree: PathTree, prefix: string): object {
  const properties: Record<string, object> = {};
  for (const [key, sub] of Object.entries(tree)) {
    const path = prefix + key;
    properties[key] = sub === true ? KIND_SCHEMAS[fieldInfo(type, path)!.kind] : treeSchema(type, sub, path + '.');
  }
  return { type: 'object', properties };
}

/**
 * (envelope whose object holds at most `fields`) → JSON text. Throws EventFieldError on a field
 * the type does not have (validate with fieldProblem first).
 */
export function compileProjectedSerializer(type: TrafficEventType, fields: readonly string[]): (envelope: EventEnvelope<object>) => string {
  compileProjection(type, fields); // validates the fields
  return fastJson({
    type: 'object',
    properties: {
      event_id: str, event_type: str, event_timestamp: str, account_id: str,
      object: treeSchema(type, pathTree(fields), ''),
      principal: { type: 'null' },
    },
  });
}
