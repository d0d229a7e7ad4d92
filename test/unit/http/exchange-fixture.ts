// A plain Exchange for unit tests: what an engine would fill in for one HTTPS request.
import type { ConnectionInfo, Exchange, HeaderList } from '../../../workers/http/exchange.js';

export interface ExchangeOverrides extends Partial<Omit<Exchange, 'conn'>> {
  conn?: Partial<ConnectionInfo>;
}

export function makeExchange(overrides: ExchangeOverrides = {}): Exchange {
  const { conn, ...rest } = overrides;
  const requestHeaders: HeaderList = rest.requestHeaders ?? ['host', 'app.example.test', 'user-agent', 'curl/8.5.0', 'accept', '*/*'];
  return {
    conn: {
      clientIp: '203.0.113.7',
      clientPort: 51234,
      serverIp: '198.51.100.1',
      serverPort: 443,
      serverName: 'app.example.test',
      startMs: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
      tlsVersion: 'TLSv1.3',
      tlsCipher: 'TLS_AES_128_GCM_SHA256',
      ja4: 't13d1516h2_8daaf6152771_e5627efa2ab1',
      clientCert: null,
      ...conn,
    },
    edgeId: 'edghts_1',
    edgeSlot: 0,
    readBody: () => Promise.resolve(Buffer.alloc(0)),
    routeId: 'edghtsrt_1',
    method: 'GET',
    rawUrl: '/api/items?limit=5',
    path: '/api/items',
    query: 'limit=5',
    host: 'app.example.test',
    version: '1.1',
    requestHeaders,
    upstreamHeaders: rest.upstreamHeaders ?? requestHeaders.slice(),
    status: 0,
    responseHeaders: [],
    vars: {},
    startMs: Date.now(),
    requestBodyBytes: 0,
    responseBodyBytes: 0,
    errorCode: '',
    ...rest,
  };
}
