// Signers for the body-HMAC providers: each signs the raw body the way the provider does, written from
// shared/spec/webhook-providers.md with node:crypto, or by the provider's SDK where it can sign (GitHub:
// @octokit/webhooks-methods, Modern Treasury: modern-treasury). Independent of the verifiers under test.
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import type { SignedWebhook, SignInput, WebhookSigner } from './types.js';

const require = createRequire(import.meta.url);

interface SpecScheme {
  provider: string;
  header: string;
  algorithm: 'sha1' | 'sha256' | 'sha512';
  encoding: 'hex' | 'base64';
  /** Text the provider writes before the digest (e.g. `sha256=`). */
  prefix?: string;
  /** The secret is base64 and its decoded bytes are the key (Microsoft Teams). */
  base64Secret?: boolean;
  body: string;
  contentType?: string;
  /** Other headers the provider sends with every delivery (event names, ids). */
  extra?: Record<string, string>;
}

const JSON_TYPE = 'application/json';

function secretsFor(provider: string, base64Secret: boolean): { secret: string; wrong: string } {
  if (base64Secret) {
    return {
      secret: Buffer.from(`${provider} security token 7d1c`).toString('base64'),
      wrong: Buffer.from(`${provider} another token 0000`).toString('base64'),
    };
  }
  return { secret: `${provider}_whsec_4b7e9a0c2f`, wrong: `${provider}_whsec_wrong_000000` };
}

function baseSigner(scheme: SpecScheme, oracle: string, digestOf: (input: SignInput, body: Buffer) => string | Promise<string>): WebhookSigner {
  const { secret, wrong } = secretsFor(scheme.provider, scheme.base64Secret === true);
  return {
    provider: scheme.provider,
    configSecret: secret,
    signingSecret: secret,
    wrongSecret: wrong,
    signatureHeader: scheme.header,
    toleranceSeconds: null,
    oracle,
    confirmed: true,
    async sign(input: SignInput): Promise<SignedWebhook> {
      const body = input.body ?? Buffer.from(scheme.body);
      return {
        method: 'POST',
        pathAndQuery: new URL(input.url).pathname,
        headers: {
          'Content-Type': scheme.contentType ?? JSON_TYPE,
          ...scheme.extra,
          [scheme.header]: await digestOf(input, body),
        },
        body,
      };
    },
  };
}

/** Spec signer: `prefix + encode(HMAC(secret, body))`. */
function specSigner(scheme: SpecScheme): WebhookSigner {
  return baseSigner(scheme, 'spec', (input, body) => {
    const key = scheme.base64Secret === true ? Buffer.from(input.secret, 'base64') : Buffer.from(input.secret, 'utf8');
    return (scheme.prefix ?? '') + createHmac(scheme.algorithm, key).update(body).digest(scheme.encoding);
  });
}

interface ModernTreasuryClient {
  webhooks: { getSignature(payload: string, opts: { key: string }): string };
}
function modernTreasuryClient(): ModernTreasuryClient {
  const mod = require('modern-treasury') as { default: new (opts: object) => ModernTreasuryClient };
  return new mod.default({ apiKey: 'test-api-key', organizationID: 'test-org' });
}

const sha256Hex = { algorithm: 'sha256', encoding: 'hex' } as const;
const sha256B64 = { algorithm: 'sha256', encoding: 'base64' } as const;
const sha1Hex = { algorithm: 'sha1', encoding: 'hex' } as const;

