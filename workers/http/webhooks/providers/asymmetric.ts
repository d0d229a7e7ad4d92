// Providers that sign with a private key the edge never sees: Amazon SNS (RSA, key from a certificate
// fetched from AWS) and SendGrid (ECDSA P-256, public key pasted as the route's secret).
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { ProviderContext, ProviderDefinition, ProviderVerifier, Verdict, WebhookRequest } from '../types.js';
import { ALLOW, refuse } from '../types.js';
import { checkTimestamp, decode, DEFAULT_TOLERANCE_SECONDS, header, parseUnixTimestamp } from '../crypto.js';

// ---------------------------------------------------------------- Amazon SNS

type SnsMessageType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

/** The fields of each message type that SNS signs, in signing order ('Subject' only when present). */
const SNS_SIGNED_FIELDS: Record<SnsMessageType, readonly string[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};
const SNS_OPTIONAL_FIELDS = new Set(['Subject']);

/** SignatureVersion → digest of the RSA PKCS#1 v1.5 signature. */
const SNS_DIGESTS: Record<string, 'sha1' | 'sha256'> = { '1': 'sha1', '2': 'sha256' };

/**
 * SNS sends these headers unsigned. Upstreams commonly dispatch on them (AWS's docs read the message
 * type from the header), so a present header must agree with the signed body field, or a signed
 * Notification could be replayed as a "SubscriptionConfirmation". Absent headers are allowed.
 */
const SNS_HEADER_FIELDS: readonly (readonly [string, string])[] = [
  ['x-amz-sns-message-type', 'Type'],
  ['x-amz-sns-message-id', 'MessageId'],
  ['x-amz-sns-topic-arn', 'TopicArn'],
];

function isSnsMessageType(value: unknown): value is SnsMessageType {
  return typeof value === 'string' && Object.hasOwn(SNS_SIGNED_FIELDS, value);
}

function parseJsonObject(body: Uint8Array): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** `{key}\n{value}\n` for each signed field present, or the name of a missing/non-string field. */
function snsCanonicalString(message: Record<string, unknown>, type: SnsMessageType): { ok: true; text: string } | { ok: false; field: string } {
  let text = '';
  for (const field of SNS_SIGNED_FIELDS[type]) {
    const value = message[field];
    if ((value === undefined || value === null) && SNS_OPTIONAL_FIELDS.has(field)) continue;
    if (typeof value !== 'string') return { ok: false, field };
    text += `${field}\n${value}\n`;
  }
  return { ok: true, text };
}

async function verifySns(request: WebhookRequest, ctx: ProviderContext): Promise<Verdict> {
  const message = parseJsonObject(request.body);
  if (message === null) return refuse('malformed_request', 'body is not a JSON object');
  const type = message['Type'];
  if (!isSnsMessageType(type)) return refuse('malformed_request', 'Type is not an SNS message type');
  for (const [name, field] of SNS_HEADER_FIELDS) {
    const value = header(request.headers, name);
    if (value !== undefined && value !== message[field]) return refuse('malformed_request', `${name} header does not match the signed ${field}`);
  }

  const signatureText = message['Signature'];
  if (typeof signatureText !== 'string' || signatureText === '') return refuse('missing_signature');
  const digest = typeof message['SignatureVersion'] === 'string' ? SNS_DIGESTS[message['SignatureVersion']] : undefined;
  if (digest === undefined) return refuse('malformed_signature', 'SignatureVersion must be "1" or "2"');
  const signature = decode(signatureText, 'base64');
  if (signature === null) return refuse('malformed_signature', 'Signature is not base64');
  const canonical = snsCanonicalString(message, type);
  if (!canonical.ok) return refuse('malformed_request', `${type} lacks the string field ${canonical.field}`);

  const certUrl = message['SigningCertURL'];
  if (typeof certUrl !== 'string' || certUrl === '') return refuse('malformed_request', 'SigningCertURL is missing');
  if (ctx.snsCertificates === undefined) return refuse('certificate_unavailable', 'no SNS certificate source configured');
  const found = await ctx.snsCertificates.publicKey(certUrl);
  if (!found.ok) return refuse('certificate_unavailable', found.detail);

  return rsaVerifies(digest, canonical.text, found.key, signature) ? ALLOW : refuse('signature_mismatch');
}

