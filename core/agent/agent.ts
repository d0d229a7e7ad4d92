// The tunnel agent (issue 8) as a library: one session with the edge made of one leg per edge worker.
// The first leg finds out from the edge how many legs the session needs and which worker it landed
// on; the agent then opens the others. Streams the edge opens on any leg are served by forward.ts.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { packageFilePath } from '../package-files.js';
import type { MuxStream } from '../tunnel/mux.js';
import type { AuthResult, StreamOpen } from '../tunnel/protocol.js';
import { serveStream, type ForwardSettings, type StreamOutcome } from './forward.js';
import { Leg, type LegDown } from './leg.js';
import { resolveAgentOptions, type AgentOptions, type ResolvedAgentOptions } from './options.js';

export { AgentOptionsError, type AgentOptions } from './options.js';

/** The edge refused the session (bad authtoken, ...): retrying cannot help. */
export class AgentAuthError extends Error {
  override name = 'AgentAuthError';
}

export interface CloseOptions {
  /** true (default): GoAway, refuse new streams, wait for open ones (bounded); false: cut everything now. */
  drain?: boolean;
  /** Bound on the wait for open streams; default: the agent's drainTimeoutMs. */
  timeoutMs?: number;
}

export interface LegUpEvent { index: number; legs: number; sessionId: string }
export interface LegDownEvent { index: number | null; error: Error; wasUp: boolean; retryInMs: number | null }
export interface StreamEvent { leg: number | null; open: StreamOpen; refused?: 'draining' }
export interface StreamEndEvent { leg: number | null; open: StreamOpen; outcome: StreamOutcome }