export const BODY_HMAC_SIGNERS: WebhookSigner[] = [
  specSigner({
    provider: 'aftership', header: 'aftership-hmac-sha256', ...sha256B64,
    body: '{"event":"tracking_update","msg":{"id":"5b0a1c7e","tracking_number":"1Z999AA10123456784","slug":"ups","tag":"InTransit"},"ts":1711111111}',
  }),
  specSigner({
    provider: 'autodesk_forge', header: 'x-adsk-signature', algorithm: 'sha1', encoding: 'hex', prefix: 'sha1hash=',
    body: '{"version":"1.0.0","resourceUrn":"urn:adsk.wipprod:fs.file:vf.abc?version=1","hook":{"system":"data","event":"dm.version.added"},"payload":{"name":"model.rvt"}}',
  }),
  specSigner({
    provider: 'bitbucket', header: 'X-Hub-Signature', ...sha256Hex, prefix: 'sha256=',
    extra: { 'X-Event-Key': 'repo:push' },
    body: '{"push":{"changes":[{"new":{"type":"branch","name":"main"}}]},"repository":{"full_name":"team/repo"},"actor":{"display_name":"Ada"}}',
  }),
  specSigner({
    provider: 'bolt', header: 'X-Bolt-Hmac-Sha256', ...sha256B64,
    body: '{"type":"payment","object":"transaction","data":{"id":"TAe9B3","amount":{"amount":2599,"currency":"USD"},"status":"authorized"}}',
  }),
  specSigner({
    provider: 'castle', header: 'X-Castle-Signature', ...sha256B64,
    body: '{"api_version":"v1","app_id":"492314","type":"$incident.confirmed","created_at":"2024-03-22T12:00:00.000Z","data":{"id":"test","user_id":"u_42"}}',
  }),
  specSigner({
    provider: 'chargify', header: 'X-Chargify-Webhook-Signature-Hmac-Sha-256', ...sha256Hex,
    contentType: 'application/x-www-form-urlencoded', extra: { 'X-Chargify-Webhook-Id': '8231' },
    body: 'id=8231&event=signup_success&payload%5Bsubscription%5D%5Bid%5D=1234&payload%5Bsubscription%5D%5Bstate%5D=active',
  }),
  specSigner({
    provider: 'circleci', header: 'circleci-signature', ...sha256Hex, prefix: 'v1=',
    extra: { 'Circleci-Event-Type': 'workflow-completed' },
    body: '{"type":"workflow-completed","id":"3888f21b-eaa7-38e3-8f3d-75a63bba8895","happened_at":"2024-03-22T12:00:00Z","workflow":{"name":"build","status":"success"}}',
  }),
  specSigner({
    provider: 'clearbit', header: 'X-Request-Signature', ...sha1Hex, prefix: 'sha1=',
    body: '{"id":"custom-id","status":200,"type":"person","body":{"name":{"fullName":"Ada Lovelace"},"email":"ada@example.com"}}',
  }),
  specSigner({
    provider: 'coinbase', header: 'X-CC-Webhook-Signature', ...sha256Hex,
    body: '{"attempt_number":1,"event":{"api_version":"2018-03-22","created_at":"2024-03-22T12:00:00Z","data":{"code":"66BEOV2A","name":"Coffee"},"id":"24934862-d980-46cb-9402-43c81b0cdba6","type":"charge:created"},"id":1}',
  }),
  specSigner({
    provider: 'docusign', header: 'X-DocuSign-Signature-1', ...sha256B64,
    extra: { 'x-authorization-digest': 'HMACSHA256' },
    body: '{"event":"envelope-completed","apiVersion":"v2.1","uri":"/restapi/v2.1/accounts/1/envelopes/93be49ab","retryCount":0,"data":{"envelopeId":"93be49ab-afa0-4adf-933c-f752070d71ec"}}\r\n',
  }),
  specSigner({
    provider: 'dropbox', header: 'X-Dropbox-Signature', ...sha256Hex,
    body: '{"list_folder":{"accounts":["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]},"delta":{"users":[12345678]}}',
  }),
  specSigner({
    provider: 'facebook_graph_api', header: 'X-Hub-Signature-256', ...sha256Hex, prefix: 'sha256=',
    body: '{"object":"page","entry":[{"id":"1234567890","time":1711111111,"changes":[{"field":"feed","value":{"item":"status","verb":"add","message":"caf\\u00e9"}}]}]}',
  }),
  specSigner({
    provider: 'facebook_messenger', header: 'X-Hub-Signature-256', ...sha256Hex, prefix: 'sha256=',
    body: '{"object":"page","entry":[{"id":"1234567890","time":1711111111,"messaging":[{"sender":{"id":"42"},"recipient":{"id":"1234567890"},"message":{"mid":"m_1","text":"hi"}}]}]}',
  }),
  baseSigner(
    {
      provider: 'github', header: 'X-Hub-Signature-256', ...sha256Hex, prefix: 'sha256=',
      extra: { 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' },
      body: '{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","repository":{"full_name":"octo/hello"},"pusher":{"name":"octocat"}}',
    },
    'sdk:@octokit/webhooks-methods',
    (input, body) => octokitSign(input.secret, body.toString('utf8')),
  ),
  specSigner({
    provider: 'heroku', header: 'Heroku-Webhook-Hmac-SHA256', ...sha256B64,
    extra: { 'Heroku-Webhook-Id': '2ef1a1f6-0a34-4f38-9cf2-9a4b5e2c1d11' },
    body: '{"id":"7f2a0a5e","action":"update","resource":"api:release","data":{"app":{"name":"example-app"},"version":42,"status":"succeeded"}}',
  }),
  specSigner({
    provider: 'intercom', header: 'X-Hub-Signature', ...sha1Hex, prefix: 'sha1=',
    body: '{"type":"notification_event","app_id":"ecahpwf5","topic":"conversation.user.created","id":"notif_1","data":{"item":{"type":"conversation","id":"147"}}}',
  }),
  specSigner({
    provider: 'launch_darkly', header: 'X-LD-Signature', ...sha256Hex,
    body: '{"_id":"5e6b2a1f","kind":"flag","name":"new-checkout","title":"Ada turned on new-checkout","accesses":[{"action":"updateOn","resource":"proj/default:env/production:flag/new-checkout"}]}',
  }),
  specSigner({
    provider: 'microsoft_teams', header: 'Authorization', ...sha256B64, prefix: 'HMAC ', base64Secret: true,
    body: '{"type":"message","id":"1485983408511","timestamp":"2024-03-22T12:00:00.000Z","text":"<at>Bot</at> status","from":{"name":"Ada"},"channelId":"msteams"}',
  }),
  baseSigner(
    {
      provider: 'modern_treasury', header: 'X-Signature', ...sha256Hex,
      extra: { 'X-Topic': 'payment_order' },
      body: '{"event":"completed","data":{"id":"0f8e3719-3dfd-4613-9bbf-c0333781b59f","object":"payment_order","amount":1000,"currency":"USD","status":"completed"}}',
    },
    'sdk:modern-treasury',
    (input, body) => modernTreasuryClient().webhooks.getSignature(body.toString('utf8'), { key: input.secret }),
  ),
  specSigner({
    provider: 'mongodb', header: 'X-MMS-Signature', algorithm: 'sha1', encoding: 'base64',
    extra: { 'X-MMS-Event': 'alert.open' },
    body: '{"id":"65fd5e0c","groupId":"5e9c1b2a","eventTypeName":"OUTSIDE_METRIC_THRESHOLD","status":"OPEN","metricName":"CONNECTIONS","created":"2024-03-22T12:00:00Z"}',
  }),
  specSigner({
    provider: 'pagerduty', header: 'X-PagerDuty-Signature', ...sha256Hex, prefix: 'v1=',
    body: '{"event":{"id":"01DEN3CL7JCXKN7ZFNTIBK3QS4","event_type":"incident.triggered","resource_type":"incident","occurred_at":"2024-03-22T12:00:00Z","data":{"id":"PGR0VU2","title":"CPU high"}}}',
  }),
  specSigner({
    provider: 'pusher', header: 'X-Pusher-Signature', ...sha256Hex,
    extra: { 'X-Pusher-Key': 'app-key-3c9f' },
    body: '{"time_ms":1711111111000,"events":[{"name":"channel_occupied","channel":"private-orders"}]}',
  }),
  specSigner({
    provider: 'sentry', header: 'Sentry-Hook-Signature', ...sha256Hex,
    extra: { 'Sentry-Hook-Resource': 'issue', 'Sentry-Hook-Timestamp': '1711111111' },
    body: '{"action":"created","installation":{"uuid":"7a485448-a9e2-4c85-8a3c-4f44175783c9"},"data":{"issue":{"id":"1170820242","title":"TypeError"}},"actor":{"type":"application"}}',
  }),
  specSigner({
    provider: 'shopify', header: 'X-Shopify-Hmac-Sha256', ...sha256B64,
    extra: {
      'X-Shopify-Topic': 'orders/create',
      'X-Shopify-Shop-Domain': 'example-shop.myshopify.com',
      'X-Shopify-API-Version': '2024-01',
      'X-Shopify-Webhook-Id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
    },
    body: '{"id":820982911946154508,"email":"jon@example.com","total_price":"403.00","currency":"USD","line_items":[{"title":"IPod Nano - 8GB","quantity":1}]}',
  }),
  specSigner({
    provider: 'signal_sciences', header: 'X-SigSci-Signature', ...sha256Hex,
    body: '{"created":"2024-03-22T12:00:00Z","type":"flag","payload":{"action":"flagged","reason":"SQLI","source":"198.51.100.7"}}',
  }),
  specSigner({
    provider: 'sonatype', header: 'X-Nexus-Webhook-Signature', ...sha1Hex,
    extra: { 'X-Nexus-Webhook-Id': 'rm:repository:component', 'X-Nexus-Webhook-Delivery': '7f2c0a96-5d1e-4b3e-9b3f-0a2e1f6c9d11' },
    body: '{"timestamp":"2024-03-22T12:00:00.000+0000","nodeId":"7FFA7361","initiator":"admin/127.0.0.1","repositoryName":"npm-internal","action":"CREATED","component":{"name":"left-pad","version":"1.3.0"}}',
  }),
  specSigner({
    provider: 'terraform', header: 'X-TFE-Notification-Signature', algorithm: 'sha512', encoding: 'hex',
    body: '{"payload_version":1,"notification_configuration_id":"nc-AeUQ2zfKZzW9TiGZ","run_url":"https://app.terraform.io/app/acme/workspaces/web/runs/run-1","notifications":[{"trigger":"run:completed","run_status":"applied"}]}',
  }),
  specSigner({
    provider: 'trendmicro_conformity', header: 'X-Conformity-Signature', ...sha256Hex,
    body: '{"id":"ccc:rule:S3-021","organisationId":"org-1","accountId":"acc-1","ruleId":"S3-021","status":"FAILURE","riskLevel":"HIGH"}',
  }),
  specSigner({
    provider: 'typeform', header: 'Typeform-Signature', ...sha256B64, prefix: 'sha256=',
    body: '{"event_id":"01H8XK","event_type":"form_response","form_response":{"form_id":"lT4Z3j","submitted_at":"2024-03-22T12:00:00Z","answers":[{"type":"text","text":"Lovelace"}]}}',
  }),
  specSigner({
    provider: 'webex', header: 'X-Spark-Signature', ...sha1Hex,
    body: '{"id":"Y2lzY29zcGFyazovL3VzL1dFQkhPT0sv","name":"messages","resource":"messages","event":"created","data":{"id":"msg-1","roomId":"room-1","personEmail":"ada@example.com"}}',
  }),
  specSigner({
    provider: 'xero', header: 'x-xero-signature', ...sha256B64,
    body: '{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/Contacts/717f2bfc","resourceId":"717f2bfc","eventDateUtc":"2024-03-22T12:00:00.000","eventType":"UPDATE","eventCategory":"CONTACT","tenantId":"c2cc9b6e","tenantType":"ORGANISATION"}],"firstEventSequence":1,"lastEventSequence":1,"entropy":"S0M3R4ND0MSTR1NG"}',
  }),
];
