// `edgeplane bench`: load-test an edge (or any upstream) from the command line. With --config the
// daemon runs in this process for the duration, so users measure their own edge config against
// their own upstreams. The project's side-by-side benchmarks (bench/run.ts and friends) are reachable
// as `edgeplane bench compare|route-scale|scaling` and run as their own processes.
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { loadConfigFile } from '../../core/config/load.js';
import { ConfigError } from '../../core/config/errors.js';
import { Daemon } from '../../core/daemon.js';
import { benchHttp, benchTcp, benchTls } from './index.js';
import { parseCount, parseEscapes, parseSize, parseTcpTarget, UsageError } from './parse.js';
import { renderHtmlReport, renderSvgReport } from './report-html.js';
import { isScriptScenario, runScriptScenario, SCRIPT_SCENARIOS } from './scripts.js';
import { formatSummary, measuredAnything, type BenchSummary } from './summary.js';
import { TCP_MODES, type TcpMode } from './tcp-load.js';

const LOAD_SCENARIOS = ['http', 'tls', 'tcp'] as const;
type LoadScenario = (typeof LOAD_SCENARIOS)[number];

const OPTIONS = {
  url: { type: 'string' },
  connections: { type: 'string', short: 'c' },
  duration: { type: 'string', short: 'd', default: '10' },
  header: { type: 'string', short: 'H', multiple: true, default: [] as string[] },
  method: { type: 'string', default: 'GET' },
  body: { type: 'string' },
  servername: { type: 'string' },
  'handshake-only': { type: 'boolean', default: false },
  mode: { type: 'string', default: 'connect' },
  send: { type: 'string' },
  expect: { type: 'string' },
  size: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean', default: false },
  report: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const COMMON = ['connections', 'duration', 'config', 'json', 'report', 'help'];
const OWN_OPTIONS: Record<LoadScenario, string[]> = {
  http: ['url', 'header', 'method', 'body', 'servername'],
  tls: ['url', 'servername', 'handshake-only'],
  tcp: ['url', 'mode', 'send', 'expect', 'size'],
};
const TCP_MODE_OPTIONS: Record<TcpMode, string[]> = { connect: ['send', 'expect'], bulk: ['size'], download: ['send', 'size'] };

const LOAD_USAGE = `edgeplane bench: load-test an edge or an upstream

Usage:
  edgeplane bench <scenario> [options]

Load scenarios (this process makes the load; point it at your edge, or straight at the upstream to compare):
  http        keep-alive HTTP/1.1 load (autocannon): requests/s, latency percentiles, status codes
                --url URL            what to load (https:// works with self-signed edges; certificates are not checked)
                -H, --header 'K: V'  a request header (repeatable), e.g. -H 'Host: app.example.test'
                --method M           default GET
                --body TEXT          request body
                --servername NAME    SNI when the URL names an IP
  tls         new TLS connections per second, closed loop, a full handshake each (no session reuse)
                --url https://HOST:PORT/PATH   one GET PATH with Connection: close per connection
                --handshake-only     close right after the handshake (TLS passthrough edges, any TLS server)
                --servername NAME    SNI (default: the URL's host)
  tcp         the project's TCP load generator (TCP edges, any TCP server)
                --url tcp://HOST:PORT
                --mode connect       new connections/s, closed loop (the default): connect, write --send if given,
                                     read until --expect N bytes or the server closes (nothing to send or expect:
                                     close at once), close
                --mode bulk          each connection writes --size bytes and reads as many back (an echo upstream): MB/s
                --mode download      each connection writes --send if given, then reads until the server closes
                                     (or --size bytes; fewer is an error): MB/s, e.g.
                                     --mode download --send 'GET /big HTTP/1.0\\r\\n\\r\\n'
                --send TEXT          bytes to write once connected; \\r \\n \\t \\0 \\\\ \\xHH are escapes
                --expect N           connect: the bytes to read before closing
                --size N             bulk: bytes per connection (default 64M); download: bytes to read (K, M, G = KiB, MiB, GiB)
                bulk and download transfers still running when the time is up are stopped; their bytes count

Options of http, tls and tcp:
  -c, --connections N  concurrent connections (default 64; tcp bulk and download 4)
  -d, --duration S     seconds (default 10)
  --config FILE        start edgeplane with this config in this process for the run, then stop it
  --json               print the summary as JSON on stdout (no progress line)
  --report FILE        also write a report with charts of throughput over time and latencies:
                       FILE.html (a page with inline SVG, no scripts) or FILE.svg
  -h, --help           this text
`;

const PEERS_NOTE = 'peers that are not installed are skipped with a notice; install them with bench/install-peers.sh (as root)';

function wrap(text: string, indent: string, width = 110): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) { lines.push(line); line = word; } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : indent + l)).join('\n');
}