function rsaVerifies(digest: 'sha1' | 'sha256', data: string, key: KeyObject, signature: Buffer): boolean {
  try {
    return verifySignature(digest, Buffer.from(data, 'utf8'), key, signature);
  } catch {
    return false; // e.g. a signature longer than the modulus
  }
}

const sns: ProviderDefinition = {
  id: 'sns',
  name: 'Amazon SNS',
  confirmed: true,
  secret: 'forbidden',
  // The signed Timestamp is the publish time and stays the same on retries; AWS checks no age either.
  toleranceSeconds: null,
  asymmetric: true,
  describe: 'JSON body `Signature`: RSA SHA1 (v1) / SHA256 (v2) of the canonical message fields, key from the certificate at `SigningCertURL` (sns.<region>.amazonaws.com only)',
  create(_secret: string, ctx: ProviderContext): ProviderVerifier {
    return { verify: (request) => verifySns(request, ctx) };
  },
};

// ---------------------------------------------------------------- SendGrid

const SENDGRID_SIGNATURE = 'x-twilio-email-event-webhook-signature';
const SENDGRID_TIMESTAMP = 'x-twilio-email-event-webhook-timestamp';

/** SendGrid's verification key: base64 DER SubjectPublicKeyInfo of a P-256 key (PEM armour tolerated). */
function parseSendgridKey(secret: string): { ok: true; key: KeyObject } | { ok: false; problem: string } {
  const text = secret.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s+/g, '');
  const der = decode(text, 'base64');
  if (der === null) return { ok: false, problem: 'the SendGrid verification key must be base64 (as shown under Signed Event Webhook Requests)' };
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    return { ok: false, problem: 'the SendGrid verification key is not a DER public key' };
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    return { ok: false, problem: 'the SendGrid verification key must be an ECDSA P-256 public key' };
  }
  return { ok: true, key };
}

function verifySendgrid(request: WebhookRequest, key: KeyObject, toleranceSeconds: number): Verdict {
  const signatureText = header(request.headers, SENDGRID_SIGNATURE);
  if (signatureText === undefined || signatureText.trim() === '') return refuse('missing_signature');
  const timestamp = header(request.headers, SENDGRID_TIMESTAMP);
  // before the ECDSA check: stale requests cost nothing
  const stale = checkTimestamp(parseUnixTimestamp(timestamp), request.nowMs, toleranceSeconds);
  if (stale !== null) return stale;
  const signature = decode(signatureText, 'base64');
  if (signature === null) return refuse('malformed_signature', 'signature is not base64');
  const signed = Buffer.concat([Buffer.from(timestamp!, 'utf8'), request.body]);
  try {
    return verifySignature('sha256', signed, { key, dsaEncoding: 'der' }, signature) ? ALLOW : refuse('signature_mismatch');
  } catch {
    return refuse('malformed_signature', 'signature is not a DER ECDSA signature');
  }
}

const sendgrid: ProviderDefinition = {
  id: 'sendgrid',
  name: 'SendGrid (signed Event Webhook)',
  confirmed: true,
  secret: 'required',
  checkSecret: (secret) => {
    const parsed = parseSendgridKey(secret);
    return parsed.ok ? null : parsed.problem;
  },
  // SendGrid names no window, so the default applies
  toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
  asymmetric: true,
  describe: '`X-Twilio-Email-Event-Webhook-Signature`: base64 DER ECDSA P-256/SHA-256 of `{timestamp}{body}`; secret = the base64 verification key',
  create(secret: string): ProviderVerifier {
    const parsed = parseSendgridKey(secret);
    if (!parsed.ok) throw new Error(parsed.problem);
    const key = parsed.key;
    return { verify: (request) => verifySendgrid(request, key, sendgrid.toleranceSeconds!) };
  },
};

export const ASYMMETRIC_PROVIDERS: ProviderDefinition[] = [sns, sendgrid];
