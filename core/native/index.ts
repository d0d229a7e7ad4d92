// Loads the native addon (core/native/peek.c, splice.c, dial.c, accept.c). What it is
// for and the fd ownership rules are in native-notes.md.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** A pending {@link NativeAddon.waitReadable}. */
export interface Poller {
  /** Cancels the wait without calling its callback. Idempotent; safe after the callback has fired. */
  stop(): void;
}

/** Error thrown (or passed to a waitReadable callback) for a failed syscall, shaped like Node's own. */
export interface NativeError extends Error {
  /** errno name: 'EBADF', 'ECONNRESET', 'ENOTSOCK', 'EEXIST', ... (or ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE / ERR_OUT_OF_RANGE for bad arguments). */
  code: string;
  /** Negative libuv error number, as on Node's system errors. Absent for argument errors. */
  errno?: number;
  /** 'dup' | 'close' | 'recv' | 'setsockopt' | 'getsockopt' | 'uv_poll_init' | 'uv_poll_start' | 'uv_poll' | 'pipe2' | 'socket' | 'connect' | 'accept4'. Absent for argument errors. */
  syscall?: string;
  /** The dialled address, on relayTo's onDial errors (as on net.connect's). */
  address?: string;
  /** The dialled port, on relayTo's onDial errors. */
  port?: number;
}

/** How a {@link NativeAddon.relay} ended, with the bytes it moved each way. */
export interface RelayResult {
  /** Bytes spliced out to the upstream. */
  clientToUpstream: number;
  /** Bytes spliced out to the client. */
  upstreamToClient: number;
  /**
   * 'closed': both sides sent FIN and everything was delivered; 'idle_timeout': nothing moved
   * for idleMs; 'client_error' / 'upstream_error': a syscall on that side's socket failed
   * (ECONNRESET, EPIPE, ...); 'stopped': {@link Relay.stop} was called.
   */
  reason: 'closed' | 'idle_timeout' | 'client_error' | 'upstream_error' | 'stopped';
  /** errno name ('ECONNRESET', 'EPIPE', ...) for the *_error reasons. */
  error?: string;
}

/** A running {@link NativeAddon.relay} or {@link NativeAddon.relayTo}. Both methods stay safe to call after it ended. */
export interface Relay {
  /**
   * Aborts: closes both sockets now. The callback still fires once, later, with reason 'stopped'.
   * On a relayTo still dialling: closes the upstream socket only (the client fd stays the
   * caller's) and onDial fires later with an ECANCELED error; done never fires.
   * Idempotent; a no-op once ended.
   */
  stop(): void;
  /** Bytes moved so far (final once the callback has fired). */
  bytes(): { clientToUpstream: number; upstreamToClient: number };
}

/** A running {@link NativeAddon.acceptLoop}. */
export interface AcceptLoop {
  /** Stops accepting and closes the listening fd; no callback runs after it. Idempotent. */
  stop(): void;
  /** Connections handed to the callback so far. */
  readonly accepted: number;
  /** accept4 failures that paused the loop (EMFILE, ENFILE, ENOBUFS, ENOMEM, ...). */
  readonly acceptErrors: number;
}

/** acceptLoop's per-connection callback; fd is the callback's to close or hand on. */
export type AcceptCallback = (fd: number, remoteAddress: string, remotePort: number, localAddress: string, localPort: number) => void;

/**
 * The socket syscalls Node lacks. Every function is synchronous except
 * waitReadable and relay, and all of them throw {@link NativeError}.
 */
