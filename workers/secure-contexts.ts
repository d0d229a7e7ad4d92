// SecureContexts for edges that terminate TLS. Creating one parses keys and certificates, so
// contexts are cached by content (lru-cache) and a reload that keeps a certificate reuses it.
import { createHash } from 'node:crypto';
import tls from 'node:tls';
import { LRUCache } from 'lru-cache';
import type { CertificateSpec, EdgeSpec } from '../core/generation/spec.js';
import { EDGE_CIPHERS } from '../core/tls/ciphers.js';

const contexts = new LRUCache<string, tls.SecureContext>({ max: 4096 });

export function secureContextFor(cert: CertificateSpec, edge: Pick<EdgeSpec, 'minVersion' | 'clientCaPems'>): tls.SecureContext {
  const hash = createHash('sha256').update(cert.certPem).update('\0').update(cert.keyPem).update('\0').update(edge.minVersion);
  for (const ca of edge.clientCaPems ?? []) hash.update('\0ca\0').update(ca);
  const key = hash.digest('base64');
  let context = contexts.get(key);
  if (context === undefined) {
    context = tls.createSecureContext({
      cert: cert.certPem,
      key: cert.keyPem,
      minVersion: edge.minVersion,
      ciphers: EDGE_CIPHERS,
      honorCipherOrder: true,
      ca: edge.clientCaPems ?? undefined,
    });
    contexts.set(key, context);
  }
  return context;
}
