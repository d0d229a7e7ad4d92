// Kernel-side byte relay for edges that do not terminate TLS (tcp edges, tls passthrough): the
// client fd, never wrapped in a net.Socket, and the dialled upstream's fd go to the addon's
// splice(2) relay, so no payload byte is copied through JS. workers/pipe.ts is the fallback
// (no addon, an older build, a TLS upstream) and has the same half-close and idle semantics.
import type net from 'node:net';
import tls from 'node:tls';
import type { NativeAddon, Relay, RelayResult } from '../core/native/index.js';

/** An addon build that has relay(). */
export type RelayAddon = NativeAddon & Required<Pick<NativeAddon, 'relay'>>;

type HandleHolder = { _handle?: { fd?: unknown } | null };

/** The addon when this build has relay(), else null (use pipeSockets then). */
export function relayCapable(addon: NativeAddon | null): RelayAddon | null {
  return addon !== null && typeof addon.relay === 'function' ? (addon as RelayAddon) : null;
}

function upstreamFd(upstream: net.Socket): number | null {
  // TLS to the upstream has to be encrypted here, so only plain TCP bytes can be spliced.
  if (upstream instanceof tls.TLSSocket || upstream.destroyed) return null;
  // Anything already read into JS would be skipped by the relay.
  if (upstream.bytesRead > 0 || upstream.readableLength > 0) return null;
  const fd = (upstream as unknown as HandleHolder)._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * Relays clientFd <-> upstream in the kernel until both sides have closed, an error, idleMs
 * without traffic (0 = never) or relay.stop(); then calls done once with the byte counts.
 *
 * Call it synchronously when the dial resolves (before the loop turns), so the upstream has not
 * read anything yet. Outcomes:
 * - a Relay: it owns clientFd and the upstream connection; `upstream` is destroyed (only its fd
 *   number closes; the connection lives on in a dup).
 * - null: not relayable (TLS upstream, bytes already read, no fd); nothing was taken, the caller
 *   still owns clientFd and `upstream` and should wrap clientFd and use pipeSockets.
 * - a throw (EBADF, EEXIST, ...): nothing was taken either.
 */
export function relaySockets(
  addon: RelayAddon,
  clientFd: number,
  upstream: net.Socket,
  idleMs: number,
  done: (result: RelayResult) => void,
): Relay | null {
  const fd = upstreamFd(upstream);
  if (fd === null) return null;
  upstream.pause();
  const dup = addon.dup(fd);
  let relay: Relay;
  try {
    relay = addon.relay(clientFd, dup, idleMs, done);
  } catch (err) {
    addon.close(dup);
    throw err;
  }
  // Closes the original fd number only (libuv unregisters it from this loop first): the dup
  // keeps the connection open, so no FIN or RST is sent.
  upstream.destroy();
  return relay;
}
