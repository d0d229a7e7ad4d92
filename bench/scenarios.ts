import { measureBulk, measureConns, type MeasureContext, type Measured } from './measure.js';
import { APP_HOST, measureBreaker, measureGzip, measureWrk } from './measure-http.js';
import type { PortKind } from './peers/registry.js';

export const ALL_SCENARIOS = [
  'tls-passthrough-conns', 'tls-passthrough-bulk', 'tcp-bulk',
  'http-keepalive', 'https-keepalive', 'https-handshake', 'http-gzip-json', 'http-breaker',
] as const;
export type ScenarioName = (typeof ALL_SCENARIOS)[number];

/** A per-point figure besides rate and CPU, read from the point's detail (median over reps in the report). */
export interface Extra {
  header: string;
  // detail is the JSON a measure function stored (wrk, tlsload, body check or breaker result)
  pick: (detail: any) => number | null | undefined;
  digits: number;
  /** also a row of the summary table */
  summary?: boolean;
}

/** How a scenario is driven and how its numbers read. */
export interface Scenario {
  name: ScenarioName;
  title: string;
  /** which of a proxy's ports it uses (and so which job, i.e. which config, the proxy runs) */
  port: PortKind;
  rateUnit: string;
  cpuUnit: string;
  /** digits of the CPU column (default: 2 for MB/s scenarios, else 0) */
  cpuDigits?: number;
  /** issue 3's name for it, shown in the report */
  tag?: string;
  extras?: Extra[];
  measure: (m: MeasureContext, port: number) => Promise<Measured>;
}

const ms = (us: number | undefined): number | undefined => (us === undefined ? undefined : us / 1000);
const LATENCY: Extra[] = [
  { header: 'p50 ms', pick: (d) => ms(d?.p50_us), digits: 2 },
  { header: 'p99 ms', pick: (d) => ms(d?.p99_us), digits: 2, summary: true },
];

export const SCENARIOS: Record<ScenarioName, Scenario> = {
  'tls-passthrough-conns': {
    name: 'tls-passthrough-conns', port: 'tls', rateUnit: 'conn/s', cpuUnit: 'proxy CPU µs/conn',
    title: 'TLS passthrough by SNI: new TLS 1.3 connections/s (full handshake at the origin, GET /small, close)',
    measure: measureConns,
  },
  'tls-passthrough-bulk': {
    name: 'tls-passthrough-bulk', port: 'tls', rateUnit: 'MB/s', cpuUnit: 'proxy CPU-s/GB',
    title: 'TLS passthrough by SNI: sequential 64 MiB downloads over TLS 1.3 (MB/s, 1 MB = 10^6 B)',
    measure: (m, port) => measureBulk(m, port, true),
  },
  'tcp-bulk': {
    name: 'tcp-bulk', port: 'tcp', rateUnit: 'MB/s', cpuUnit: 'proxy CPU-s/GB',
    title: 'TCP forwarding: sequential 64 MiB downloads over plain TCP (HTTP/1.1 GET /big; MB/s, 1 MB = 10^6 B)',
    measure: (m, port) => measureBulk(m, port, false),
  },
  'http-keepalive': {
    name: 'http-keepalive', port: 'http', rateUnit: 'req/s', cpuUnit: 'proxy CPU µs/req', cpuDigits: 1, tag: 'S1',
    title: `HTTP/1.1 reverse proxy, keep-alive: wrk 64 connections, GET /small (95 B), Host: ${APP_HOST}`,
    extras: LATENCY,
    measure: (m, port) => measureWrk(m, { port, tls: false, host: APP_HOST, path: '/small' }),
  },
  'https-keepalive': {
    name: 'https-keepalive', port: 'https', rateUnit: 'req/s', cpuUnit: 'proxy CPU µs/req', cpuDigits: 1, tag: 'S2a',
    title: 'HTTPS terminated at the proxy (TLS 1.3, ECDSA P-256), keep-alive: wrk 64 connections, GET /small, cleartext to the origin (direct = the origin terminating TLS)',
    extras: LATENCY,
    measure: (m, port) => measureWrk(m, { port, tls: true, host: APP_HOST, path: '/small' }),
  },
  'https-handshake': {
    name: 'https-handshake', port: 'https', rateUnit: 'conn/s', cpuUnit: 'proxy CPU µs/conn', cpuDigits: 0, tag: 'S2b',
    title: 'HTTPS terminated at the proxy: one full TLS 1.3 handshake per request (tlsload 64 workers, no resumption, GET /small, Connection: close; direct = the origin terminating TLS)',
    extras: LATENCY,
    measure: measureConns,
  },
  'http-gzip-json': {
    name: 'http-gzip-json', port: 'gzip', rateUnit: 'req/s', cpuUnit: 'proxy CPU µs/req', cpuDigits: 0, tag: 'S4',
    title: 'gzip of a ~100 KB JSON body (GET /json, Accept-Encoding: gzip), keep-alive, wrk 64 connections (direct = the origin, uncompressed)',
    extras: [
      { header: 'body bytes', pick: (d) => d?.body?.body_bytes, digits: 0, summary: true },
      ...LATENCY,
    ],
    measure: measureGzip,
  },
  'http-breaker': {
    name: 'http-breaker', port: 'breaker', rateUnit: 'req/s while open', cpuUnit: 'proxy CPU µs/req (whole run)', cpuDigits: 1, tag: 'breaker',
    title: 'Circuit breaker under load: 64 keep-alive connections; the upstream answers 500 until told to recover (share = requests the upstream received ÷ responses, while open)',
    extras: [
      { header: 'upstream share while open %', pick: (d) => (d?.open?.share == null ? null : 100 * d.open.share), digits: 2, summary: true },
      { header: 'time to trip s', pick: (d) => (d?.trip_ms == null ? null : d.trip_ms / 1000), digits: 1 },
      { header: 'time to close after recovery s', pick: (d) => (d?.recover_ms == null ? null : d.recover_ms / 1000), digits: 1, summary: true },
    ],
    measure: measureBreaker,
  },
};
