// The project's own benchmark programs, reachable as `edgeplane bench <name>`: each runs as its own
// node process with the arguments passed through untouched (they parse their own options, and
// bench/run.ts starts measuring as soon as it is imported).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { constants } from 'node:os';

export interface ScriptScenario {
  /** the compiled program, relative to dist/bench/ */
  file: string;
  about: string;
}

export const SCRIPT_SCENARIOS: Record<string, ScriptScenario> = {
  compare: { file: 'run.js', about: 'edgeplane beside the peers on the same jobs, same machine, same run (markdown report + JSON)' },
  'route-scale': { file: 'route-scale.js', about: 'route tables of 100k and 1M hostnames: build time, memory, lookup time, reload reaching every worker' },
  scaling: { file: 'scaling.js', about: 'the side-by-side runner once per worker count (1 to N workers): speed-up per proxy' },
};

export function isScriptScenario(name: string | undefined): boolean {
  return name !== undefined && Object.hasOwn(SCRIPT_SCENARIOS, name);
}

export function scriptPath(name: string): string {
  return fileURLToPath(new URL(`../${SCRIPT_SCENARIOS[name]!.file}`, import.meta.url));
}

/** Runs the program with the terminal handed over; resolves with its exit status. */
export function runScriptScenario(name: string, args: string[]): Promise<number> {
  const path = scriptPath(name);
  if (!existsSync(path)) {
    process.stderr.write(`edgeplane bench ${name}: not built (${path} does not exist; build the project with \`npm run build\`)\n`);
    return Promise.resolve(1);
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path, ...args], { stdio: 'inherit' });
    // Ctrl-C reaches the child from the terminal already: outlive it (it stops its peers first) and exit
    // with its status. A SIGTERM is sent to this process alone: pass it on.
    const ignore = (): void => {};
    const forward = (): void => { child.kill('SIGTERM'); };
    process.on('SIGINT', ignore);
    process.on('SIGTERM', forward);
    const done = (code: number): void => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', forward);
      resolve(code);
    };
    child.once('error', (err) => { process.stderr.write(`edgeplane bench ${name}: ${err.message}\n`); done(1); });
    child.once('exit', (code, signal) => done(code ?? 128 + (signal === null ? 0 : constants.signals[signal] ?? 0)));
  });
}
