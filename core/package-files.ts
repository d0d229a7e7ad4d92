// Finds files shipped at the package root (proto/*.proto, package.json). Modules run from dist/core/… (built)
// or core/… (source), so walk up to the first directory that has the file rather than hard-coding depth.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageFilePath(relative: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`edgeplane: ${relative} not found above ${fileURLToPath(import.meta.url)}; the package is incomplete`);
    dir = parent;
  }
}

export function protoFilePath(name: string): string {
  return packageFilePath(join('proto', name));
}
