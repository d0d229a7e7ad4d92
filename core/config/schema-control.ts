// The server-wide `control:` settings (issue 9): where the gRPC control-plane API listens. It shares the
// admin API's keys (admin.api_keys) for authentication.
import { z } from 'zod';
import { splitHostPort } from './syntax.js';

const custom = z.ZodIssueCode.custom;

export function controlSettingsSchema() {
  return z
    .object({
      grpc_listen: z.string().nullish().transform((v) => v ?? null).superRefine((text, ctx) => {
        if (text === null) return;
        const hp = splitHostPort(text, true);
        if ('error' in hp) ctx.addIssue({ code: custom, message: hp.error });
      }).describe('host:port of the gRPC control-plane API (proto/control.proto); absent or null = off. Clients authenticate with `authorization: Bearer <one of admin.api_keys>`.'),
      grpc_certificate_id: z.string().nullish().transform((v) => v ?? null)
        .describe('A tls_certificates id: serve the gRPC API over TLS with it (absent: cleartext HTTP/2, for loopback or a private network).'),
    })
    .strict();
}