function readAgentVersion(): string {
  try {
    return (JSON.parse(readFileSync(packageFilePath('package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * Events: 'leg_up' (LegUpEvent), 'leg_down' (LegDownEvent; also failed connect attempts, wasUp false),
 * 'online' ({ sessionId, legs }: every leg is up), 'go_away' ({ leg, reason }), 'stream' (StreamEvent),
 * 'stream_end' (StreamEndEvent), 'error' (a fatal error after start, e.g. the authtoken was revoked;
 * emitted only when someone listens; `closed` resolves with it either way).
 */
export class Agent extends EventEmitter {
  /** The id the edge gave this session; kept across reconnects. */
  sessionId = '';
  /** How many legs the edge wants (one per worker); 0 until the first leg authenticated. */
  legs = 0;
  /** Resolves once the agent has stopped: null after close(), the error after a fatal one. */
  readonly closed: Promise<Error | null>;
  private resolveClosed!: (err: Error | null) => void;
  private readonly byIndex = new Map<number, Leg>();
  private readonly allLegs = new Set<Leg>();
  private readonly forwardSettings: ForwardSettings;
  private readonly agentVersion = readAgentVersion();
  private activeStreams = 0;
  private draining = false;
  private online = false;
  private closing: Promise<void> | null = null;
  private streamsIdle: (() => void) | null = null;
  private started: { resolve(): void; reject(err: Error): void } | null = null;

  constructor(readonly options: ResolvedAgentOptions) {
    super();
    this.closed = new Promise((resolve) => { this.resolveClosed = resolve; });
    this.forwardSettings = {
      target: options.forward,
      upstreamCa: options.upstreamCa,
      terminator: options.terminator,
      connectTimeoutMs: options.connectTimeoutMs,
      streamIdleMs: options.streamIdleMs,
    };
  }

  get legsUp(): number {
    let n = 0;
    for (const leg of this.allLegs) if (leg.isUp) n++;
    return n;
  }

  /** Streams being served right now (dialing or piping). */
  get streamCount(): number { return this.activeStreams; }

  /** Opens the session's first leg; resolves once it has authenticated. */
  start(): Promise<void> {
    const signal = this.options.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const started = new Promise<void>((resolve, reject) => { this.started = { resolve, reject }; });
    signal?.addEventListener('abort', () => this.fatal(abortError(signal)), { once: true });
    this.addLeg(null);
    return started;
  }

  private addLeg(index: number | null): Leg {
    const leg = new Leg({
      options: this.options,
      agentVersion: this.agentVersion,
      sessionId: () => this.sessionId,
      onStream: (stream, open, from) => this.onStream(stream, open, from),
    }, index);
    this.allLegs.add(leg);
    if (index !== null) this.byIndex.set(index, leg);
    leg.on('up', (result: AuthResult) => this.onLegUp(leg, result));
    leg.on('down', (down: LegDown) => this.onLegDown(leg, down));
    leg.on('refused', (error: string) => this.fatal(new AgentAuthError(`the edge refused the agent: ${error}`)));
    leg.on('go_away', (reason: string) => this.emit('go_away', { leg: leg.index, reason }));
    leg.start();
    return leg;
  }

  private onLegUp(leg: Leg, result: AuthResult): void {
    // The edge accepts a known or new id; if it handed out a new one (it forgot us), use that from now on.
    this.sessionId = result.session_id;
    if (leg.index === null && !this.byIndex.has(result.leg)) {
      leg.index = result.leg;
      this.byIndex.set(result.leg, leg);
    }
    this.reconcileLegs(result.legs);
    this.emit('leg_up', { index: leg.index ?? result.leg, legs: this.legs, sessionId: this.sessionId } satisfies LegUpEvent);
    const started = this.started;
    this.started = null;
    started?.resolve();
    if (!this.online && this.legsUp >= this.legs && this.closing === null) {
      this.online = true;
      this.emit('online', { sessionId: this.sessionId, legs: this.legs });
    }
  }

  /** One leg per edge worker: open the missing ones, stop those past the edge's (new) worker count. */
  private reconcileLegs(legs: number): void {
    this.legs = legs;
    if (this.closing !== null) return;
    for (let i = 0; i < legs; i++) if (!this.byIndex.has(i)) this.addLeg(i);
    for (const [index, leg] of this.byIndex) {
      if (index < legs) continue;
      this.byIndex.delete(index);
      this.allLegs.delete(leg);
      void leg.stop();
    }
  }

  private onLegDown(leg: Leg, down: LegDown): void {
    if (down.wasUp) this.online = false;
    this.emit('leg_down', { index: leg.index, ...down } satisfies LegDownEvent);
  }

  private onStream(stream: MuxStream, open: StreamOpen, leg: Leg): void {
    if (this.draining) {
      stream.refuse('draining');
      this.emit('stream', { leg: leg.index, open, refused: 'draining' } satisfies StreamEvent);
      return;
    }
    this.activeStreams++;
    this.emit('stream', { leg: leg.index, open } satisfies StreamEvent);
    serveStream(stream, open, this.forwardSettings, (outcome) => {
      this.activeStreams--;
      this.emit('stream_end', { leg: leg.index, open, outcome } satisfies StreamEndEvent);
      if (this.activeStreams === 0) this.streamsIdle?.();
    });
  }

  private fatal(err: Error): void {
    if (this.closing !== null) return;
    const started = this.started;
    this.started = null;
    if (started !== null) started.reject(err);
    else if (this.listenerCount('error') > 0) this.emit('error', err);
    void this.shutdown(false, 0, err);
  }

  /** Stops the agent: by default drains (GoAway, new streams refused, open ones finish) first. */
  close(options: CloseOptions = {}): Promise<void> {
    return this.shutdown(options.drain ?? true, options.timeoutMs ?? this.options.drainTimeoutMs, null);
  }

  private shutdown(drain: boolean, timeoutMs: number, cause: Error | null): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.draining = true;
    this.online = false;
    const started = this.started;
    this.started = null;
    started?.reject(new Error('the agent was closed before it connected'));
    this.closing = (async () => {
      for (const leg of this.allLegs) {
        leg.stopReconnecting();
        if (drain) leg.sendControl({ go_away: { reason: 'agent draining' } });
      }
      if (drain) await this.waitForStreams(timeoutMs);
      await Promise.all([...this.allLegs].map((leg) => leg.stop()));
      this.resolveClosed(cause);
    })();
    return this.closing;
  }

  private waitForStreams(timeoutMs: number): Promise<void> {
    if (this.activeStreams === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void { clearTimeout(timer); resolve(); }
      this.streamsIdle = done;
    });
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('the agent start was aborted');
}

/** Validates the options, connects, and resolves once the session's first leg has authenticated. */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  const agent = new Agent(resolveAgentOptions(options));
  await agent.start();
  return agent;
}
