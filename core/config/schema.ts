// The config schema: the one source of types, validation, defaults and doc text (docs.ts renders the
// descriptions). Field names are the ngrok Edge API's (spec §1.3–1.7). Cross-references live in check.ts.
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { formatPath } from './errors.js';
import { bindHostport, enabled } from './schema-fields.js';
import { httpModuleSchemas, httpSettingsSchema } from './schema-http.js';
import { authModuleSchemas, enabledAuthModules } from './schema-auth.js';
import { unavailableRouteModules } from './check-modules.js';
import { webhookSettingsSchema, webhookVerificationSchema } from './schema-webhook.js';
import { tunnelSettingsSchema } from './schema-tunnel.js';
import { controlSettingsSchema } from './schema-control.js';
import { acmeSettingsSchema, certificateManagementPolicySchema } from './schema-acme.js';
import { adminSettingsSchema, apiKey } from './schema-admin.js';
import { MAX_CONNECTIONS_LIMIT, connectionSettings, edgeMaxConnections } from './schema-connections.js';
export { MAX_USER_AGENT_PATTERNS, MIN_BREAKER_BUCKET_MS } from './schema-http.js';
export { MAX_CONNECTIONS_LIMIT } from './schema-connections.js';
import { dialHostProblem, hostnameProblem, labelProblem, splitHostPort } from './syntax.js';
import { routeMatchProblem } from './http-syntax.js';
import { parseIp } from '../tables/ip-address.js';
import { parseConfigDestination, parseConfigSubscription } from '../api/config-resources.js';

/** Where `{ file }` and `{ env }` values are read from, and where secret paths are recorded. */
export interface SourceContext {
  baseDir: string;
  env: NodeJS.ProcessEnv;
  secretPaths: Set<string>;
}

export const MAX_DESCRIPTION_BYTES = 255;
export const MAX_METADATA_BYTES = 4096;
export const MAX_MUTUAL_TLS_CAS = 10; // spec §1.6 (7075)
export const MAX_WEIGHT = 10000; // spec §1.7 (6512)
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024;
const MAX_SOURCE_FILE_BYTES = 1024 * 1024;
// Header values that carry credentials are hidden from /config like private keys.

const id = z
  .string()
  .regex(/^[A-Za-z0-9_]+$/, 'ids may contain only letters, digits and _')
  .describe('Identifier, unique within its collection: letters, digits and _.');
const ref = (what: string) => z.string().min(1, `${what} must not be empty`);

function maxBytes(field: string, max: number) {
  return z
    .string()
    .refine((s) => Buffer.byteLength(s) <= max, { message: `${field} is longer than ${max} bytes` })
    .default('');
}
const description = maxBytes('description', MAX_DESCRIPTION_BYTES).describe(`Free text, at most ${MAX_DESCRIPTION_BYTES} bytes.`);
const metadata = maxBytes('metadata', MAX_METADATA_BYTES).describe(`Free text for machines, at most ${MAX_METADATA_BYTES} bytes.`);

const hostnameHostport = z.string().superRefine((text, ctx) => {
  const hp = splitHostPort(text);
  if ('error' in hp) return void ctx.addIssue({ code: z.ZodIssueCode.custom, message: hp.error });
  if (parseIp(hp.host) !== null) {
    return void ctx.addIssue({ code: z.ZodIssueCode.custom, message: `'${text}': TLS routes by SNI, which carries hostnames, not IP addresses` });
  }
  const problem = hostnameProblem(hp.host);
  if (problem !== null) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
});

function dialAddress(codes: string, allowZero = false) {
  return z.string().superRefine((text, ctx) => {
    const hp = splitHostPort(text, allowZero);
    if ('error' in hp) return void ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${hp.error} ${codes}`.trimEnd() });
    const problem = dialHostProblem(hp.host);
    if (problem !== null) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${problem} ${codes}`.trimEnd() });
  });
}

const labels = z.record(z.string(), z.string()).superRefine((map, ctx) => {
  for (const [key, value] of Object.entries(map)) {
    const problem = labelProblem(key, value);
    if (problem !== null) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem, path: [key] });
  }
});

