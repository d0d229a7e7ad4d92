// Loads YAML/JSON config into a validated EdgeplaneConfig plus parsed certificates. Every layer (syntax,
// schema, references, certificates) runs as far as it can, so one ConfigError lists every problem.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { ZodIssue, ZodTypeAny } from 'zod';
import {
  CertificateError,
  parseAuthority,
  parseCertificateBundle,
  type ParsedAuthority,
  type ParsedCertificate,
} from '../tls/certificates.js';
import { checkConfig } from './check.js';
import { ConfigError, formatPath, type ConfigProblem } from './errors.js';
import {
  COLLECTIONS,
  GENERATED_ID_PREFIX,
  collectionItemSchema,
  createConfigSchema,
  type CollectionName,
  type EdgeplaneConfig,
  type SourceContext,
} from './schema.js';

/** A config that passed every check, with what was derived from it. */
export interface LoadedConfig {
  config: EdgeplaneConfig;
  /** By tls_certificates id. */
  certificates: Map<string, ParsedCertificate>;
  /** By certificate_authorities id. */
  authorities: Map<string, ParsedAuthority>;
  /** Paths (as in ConfigProblem) of values that must never be shown. */
  secretPaths: ReadonlySet<string>;
  sourcePath: string | null;
  /** The document as given (before defaults and `{ file }` reads): what a control plane edits and pushes back. Holds secrets. */
  raw: Record<string, unknown>;
  /** Where `{ file }` values were read from. */
  baseDir: string;
}

export interface LoadOptions {
  /** Directory `{ file }` values are relative to. */
  baseDir: string;
  env?: NodeJS.ProcessEnv;
  /** Name used in error messages (default '<config>'). */
  sourceName?: string;
}

const MAX_YAML_ALIASES = 100; // refuses "billion laughs" documents

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const full = resolve(path);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', reason: `cannot read config file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }], path);
  }
  // What a reload reads while an editor has truncated the file and not yet written it: taken as a
  // config, it would close every listener. A config with nothing in it is written as `{}`.
  if (text.trim() === '') {
    throw new ConfigError([{ path: '', reason: 'the config file is empty (if it is being rewritten, write a temporary file and rename it over the config instead); an empty config is written as {}' }], path);
  }
  return load(parseText(text, path), { baseDir: dirname(full), env, sourceName: path }, full);
}

export function loadConfigText(text: string, opts: LoadOptions): LoadedConfig {
  return load(parseText(text, opts.sourceName ?? '<config>'), opts, null);
}

export function loadConfigObject(obj: unknown, opts: LoadOptions): LoadedConfig {
  return load(obj, opts, null);
}

function parseText(text: string, sourceName: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const problems: ConfigProblem[] = doc.errors.map((err) => {
    const pos = err.linePos?.[0];
    const where = pos === undefined ? '' : `line ${pos.line}, column ${pos.col}: `;
    return { path: '', reason: `syntax error at ${where}${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` };
  });
  if (problems.length > 0) throw new ConfigError(problems, sourceName);
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) ?? {};
  } catch (err) {
    throw new ConfigError([{ path: '', reason: `cannot read document: ${(err as Error).message}` }], sourceName);
  }
}

function issueToProblems(issue: ZodIssue): ConfigProblem[] {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: path === '' ? key : `${path}.${key}`, reason: `unknown field '${key}'` }));
  }
  if (issue.code === 'invalid_type' && issue.received === 'undefined') return [{ path, reason: 'is required' }];
  // expected 'undefined' marks a field refused on this variant: its message says why
  if (issue.code === 'invalid_type' && issue.expected !== 'undefined') return [{ path, reason: `expected ${issue.expected}, got ${issue.received}` }];
  return [{ path, reason: issue.message }];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function load(obj: unknown, opts: LoadOptions, sourcePath: string | null): LoadedConfig {
  const sourceName = opts.sourceName ?? sourcePath ?? '<config>';
  if (!isPlainObject(obj)) throw new ConfigError([{ path: '', reason: 'the config must be a mapping of fields' }], sourceName);
  const sources: SourceContext = { baseDir: opts.baseDir, env: opts.env ?? process.env, secretPaths: new Set() };
  const schema = createConfigSchema(sources);
  const problems: ConfigProblem[] = [];
  const addIssues = (issues: ZodIssue[]) => issues.forEach((issue) => problems.push(...issueToProblems(issue)));

  // Top-level fields one by one and list items one by one: a bad item costs only itself, and the rest
  // still reaches the reference checks.
  const out: Record<string, unknown> = {};
  const invalidSections = new Set<string>();
  for (const key of Object.keys(obj)) {
    if (!(key in schema.shape)) problems.push({ path: key, reason: `unknown field '${key}'` });
  }
  const collections = new Set<string>(COLLECTIONS);
  for (const [key, fieldSchema] of Object.entries(schema.shape)) {
    if (collections.has(key)) continue;
    const r = fieldSchema.safeParse(obj[key], { path: [key] });
    if (r.success) {
      out[key] = r.data;
      continue;
    }
    addIssues(r.error.issues);
    invalidSections.add(key);
    // the default stands in for a bad value, so that later checks see a well-typed config
    const fallback = fieldSchema.safeParse(undefined);
    if (fallback.success) out[key] = fallback.data;
  }
  const kept = {} as Record<CollectionName, number[]>;
  const invalidIds = {} as Record<CollectionName, Set<string>>;
  for (const name of COLLECTIONS) {
    const parsed = parseCollection(schema, name, obj[name], addIssues, problems);
    out[name] = parsed.items;
    kept[name] = parsed.indices;
    invalidIds[name] = parsed.invalidIds;
  }
  const config = out as EdgeplaneConfig;
  const at = (name: CollectionName, i: number) => `${name}[${kept[name][i]}]`;

  const certificates = new Map<string, ParsedCertificate>();
  config.tls_certificates.forEach((c, i) => {
    try {
      certificates.set(c.id, parseCertificateBundle(c.certificate_pem, c.private_key_pem, c.id));
    } catch (err) {
      problems.push(certificateProblem(err, at('tls_certificates', i)));
    }
  });
  const authorities = new Map<string, ParsedAuthority>();
  config.certificate_authorities.forEach((c, i) => {
    try {
      authorities.set(c.id, parseAuthority(c.ca_pem, c.id));
    } catch (err) {
      problems.push(certificateProblem(err, at('certificate_authorities', i)));
    }
  });

  problems.push(...checkConfig({ config, at, invalidIds, certificates, invalidSections }));
  if (problems.length > 0) throw new ConfigError(problems, sourceName);
  return { config, certificates, authorities, secretPaths: sources.secretPaths, sourcePath, raw: obj, baseDir: opts.baseDir };
}

