#!/usr/bin/env node
// The edgeplane command line: a thin layer over the daemon and the config checker.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import type { LoadedConfig } from './config/load.js';
import type { ConfigError } from './config/errors.js';
import { log } from './log.js';
// The config loader and the daemon are imported by the commands that use them: `edgeplane agent`
// starts in a fraction of the time without them.

const USAGE = `edgeplane: an edge proxy data plane (HTTPS, TLS and TCP edges)

Usage:
  edgeplane serve [--config FILE]   run the daemon (no --config: the embedded demo config)
  edgeplane check --config FILE     validate a config; prints every problem with its path, exits 1 if any
  edgeplane bench <scenario> ...    load-test an edge or an upstream (edgeplane bench --help)
  edgeplane agent --edge HOST:PORT ...  run a tunnel agent for a private service (edgeplane agent --help)
  edgeplane --help | --version

Signals (serve): SIGHUP reloads the config (so does changing the file); SIGTERM/SIGINT drain and stop.
Environment: EDGEPLANE_LOG_LEVEL=debug|info|warn|error (logs are JSON lines on stderr).
`;

function printProblems(err: ConfigError): void {
  process.stderr.write(`${err.message}\n`);
  process.stderr.write(`${err.problems.length} problem${err.problems.length === 1 ? '' : 's'} found\n`);
}

async function load(path: string): Promise<LoadedConfig | null> {
  const { loadConfigFile } = await import('./config/load.js');
  const { ConfigError } = await import('./config/errors.js');
  try {
    return loadConfigFile(resolve(path));
  } catch (err) {
    if (err instanceof ConfigError) { printProblems(err); return null; }
    throw err;
  }
}

/** Starts an edge (the library's createEdge) with signal handling; a config that does not load prints every problem. */
async function startEdge(options: import('./edge.js').EdgeOptions): Promise<boolean> {
  const { createEdge } = await import('./edge.js');
  const { ConfigError } = await import('./config/errors.js');
  try {
    // The daemon's events go where the config's `events:` says; none are built when it has none.
    await createEdge({ ...options, handleSignals: true, collectEvents: false });
    return true;
  } catch (err) {
    if (err instanceof ConfigError) { printProblems(err); return false; }
    throw err;
  }
}

async function serve(configPath: string | undefined): Promise<number> {
  if (configPath !== undefined) return (await startEdge({ config: configPath })) ? -1 : 1;
  // Loaded only here: certificate generation pulls in a large library the daemon otherwise never needs.
  const { createDefaultSetup } = await import('./default-config.js');
  const setup = await createDefaultSetup();
  if (!(await startEdge({ config: setup.config, sourceName: 'embedded default' }))) {
    setup.close();
    return 1;
  }
  process.stderr.write(setup.hints.join('\n') + '\n');
  return -1;
}

async function main(argv: string[]): Promise<number> {
  // bench has its own options: hand it everything after the word.
  if (argv[0] === 'bench') {
    const { runBenchCommand } = await import('../bench/user/command.js');
    return runBenchCommand(argv.slice(1));
  }
  if (argv[0] === 'agent') { const { runAgentCommand } = await import('./agent/cli.js'); return runAgentCommand(argv.slice(1)); }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  if (values.version) {
    const { createRequire } = await import('node:module');
    const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
    process.stdout.write(`edgeplane ${pkg.version}\n`);
    return 0;
  }
  const command = positionals[0];
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(USAGE);
    return values.help || command === 'help' ? 0 : 2;
  }
  switch (command) {
    case 'serve':
      return serve(values.config);
    case 'check': {
      if (values.config === undefined) { process.stderr.write('check needs --config FILE\n'); return 2; }
      const loaded = await load(values.config);
      if (loaded === null) return 1;
      process.stdout.write(`${values.config}: ok (${loaded.config.edges.length} edges, ${loaded.config.backends.length} backends, ${loaded.certificates.size} certificates)\n`);
      return 0;
    }
    default:
      process.stderr.write(`unknown command: ${command}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { if (code >= 0) process.exitCode = code; },
  (err: unknown) => {
    log.error('fatal', { error: err instanceof Error ? err.message : String(err) });
    process.exitCode = 1;
  },
);
