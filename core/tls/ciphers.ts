// The cipher suites every TLS server of edgeplane offers (edges, the tunnel listener, agents ending TLS).
/**
 * Forward-secret AEAD suites only. Node's default list also offers CBC suites on TLS 1.2 (testssl.sh rates
 * them "average" and flags LUCKY13, test/long/testssl-scan.ts); every client that speaks TLS 1.2 has GCM or
 * ChaCha20. The TLS 1.3 suites are listed too: naming none would leave TLS 1.3 without suites.
 */
export const EDGE_CIPHERS = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');
