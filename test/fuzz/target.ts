// What a fuzz target is, and the corpus on disk: test/fuzz/corpus/<target>/<sha1 of the bytes>.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS_ROOT } from './paths.js';

export interface FuzzTarget {
  name: string;
  /** Extra inputs beside the corpus files (usually none: the corpus holds the seeds). */
  seeds?(): Buffer[];
  /** Tokens the mutator inserts (format keywords, delimiters, magic bytes). */
  dictionary?: readonly (string | Buffer)[];
  /** node_modules packages whose code counts as coverage (the parser lives there). */
  coverageLibraries?: readonly string[];
  /** Script URLs outside dist/core and dist/workers whose coverage counts (self-tests). */
  coverageScripts?: readonly string[];
  /** Inputs are cut to this many bytes (default 4096). */
  maxLen?: number;
  /** One-time preparation (keys, adapters) before the first run. */
  setup?(): Promise<void>;
  /**
   * Runs the real product code on `data` and checks its promises. Throwing (or rejecting) is a
   * finding; the documented "rejected input" outcomes must be caught and checked here.
   */
  run(data: Buffer): void | Promise<void>;
}

/** A broken promise of the code under test (as opposed to an exception it let escape). */
export class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantError';
  }
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

export function sha1(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('hex');
}

export function corpusDir(target: string, root = CORPUS_ROOT): string {
  return join(root, target);
}

/** Every corpus file of a target, by file name (sorted, so replays are in a stable order). */
export function readCorpus(target: string, root = CORPUS_ROOT): { name: string; data: Buffer }[] {
  const dir = corpusDir(target, root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => !f.startsWith('.')).sort().map((name) => ({ name, data: readFileSync(join(dir, name)) }));
}

/** Writes an input under its sha1; returns the path. */
export function writeCorpusFile(target: string, data: Uint8Array, root = CORPUS_ROOT): string {
  const dir = corpusDir(target, root);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, sha1(data));
  if (!existsSync(path)) writeFileSync(path, data);
  return path;
}
