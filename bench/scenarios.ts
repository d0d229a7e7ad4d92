import { measureBulk, measureConns, type MeasureContext, type Measured } from './measure.js';

export const ALL_SCENARIOS = ['tls-passthrough-conns', 'tls-passthrough-bulk', 'tcp-bulk'] as const;
export type ScenarioName = (typeof ALL_SCENARIOS)[number];

/** How a scenario is driven and how its numbers read. */
export interface Scenario {
  name: ScenarioName;
  title: string;
  /** which of a proxy's ports it uses */
  port: 'tls' | 'tcp';
  rateUnit: string;
  cpuUnit: string;
  measure: (m: MeasureContext, port: number) => Promise<Measured>;
}

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
};
