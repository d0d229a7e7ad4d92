// The `admin:` settings (the admin HTTP server, the Event Subscriptions API's keys and state
// directory) and the API key field. Part of the config schema (schema.ts assembles it).
import { resolve } from 'node:path';
import { z } from 'zod';
import { formatPath } from './errors.js';
import type { SourceContext } from './schema.js';

/** An API key: a string or { env: VAR }; its path is recorded as secret either way. */
export function apiKey(sources: SourceContext) {
  return z.union([z.string(), z.object({ env: z.string().min(1) }).strict()], { errorMap: () => ({ message: 'an API key is a string or { env: VAR }' }) })
    .transform((value, ctx) => {
      sources.secretPaths.add(formatPath(ctx.path));
      const key = typeof value === 'string' ? value : sources.env[value.env];
      if (key === undefined) { ctx.addIssue({ code: z.ZodIssueCode.custom, message: `environment variable ${(value as { env: string }).env} is not set` }); return ''; }
      if (key.length < 16) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'an API key must be at least 16 characters' });
      return key;
    });
}

/** `listen` is the schema's host:port field (port 0 allowed); `baseDir` anchors a relative state_dir. */
export function adminSettingsSchema<L extends z.ZodTypeAny, K extends z.ZodTypeAny>(listen: L, key: K, baseDir: string) {
  return z
    .object({
      listen: listen.describe('host:port of the admin HTTP server (port 0 picks a free port).'),
      debug_endpoints: z.boolean().default(false).describe('Enables test-only endpoints. Never in production.'),
      api_keys: z.array(key).nullish().transform((v) => v ?? undefined)
        .describe('Keys of the Event Subscriptions API (`Authorization: Bearer <key>`), each a string or { env: VAR }, at least 16 characters; shown as [redacted] in /config. Default: none, and the API answers 404.'),
      state_dir: z.string().min(1, 'state_dir must not be empty').optional().transform((dir) => (dir === undefined ? undefined : resolve(baseDir, dir)))
        .describe("Directory of the API's durable store and audit log, relative to the config file's directory; created when the API is on. Default: edgeplane-state next to the config file (the working directory for the embedded config)."),
    })
    .strict()
    .nullish()
    .transform((v) => v ?? null)
    .describe('Admin server; absent or null = off.');
}
