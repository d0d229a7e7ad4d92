// mutual_tls on HTTPS edges (spec §1.6): what the verified client certificate tells the upstream.
// clientCertificateInfo runs once per TLS connection; mtlsUpstreamHeaders once per request.
import type { X509Certificate } from 'node:crypto';
import { headerSafeValue } from '../../core/http/templates.js';
import type { ClientCertificateInfo, HeaderList } from './exchange.js';

/** The spec's ngrok-mtls-* upstream headers; lists are comma-joined, empty ones left out. */
export function mtlsUpstreamHeaders(cert: ClientCertificateInfo): HeaderList {
  const out: HeaderList = [];
  const add = (name: string, value: string): void => {
    const safe = headerSafeValue(value);
    if (safe !== '') out.push(name, safe);
  };
  add('ngrok-mtls-subject-cn', cert.subjectCn);
  add('ngrok-mtls-subject-alt-name-dns', cert.sanDns.join(','));
  add('ngrok-mtls-email-addresses', cert.emailAddresses.join(','));
  add('ngrok-mtls-serial-number', cert.serialNumber);
  return out;
}

// Node prints subjectAltName as 'DNS:a, email:b, IP Address:c'; a value with special characters is
// JSON-quoted ('DNS:"b\u002c c"').
function parseSubjectAltName(text: string | undefined): Array<[kind: string, value: string]> {
  const out: Array<[string, string]> = [];
  if (text === undefined || text === '') return out;
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const kind = text.slice(i, colon).trim();
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      let end = colon + 2;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      try { value = JSON.parse(text.slice(colon + 1, end + 1)) as string; } catch { value = text.slice(colon + 2, end); }
      next = text.indexOf(', ', end);
    } else {
      next = text.indexOf(', ', colon);
      value = text.slice(colon + 1, next < 0 ? text.length : next);
    }
    out.push([kind, value]);
    if (next < 0) break;
    i = next + 2;
  }
  return out;
}

function attributeValues(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * The facts the edge passes on from a verified client certificate. With several CNs the last one is
 * used, as Go's crypto/x509 (and so ngrok) does; emails come from the SAN and the subject's emailAddress.
 */
export function clientCertificateInfo(cert: X509Certificate): ClientCertificateInfo {
  const legacy = cert.toLegacyObject();
  const subject = (legacy.subject ?? {}) as unknown as Record<string, string | string[] | undefined>;
  const commonNames = attributeValues(subject.CN);
  const san = parseSubjectAltName(cert.subjectAltName);
  const emails = [...san.filter(([kind]) => kind === 'email').map(([, v]) => v), ...attributeValues(subject.emailAddress)];
  return {
    subjectCn: commonNames.length === 0 ? '' : commonNames[commonNames.length - 1]!,
    sanDns: san.filter(([kind]) => kind === 'DNS').map(([, v]) => v),
    emailAddresses: [...new Set(emails)],
    serialNumber: cert.serialNumber.toUpperCase(),
  };
}
