// The HTTPS route modules' schemas (spec §1.6) and the server-wide `http:` settings. Part of the config
// schema (schema.ts assembles it); split out so each file keeps one job.
import { z } from 'zod';
import { formatPath } from './errors.js';
import { bindHostport, enabled, integer, seconds } from './schema-fields.js';
import { headersModuleProblems, type HeadersSide } from './http-syntax.js';
import type { SourceContext } from './schema.js';
import { MAX_BUCKETS } from '../tables/breakers.js';
import { MAX_USER_AGENT_PATTERN_LENGTH, userAgentPatternProblem } from '../http/ua-regex.js';

const MAX_BREAKER_SECONDS = 120; // spec §1.6: the traffic-policy range is 1s–2m
const MAX_HTTP_TIMEOUT_SECONDS = 86_400; // far below the 24.8 days where Node timers overflow
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']);
export const MAX_USER_AGENT_PATTERNS = 50;
export const MIN_BREAKER_BUCKET_MS = 10;

/** Route module schemas; `sources` records header values that hold credentials (redacted in /config). */
export function httpModuleSchemas(sources: SourceContext) {
  const circuitBreaker = z
    .object({
      enabled,
      error_threshold_percentage: z
        .number()
        .min(0, 'error_threshold_percentage is a fraction 0..1 (0.5 = 50%), not a percentage (ERR_NGROK_7011)')
        .max(1, 'error_threshold_percentage is a fraction 0..1 (0.5 = 50%), not a percentage (ERR_NGROK_7011)')
        .default(0.5)
        .describe('Trips when more than this fraction (0..1) of the requests in the window fail (status ≥ 500).'),
      tripped_duration: seconds('tripped_duration', { min: 'positive', max: MAX_BREAKER_SECONDS, code: 'ERR_NGROK_7016', integer: true })
        .default(10).describe(`Seconds the breaker stays open before it lets a trial request through (1..${MAX_BREAKER_SECONDS}).`),
      rolling_window: seconds('rolling_window', { min: 'positive', max: MAX_BREAKER_SECONDS, code: 'ERR_NGROK_7017', integer: true })
        .default(10).describe(`Seconds of statistics the trip decision looks at (1..${MAX_BREAKER_SECONDS}).`),
      num_buckets: integer('num_buckets', 1, MAX_BUCKETS, 'ERR_NGROK_7018').default(10)
        .describe(`Buckets the window is split into (1..${MAX_BUCKETS}); a bucket is at least ${MIN_BREAKER_BUCKET_MS} ms.`),
      volume_threshold: integer('volume_threshold', 1, 2_000_000_000).default(20)
        .describe('Requests the window must hold before the breaker may trip (1..2,000,000,000).'),
    })
    .strict()
    .superRefine((m, ctx) => {
      if (!(m.rolling_window > 0 && m.num_buckets >= 1)) return; // already reported on the field
      const bucketMs = (m.rolling_window * 1000) / m.num_buckets;
      if (bucketMs < MIN_BREAKER_BUCKET_MS) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['num_buckets'],
          message: `${m.num_buckets} buckets over ${m.rolling_window} s are ${bucketMs.toFixed(2)} ms each; a bucket must be at least ${MIN_BREAKER_BUCKET_MS} ms: use fewer buckets or a longer rolling_window (ERR_NGROK_7018)`,
        });
      }
    });

  const compression = z.object({ enabled }).strict();

  const headersModule = (side: HeadersSide) => z
    .object({
      enabled,
      add: z.record(z.string(), z.string()).default({})
        .describe('Header name → value, appended to what is there (at most 5). Values are templates: ${conn.client_ip}, ${req.headers.<name>}, …'),
      remove: z.array(z.string()).default([]).describe('Header names removed, every value, case-insensitively (at most 5).'),
    })
    .strict()
    .superRefine((m, ctx) => {
      for (const problem of headersModuleProblems(side, m.add, m.remove)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: problem.path, message: problem.message });
      }
      const here = formatPath(ctx.path);
      for (const name of Object.keys(m.add)) if (SECRET_HEADERS.has(name.toLowerCase())) sources.secretPaths.add(`${here}.add.${name}`);
    });

  const userAgentPattern = z
    .string()
    .superRefine((text, ctx) => {
      const problem = text.length > MAX_USER_AGENT_PATTERN_LENGTH
        ? `user agent patterns are at most ${MAX_USER_AGENT_PATTERN_LENGTH} characters`
        : userAgentPatternProblem(text);
      if (problem !== null) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
    });
  const userAgentPatterns = (what: string) => z
    .array(userAgentPattern)
    .max(MAX_USER_AGENT_PATTERNS, `${what} takes at most ${MAX_USER_AGENT_PATTERNS} patterns`)
    .default([]);
  const userAgentFilter = z
    .object({
      enabled,
      allow: userAgentPatterns('allow').describe('RE2-syntax regexes; a User-Agent matching any of them passes, whatever deny says.'),
      deny: userAgentPatterns('deny').describe('RE2-syntax regexes; a User-Agent matching one (and no allow rule) gets 403. No User-Agent is refused unless an allow rule matches "".'),
    })
    .strict();

  return { circuitBreaker, compression, headersModule, userAgentFilter };
}

