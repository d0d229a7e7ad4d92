// Closed-loop load for fault-injection tests: N keep-alive clients, each sending one request after
// the other on its own connection (a new one only when the old one is gone), every request bounded
// by a timeout. Records each outcome with its client and time, and how many connections each opened.
import https from 'node:https';
import { h1, type H1Options, type Outcome } from './clients.js';

export interface Shot extends Outcome { client: number; at: number }

export interface LoadRun {
  shots: Shot[];
  /** Connections each client opened (1 = its first one survived throughout). */
  connectionsOpened: number[];
  stop(): Promise<void>;
}

export function startLoad(clients: number, request: Omit<H1Options, 'agent'>, opts: { paceMs?: number } = {}): LoadRun {
  const shots: Shot[] = [];
  const connectionsOpened = Array.from({ length: clients }, () => 0);
  let stopping = false;
  const loop = async (client: number): Promise<void> => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    agent.on('free', () => {});
    const create = agent.createConnection.bind(agent);
    agent.createConnection = ((...args: Parameters<typeof create>) => { connectionsOpened[client]!++; return create(...args); }) as typeof agent.createConnection;
    try {
      for (let n = 0; !stopping; n++) {
        const r = await h1({ ...request, path: `${request.path}/${client}/${n}`, agent });
        shots.push({ ...r, client, at: Date.now() });
        if (opts.paceMs !== undefined) await new Promise((res) => setTimeout(res, opts.paceMs));
      }
    } finally {
      agent.destroy();
    }
  };
  const running = Array.from({ length: clients }, (_, i) => loop(i));
  return {
    shots,
    connectionsOpened,
    async stop() { stopping = true; await Promise.all(running); },
  };
}
