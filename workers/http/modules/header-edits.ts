// The add/remove edits shared by request_headers and response_headers (spec §1.6), compiled once:
// removal matches every value of a name (names are lower case on both sides), then `add` appends,
// with values from precompiled `${...}` templates.
import { compileTemplate } from '../../../core/http/templates.js';
import type { HeadersModuleSpec } from '../../../core/generation/spec.js';
import type { Exchange, HeaderList } from '../exchange.js';

export interface CompiledHeaderEdits {
  readonly remove: ReadonlySet<string>;
  readonly add: ReadonlyArray<readonly [name: string, render: (x: Exchange) => string]>;
}

export function compileHeaderEdits(spec: HeadersModuleSpec): CompiledHeaderEdits {
  return {
    remove: new Set(spec.remove.map((name) => name.toLowerCase())),
    add: Object.entries(spec.add).map(([name, template]) => [name.toLowerCase(), compileTemplate(template)] as const),
  };
}

/** Drops every value of the given names, in place, keeping the order of the rest. */
export function removeHeaders(headers: HeaderList, names: ReadonlySet<string> | string): void {
  if (typeof names !== 'string' && names.size === 0) return;
  let kept = 0;
  for (let i = 0; i < headers.length; i += 2) {
    if (typeof names === 'string' ? headers[i] === names : names.has(headers[i]!)) continue;
    headers[kept] = headers[i]!;
    headers[kept + 1] = headers[i + 1]!;
    kept += 2;
  }
  headers.length = kept;
}

/** Applies the edits to `headers`; names in `replacing` lose their old values first (request `host`). */
export function applyHeaderEdits(headers: HeaderList, edits: CompiledHeaderEdits, x: Exchange, replacing?: ReadonlySet<string>): void {
  removeHeaders(headers, edits.remove);
  for (const [name, render] of edits.add) {
    const value = render(x);
    if (replacing?.has(name)) removeHeaders(headers, name);
    headers.push(name, value);
  }
}
