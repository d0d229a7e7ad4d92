// What a tunnel agent is told to do (issue 8): library options, their validation, and the
// `edgeplane agent` flags that produce them. Everything is checked up front so that a typo ends the
// agent with a clear message at start instead of as a retry loop against the edge.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { EDGE_CIPHERS } from '../tls/ciphers.js';
import { parseArgs } from 'node:util';
import { dialHostProblem, labelProblem, splitHostPort, type HostPort } from '../config/syntax.js';

export class AgentOptionsError extends Error {
  override name = 'AgentOptionsError';
}

/** Where streams go: plain TCP, or TLS to the upstream. */
export interface ForwardTarget {
  kind: 'tcp' | 'tls';
  host: string;
  port: number;
  /** The address as the user wrote it (sent to the edge as forwards_to, shown in logs). */
  address: string;
}

export interface BackoffOptions {
  /** First retry waits up to this long (full jitter: a random delay in [0, base × 2^attempt], capped). */
  baseMs: number;
  capMs: number;
  /** A leg that stayed up this long starts its next back-off from the beginning. */
  resetAfterMs: number;
}

export interface AgentOptions {
  /** The edge's tunnel listener, HOST:PORT. */
  edge: string;
  authtoken: string;
  /** At least one; tunnel_group backends select agents by these. */
  labels: Record<string, string>;
  /** HOST:PORT, tcp://, http:// (plain TCP) or https://, tls:// (TLS to the upstream). */
  forward: string;
  metadata?: string;
  /** PEM CA(s) that sign the edge's certificate; default: the system roots. */
  edgeCa?: string | Buffer;
  /** TLS server name for the edge; default: the edge host (none for an IP). */
  serverName?: string;
  insecureSkipVerify?: boolean;
  /** PEM certificate chain and key: the agent can terminate TLS itself (terminate_at: agent edges). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** PEM CA(s) for a TLS upstream: given, the upstream's certificate is verified; absent, it is not. */
  upstreamCa?: string | Buffer;
  /** How long close() waits for open streams (default 30 s). */
  drainTimeoutMs?: number;
  /** Upstream dial timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** How long a leg waits for the edge's answer to Auth before it gives up and retries (default 10 s). */
  authTimeoutMs?: number;
  /** Idle timeout of a stream's byte pipe; 0 (default) = none: the edge owns idle policy. */
  streamIdleMs?: number;
  backoff?: Partial<BackoffOptions>;
  /** Aborting it makes a pending startAgent() reject and stops the agent. */
  signal?: AbortSignal;
}

/** Options after validation: parsed addresses, a ready TLS context for termination, defaults filled in. */
export interface ResolvedAgentOptions {
  edge: HostPort;
  authtoken: string;
  labels: Record<string, string>;
  forward: ForwardTarget;
  metadata: string;
  edgeCa: string | Buffer | undefined;
  /** '' for none (IP addresses must not be sent as SNI). */
  serverName: string;
  rejectUnauthorized: boolean;
  terminator: tls.SecureContext | null;
  upstreamCa: string | Buffer | undefined;
  drainTimeoutMs: number;
  connectTimeoutMs: number;
  authTimeoutMs: number;
  streamIdleMs: number;
  backoff: BackoffOptions;
  signal: AbortSignal | undefined;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 200, capMs: 30_000, resetAfterMs: 30_000 };
const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };
const SCHEMES: Record<string, ForwardTarget['kind']> = { 'tcp:': 'tcp', 'http:': 'tcp', 'https:': 'tls', 'tls:': 'tls' };

function fail(message: string): never {
  throw new AgentOptionsError(message);
}

function hostPort(text: string, what: string): HostPort {
  const hp = splitHostPort(text);
  if ('error' in hp) fail(`${what}: ${hp.error}`);
  const problem = dialHostProblem(hp.host);
  if (problem !== null) fail(`${what}: ${problem}`);
  return hp;
}

