// `edgeplane bench`: load-test an edge (or any upstream) from the command line. With --config the
// daemon runs in this process for the duration, so users measure their own edge config against
// their own upstreams. The project's side-by-side benchmarks against nginx/haproxy are bench/run.ts.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { loadConfigFile } from '../../core/config/load.js';
import { ConfigError } from '../../core/config/errors.js';
import { Daemon } from '../../core/daemon.js';
import { formatHttpSummary, runHttpLoad } from './http-load.js';
import { formatTlsSummary, runTlsLoad } from './tls-load.js';

export const BENCH_USAGE = `edgeplane bench: load-test an edge or an upstream

Usage:
  edgeplane bench <scenario> [options]

Scenarios:
  http        keep-alive HTTP/1.1 load (autocannon): requests/s, latency percentiles, status codes
                --url URL            what to load (https:// works with self-signed edges; certificates are not checked)
                -c, --connections N  concurrent connections (default 64)
                -d, --duration S     seconds (default 10)
                -H, --header 'K: V'  a request header (repeatable), e.g. -H 'Host: app.example.test'
                --method M           default GET
                --body TEXT          request body
                --servername NAME    SNI when the URL names an IP
  tls         new TLS connections per second, closed loop, a full handshake each (no session reuse)
                --url https://HOST:PORT/PATH   one GET PATH with Connection: close per connection
                --handshake-only     close right after the handshake (TLS passthrough edges, any TLS server)
                --servername NAME    SNI (default: the URL's host)
                -c, -d               as for http

Options:
  --config FILE   start edgeplane with this config in this process for the run, then stop it
  --json          print the summary as JSON on stdout (no progress line)
  -h, --help      this text

The project's own side-by-side benchmarks (edgeplane beside direct, nginx, haproxy, fastify; TLS passthrough,
TCP, HTTP, HTTPS, gzip, circuit breaker): npm run bench -- --help, results in bench/RESULTS.md.
`;

export async function runBenchCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        connections: { type: 'string', short: 'c', default: '64' },
        duration: { type: 'string', short: 'd', default: '10' },
        header: { type: 'string', short: 'H', multiple: true, default: [] },
        method: { type: 'string', default: 'GET' },
        body: { type: 'string' },
        servername: { type: 'string' },
        'handshake-only': { type: 'boolean', default: false },
        config: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${BENCH_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const scenario = positionals[0];
  if (values.help || scenario === undefined) { process.stdout.write(BENCH_USAGE); return values.help ? 0 : 2; }
  if (scenario !== 'http' && scenario !== 'tls') { process.stderr.write(`unknown scenario: ${scenario}\n\n${BENCH_USAGE}`); return 2; }
  if (values.url === undefined) { process.stderr.write(`bench ${scenario} needs --url URL\n`); return 2; }
  let url: URL;
  try { url = new URL(values.url); } catch { process.stderr.write(`--url '${values.url}' is not a URL\n`); return 2; }
  if (scenario === 'tls' && url.protocol !== 'https:') { process.stderr.write('bench tls needs an https:// URL\n'); return 2; }
  const connections = Number(values.connections);
  const durationS = Number(values.duration);
  if (!Number.isInteger(connections) || connections < 1) { process.stderr.write('--connections must be a positive integer\n'); return 2; }
  if (!(durationS > 0)) { process.stderr.write('--duration must be more than 0 seconds\n'); return 2; }
  const headers: Record<string, string> = {};
  for (const h of values.header as string[]) {
    const colon = h.indexOf(':');
    if (colon <= 0) { process.stderr.write(`--header '${h}': expected 'Name: value'\n`); return 2; }
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }

  let daemon: Daemon | null = null;
  if (values.config !== undefined) {
    try {
      daemon = await Daemon.start({ loaded: loadConfigFile(resolve(values.config)), configPath: null, handleSignals: false });
    } catch (err) {
      if (err instanceof ConfigError) { process.stderr.write(`${err.message}\n`); return 1; }
      throw err;
    }
  }
  const progress = values.json || !process.stderr.isTTY ? null : process.stderr;
  try {
    if (scenario === 'tls') {
      const summary = await runTlsLoad({
        host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443), servername: values.servername ?? url.hostname,
        connections, durationS, path: values['handshake-only'] ? null : url.pathname + url.search, progress,
      });
      process.stdout.write(values.json ? JSON.stringify(summary, null, 2) + '\n' : formatTlsSummary(summary));
      return summary.completed > 0 ? 0 : 1;
    }
    const summary = await runHttpLoad({
      url: values.url, connections, durationS, headers, method: values.method as string,
      ...(values.body === undefined ? {} : { body: values.body }),
      ...(values.servername === undefined ? {} : { servername: values.servername }),
      progress,
    });
    process.stdout.write(values.json ? JSON.stringify(summary, null, 2) + '\n' : formatHttpSummary(summary));
    return summary.requests > 0 ? 0 : 1;
  } finally {
    await daemon?.shutdown('bench finished');
  }
}
