// Test-side signers: each produces a request signed the way the provider signs it, written from the
// spec (shared/spec/webhook-providers.md) or, where the provider publishes an npm SDK that signs, by that
// SDK. They never import the verifiers under test. The e2e test (test/e2e/webhook-verification.test.ts)
// runs every signer through the daemon; the unit tests also let SDKs that only verify judge them.

export interface SignedWebhook {
  method: string;
  /** Path and query of the request (the signer may add a query, e.g. Twilio's bodySHA256). */
  pathAndQuery: string;
  /** Header name → value; a value list sends the header several times. */
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export interface SignInput {
  /** The full URL the request is sent to: scheme://host:port/path (no query unless the signer adds one). */
  url: string;
  /** Body to sign; the signer picks a realistic default when absent. */
  body?: Buffer;
  /** Wall-clock ms the provider's timestamp is taken from. */
  nowMs: number;
  /** The secret to sign with (the provider's config secret, or for asymmetric schemes a private key the signer knows). */
  secret: string;
}

export interface WebhookSigner {
  /** ngrok identifier. */
  provider: string;
  /** What goes in the route's `secret` (null: sns takes none). */
  configSecret: string | null;
  /** A secret that signs validly but is not the configured one (the "wrong secret" case). */
  signingSecret: string;
  wrongSecret: string;
  sign(input: SignInput): SignedWebhook | Promise<SignedWebhook>;
  /**
   * Removes what makes the request signed (the "missing header" case): by default the header named
   * here is dropped; signers whose signature lives in the body override `unsign`.
   */
  signatureHeader: string | null;
  unsign?(signed: SignedWebhook): SignedWebhook;
  /** Changes the body after signing (the "tampered body" case); default flips the last byte. */
  tamper?(signed: SignedWebhook): SignedWebhook;
  /** Seconds of tolerance when the provider signs a timestamp; null = no stale case. */
  toleranceSeconds: number | null;
  /** Where the signature comes from: 'sdk:<npm package>' or 'spec' (node:crypto, from the spec's description). */
  oracle: string;
  /** False where the spec marks the provider unconfirmed. */
  confirmed: boolean;
}

export function tamperLastByte(signed: SignedWebhook): SignedWebhook {
  const body = Buffer.from(signed.body);
  if (body.length === 0) return { ...signed, body: Buffer.from('x') };
  body[body.length - 1] = body[body.length - 1]! ^ 0x01;
  return { ...signed, body };
}

export function withoutHeader(signed: SignedWebhook, name: string): SignedWebhook {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(signed.headers)) if (k.toLowerCase() !== name.toLowerCase()) headers[k] = v;
  return { ...signed, headers };
}