/** Parses --forward: a bare port means localhost; a scheme picks plain TCP or TLS. */
export function parseForward(text: string): ForwardTarget {
  const address = text.trim();
  if (address === '') fail('--forward: empty address');
  if (/^[0-9]+$/.test(address)) return { kind: 'tcp', ...hostPort(`localhost:${address}`, '--forward'), address };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\/(.*)$/.exec(address);
  if (scheme === null) return { kind: 'tcp', ...hostPort(address, '--forward'), address };
  const protocol = scheme[1]!.toLowerCase();
  const kind = SCHEMES[protocol];
  if (kind === undefined) fail(`--forward: unknown scheme '${protocol}//' in '${address}' (use tcp://, tls://, http:// or https://)`);
  // Only an authority is meaningful: the agent forwards bytes, it does not rewrite paths.
  const rest = scheme[2]!.replace(/\/$/, '');
  if (rest.includes('/') || rest.includes('?') || rest.includes('@')) fail(`--forward: '${address}' may name only a host and port`);
  const defaultPort = DEFAULT_PORTS[protocol];
  const needsPort = !/:[0-9]+$/.test(rest);
  if (needsPort && defaultPort === undefined) fail(`--forward: '${address}' needs a port`);
  return { kind, ...hostPort(needsPort ? `${rest}:${defaultPort}` : rest, '--forward'), address };
}

function checkLabels(labels: Record<string, string>): Record<string, string> {
  const entries = Object.entries(labels);
  if (entries.length === 0) fail('at least one label is required (--label key=value)');
  for (const [key, value] of entries) {
    if (typeof value !== 'string') fail(`label '${key}' must be a string`);
    const problem = labelProblem(key, value);
    if (problem !== null) fail(problem);
  }
  return { ...labels };
}

function nonNegative(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) fail(`${what} must be a number >= 0, got ${value}`);
  return value;
}

/** A CA bundle that holds no parsable certificate would only show up later as "unable to verify". */
function checkCaBundle(pem: string | Buffer | undefined, what: string): string | Buffer | undefined {
  if (pem === undefined) return undefined;
  const blocks = pem.toString().match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) fail(`${what}: no PEM certificate found`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      fail(`${what}: ${(err as Error).message}`);
    }
  }
  return pem;
}

function terminatorContext(cert: string | Buffer | undefined, key: string | Buffer | undefined): tls.SecureContext | null {
  if (cert === undefined && key === undefined) return null;
  if (cert === undefined || key === undefined) fail('--crt and --key go together');
  try {
    // The same suites as the edge's own TLS (core/tls/ciphers.ts): AEAD only.
    return tls.createSecureContext({ cert, key, minVersion: 'TLSv1.2', ciphers: EDGE_CIPHERS, honorCipherOrder: true });
  } catch (err) {
    return fail(`--crt/--key: ${(err as Error).message}`);
  }
}

export function resolveAgentOptions(options: AgentOptions): ResolvedAgentOptions {
  const authtoken = typeof options.authtoken === 'string' ? options.authtoken.trim() : '';
  if (authtoken === '') fail('an authtoken is required (--authtoken or EDGEPLANE_AUTHTOKEN)');
  if (typeof options.edge !== 'string' || options.edge === '') fail('the edge address is required (--edge HOST:PORT)');
  if (typeof options.forward !== 'string') fail('the forward address is required (--forward ADDR)');
  const edge = hostPort(options.edge, '--edge');
  const serverName = options.serverName ?? (isIP(edge.host) !== 0 ? '' : edge.host);
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  if (!(backoff.baseMs > 0) || !(backoff.capMs >= backoff.baseMs)) fail('backoff needs baseMs > 0 and capMs >= baseMs');
  return {
    edge,
    authtoken,
    labels: checkLabels(options.labels ?? {}),
    forward: parseForward(options.forward),
    metadata: options.metadata ?? '',
    edgeCa: checkCaBundle(options.edgeCa, '--edge-ca'),
    serverName,
    rejectUnauthorized: options.insecureSkipVerify !== true,
    terminator: terminatorContext(options.cert, options.key),
    upstreamCa: checkCaBundle(options.upstreamCa, '--upstream-ca'),
    drainTimeoutMs: nonNegative(options.drainTimeoutMs, 30_000, 'drain timeout'),
    connectTimeoutMs: nonNegative(options.connectTimeoutMs, 10_000, 'connect timeout'),
    authTimeoutMs: nonNegative(options.authTimeoutMs, 10_000, 'auth timeout'),
    streamIdleMs: nonNegative(options.streamIdleMs, 0, 'stream idle timeout'),
    backoff,
    signal: options.signal,
  };
}

