// The server-wide `tunnel:` settings (issue 8): the listener agents dial, the authtokens they present,
// and the session limits. Part of the config schema (schema.ts assembles it).
import { z } from 'zod';
import { splitHostPort } from './syntax.js';

const custom = z.ZodIssueCode.custom;
/** An authtoken shorter than this is too easy to guess for a credential that opens a route to traffic. */
export const MIN_AUTHTOKEN_BYTES = 16;
export const MAX_AUTHTOKEN_BYTES = 512;

export function tunnelSettingsSchema(secretSource: z.ZodType<string, z.ZodTypeDef, unknown>) {
  const authtoken = z
    .object({
      id: z.string().regex(/^[A-Za-z0-9_]+$/, 'ids may contain only letters, digits and _').describe('Credential id (e.g. cr_agents), shown in session events and metrics; never the token.'),
      // Checked in a transform, which zod skips when the source could not be read (one problem, not two).
      token: secretSource.transform((raw, ctx) => {
        const token = raw.trim();
        const bytes = Buffer.byteLength(token);
        if (bytes < MIN_AUTHTOKEN_BYTES) ctx.addIssue({ code: custom, message: `an authtoken needs at least ${MIN_AUTHTOKEN_BYTES} bytes (e.g. \`openssl rand -hex 24\`)` });
        if (bytes > MAX_AUTHTOKEN_BYTES) ctx.addIssue({ code: custom, message: `an authtoken is at most ${MAX_AUTHTOKEN_BYTES} bytes` });
        return token;
      })
        .describe('The secret agents present (a string, { file } or { env }). Shown as [redacted] in /config.'),
      description: z.string().default('').describe('Free text.'),
    })
    .strict();
  return z
    .object({
      listen: z.string().nullish().transform((v) => v ?? null).superRefine((text, ctx) => {
        if (text === null) return;
        const hp = splitHostPort(text, true);
        if ('error' in hp) ctx.addIssue({ code: custom, message: hp.error });
      }).describe('host:port agents dial (TLS); absent or null = no agents (tunnel groups use static tunnels only).'),
      certificate_id: z.string().nullish().transform((v) => v ?? null).describe('The tls_certificates id presented to agents; required with listen.'),
      authtokens: z.array(authtoken).default([]).describe('Credentials agents authenticate with; at least one with listen.'),
      heartbeat_interval: z.number().min(0.05, 'heartbeat_interval must be at least 0.05 s').max(3600).default(10).describe('Seconds between the edge\'s WebSocket pings on each agent connection.'),
      heartbeat_tolerance: z.number().min(0.1, 'heartbeat_tolerance must be at least 0.1 s').max(36000).default(30).describe('Seconds without a pong before an agent connection is closed and its traffic moves to other agents.'),
      max_streams: z.number().int('max_streams must be an integer').min(1).max(65536).default(4096).describe('Concurrent streams per agent connection; more are refused (the request fails over or gets 502).'),
    })
    .strict()
    .superRefine((t, ctx) => {
      if (t.listen === null) return;
      if (t.certificate_id === null) ctx.addIssue({ code: custom, path: ['certificate_id'], message: 'tunnel.listen needs a certificate_id (the certificate agents verify)' });
      if (t.authtokens.length === 0) ctx.addIssue({ code: custom, path: ['authtokens'], message: 'tunnel.listen needs at least one authtoken' });
      if (t.heartbeat_tolerance <= t.heartbeat_interval) ctx.addIssue({ code: custom, path: ['heartbeat_tolerance'], message: 'heartbeat_tolerance must be longer than heartbeat_interval' });
      const ids = new Set<string>();
      const tokens = new Set<string>();
      t.authtokens.forEach((a, i) => {
        if (ids.has(a.id)) ctx.addIssue({ code: custom, path: ['authtokens', i, 'id'], message: `authtoken id '${a.id}' is used twice` });
        if (tokens.has(a.token)) ctx.addIssue({ code: custom, path: ['authtokens', i, 'token'], message: 'the same token is listed twice' });
        ids.add(a.id);
        tokens.add(a.token);
      });
    });
}
