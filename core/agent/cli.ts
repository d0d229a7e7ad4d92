// `edgeplane agent`: runs a tunnel agent until SIGTERM/SIGINT (drain, exit 0) or a fatal refusal by
// the edge (exit 1). Logs are JSON lines on stderr; the authtoken never appears in them.
import { errorFields, log } from '../log.js';
import { Agent, AgentAuthError, type LegDownEvent, type LegUpEvent, type StreamEndEvent } from './agent.js';
import { AGENT_USAGE, AgentOptionsError, parseAgentFlags, resolveAgentOptions, type AgentOptions } from './options.js';

function logEvents(agent: Agent): void {
  agent.on('leg_up', (e: LegUpEvent) => log.info('leg up', { session_id: e.sessionId, leg: e.index, legs: e.legs }));
  agent.on('leg_down', (e: LegDownEvent) => {
    const fields = { session_id: agent.sessionId, leg: e.index, retry_in_ms: e.retryInMs, ...errorFields(e.error) };
    // retryInMs null: the leg was closed on purpose (drain, or the edge refused the agent).
    if (e.retryInMs === null) log.info('leg closed', fields);
    else if (e.wasUp) log.warn('leg down', fields);
    else log.warn('leg connect failed', fields);
  });
  agent.on('online', (e: { sessionId: string; legs: number }) => log.info('agent online', { session_id: e.sessionId, legs: e.legs }));
  agent.on('go_away', (e: { leg: number | null; reason: string }) => log.info('edge going away', { leg: e.leg, reason: e.reason }));
  agent.on('stream_end', (e: StreamEndEvent) => {
    if (!e.outcome.accepted && e.outcome.refused === null) log.debug('stream abandoned by the edge', { leg: e.leg, client_addr: e.open.client_addr });
    else if (!e.outcome.accepted) log.warn('stream refused', { leg: e.leg, client_addr: e.open.client_addr, reason: e.outcome.refused, ...(e.outcome.error ? errorFields(e.outcome.error) : {}) });
    else log.debug('stream done', { leg: e.leg, client_addr: e.open.client_addr, how: e.outcome.how });
  });
}

/** Resolves with the exit code once the agent has stopped. */
async function run(options: AgentOptions): Promise<number> {
  const abort = new AbortController();
  let agent: Agent | null = null;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    if (agent === null) { abort.abort(new Error(`stopped by ${signal} before connecting`)); return; }
    log.info('draining', { signal, streams: agent.streamCount, timeout_s: agent.options.drainTimeoutMs / 1000 });
    void agent.close({ drain: true });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    log.info('agent starting', { edge: options.edge, forward: options.forward, labels: options.labels });
    const starting = new Agent(resolveAgentOptions({ ...options, signal: abort.signal }));
    // Listen before starting: the first 'leg_up' (and 'online' with one leg) come before start() resolves.
    logEvents(starting);
    starting.on('error', () => { /* `closed` carries it */ });
    try {
      await starting.start();
    } catch (err) {
      if (abort.signal.aborted) { log.info('agent stopped before connecting'); return 0; }
      log.error(err instanceof AgentAuthError ? 'authentication refused' : 'agent failed', errorFields(err));
      return 1;
    }
    agent = starting;
    const fatal = await agent.closed;
    if (fatal !== null) {
      log.error(fatal instanceof AgentAuthError ? 'authentication refused' : 'agent failed', errorFields(fatal));
      return 1;
    }
    log.info('agent stopped', { session_id: agent.sessionId });
    return 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

export async function runAgentCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseAgentFlags(argv);
  } catch (err) {
    if (!(err instanceof AgentOptionsError)) throw err;
    process.stderr.write(`edgeplane agent: ${err.message}\n\n${AGENT_USAGE}`);
    return 2;
  }
  if (parsed.help) { process.stdout.write(AGENT_USAGE); return 0; }
  return run(parsed.options);
}