export const httpSettingsSchema = z
  .object({
    max_header_bytes: integer('max_header_bytes', 1024, 1_048_576).default(16_384)
      .describe('Largest request head (request line and headers) accepted; 431 beyond it. 1024..1048576.'),
    max_url_bytes: integer('max_url_bytes', 256, 1_048_576).default(8192).describe('Longest request target accepted; 414 beyond it. 256..1048576.'),
    header_timeout: seconds('header_timeout', { min: 'positive', max: MAX_HTTP_TIMEOUT_SECONDS }).default(10)
      .describe('Seconds a client may take to send a complete request head (slow-client protection).'),
    keep_alive_timeout: seconds('keep_alive_timeout', { min: 'zero', max: MAX_HTTP_TIMEOUT_SECONDS }).default(60)
      .describe('Seconds an idle client connection is kept open between requests (0 = close after each response).'),
    max_concurrent_streams: integer('max_concurrent_streams', 1, 10_000).default(100).describe('HTTP/2 streams per client connection, 1..10000.'),
    upstream_response_header_timeout: seconds('upstream_response_header_timeout', { min: 'positive', max: MAX_HTTP_TIMEOUT_SECONDS }).default(60)
      .describe('Seconds the upstream may stay silent (no byte back while no request bytes go out); 504 when that happens before the response head.'),
    client_write_timeout: seconds('client_write_timeout', { min: 'positive', max: MAX_HTTP_TIMEOUT_SECONDS }).default(60)
      .describe('Seconds a response may wait on a client that stopped reading (slow-read protection): then the response is aborted, its upstream connection dropped, and the client connection closed.'),
    upstream_idle_timeout: seconds('upstream_idle_timeout', { min: 'positive', max: MAX_HTTP_TIMEOUT_SECONDS }).default(30)
      .describe('Seconds an idle keep-alive upstream connection is kept for reuse.'),
    max_idle_upstream_connections: integer('max_idle_upstream_connections', 0, 65_536).default(128)
      .describe('Idle keep-alive connections kept per upstream endpoint and worker, 0..65536 (0 = no reuse).'),
    plain_listen: bindHostport('plain_listen').nullish().transform((v) => v ?? null)
      .describe('bind_address:port of a cleartext HTTP listener, or null (none).'),
    plain_mode: z.enum(['redirect', 'serve'], { errorMap: () => ({ message: "plain_mode must be 'redirect' or 'serve'" }) }).default('redirect')
      .describe('redirect: 308 to https://host[:port] of the https edge serving the Host. serve: route cleartext requests by Host through the same https edge routes (behind a TLS load balancer).'),
  })
  .strict();