/**
 * The help text. The side-by-side scenarios and peers come from the runner's own lists, loaded only
 * here: those modules register signal handlers when imported, which a load run must not inherit.
 */
export async function benchUsage(): Promise<string> {
  const column = ' '.repeat(25);
  let compareLists: string;
  try {
    const { ALL_SCENARIOS, SCENARIOS } = await import('../scenarios.js');
    const { ALL_PEERS } = await import('../peers/registry.js');
    const width = Math.max(...ALL_SCENARIOS.map((name) => name.length)) + 2;
    const titleColumn = ' '.repeat(column.length + 4 + width);
    compareLists = [
      `${column}  --scenarios a,b (default: all)`,
      ...ALL_SCENARIOS.map((name) => `${column}    ${name.padEnd(width)}${wrap(SCENARIOS[name].title, titleColumn, 120)}`),
      `${column}  --peers a,b (default: all): ${ALL_PEERS.join(', ')}`,
      `${column}    ${wrap(PEERS_NOTE, `${column}    `)}`,
    ].join('\n');
  } catch (err) {
    compareLists = `${column}  (the lists of scenarios and peers could not be loaded: ${(err as Error).message})`;
  }
  const script = (name: string, more: string): string =>
    `  ${`${name} [options]`.padEnd(column.length - 3)} ${wrap(`${SCRIPT_SCENARIOS[name]!.about}. node dist/bench/${SCRIPT_SCENARIOS[name]!.file}; options pass through (see its --help)${more}`, column)}`;
  return `${LOAD_USAGE}
Side-by-side scenarios (edgeplane beside other proxies doing the same job on this machine; each is its own program):
${script('compare', ', among them:')}
${compareLists}
${script('route-scale', '')}
${script('scaling', '')}
  Results of the project's own runs: bench/RESULTS.md.
`;
}

const shellQuote = (arg: string): string => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

type Values = ReturnType<typeof parse>['values'];
function parse(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, tokens: true, options: OPTIONS });
}

/** Options given on the command line that the scenario (or tcp mode) has no use for. */
function misplacedOption(scenario: LoadScenario, given: Set<string>, mode: string): string | null {
  for (const name of given) {
    if (!COMMON.includes(name) && !OWN_OPTIONS[scenario].includes(name)) return `--${name} is not an option of bench ${scenario}`;
    if (scenario === 'tcp' && ['send', 'expect', 'size'].includes(name) && !(TCP_MODE_OPTIONS[mode as TcpMode] ?? []).includes(name)) {
      return `--${name} is not an option of bench tcp --mode ${mode}`;
    }
  }
  return null;
}