export interface NativeAddon {
  /** dup(2) with O_CLOEXEC (fcntl F_DUPFD_CLOEXEC). Returns the new fd; the caller owns it. */
  dup(fd: number): number;
  /**
   * close(2). Throws on any error, EBADF included (a double close means the
   * ownership rules were broken); EINTR counts as closed, as Linux frees the fd anyway.
   */
  close(fd: number): void;
  /**
   * recv(MSG_PEEK | MSG_DONTWAIT) of up to maxBytes (1 .. 16 MiB) without
   * consuming them. Returns the bytes queued so far; a 0-length Buffer means
   * the peer closed (EOF) with nothing queued; null means nothing yet (EAGAIN).
   */
  peek(fd: number, maxBytes: number): Buffer | null;
  /**
   * Calls cb once when fd is readable, the peer hung up or the socket has an
   * error (cb(null): the next peek shows EOF or throws the errno, e.g.
   * ECONNRESET), or polling itself failed (cb(err)), on the calling thread's loop. The wait then stops
   * and frees itself. It keeps that loop alive while pending. At most one wait
   * per fd per thread (a second one throws EEXIST). Stop it before closing the
   * fd or handing the fd to another thread.
   */
  waitReadable(fd: number, cb: (err: NativeError | null) => void): Poller;
  /**
   * setsockopt(SO_RCVLOWAT): waitReadable then fires only once `bytes`
   * (1 .. 16 MiB) are queued, or on EOF or error. Per socket, so shared by
   * every dup: set it back to 1 before the fd is handed on. Optional so a
   * caller can run against an older build of the addon.
   */
  setRcvLowat?(fd: number, bytes: number): void;
  /**
   * Relays bytes both ways between two connected TCP sockets with splice(2), on the calling
   * thread's loop, until both sides have sent FIN and everything is delivered, an error, idleMs
   * (0 = never) without a byte moving, or stop(). A FIN from one side is passed on as a FIN to
   * the other while the other direction keeps flowing. On success both fds belong to the relay,
   * which closes them when done, then calls cb once. If it throws (bad argument, EBADF, EPERM for
   * a non-socket, EEXIST when this thread already polls one of the fds), the caller still owns
   * both. Optional so a caller can run against an older build (then use workers/pipe.ts).
   */
  relay?(clientFd: number, upstreamFd: number, idleMs: number, cb: (result: RelayResult) => void): Relay;
  /**
   * Dials ip:port (a literal IPv4 or IPv6 address) with a non-blocking connect on the calling
   * thread's loop, then relays exactly as {@link NativeAddon.relay} does, with no net.Socket.
   * onDial fires once, later: onDial(err) when the dial failed ('ECONNREFUSED', 'ETIMEDOUT' after
   * connectTimeoutMs (0 = the kernel's own), 'ECANCELED' after stop(), ...), after which the upstream
   * socket is closed, done never fires and clientFd still belongs to the caller; or onDial(null)
   * once connected, after which the relay owns clientFd and done fires once at the end. Throws
   * (taking nothing) for bad arguments or a client fd relay() would refuse (EBADF, EPERM, EEXIST).
   * Optional so a caller can run against an older build (then dial with net.connect).
   */
  relayTo?(clientFd: number, ip: string, port: number, connectTimeoutMs: number, idleMs: number,
    onDial: (err: NativeError | null) => void, done: (result: RelayResult) => void): Relay;
  /**
   * Accepts connections on a listening socket on the calling thread's loop (accept4 with
   * SOCK_NONBLOCK | SOCK_CLOEXEC, at most 64 per wakeup) and calls cb once per connection with
   * the new fd and both addresses (IPv4-mapped IPv6 reported as plain IPv4). Out of fds or memory
   * it pauses 50 ms instead of spinning, counts the error and calls onError. On success the loop
   * owns listenFd (stop() closes it); it throws, taking nothing, for bad arguments, EBADF,
   * ENOTSOCK, a socket that is not listening (EINVAL) or one this thread polls (EEXIST).
   * Optional so a caller can run against an older build (then keep net.Server).
   */
  acceptLoop?(listenFd: number, cb: AcceptCallback, onError?: (err: NativeError) => void): AcceptLoop;
}

/** Result of {@link loadNative}: exactly one of the two fields is non-null. */
export interface NativeLoad {
  addon: NativeAddon | null;
  error: string | null;
}

const ADDON_PATH = 'build/Release/edgeplane_native.node';
// Package root as seen from dist/core/native/index.js, then from core/native/index.ts.
const ROOT_CANDIDATES = ['../../../', '../../'];
const ADDON_FUNCTIONS = ['dup', 'close', 'peek', 'waitReadable'] as const;

let defaultLoad: NativeLoad | undefined;

/**
 * Loads build/Release/edgeplane_native.node from the package root, or the
 * given path. Never throws: a failure comes back as a one-line reason. The
 * default load is cached.
 */
export function loadNative(path?: string): NativeLoad {
  if (path !== undefined) return loadAddon(path);
  defaultLoad ??= loadAddon(findAddon());
  return defaultLoad;
}

function findAddon(): string {
  for (const root of ROOT_CANDIDATES) {
    const candidate = fileURLToPath(new URL(root + ADDON_PATH, import.meta.url));
    if (existsSync(candidate)) return candidate;
  }
  return fileURLToPath(new URL(ROOT_CANDIDATES[0] + ADDON_PATH, import.meta.url));
}

function loadAddon(path: string): NativeLoad {
  if (!existsSync(path)) {
    return { addon: null, error: `${path} not found (build it with \`npm run build\`; see native-notes.md)` };
  }
  let loaded: unknown;
  try {
    loaded = createRequire(import.meta.url)(path);
  } catch (err) {
    return { addon: null, error: `cannot load ${path}: ${err instanceof Error ? err.message : String(err)}` };
  }
  const missing = ADDON_FUNCTIONS.filter(
    (name) => typeof (loaded as Record<string, unknown> | null)?.[name] !== 'function',
  );
  if (missing.length > 0) {
    return { addon: null, error: `${path} is not the edgeplane addon (missing ${missing.join(', ')})` };
  }
  return { addon: loaded as NativeAddon, error: null };
}
