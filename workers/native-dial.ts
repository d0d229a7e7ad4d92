// Dials a plain-TCP upstream given as a literal IP from the addon (relayTo) and relays the client
// fd to it: no net.Socket is made for the upstream, where net.connect + relaySockets would make one
// only to dup its fd. TLS upstreams and host names keep the net.connect path (workers/dial.ts).
import net from 'node:net';
import type { EndpointSpec } from '../core/generation/spec.js';
import type { NativeAddon, Relay, RelayResult } from '../core/native/index.js';

/** An addon build that has relayTo(). */
export type RelayToAddon = NativeAddon & Required<Pick<NativeAddon, 'relayTo'>>;

/** The addon when this build has relayTo(), else null. */
export function relayToCapable(addon: NativeAddon | null): RelayToAddon | null {
  return addon !== null && typeof addon.relayTo === 'function' ? (addon as RelayToAddon) : null;
}

/** Whether relayToEndpoint can dial it: plain TCP to a literal IP (no name to resolve, no zone). */
export function nativeDialable(endpoint: EndpointSpec): boolean {
  return !endpoint.tls && net.isIP(endpoint.host) !== 0 && !endpoint.host.includes('%');
}

/**
 * Dials `endpoint` and relays clientFd to it in the kernel until both sides have closed, an error,
 * idleMs without traffic (0 = never) or relay.stop(); then calls done once with the byte counts.
 *
 * - Resolves once connected: from then on the relay owns clientFd and the upstream.
 * - Rejects (a NativeError: ECONNREFUSED, ETIMEDOUT after connectTimeoutMs, ECANCELED after
 *   stop(), ...) when the dial failed or the endpoint is not nativeDialable: clientFd was not
 *   touched and is still the caller's, so failover can try the next endpoint with it.
 */
export function relayToEndpoint(
  addon: RelayToAddon,
  clientFd: number,
  endpoint: EndpointSpec,
  connectTimeoutMs: number,
  idleMs: number,
  done: (result: RelayResult) => void,
): Promise<Relay> {
  return new Promise((resolve, reject) => {
    if (!nativeDialable(endpoint)) {
      reject(Object.assign(new Error(`${endpoint.host}:${endpoint.port} is not a plain-TCP IP endpoint`), { code: 'ERR_INVALID_ARG_VALUE' }));
      return;
    }
    // onDial always runs on a later loop turn, so `relay` is set by then; a throw rejects.
    const relay: Relay = addon.relayTo(clientFd, endpoint.host, endpoint.port, connectTimeoutMs, idleMs,
      (err) => (err === null ? resolve(relay) : reject(err)), done);
  });
}
