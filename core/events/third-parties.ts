// The third parties that receive event data (issue 7 point 5): destinations that send it off this
// machine (every target but file and stdout), with what they receive: which subscriptions, event
// types, fields and filters, and the data protection applied. Secrets are never shown.
import type { DataProtection, EventDestination } from './model.js';
import type { EventRouter, RouterResources } from './router.js';
import { targetKind } from './router.js';

const LOCAL_TARGETS = new Set(['file', 'stdout']);

export interface ThirdParty {
  destination_id: string;
  description: string;
  target: string;
  /** Where the data goes (a URL origin, a stream ARN, a site), without credentials. */
  recipient: string;
  format: EventDestination['format'];
  data_protection: DataProtection;
  receives: Array<{ subscription_id: string; data_protection: DataProtection; sources: Array<{ type: string; fields: string[]; filter: string }> }>;
  /** Null while the destination works; else why it is not sending. */
  problem: string | null;
}

function recipient(dest: EventDestination): string {
  const t = dest.target;
  if (t.http) { try { return new URL(t.http.url).origin; } catch { return '(invalid url)'; } }
  if (t.datadog) return t.datadog.endpoint ?? `https://http-intake.logs.${t.datadog.ddsite ?? 'datadoghq.com'}`;
  if (t.kinesis) return t.kinesis.stream_arn + (t.kinesis.endpoint ? ` via ${t.kinesis.endpoint}` : '');
  if (t.firehose) return t.firehose.delivery_stream_arn;
  if (t.cloudwatch_logs) return t.cloudwatch_logs.log_group_arn;
  if (t.azure_logs_ingestion) return t.azure_logs_ingestion.logs_ingestion_uri;
  return '';
}

export function thirdParties(resources: RouterResources, router: EventRouter): ThirdParty[] {
  return resources.destinations.filter((d) => !LOCAL_TARGETS.has(targetKind(d))).map((d) => ({
    destination_id: d.id,
    description: d.description,
    target: targetKind(d),
    recipient: recipient(d),
    format: d.format,
    data_protection: d.data_protection,
    receives: resources.subscriptions.filter((s) => s.destination_ids.includes(d.id)).map((s) => ({
      subscription_id: s.id,
      data_protection: s.data_protection,
      sources: s.sources.map((src) => ({ type: src.type, fields: src.fields, filter: src.filter })),
    })),
    problem: router.problem(d.id) ?? null,
  }));
}
