// Messages between the acceptor (main thread) and the worker threads.
import type { GenerationSpec } from '../generation/spec.js';
import type { Handoff } from '../../workers/handoff.js';
import type { LegReport } from '../../workers/tunnel/leg.js';

export type ToWorker =
  | { type: 'generation'; spec: GenerationSpec }
  | { type: 'conn'; handoff: Handoff }
  // the acceptor hands out nothing older than `below` from here on (sent after it switched generation)
  | { type: 'retire'; below: number }
  | { type: 'drain' }
  | { type: 'flush' }
  | { type: 'crash' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'installed'; generation: number }
  | { type: 'adopt_failed'; error: string }
  | { type: 'events'; data: string; count: number }
  | { type: 'drained' }
  | { type: 'tunnel_leg'; report: LegReport };
