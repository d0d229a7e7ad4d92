// Automatic certificates (issue 9): a reserved domain's `certificate_management_policy` (spec §1.3) and
// the server-wide `acme:` settings (which ACME directory, who to tell, when to renew). Part of the config
// schema (schema.ts assembles it).
import { z } from 'zod';

const custom = z.ZodIssueCode.custom;

export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';
export const DEFAULT_RENEW_BEFORE_DAYS = 30;

/** spec §1.3: `authority` is only letsencrypt; `private_key_type` ecdsa (default) or rsa; null = off. */
export const certificateManagementPolicySchema = z
  .object({
    authority: z.enum(['letsencrypt'], { errorMap: () => ({ message: "authority must be 'letsencrypt'" }) })
      .describe('Required. The certificate authority: letsencrypt (whatever ACME directory acme.directory_url names).'),
    private_key_type: z.enum(['ecdsa', 'rsa'], { errorMap: () => ({ message: "private_key_type must be 'ecdsa' or 'rsa'" }) }).default('ecdsa')
      .describe('Key of the issued certificate: ecdsa (P-256, default) or rsa (2048 bits).'),
  })
  .strict()
  .nullish()
  .transform((v) => v ?? null);

/** `acme:` — edgeplane settings for every domain with a certificate_management_policy. */
export function acmeSettingsSchema(pemSource: z.ZodType<string, z.ZodTypeDef, unknown>, secretPemSource: z.ZodType<string, z.ZodTypeDef, unknown>) {
  return z
    .object({
      directory_url: z.string().default(LETS_ENCRYPT_DIRECTORY).superRefine((text, ctx) => {
        let url: URL;
        try { url = new URL(text); } catch { return void ctx.addIssue({ code: custom, message: 'directory_url must be a URL such as https://acme-v02.api.letsencrypt.org/directory' }); }
        // RFC 8555 §6.1: ACME runs over HTTPS only (account keys sign every request, but the nonces and directory must not be tampered with)
        if (url.protocol !== 'https:') ctx.addIssue({ code: custom, message: 'directory_url must be an https URL (RFC 8555 §6.1)' });
      }).describe('The ACME directory. Default: Let\'s Encrypt production.'),
      email: z.string().email('email must be an email address').nullish().transform((v) => v ?? null)
        .describe('Contact address of the ACME account (expiry notices). Optional.'),
      directory_ca: pemSource.optional()
        .describe('Extra CA (PEM, { file } or { env }) trusted for the directory\'s HTTPS: a private ACME server or pebble in tests.'),
      renew_before: z.number().positive('renew_before must be more than 0 days').default(DEFAULT_RENEW_BEFORE_DAYS)
        .describe('Days before expiry at which a certificate is renewed. Default 30.'),
      account_key: secretPemSource.optional()
        .describe('The ACME account key (PEM, { file } or { env }). Default: one made at first use and kept in the state directory. Shown as [redacted] in /config.'),
    })
    .strict();
}

export type AcmeSettings = z.output<ReturnType<typeof acmeSettingsSchema>>;
export type CertificateManagementPolicy = NonNullable<z.output<typeof certificateManagementPolicySchema>>;
