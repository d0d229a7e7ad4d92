import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Builds a Go load generator from `srcDir` into `workDir/bin/<name>` when missing or older than its
 * main.go (caches under workDir, no network, no cgo). Returns the binary and `go version`; throws
 * when Go is not installed or the build fails, so callers can fall back to their node client.
 */
export function buildGoTool(srcDir: string, name: string, workDir: string): { bin: string; goVersion: string } {
  const goVersion = execFileSync('go', ['version'], { encoding: 'utf8' }).trim();
  const bin = join(workDir, 'bin', name);
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(join(srcDir, 'main.go')).mtimeMs) {
    mkdirSync(join(workDir, 'bin'), { recursive: true });
    execFileSync('go', ['build', '-o', bin, '.'], {
      cwd: srcDir, stdio: 'pipe',
      env: { ...process.env, GOCACHE: join(workDir, 'gocache'), GOPATH: join(workDir, 'gopath'), CGO_ENABLED: '0', GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' },
    });
  }
  return { bin, goVersion };
}
