// The webhook_verification route module's schema (spec §1.6 "Webhook verification module") and the
// server-wide `webhooks:` settings (where SNS signing certificates may come from). Part of the config
// schema (schema.ts assembles it).
import { z } from 'zod';
import { enabled } from './schema-fields.js';
import { findProvider, providerIdentifiers } from '../../workers/http/webhooks/providers/index.js';
import { DEFAULT_SNS_HOST_PATTERN } from '../../workers/http/webhooks/sns-defaults.js';

/** Spec: secret length is capped (7154/15001); ngrok does not publish the cap. */
export const MAX_WEBHOOK_SECRET_BYTES = 4096;
const custom = z.ZodIssueCode.custom;

/** One final line ending, as editors add to a secret file (or YAML's `|` adds): never part of a signing secret. */
function withoutFinalNewline(secret: string): string {
  return secret.replace(/\r?\n$/, '');
}

/**
 * `secretSource`: schema.ts's reader of a string, { file } or { env }, marked secret (shown as [redacted]).
 * The provider is checked in a refinement (which zod runs even when the secret could not be read), the
 * secret in the transform (which zod skips then): an unreadable secret is reported once, not also as missing.
 */
export function webhookVerificationSchema(secretSource: z.ZodType<string, z.ZodTypeDef, unknown>) {
  return z
    .object({
      enabled,
      // optional here so that its absence is reported with its ngrok code (zod's "Required" carries none)
      provider: z.string().optional()
        .describe('Required. The provider\'s ngrok identifier, e.g. github, stripe, slack, sns (the README lists all 58).'),
      secret: secretSource.optional()
        .describe('Required except for sns: the signing secret the provider gives (a string, { file } or { env }); for sendgrid the base64 ECDSA public key. Shown as [redacted] in /config.'),
    })
    .strict()
    .superRefine((m, ctx) => {
      if (m.provider === undefined) {
        ctx.addIssue({ code: custom, path: ['provider'], message: 'provider is required (ERR_NGROK_7029)' });
      } else if (findProvider(m.provider) === undefined) {
        ctx.addIssue({ code: custom, path: ['provider'], message: `unknown webhook provider '${m.provider}': expected one of ${providerIdentifiers().join(', ')} (ERR_NGROK_7030)` });
      }
    })
    .transform((m, ctx) => {
      // the refinement above guarantees a known provider here
      const provider = findProvider(m.provider!)!;
      const fail = (message: string) => {
        ctx.addIssue({ code: custom, path: ['secret'], message });
        return z.NEVER;
      };
      const secret = m.secret === undefined ? undefined : withoutFinalNewline(m.secret);
      if (provider.secret === 'forbidden') {
        if (secret !== undefined) return fail(`${provider.id} takes no secret: its messages are checked against the provider's signing certificate (ERR_NGROK_7026)`);
        // the canonical identifier, so aliases (autodesk, signalsciences, …) compile alike
        return { enabled: m.enabled, provider: provider.id, secret: '' };
      }
      if (secret === undefined || secret === '') return fail(`secret is required for provider ${provider.id} (ERR_NGROK_7026)`);
      if (Buffer.byteLength(secret) > MAX_WEBHOOK_SECRET_BYTES) return fail(`secret is longer than ${MAX_WEBHOOK_SECRET_BYTES} bytes (ERR_NGROK_7154)`);
      const problem = provider.checkSecret?.(secret) ?? null;
      if (problem !== null) return fail(`${problem} (ERR_NGROK_7107)`);
      return { enabled: m.enabled, provider: provider.id, secret };
    });
}

/** `webhooks:` — edgeplane settings for every webhook_verification route. */
export function webhookSettingsSchema(pemSource: z.ZodType<string, z.ZodTypeDef, unknown>) {
  return z
    .object({
      sns_certificate_host_pattern: z
        .string()
        .default(DEFAULT_SNS_HOST_PATTERN)
        .superRefine((text, ctx) => {
          try { new RegExp(text); } catch (err) { ctx.addIssue({ code: custom, message: `not a valid regular expression: ${(err as Error).message}` }); }
          if (!text.startsWith('^') || !text.endsWith('$')) ctx.addIssue({ code: custom, message: 'the pattern must be anchored (^…$): an unanchored pattern lets attacker hosts such as sns.x.amazonaws.com.evil.example through' });
        })
        .describe('Regular expression the host of an SNS SigningCertURL must match before its certificate is fetched (https only).'),
      sns_certificate_fetch_origin: z
        .string()
        .nullish()
        .transform((v) => v ?? null)
        .superRefine((text, ctx) => {
          if (text === null) return;
          let url: URL;
          try { url = new URL(text); } catch { ctx.addIssue({ code: custom, message: 'must be an origin such as https://127.0.0.1:8443' }); return; }
          if (url.protocol !== 'https:' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '') ctx.addIssue({ code: custom, message: 'must be an https origin (scheme://host[:port], no path)' });
        })
        .describe('Fetch SNS certificates from this https origin instead (the SigningCertURL\'s path is kept and its host still checked): a mirror for air-gapped hosts, or a local server in tests.'),
      sns_certificate_ca: pemSource.optional()
        .describe('Extra CA (PEM, { file } or { env }) trusted when fetching SNS certificates, for a private mirror.'),
      offload: z.enum(['auto', 'always', 'never']).default('auto')
        .describe('Where signatures are checked: auto (default) moves checks of large bodies (≥ 128 KiB) and asymmetric ones (SendGrid) to a piscina thread so the worker\'s event loop keeps serving; always / never force one side (benchmarks).'),
      offload_threads: z.number().int('offload_threads must be an integer').min(1).max(64).default(1)
        .describe('Threads of each worker\'s verification pool (started on first use, stopped when idle).'),
    })
    .strict();
}
