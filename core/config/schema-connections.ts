// The top-level settings of the public listeners and the connections they carry: bind address,
// limits and timeouts (peek, upstream connect, idle pipes, drain). Part of the config schema.
import { z } from 'zod';
import { parseIp } from '../tables/ip-address.js';

export const MAX_CONNECTIONS_LIMIT = 10_000_000;
/** max_connections, process-wide or on one edge. */
export const edgeMaxConnections = z.number().int('max_connections must be an integer')
  .min(1, `max_connections must be 1..${MAX_CONNECTIONS_LIMIT}`).max(MAX_CONNECTIONS_LIMIT, `max_connections must be 1..${MAX_CONNECTIONS_LIMIT}`);

/** Fields spread into the top level of the config. */
export function connectionSettings() {
  return {
    listen_address: z.string().refine((s) => parseIp(s) !== null, 'listen_address must be an IP address').default('0.0.0.0')
      .describe('Bind address of the https/tls edge ports (tcp edges bind the host of their hostport).'),
    drain_timeout: z.number().min(0, 'drain_timeout must not be negative').default(30).describe('Seconds that open connections may take to finish after SIGTERM.'),
    peek_timeout: z.number().positive('peek_timeout must be more than 0').default(10).describe('Seconds a TLS client may take to send its ClientHello.'),
    max_connections: edgeMaxConnections.optional()
      .describe(`Connections the process may have open at once on its edge listeners (tunnel legs included; admin and gRPC not), 1..${MAX_CONNECTIONS_LIMIT}. Beyond it a new connection is closed as soon as it is accepted, before any byte is read, and counted as edgeplane_acceptor_refusals_total{reason="max_connections"}. Default: the open-files limit (RLIMIT_NOFILE) less 256, halved, since each proxied connection holds two descriptors.`),
    upstream_connect_timeout: z.number().positive('upstream_connect_timeout must be more than 0').max(300, 'upstream_connect_timeout must be at most 300 seconds').default(10)
      .describe('Seconds a dial to an upstream (static address, tunnel) may take before it counts as failed: failover moves on, or the client gets 504 (https) or is closed (tcp/tls).'),
    tcp_idle_timeout: z.number().min(0, 'tcp_idle_timeout must not be negative (0 = off)').default(300).describe('Seconds without bytes either way before a tcp/tls pipe is closed (0 = off).'),
    max_client_hello_bytes: z.number().int().min(1024, 'max_client_hello_bytes must be 1024..65536').max(65536, 'max_client_hello_bytes must be 1024..65536').default(16384).describe('Largest ClientHello accepted, 1 KiB..64 KiB.'),
  };
}
