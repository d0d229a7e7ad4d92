// Config problems carry the path of the offending value so that every message can point at it.

/** One thing wrong with a config: where (a path such as `edges[2].tls_termination.min_version`) and why. */
export interface ConfigProblem {
  path: string;
  reason: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  readonly source: string;

  constructor(problems: ConfigProblem[], source = '<config>') {
    super(problems.map((p) => formatProblem(source, p)).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
    this.source = source;
  }
}

export function formatProblem(source: string, problem: ConfigProblem): string {
  return problem.path === '' ? `${source}: ${problem.reason}` : `${source}: ${problem.path}: ${problem.reason}`;
}

/** ['edges', 2, 'backend'] → 'edges[2].backend' */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}

/** 'edges[2].backend' → ['edges', 2, 'backend'] (the inverse of formatPath for the paths we produce). */
export function parsePath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  }
  return out;
}