function headersOf(list: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of list) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header '${h}': expected 'Name: value'`);
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  return headers;
}

function urlOf(v: Values, scenario: LoadScenario): URL {
  if (v.url === undefined) throw new UsageError(`bench ${scenario} needs --url ${scenario === 'tcp' ? 'tcp://HOST:PORT' : 'URL'}`);
  try { return new URL(v.url); } catch { throw new UsageError(`--url '${v.url}' is not a URL`); }
}

/** Checks every option before anything starts, and returns the run to do. */
function plan(scenario: LoadScenario, v: Values): (progress: NodeJS.WritableStream | null) => Promise<BenchSummary> {
  const durationS = Number(v.duration);
  if (!(durationS > 0)) throw new UsageError(`--duration must be more than 0 seconds, got '${v.duration}'`);
  const url = urlOf(v, scenario);
  if (scenario === 'tcp') {
    if (!(TCP_MODES as readonly string[]).includes(v.mode)) throw new UsageError(`--mode must be one of ${TCP_MODES.join(', ')}, got '${v.mode}'`);
    const mode = v.mode as TcpMode;
    const target = parseTcpTarget(url.href);
    const connections = parseCount(v.connections ?? (mode === 'connect' ? '64' : '4'), '--connections');
    const send = v.send === undefined ? null : parseEscapes(v.send, '--send');
    const expectBytes = v.expect === undefined ? null : parseSize(v.expect, '--expect');
    const sizeBytes = v.size === undefined ? null : parseSize(v.size, '--size');
    return (progress) => benchTcp({ ...target, mode, connections, durationS, send, expectBytes, sizeBytes, progress });
  }
  const connections = parseCount(v.connections ?? '64', '--connections');
  if (scenario === 'tls') {
    if (url.protocol !== 'https:') throw new UsageError('bench tls needs an https:// URL');
    return (progress) => benchTls({
      host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443), servername: v.servername ?? url.hostname,
      connections, durationS, path: v['handshake-only'] ? null : url.pathname + url.search, progress,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`bench http needs an http:// or https:// URL, got '${v.url}'`);
  const headers = headersOf(v.header);
  return (progress) => benchHttp({
    url: url.href, connections, durationS, headers, method: v.method,
    ...(v.body === undefined ? {} : { body: v.body }),
    ...(v.servername === undefined ? {} : { servername: v.servername }),
    progress,
  });
}

function reportFormat(path: string | undefined): 'html' | 'svg' | null {
  if (path === undefined) return null;
  const ext = extname(path).toLowerCase();
  if (ext === '.html' || ext === '.htm') return 'html';
  if (ext === '.svg') return 'svg';
  throw new UsageError(`--report '${path}': the file name must end in .html or .svg`);
}

export async function runBenchCommand(argv: string[]): Promise<number> {
  if (isScriptScenario(argv[0])) return runScriptScenario(argv[0]!, argv.slice(1));
  let parsed;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`edgeplane bench: ${(err as Error).message}\n(edgeplane bench --help lists the scenarios and their options)\n`);
    return 2;
  }
  const { values, positionals, tokens } = parsed;
  const scenario = positionals[0];
  if (values.help || scenario === undefined) {
    (values.help ? process.stdout : process.stderr).write(await benchUsage());
    return values.help ? 0 : 2;
  }
  const fail = (message: string): number => {
    process.stderr.write(`edgeplane bench ${scenario}: ${message}\n(edgeplane bench --help lists the scenarios and their options)\n`);
    return 2;
  };
  if (!(LOAD_SCENARIOS as readonly string[]).includes(scenario)) return fail(`unknown scenario: ${scenario}`);
  if (positionals.length > 1) return fail(`unexpected argument '${positionals[1]}'`);
  const given = new Set(tokens.flatMap((t) => (t.kind === 'option' ? [t.name] : [])));
  const misplaced = misplacedOption(scenario as LoadScenario, given, values.mode);
  if (misplaced !== null) return fail(misplaced);
  let run: ReturnType<typeof plan>;
  let format: 'html' | 'svg' | null;
  try {
    run = plan(scenario as LoadScenario, values);
    format = reportFormat(values.report);
  } catch (err) {
    if (err instanceof UsageError) return fail(err.message);
    throw err;
  }

  let daemon: Daemon | null = null;
  if (values.config !== undefined) {
    try {
      daemon = await Daemon.start({ loaded: loadConfigFile(resolve(values.config)), configPath: null, handleSignals: false });
    } catch (err) {
      process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `edgeplane bench: could not start the edge from ${values.config}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  const progress = values.json || !process.stderr.isTTY ? null : process.stderr;
  let summary: BenchSummary;
  try {
    summary = await run(progress);
  } catch (err) {
    process.stderr.write(`edgeplane bench ${scenario}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await daemon?.shutdown('bench finished');
  }
  process.stdout.write(values.json ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(summary));
  if (format !== null) {
    const meta = { commandLine: ['edgeplane', 'bench', ...argv].map(shellQuote).join(' '), generatedAt: new Date() };
    const path = resolve(values.report!);
    try {
      writeFileSync(path, format === 'html' ? renderHtmlReport(summary, meta) : renderSvgReport(summary, meta));
      process.stderr.write(`report: ${path}\n`);
    } catch (err) {
      process.stderr.write(`edgeplane bench: could not write the report: ${(err as Error).message}\n`);
      return 1;
    }
  }
  return measuredAnything(summary) ? 0 : 1;
}