export const AGENT_USAGE = `edgeplane agent: connect a private service to an edgeplane tunnel group

Usage:
  edgeplane agent --edge HOST:PORT --label KEY=VALUE [--label ...] --forward ADDR [options]

  --edge HOST:PORT          the edge's tunnel listener (TLS)
  --authtoken TOKEN         credential (or env EDGEPLANE_AUTHTOKEN, preferred: flags show in ps)
  --label KEY=VALUE         repeatable, at least one; tunnel_group backends select agents by labels
  --forward ADDR            upstream: HOST:PORT, PORT, tcp://HOST:PORT, http://HOST[:PORT] (plain TCP),
                            https://HOST[:PORT] or tls://HOST:PORT (TLS to the upstream)
  --metadata STR            free text shown with the session on the edge
  --edge-ca FILE            PEM CA(s) for the edge's certificate (default: system roots)
  --server-name NAME        TLS server name for the edge (default: the edge host)
  --insecure-skip-verify    do not verify the edge's certificate (testing only)
  --crt FILE --key FILE     certificate and key for edges with terminate_at: agent
  --upstream-ca FILE        verify a TLS upstream's certificate against these CAs (default: no verification)
  --drain-timeout SECONDS   on SIGTERM, how long to wait for open streams (default 30)
  --help

Signals: SIGTERM/SIGINT drain (no new streams, open ones finish) and exit 0; a second one exits at once.
Logs are JSON lines on stderr.
`;

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    return fail(`${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function parseLabel(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq < 0) fail(`--label '${text}' must be key=value`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

function seconds(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) fail(`${flag} must be a number of seconds >= 0, got '${text}'`);
  return n * 1000;
}

export type ParsedAgentFlags = { help: true } | { help: false; options: AgentOptions };

/** `edgeplane agent` flags → AgentOptions (files read here); throws AgentOptionsError on bad input. */
export function parseAgentFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedAgentFlags {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        edge: { type: 'string' },
        authtoken: { type: 'string' },
        label: { type: 'string', multiple: true },
        forward: { type: 'string' },
        metadata: { type: 'string' },
        'edge-ca': { type: 'string' },
        'server-name': { type: 'string' },
        'insecure-skip-verify': { type: 'boolean' },
        crt: { type: 'string' },
        key: { type: 'string' },
        'upstream-ca': { type: 'string' },
        'drain-timeout': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return fail((err as Error).message);
  }
  if (values.help === true) return { help: true };
  if (values.edge === undefined) fail('--edge HOST:PORT is required');
  if (values.forward === undefined) fail('--forward ADDR is required');
  const labels: Record<string, string> = {};
  for (const text of values.label ?? []) {
    const [key, value] = parseLabel(text);
    if (key in labels) fail(`--label '${key}' is given twice`);
    labels[key] = value;
  }
  const options: AgentOptions = {
    edge: values.edge,
    authtoken: values.authtoken ?? env.EDGEPLANE_AUTHTOKEN ?? '',
    labels,
    forward: values.forward,
    metadata: values.metadata,
    serverName: values['server-name'],
    insecureSkipVerify: values['insecure-skip-verify'] === true,
    drainTimeoutMs: seconds(values['drain-timeout'], '--drain-timeout'),
  };
  if (values['edge-ca'] !== undefined) options.edgeCa = readPem(values['edge-ca'], '--edge-ca');
  if (values.crt !== undefined) options.cert = readPem(values.crt, '--crt');
  if (values.key !== undefined) options.key = readPem(values.key, '--key');
  if (values['upstream-ca'] !== undefined) options.upstreamCa = readPem(values['upstream-ca'], '--upstream-ca');
  // Validate now, so every flag problem is reported before any connection is made.
  resolveAgentOptions(options);
  return { help: false, options };
}
