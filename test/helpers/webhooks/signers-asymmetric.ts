// Signers for the asymmetric providers, written from the spec with node:crypto (their SDKs only
// verify; the unit test lets them judge these signers). The "secrets" the signers get are private
// keys: what the provider holds. SNS's certificate for SNS_SIGNING_KEY is served by sns-cert-server.ts.
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import type { SignedWebhook, WebhookSigner } from './types.js';

export interface PemKeyPair { privateKey: string; publicKey: string }

function rsaKeyPair(): PemKeyPair {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

// ---------------------------------------------------------------- SendGrid

const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const sendgridOtherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

/** The verification key as SendGrid shows it: base64 of the DER SubjectPublicKeyInfo. */
export const SENDGRID_VERIFICATION_KEY = sendgridKeys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

const SENDGRID_EVENTS = Buffer.from(JSON.stringify([
  { email: 'ada@example.com', event: 'delivered', sg_event_id: 'ZGVsaXZlcmVkLTAtMjQ0', sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0', 'smtp-id': '<14c5d75ce93.dfd.64b469@ismtpd-555>', timestamp: 1700000000 },
]) + '\r\n');

export const sendgridSigner: WebhookSigner = {
  provider: 'sendgrid',
  configSecret: SENDGRID_VERIFICATION_KEY,
  signingSecret: sendgridKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  wrongSecret: sendgridOtherKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  signatureHeader: 'X-Twilio-Email-Event-Webhook-Signature',
  toleranceSeconds: 180,
  oracle: 'spec',
  confirmed: true,
  sign({ url, body, nowMs, secret }) {
    const payload = body ?? SENDGRID_EVENTS;
    const timestamp = String(Math.floor(nowMs / 1000));
    // ECDSA P-256 over timestamp+body, DER signature, base64
    const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), payload]), { key: secret, dsaEncoding: 'der' });
    return {
      method: 'POST',
      pathAndQuery: new URL(url).pathname,
      headers: {
        'content-type': 'application/json',
        'x-twilio-email-event-webhook-signature': signature.toString('base64'),
        'x-twilio-email-event-webhook-timestamp': timestamp,
      },
      body: payload,
    };
  },
};

// ---------------------------------------------------------------- Amazon SNS

/** The key SNS "holds": sns-cert-server.ts issues and serves a certificate for its public half. */
export const SNS_SIGNING_KEY: PemKeyPair = rsaKeyPair();
const snsOtherKey = rsaKeyPair();

export const SNS_DEFAULT_CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem';
const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:orders';

export type SnsMessageType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

export interface SnsSignerOptions {
  type?: SnsMessageType;
  signatureVersion?: '1' | '2';
  certUrl?: string;
  /** Notification subject; omitted from the message (and the signed string) when undefined. */
  subject?: string;
}

/** The string SNS signs: `{key}\n{value}\n` for each field of the type's list that is present. */
export function snsStringToSign(message: Record<string, string>): string {
  const fields = message['Type'] === 'Notification'
    ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
    : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return fields.filter((f) => message[f] !== undefined).map((f) => `${f}\n${message[f]}\n`).join('');
}

function snsMessage(type: SnsMessageType, text: string, nowMs: number, certUrl: string, version: '1' | '2', subject: string | undefined): Record<string, string> {
  const messageId = randomUUID();
  const timestamp = new Date(nowMs).toISOString();
  if (type === 'Notification') {
    return {
      Type: type, MessageId: messageId, TopicArn: TOPIC_ARN, ...(subject !== undefined ? { Subject: subject } : {}),
      Message: text, Timestamp: timestamp, SignatureVersion: version, SigningCertURL: certUrl,
      UnsubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${TOPIC_ARN}:${messageId}`,
    };
  }
  const token = 'f'.repeat(64) + messageId.replace(/-/g, '');
  return {
    Type: type, MessageId: messageId, Token: token, TopicArn: TOPIC_ARN, Message: text,
    SubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC_ARN}&Token=${token}`,
    Timestamp: timestamp, SignatureVersion: version, SigningCertURL: certUrl,
  };
}

function editJson(signed: SignedWebhook, edit: (message: Record<string, string>) => void): SignedWebhook {
  const message = JSON.parse(signed.body.toString('utf8')) as Record<string, string>;
  edit(message);
  return { ...signed, body: Buffer.from(JSON.stringify(message, null, 2)) };
}

export function createSnsSigner(options: SnsSignerOptions = {}): WebhookSigner {
  const type = options.type ?? 'Notification';
  const version = options.signatureVersion ?? '1';
  const certUrl = options.certUrl ?? SNS_DEFAULT_CERT_URL;
  return {
    provider: 'sns',
    configSecret: null,
    signingSecret: SNS_SIGNING_KEY.privateKey,
    wrongSecret: snsOtherKey.privateKey,
    signatureHeader: null,
    toleranceSeconds: null,
    oracle: 'spec',
    confirmed: true,
    sign({ url, body, nowMs, secret }) {
      const text = body?.toString('utf8') ?? (type === 'Notification'
        ? JSON.stringify({ orderId: 'o-1042', status: 'shipped' })
        : `You have chosen to subscribe to the topic ${TOPIC_ARN}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`);
      const message = snsMessage(type, text, nowMs, certUrl, version, type === 'Notification' ? options.subject : undefined);
      const digest = version === '1' ? 'sha1' : 'sha256';
      message['Signature'] = sign(digest, Buffer.from(snsStringToSign(message)), secret).toString('base64');
      return {
        method: 'POST',
        pathAndQuery: new URL(url).pathname,
        headers: {
          'content-type': 'text/plain; charset=UTF-8',
          'user-agent': 'Amazon Simple Notification Service Agent',
          'x-amz-sns-message-type': type,
          'x-amz-sns-message-id': message['MessageId']!,
          'x-amz-sns-topic-arn': TOPIC_ARN,
        },
        body: Buffer.from(JSON.stringify(message, null, 2)),
      };
    },
    // SNS signs JSON fields, not bytes: change a signed field, keeping the body valid JSON
    tamper: (signed) => editJson(signed, (m) => { m['Message'] = `${m['Message']} (edited)`; }),
    unsign: (signed) => editJson(signed, (m) => { delete m['Signature']; }),
  };
}

export const ASYMMETRIC_SIGNERS: WebhookSigner[] = [createSnsSigner({ subject: 'Order shipped' }), sendgridSigner];
