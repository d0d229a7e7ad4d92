// The main thread's event fan-out. Workers (and the daemon itself, for audit events) hand over
// batches of NDJSON lines; the hub writes them to the configured sink as they are, and gives parsed
// envelopes to listeners (the subscription router, the inspection page). Lines are parsed only while
// someone listens, once per batch whoever listens, and a listener that throws never stops the others.
import { log, errorFields } from '../log.js';
import type { EventSink } from './sink.js';

/** A spec §1.8 envelope as parsed from its JSON line. */
export interface ParsedEvent {
  event_id: string;
  event_type: string;
  event_timestamp: string;
  account_id: string;
  object: Record<string, unknown>;
  principal: unknown;
}

export type EventListener = (events: readonly ParsedEvent[], lines: readonly string[]) => void;

export class EventHub {
  readonly #listeners = new Set<EventListener>();
  #unparseable = 0;

  constructor(private readonly sink: EventSink) {}

  /** `data`: one or more complete NDJSON lines, each ending in '\n'; `count`: how many. */
  publish(data: string, count: number): void {
    this.sink.write(data, count);
    if (this.#listeners.size === 0) return;
    const lines = data.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const events: ParsedEvent[] = [];
    const kept: string[] = [];
    for (const line of lines) {
      try { events.push(JSON.parse(line) as ParsedEvent); kept.push(line); } catch { this.#unparseable++; }
    }
    for (const listener of this.#listeners) {
      try { listener(events, kept); } catch (err) { log.error('event listener failed', errorFields(err)); }
    }
  }

  /** Subscribes; returns the unsubscribe function. */
  listen(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  get listening(): boolean { return this.#listeners.size > 0; }
  get unparseable(): number { return this.#unparseable; }
}