function parseCollection(
  schema: ReturnType<typeof createConfigSchema>,
  name: CollectionName,
  raw: unknown,
  addIssues: (issues: ZodIssue[]) => void,
  problems: ConfigProblem[],
): { items: unknown[]; indices: number[]; invalidIds: Set<string> } {
  const items: unknown[] = [];
  const indices: number[] = [];
  const invalidIds = new Set<string>();
  if (raw === undefined || raw === null) return { items, indices, invalidIds };
  if (!Array.isArray(raw)) {
    problems.push({ path: name, reason: 'expected a list' });
    return { items, indices, invalidIds };
  }
  const itemSchema = collectionItemSchema(schema, name);
  const prefix = (GENERATED_ID_PREFIX as Partial<Record<CollectionName, string>>)[name];
  raw.forEach((value, i) => {
    const r = itemSchema.safeParse(value, { path: [name, i] });
    const withId = (data: unknown) => {
      const item = data as { id?: string };
      return prefix !== undefined && item.id === undefined ? { ...item, id: `${prefix}${i}` } : item;
    };
    if (r.success) {
      items.push(withId(r.data));
      indices.push(i);
      return;
    }
    addIssues(r.error.issues);
    const salvaged = salvage(itemSchema, name, i, value, r.error.issues);
    if (salvaged !== undefined) {
      items.push(withId(salvaged));
      indices.push(i);
      return;
    }
    const id = isPlainObject(value) ? value['id'] : undefined;
    if (typeof id === 'string') invalidIds.add(id);
    else if (prefix !== undefined && id === undefined) invalidIds.add(`${prefix}${i}`);
  });
  return { items, indices, invalidIds };
}

// Fields whose loss would change what other checks conclude about the item (a missing tls_termination
// reads as passthrough, a missing certificate_id as "no certificate"): an item with a bad one is dropped.
const UNSALVAGEABLE = new Set(['id', 'type', 'tls_termination', 'certificate_id']);

/**
 * An item with problems only in fields nothing else depends on is kept without those fields, so that the
 * reference checks still see its other fields (a bad hostport must not hide an unknown backend_id).
 * Its problems are already reported; the second parse only feeds the checks.
 */
function salvage(itemSchema: ZodTypeAny, name: CollectionName, i: number, value: unknown, issues: ZodIssue[]): unknown {
  if (!isPlainObject(value)) return undefined;
  const bad = new Set<string>();
  for (const issue of issues) {
    const rel = issue.path.slice(2);
    if (issue.code === 'unrecognized_keys' && rel.length === 0) {
      issue.keys.forEach((k) => bad.add(k));
      continue;
    }
    const key = rel[0];
    if (typeof key !== 'string' || UNSALVAGEABLE.has(key)) return undefined;
    bad.add(key);
  }
  const trimmed = { ...value };
  for (const key of bad) delete trimmed[key];
  const again = itemSchema.safeParse(trimmed, { path: [name, i] });
  return again.success ? again.data : undefined;
}

function certificateProblem(err: unknown, at: string): ConfigProblem {
  if (!(err instanceof CertificateError)) throw err;
  const field = err.field === 'certificate' ? 'certificate_pem' : err.field === 'private_key' ? 'private_key_pem' : 'ca_pem';
  return { path: `${at}.${field}`, reason: err.message };
}
