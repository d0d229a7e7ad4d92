// The read-only certificate fields of /tls_certificates and /certificate_authorities (spec §1.4),
// read from the parsed certificate. Node exposes no basic keyUsage, so that one extension is read
// from the DER directly.
import type { X509Certificate } from 'node:crypto';
import { rfc3339 } from '../resources.js';

const EXTENDED_KEY_USAGES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'server_auth',
  '1.3.6.1.5.5.7.3.2': 'client_auth',
  '1.3.6.1.5.5.7.3.3': 'code_signing',
  '1.3.6.1.5.5.7.3.4': 'email_protection',
  '1.3.6.1.5.5.7.3.8': 'time_stamping',
  '1.3.6.1.5.5.7.3.9': 'ocsp_signing',
  '2.5.29.37.0': 'any',
};

// RFC 5280 §4.2.1.3, bit 0 first.
const KEY_USAGE_BITS = ['digital_signature', 'content_commitment', 'key_encipherment', 'data_encipherment', 'key_agreement', 'cert_sign', 'crl_sign', 'encipher_only', 'decipher_only'];
const KEY_USAGE_OID = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f]);

/** The keyUsage extension's bits by name; [] when the certificate has none. */
export function keyUsages(cert: X509Certificate): string[] {
  const der = cert.raw;
  let at = der.indexOf(KEY_USAGE_OID);
  if (at < 0) return [];
  at += KEY_USAGE_OID.length;
  if (der[at] === 0x01) at += 2 + der[at + 1]!; // critical BOOLEAN
  if (der[at] !== 0x04) return []; // OCTET STRING wrapping a BIT STRING
  at += 2;
  if (der[at] !== 0x03) return [];
  const length = der[at + 1]!;
  const bytes = der.subarray(at + 3, at + 2 + length);
  return KEY_USAGE_BITS.filter((_name, bit) => (bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7)));
}

export function extendedKeyUsages(cert: X509Certificate): string[] {
  return (cert.keyUsage ?? []).map((oid) => EXTENDED_KEY_USAGES[oid] ?? oid);
}

/** One attribute of a distinguished name as node prints it ("CN=a\nO=b"); '' when absent. */
export function nameField(name: string, key: string): string {
  for (const line of name.split('\n')) {
    const eq = line.indexOf('=');
    if (line.slice(0, eq) === key) return line.slice(eq + 1);
  }
  return '';
}

export function subjectAlternativeNames(cert: X509Certificate): { dns_names: string[]; ips: string[] } {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const entry of (cert.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) dns.push(entry.slice(4));
    else if (entry.startsWith('IP Address:')) ips.push(entry.slice('IP Address:'.length));
  }
  return { dns_names: dns, ips };
}

/** The fields both certificate resources show. */
export function certificateFields(cert: X509Certificate) {
  return {
    subject_common_name: nameField(cert.subject, 'CN'),
    not_before: rfc3339(new Date(cert.validFrom)),
    not_after: rfc3339(new Date(cert.validTo)),
    key_usages: keyUsages(cert),
    extended_key_usages: extendedKeyUsages(cert),
  };
}

/** The subject and issuer fields /tls_certificates adds. */
export function subjectFields(cert: X509Certificate) {
  return {
    issuer_common_name: nameField(cert.issuer, 'CN'),
    serial_number: cert.serialNumber.toLowerCase(),
    subject_organization: nameField(cert.subject, 'O'),
    subject_organizational_unit: nameField(cert.subject, 'OU'),
    subject_locality: nameField(cert.subject, 'L'),
    subject_province: nameField(cert.subject, 'ST'),
    subject_country: nameField(cert.subject, 'C'),
  };
}
