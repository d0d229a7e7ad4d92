// Where the fuzz corpus lives, from either the sources (test/fuzz) or the build (dist/test/fuzz).
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test', 'fuzz'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root from ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The repository root (holds package.json and test/fuzz/corpus). */
export const REPO_ROOT = findRoot();
export const CORPUS_ROOT = resolve(REPO_ROOT, 'test/fuzz/corpus');
export const FINDINGS_ROOT = resolve(REPO_ROOT, 'test/fuzz/findings');
/** Compiled targets (the worker imports them by name). */
export const TARGETS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), 'targets');
