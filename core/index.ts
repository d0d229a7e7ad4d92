// The package's library entry (`import { createEdge } from 'edgeplane'`): run the data plane inside
// another process. The load-test harness is a separate entry, `edgeplane/bench`.
export { createEdge, type Edge, type EdgeOptions } from './edge.js';
export { Daemon, type DaemonOptions, type ReloadResult, type DaemonStatus } from './daemon.js';
export type { ParsedEvent } from './events/hub.js';
export { loadConfigFile, loadConfigText, loadConfigObject, type LoadedConfig, type LoadOptions } from './config/load.js';
export { ConfigError, type ConfigProblem } from './config/errors.js';
// The tunnel agent as a library: dial an edge's tunnel listener and serve a tunnel group from this process.
export { startAgent, Agent, AgentAuthError, AgentOptionsError, type AgentOptions, type CloseOptions, type LegUpEvent, type LegDownEvent, type StreamEvent, type StreamEndEvent } from './agent/agent.js';