function readSource(value: unknown, ctx: z.RefinementCtx, sources: SourceContext, secret: boolean): string {
  const here = formatPath(ctx.path);
  const fail = (message: string): string => {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message });
    return '';
  };
  if (secret) sources.secretPaths.add(here);
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail('expected a PEM string, { file: path } or { env: VAR }');
  }
  const keys = Object.keys(value);
  const source = value as { file?: unknown; env?: unknown };
  if (keys.length !== 1 || (typeof source.file !== 'string' && typeof source.env !== 'string')) {
    return fail('expected a PEM string, { file: path } or { env: VAR } (exactly one key, a string)');
  }
  if (typeof source.env === 'string') {
    sources.secretPaths.add(here);
    const found = sources.env[source.env];
    return found === undefined ? fail(`environment variable ${source.env} is not set`) : found;
  }
  const file = source.file as string;
  const full = isAbsolute(file) ? file : resolve(sources.baseDir, file);
  try {
    if (statSync(full).size > MAX_SOURCE_FILE_BYTES) return fail(`file '${file}' is larger than ${MAX_SOURCE_FILE_BYTES} bytes (ERR_NGROK_1921)`);
    return readFileSync(full, 'utf8');
  } catch (err) {
    return fail(`cannot read file '${file}' (${full}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function pem(sources: SourceContext, secret: boolean) {
  return z.unknown().transform((value, ctx) => readSource(value, ctx, sources, secret));
}

/** Collections whose ids may be left out: the id becomes prefix + index. */
export const GENERATED_ID_PREFIX = { reserved_domains: 'rd_', tunnels: 'tn_' } as const;

function withGeneratedIds<T extends { id?: string | undefined }>(prefix: string) {
  return (items: T[]) => items.map((item, i) => ({ ...item, id: item.id ?? `${prefix}${i}` }));
}

/** Route ids may be left out: the id becomes edghtsrt_<edge id>_<index>, stable while the route keeps its place. */
function withRouteId(edgeId: string) {
  return <T extends { id?: string | undefined }>(route: T, i: number) => ({ ...route, id: route.id ?? `edghtsrt_${edgeId}_${i}` });
}

// YAML writes an empty `edges:` as null: treat it like an absent list.
function list<T extends z.ZodTypeAny>(item: T) {
  return z.preprocess((v) => v ?? undefined, z.array(item).default([]));
}

/**
 * A required field whose absence is reported with an ngrok code: zod's own "required" message carries none.
 * docs.ts shows a field as required when its description starts with "Required".
 */
function requiredWithCode<T extends z.ZodTypeAny>(schema: T, message: string) {
  return schema
    .optional()
    .superRefine((value, ctx) => {
      if (value === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message });
    })
    .transform((value) => value as z.output<T>);
}

/** Event destinations/subscriptions are checked by the API's own rules (core/api), with its error codes. */
function configResource<T>(parse: (raw: unknown) => { ok: true; value: T } | { ok: false; problem: string }) {
  return z.any().transform((raw: unknown, ctx): T => {
    const parsed = parse(raw);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed.problem });
    return z.NEVER;
  });
}

export function createConfigSchema(sources: SourceContext) {
  const tlsCertificate = z
    .object({
      id,
      certificate_pem: pem(sources, false).describe('The chain, leaf first, then each issuer (spec §1.4). A string, { file } or { env }.'),
      private_key_pem: pem(sources, true).describe('RSA (PKCS#1/PKCS#8), ECDSA (SEC 1/PKCS#8) or Ed25519 (PKCS#8); not encrypted. Always a secret.'),
      description,
      metadata,
    })
    .strict();

  const certificateAuthority = z
    .object({
      id,
      ca_pem: pem(sources, false).describe('One CA certificate with basicConstraints cA=true. A string, { file } or { env }.'),
      description,
      metadata,
    })
    .strict();

  const reservedDomain = z
    .object({
      id: id.optional().describe('Generated as rd_<index> when absent.'),
      domain: z.string().superRefine((name, ctx) => {
        const problem = hostnameProblem(name);
        if (problem !== null) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
      }).describe('A hostname, or a wildcard "*.example.com" that also covers nested names (spec §1.3).'),
      certificate_id: ref('certificate_id').nullish().transform((v) => v ?? null).describe('The tls_certificates id served for this domain when TLS ends at the edge.'),
      certificate_management_policy: certificateManagementPolicySchema.describe('Automatic certificates over ACME (authority: letsencrypt, private_key_type: ecdsa | rsa); null = off. Excludes certificate_id.'),
      description,
      metadata,
    })
    .strict()
    .superRefine((d, ctx) => {
      // spec §1.3: an uploaded certificate and a managed one are mutually exclusive
      if (d.certificate_id !== null && d.certificate_management_policy !== null) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['certificate_management_policy'], message: 'certificate_id and certificate_management_policy are mutually exclusive: set one of them' });
      }
    });

  const ipPolicyRule = z
    .object({
      cidr: z.string().describe('An IPv4 or IPv6 range with its mask, written with the lowest address (spec §1.6).'),
      action: z.enum(['allow', 'deny'], { errorMap: () => ({ message: "action must be 'allow' or 'deny' (ERR_NGROK_1422)" }) }).describe('allow or deny; deny beats allow.'),
      description,
      metadata,
    })
    .strict();

  const ipPolicy = z
    .object({ id, rules: z.array(ipPolicyRule).default([]).describe('Pooled with the rules of every policy on the same module.'), description, metadata })
    .strict();

  const tunnel = z
    .object({
      id: id.optional().describe('Generated as tn_<index> when absent.'),
      labels: labels.default({}).describe('Matched by tunnel_group backends.'),
      forwards_to: dialAddress('').describe('host:port the tunnel forwards to.'),
      description,
      metadata,
    })
    .strict();

  const backendCommon = { id, description, metadata };
  const backend = z.discriminatedUnion('type', [
    z.object({ ...backendCommon, type: z.literal('tunnel_group'), labels: labels.refine((m) => Object.keys(m).length > 0, 'a tunnel_group needs at least one label').describe('Selects every tunnel whose labels include all of these (spec §1.7).') }).strict(),
    z.object({
      ...backendCommon,
      type: z.literal('static_address'),
      address: dialAddress('(ERR_NGROK_6505)').describe('host:port to forward to.'),
      tls: z.object({ enabled }).strict().nullish().transform((v) => v ?? null).describe('TLS to the upstream when enabled.'),
    }).strict(),
    z.object({
      ...backendCommon,
      type: z.literal('weighted'),
      backends: z
        .record(z.string(), z.number().int('weights are integers (ERR_NGROK_6512)').min(0, 'weights are 0..10000 (ERR_NGROK_6512)').max(MAX_WEIGHT, 'weights are 0..10000 (ERR_NGROK_6512)'))
        .refine((m) => Object.keys(m).length > 0, 'a weighted backend needs at least one child')
        .describe('backend id → weight (0..10000); traffic share is proportional to weight.'),
    }).strict(),
    z.object({
      ...backendCommon,
      type: z.literal('failover'),
      backends: z.array(ref('backend id')).min(1, 'a failover backend needs at least one child').describe('Backend ids tried in order; the next is tried only when one cannot be dialed.'),
    }).strict(),
    z.object({
      ...backendCommon,
      type: z.literal('http_response'),
      status_code: z.number().int().min(100, 'status_code must be 100..599 (ERR_NGROK_6517)').max(599, 'status_code must be 100..599 (ERR_NGROK_6517)').describe('HTTP status sent.'),
      headers: z.record(z.string(), z.string()).default({}).describe('Response headers.'),
      body: z.string().default('').describe('Response body.'),
    }).strict(),
  ], { errorMap: (issue, ctx) => ({ message: issue.code === 'invalid_union_discriminator' ? 'type must be one of tunnel_group, static_address, weighted, failover, http_response' : ctx.defaultError }) });

  const backendModule = z.object({ enabled, backend_id: ref('backend_id').describe('The backends id traffic goes to.') }).strict();
  const ipRestriction = z
    .object({
      enabled,
      ip_policy_ids: z.array(ref('ip policy id')).min(1, 'ip_restriction needs at least one ip policy (ERR_NGROK_7025)').describe('IP policies whose rules are pooled.'),
    })
    .strict();
  const mutualTls = z
    .object({
      enabled,
      certificate_authority_ids: z
        .array(ref('certificate authority id'))
        .min(1, 'mutual_tls needs at least one certificate authority')
        .max(MAX_MUTUAL_TLS_CAS, `mutual_tls accepts at most ${MAX_MUTUAL_TLS_CAS} certificate authorities (ERR_NGROK_7075)`)
        .describe('A client certificate signed by any of these CAs is accepted.'),
    })
    .strict();
  const minVersion = z.enum(['1.2', '1.3'], { errorMap: () => ({ message: "min_version must be '1.2' or '1.3'" }) });
  const notOn = (what: string, code: string) =>
    z.undefined({ errorMap: () => ({ message: `${what} (${code})` }) }).optional();

  const tlsEdgeTermination = z
    .object({
      enabled,
      terminate_at: z.enum(['edge', 'upstream', 'agent']).default('upstream').describe('edge: TLS ends here; upstream: passthrough routed by SNI (default, spec §1.6).'),
      min_version: minVersion.nullish().describe('"1.2" (default when terminating) or "1.3"; must be absent with terminate_at: upstream.'),
    })
    .strict()
    .superRefine((m, ctx) => {
      if (m.terminate_at === 'upstream' && m.min_version != null) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['min_version'], message: 'min_version must be null when terminate_at is upstream (spec §1.6)' });
      }
    })
    .transform((m) => ({
      enabled: m.enabled,
      terminate_at: m.terminate_at,
      min_version: m.terminate_at === 'upstream' ? null : (m.min_version ?? '1.2'),
    }));

  const httpsEdgeTermination = z
    .object({
      enabled,
      terminate_at: notOn('terminate_at may not be set on https edges: TLS always ends at the edge', 'ERR_NGROK_7109'),
      min_version: minVersion.nullish().transform((v) => v ?? '1.2').describe('"1.2" (default) or "1.3".'),
    })
    .strict()
    // normalised with terminate_at so that every terminating edge reads alike downstream
    .transform((m) => ({ enabled: m.enabled, terminate_at: 'edge' as const, min_version: m.min_version }));

  const { circuitBreaker, compression, headersModule, userAgentFilter } = httpModuleSchemas(sources);
  const { oauth, oidc, saml } = authModuleSchemas(sources, (secret) => pem(sources, secret));
  const webhookVerification = webhookVerificationSchema(pem(sources, true));

  const route = z
    .object({
      id: id.optional().describe('Generated as edghtsrt_<edge id>_<index> when absent.'),
      match_type: requiredWithCode(
        z.enum(['exact_path', 'path_prefix'], { errorMap: () => ({ message: "match_type must be 'exact_path' or 'path_prefix' (ERR_NGROK_7130)" }) }),
        "match_type is required: 'exact_path' or 'path_prefix' (ERR_NGROK_7130)",
      ).describe('Required. exact_path: the path equals match; path_prefix: the path starts with match, on a segment boundary. Exact beats prefix, then the longest prefix wins.'),
      match: requiredWithCode(
        z.string().superRefine((text, ctx) => {
          const problem = routeMatchProblem(text);
          if (problem !== null) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
        }),
        'match is required (ERR_NGROK_7123)',
      ).describe('Required. A path such as /foo or /foo/bar, in normal form, unique within the edge, at most 1024 bytes.'),
      description,
      metadata,
      backend: backendModule.optional().describe('backend module: where requests go (http_response backends too).'),
      ip_restriction: ipRestriction.optional().describe('ip_restriction module: 403 unless the client IP is allowed.'),
      circuit_breaker: circuitBreaker.optional().describe('circuit_breaker module: 503 while the upstream fails (Hystrix semantics).'),
      compression: compression.optional().describe('compression module: gzip/deflate response bodies by Accept-Encoding.'),
      request_headers: headersModule('request').optional().describe('request_headers module: runs last before the upstream.'),
      response_headers: headersModule('response').optional().describe('response_headers module: runs just before the response head is written.'),
      user_agent_filter: userAgentFilter.optional().describe('user_agent_filter module: 403 by User-Agent.'),
      webhook_verification: webhookVerification.optional().describe('webhook_verification module: 403 unless the request carries the provider\'s valid signature.'),
      oauth: oauth.optional().describe('oauth module: users log in with an OAuth provider (GitHub, Google, …) before reaching the upstream.'),
      oidc: oidc.optional().describe('oidc module: users log in with any OpenID Connect provider.'),
      saml: saml.optional().describe('saml module: users log in with a SAML identity provider.'),
      max_request_body_bytes: z.number().multipleOf(1, 'max_request_body_bytes must be an integer').min(0, 'max_request_body_bytes must not be negative (0 = unlimited)')
        .default(DEFAULT_MAX_REQUEST_BODY_BYTES)
        .describe('edgeplane extension: the largest request body accepted (413 beyond it); 0 = unlimited.'),
    })
    .strict()
    .superRefine((route, ctx) => {
      const auth = enabledAuthModules(route);
      if (auth.length > 1) {
        const where = formatPath(ctx.path);
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `route ${where} (match '${route.match}') enables ${auth.join(' and ')}: at most one of oauth, oidc and saml may be enabled on a route`,
        });
      }
      for (const refused of unavailableRouteModules(route)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [refused.key], message: refused.reason });
    });

  const edgeCommon = {
    id,
    description,
    metadata,
    max_connections: edgeMaxConnections.optional()
      .describe(`edgeplane extension: connections this edge may have open at once, across all workers (1..${MAX_CONNECTIONS_LIMIT}); more are closed at once, before TLS, and counted in edgeplane_edge_connections_over_limit_total. Default: only the process-wide max_connections applies.`),
    backend: backendModule.optional().describe('backend module: where traffic goes.'),
    ip_restriction: ipRestriction.optional().describe('ip_restriction module: allow/deny by client IP.'),
  };
  const edge = z.discriminatedUnion('type', [
    z.object({
      ...edgeCommon,
      type: z.literal('tls'),
      hostports: z.array(hostnameHostport).default([]).describe('hostname:port, each covered by a reserved domain (spec §1.5).'),
      tls_termination: tlsEdgeTermination.default({}).describe('tls_termination module.'),
      mutual_tls: mutualTls.optional().describe('mutual_tls module: needs terminate_at: edge.'),
      routes: notOn('routes are available on https edges only', 'ERR_NGROK_7021'),
    }).strict(),
    z.object({
      ...edgeCommon,
      type: z.literal('tcp'),
      hostports: z.array(bindHostport('a tcp hostport')).default([]).describe('bind_address:port (an IP or localhost).'),
      tls_termination: notOn('tls_termination is not available on tcp edges', 'ERR_NGROK_7021'),
      mutual_tls: notOn('mutual_tls is not available on tcp edges', 'ERR_NGROK_7021'),
      routes: notOn('routes are available on https edges only', 'ERR_NGROK_7021'),
    }).strict(),
    z.object({
      ...edgeCommon,
      type: z.literal('https'),
      hostports: z.array(hostnameHostport).default([]).describe('hostname:port, each covered by a reserved domain (spec §1.5).'),
      tls_termination: httpsEdgeTermination.default({}).describe('tls_termination module (min_version only).'),
      mutual_tls: mutualTls.optional().describe('mutual_tls module.'),
      // spec §1.5 matrix: on https edges these modules exist per route only
      backend: notOn('backend is set per route on https edges: move it to routes[].backend', 'ERR_NGROK_7021'),
      ip_restriction: notOn('ip_restriction is set per route on https edges: move it to routes[].ip_restriction', 'ERR_NGROK_7021'),
      routes: list(route).describe('Routes by request path (spec §1.5), each with its own modules; backend and ip_restriction are set here, not on the edge.'),
    }).strict(),
  ], { errorMap: (issue, ctx) => ({ message: issue.code === 'invalid_union_discriminator' ? 'type must be one of tls, tcp, https' : ctx.defaultError }) })
    .transform((edge) => (edge.type === 'https' ? { ...edge, routes: edge.routes.map(withRouteId(edge.id)) } : edge));

  const http = httpSettingsSchema;

  return z
    .object({
      admin: adminSettingsSchema(dialAddress('', true), apiKey(sources), sources.baseDir),
      workers: z.number().int('workers must be an integer').min(1, 'workers must be 1..256').max(256, 'workers must be 1..256').default(() => Math.min(256, Math.max(1, availableParallelism())))
        .describe('Worker threads, 1..256. Default: os.availableParallelism().'),
      ...connectionSettings(),
      events: z
        .object({ file: z.string().min(1).default('-').describe('"-" = stdout, otherwise a path to append NDJSON to.') })
        .strict()
        .nullish()
        .transform((v) => v ?? null)
        .describe('Event output; absent or null = off.'),
      event_destinations: list(configResource(parseConfigDestination)).describe('Event destinations (spec §1.8): the API body shape plus a required id (ed_…). Read-only through the API.'),
      event_subscriptions: list(configResource(parseConfigSubscription)).describe('Event subscriptions (spec §1.8): the API body shape plus a required id (esb_…); destination_ids may name config or API destinations. Read-only through the API.'),
      tls_certificates: list(tlsCertificate).describe('Certificates served when TLS ends at the edge (spec §1.4).'),
      certificate_authorities: list(certificateAuthority).describe('CAs for mutual_tls (spec §1.4).'),
      reserved_domains: list(reservedDomain).transform(withGeneratedIds(GENERATED_ID_PREFIX.reserved_domains)).describe('Domains edges may use (spec §1.3).'),
      ip_policies: list(ipPolicy).describe('Named sets of allow/deny CIDR rules (spec §1.6).'),
      tunnels: list(tunnel).transform(withGeneratedIds(GENERATED_ID_PREFIX.tunnels)).describe('Static tunnel registrations matched by tunnel_group backends.'),
      backends: list(backend).describe('Where edges send traffic, discriminated by type (spec §1.7).'),
      edges: list(edge).describe('tls, tcp and https edges (spec §1.5).'),
      auth_cookie_key: z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/, 'auth_cookie_key must be 64 hex characters (32 random bytes, e.g. from `openssl rand -hex 32`)')
        .transform((value, ctx) => {
          sources.secretPaths.add(formatPath(ctx.path));
          return value;
        })
        .optional()
        .describe('Key (64 hex characters) the oauth/oidc/saml session cookies are sealed with. Default: a random key per start, so a restart logs every user out; set one to keep sessions across restarts and instances. Read at start only; shown as [redacted] in /config.'),
      webhooks: z.preprocess((v) => v ?? undefined, webhookSettingsSchema(pem(sources, false)).default({})).describe('edgeplane settings for webhook_verification: where SNS signing certificates may be fetched from.'),
      control: z.preprocess((v) => v ?? undefined, controlSettingsSchema().default({})).describe('edgeplane settings for the gRPC control-plane API.'),
      tunnel: z.preprocess((v) => v ?? undefined, tunnelSettingsSchema(pem(sources, true)).default({})).describe('edgeplane settings for tunnel agents: the listener they dial, their authtokens and session limits.'),
      acme: z.preprocess((v) => v ?? undefined, acmeSettingsSchema(pem(sources, false), pem(sources, true)).default({})).describe('edgeplane settings for automatic certificates (reserved domains with a certificate_management_policy): the ACME directory, contact, renewal.'),
      http: z.preprocess((v) => v ?? undefined, http.default({})).describe('edgeplane settings for every https edge: HTTP limits, timeouts, the cleartext listener.'),
    })
    .strict();
}

/** The schema with process-wide sources (cwd, process.env); loaders build their own with createConfigSchema. */
export const configSchema = createConfigSchema({ baseDir: process.cwd(), env: process.env, secretPaths: new Set() });

export type ConfigSchema = ReturnType<typeof createConfigSchema>;
export type EdgeplaneConfig = z.output<ConfigSchema>;
export type AdminConfig = NonNullable<EdgeplaneConfig['admin']>;
export type EventsConfig = NonNullable<EdgeplaneConfig['events']>;
export type TlsCertificateConfig = EdgeplaneConfig['tls_certificates'][number];
export type CertificateAuthorityConfig = EdgeplaneConfig['certificate_authorities'][number];
export type ReservedDomainConfig = EdgeplaneConfig['reserved_domains'][number];
export type IpPolicyConfig = EdgeplaneConfig['ip_policies'][number];
export type IpPolicyRuleConfig = IpPolicyConfig['rules'][number];
export type TunnelConfig = EdgeplaneConfig['tunnels'][number];
export type BackendConfig = EdgeplaneConfig['backends'][number];
export type TunnelGroupBackendConfig = Extract<BackendConfig, { type: 'tunnel_group' }>;
export type StaticAddressBackendConfig = Extract<BackendConfig, { type: 'static_address' }>;
export type WeightedBackendConfig = Extract<BackendConfig, { type: 'weighted' }>;
export type FailoverBackendConfig = Extract<BackendConfig, { type: 'failover' }>;
export type HttpResponseBackendConfig = Extract<BackendConfig, { type: 'http_response' }>;
export type EdgeConfig = EdgeplaneConfig['edges'][number];
export type TlsEdgeConfig = Extract<EdgeConfig, { type: 'tls' }>;
export type TcpEdgeConfig = Extract<EdgeConfig, { type: 'tcp' }>;
export type HttpsEdgeConfig = Extract<EdgeConfig, { type: 'https' }>;
export type BackendModuleConfig = NonNullable<EdgeConfig['backend']>;
export type IpRestrictionConfig = NonNullable<EdgeConfig['ip_restriction']>;
export type MutualTlsConfig = NonNullable<TlsEdgeConfig['mutual_tls']>;
export type TlsTerminationConfig = TlsEdgeConfig['tls_termination'];
export type HttpsTlsTerminationConfig = HttpsEdgeConfig['tls_termination'];
export type RouteConfig = HttpsEdgeConfig['routes'][number];
export type CircuitBreakerConfig = NonNullable<RouteConfig['circuit_breaker']>;
export type HeadersModuleConfig = NonNullable<RouteConfig['request_headers']>;
export type UserAgentFilterConfig = NonNullable<RouteConfig['user_agent_filter']>;
export type OAuthConfig = NonNullable<RouteConfig['oauth']>;
export type OidcConfig = NonNullable<RouteConfig['oidc']>;
export type WebhookVerificationConfig = NonNullable<RouteConfig['webhook_verification']>;
export type WebhookSettingsConfig = EdgeplaneConfig['webhooks'];
export type SamlConfig = NonNullable<RouteConfig['saml']>;
export type HttpConfig = EdgeplaneConfig['http'];
export type TunnelSettingsConfig = EdgeplaneConfig['tunnel'];

/** The collections whose items have ids, in config order. */
export const COLLECTIONS = [
  'tls_certificates',
  'certificate_authorities',
  'reserved_domains',
  'ip_policies',
  'tunnels',
  'backends',
  'edges',
] as const;
export type CollectionName = (typeof COLLECTIONS)[number];

/** The item schema of one collection (what one element of `edges` etc. is parsed with). */
export function collectionItemSchema(schema: ConfigSchema, name: CollectionName): z.ZodTypeAny {
  let s: z.ZodTypeAny = schema.shape[name];
  for (;;) {
    if (s instanceof z.ZodArray) return s.element as z.ZodTypeAny;
    if (s instanceof z.ZodEffects) s = s.innerType();
    else if (s instanceof z.ZodDefault) s = s.removeDefault();
    else if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else throw new Error(`config schema: ${name} is not a list`);
  }
}
