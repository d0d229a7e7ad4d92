// Delivers events to subscriptions (issue 7 point 1). Compiled from the resources (subscriptions ×
// sources × destinations) once per change, not per event: per traffic source a CEL filter, a field
// projection and a JSON serialiser; per (subscription, destination) the two data-protection steps.
//   event → filter → projection (source fields) → protection (subscription's, then destination's)
//         → JSON (fast-json-stringify) or protobuf → destination.deliver (enqueue only, never waits)
// Audit sources pass the whole envelope (no filter, no fields). Destinations are created once per id
// and kept across rebuilds while their definition is unchanged; removed or changed ones are closed.
import { createDestination, type Destination, type DestinationOptions, type DestinationStats } from './destinations/types.js';
import { NDJSON_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE } from './destinations/framing.js';
import { compileFilter, type EventFilter } from './filter.js';
import { compileProjection, type Projection } from './fields.js';
import { compileProtection } from './protect.js';
import { compileProjectedSerializer } from './projected-json.js';
import { encodeEvents, type AnyEnvelope } from './protobuf.js';
import { TRAFFIC_EVENT_TYPES, type EventDestination, type EventSubscription, type TrafficEventType } from './model.js';
import type { ParsedEvent } from './hub.js';
import type { EventEnvelope } from './types.js';

export interface RouterResources {
  destinations: readonly EventDestination[];
  subscriptions: readonly EventSubscription[];
}

export interface RouterOptions {
  /** Keys client_ip: hash (one key per daemon, so hashes stay comparable and can be matched for deletion). */
  hashKey: string | Buffer;
  destinationOptions?: DestinationOptions;
  /** A resource that cannot be used (bad target, bad filter): reported, the rest keeps routing. */
  warn?: (msg: string, fields: Record<string, unknown>) => void;
  /** Tests: build destinations another way. */
  create?: (dest: EventDestination, options?: DestinationOptions) => Destination;
}

/** A destination the router holds, with the definition it was built from. */
export interface RoutedDestination {
  definition: EventDestination;
  destination: Destination;
}

export interface RoutedDestinationStats extends DestinationStats {
  id: string;
  target: string;
}

type Obj = Record<string, unknown>;
type Protect = (object: object) => Obj;

interface Target {
  destination: Destination;
  protobuf: boolean;
  protect: Protect;
}

interface TrafficRoute {
  filter: EventFilter;
  project: Projection;
  serialize: (envelope: EventEnvelope<object>) => string;
  targets: Target[];
}

interface AuditRoute {
  targets: Array<{ destination: Destination; protobuf: boolean }>;
}

const isTraffic = (type: string): type is TrafficEventType => (TRAFFIC_EVENT_TYPES as readonly string[]).includes(type);

/** The one target key set on a destination (`http`, `file`, …). */
export function targetKind(dest: EventDestination): string {
  return Object.keys(dest.target ?? {}).find((key) => (dest.target as Obj)[key] !== undefined) ?? 'none';
}

/** One envelope as one protobuf message (no length prefix: destinations frame records themselves). */
export function protobufRecord(envelope: AnyEnvelope): Uint8Array {
  const framed = encodeEvents([envelope]);
  let i = 0;
  while ((framed[i]! & 0x80) !== 0) i++;
  return framed.subarray(i + 1);
}

/** What defines a built destination: a change of any of these means a new one. */
function definitionKey(dest: EventDestination): string {
  return JSON.stringify([dest.format, dest.target, dest.data_protection]);
}

export class EventRouter {
  readonly #options: RouterOptions;
  readonly #destinations = new Map<string, RoutedDestination & { key: string }>();
  #traffic = new Map<string, TrafficRoute[]>();
  #audit = new Map<string, AuditRoute[]>();
  /** Why a destination could not be built, by id (shown in stats and the third-party list). */
  readonly #broken = new Map<string, string>();
  #closing: Promise<void>[] = [];

  constructor(options: RouterOptions) {
    this.#options = options;
  }

  /** Recompiles from `resources`; keeps unchanged destinations (and their queues). */
  rebuild(resources: RouterResources): void {
    const warn = this.#options.warn ?? (() => {});
    const create = this.#options.create ?? createDestination;
    const wanted = new Map(resources.destinations.map((d) => [d.id, d]));
    for (const [id, held] of this.#destinations) {
      const next = wanted.get(id);
      if (next !== undefined && definitionKey(next) === held.key) { held.definition = next; continue; }
      this.#destinations.delete(id);
      this.#closing.push(held.destination.close().catch((err: Error) => warn('event destination close failed', { destination: id, error: err.message })));
    }
    this.#broken.clear();
    for (const dest of resources.destinations) {
      if (this.#destinations.has(dest.id)) continue;
      try {
        this.#destinations.set(dest.id, { definition: dest, destination: create(dest, this.#options.destinationOptions), key: definitionKey(dest) });
      } catch (err) {
        this.#broken.set(dest.id, (err as Error).message);
        warn('event destination cannot be used; subscriptions send nothing to it', { destination: dest.id, error: (err as Error).message });
      }
    }
    const traffic = new Map<string, TrafficRoute[]>();
    const audit = new Map<string, AuditRoute[]>();
    const destProtection = new Map<string, Protect>();
    for (const [id, held] of this.#destinations) destProtection.set(id, compileProtection(held.definition.data_protection, this.#options.hashKey));
    for (const sub of resources.subscriptions) {
      const held = sub.destination_ids.map((id) => this.#destinations.get(id)).filter((d) => d !== undefined);
      if (held.length === 0) continue;
      const subProtect = compileProtection(sub.data_protection, this.#options.hashKey);
      for (const source of sub.sources) {
        if (!isTraffic(source.type)) {
          const route: AuditRoute = { targets: held.map((d) => ({ destination: d.destination, protobuf: d.definition.format === 'protobuf' })) };
          audit.set(source.type, [...(audit.get(source.type) ?? []), route]);
          continue;
        }
        try {
          const route: TrafficRoute = {
            filter: compileFilter(source.type, source.filter),
            project: compileProjection(source.type, source.fields),
            serialize: compileProjectedSerializer(source.type, source.fields),
            targets: held.map((d) => {
              const destProtect = destProtection.get(d.definition.id)!;
              return { destination: d.destination, protobuf: d.definition.format === 'protobuf', protect: (o: object) => destProtect(subProtect(o)) };
            }),
          };
          traffic.set(source.type, [...(traffic.get(source.type) ?? []), route]);
        } catch (err) {
          warn('event subscription source cannot be compiled; it sends nothing', { subscription: sub.id, type: source.type, error: (err as Error).message });
        }
      }
    }
    this.#traffic = traffic;
    this.#audit = audit;
  }

  /** The hub's listener: `lines[i]` is the JSON text of `events[i]`. Never waits on a destination. */
  route(events: readonly ParsedEvent[], lines: readonly string[]): void {
    if (this.#traffic.size === 0 && this.#audit.size === 0) return;
    const batches = new Map<Destination, { json: string[]; protobuf: Uint8Array[] }>();
    const add = (destination: Destination, record: string | Uint8Array): void => {
      let batch = batches.get(destination);
      if (batch === undefined) batches.set(destination, (batch = { json: [], protobuf: [] }));
      if (typeof record === 'string') batch.json.push(record); else batch.protobuf.push(record);
    };
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      const traffic = this.#traffic.get(event.event_type);
      if (traffic !== undefined) {
        for (const route of traffic) {
          if (!route.filter(event.object)) continue;
          const projected = route.project(event.object);
          for (const target of route.targets) {
            const envelope: EventEnvelope<object> = {
              event_id: event.event_id, event_type: event.event_type, event_timestamp: event.event_timestamp,
              account_id: event.account_id, object: target.protect(projected), principal: null,
            } as EventEnvelope<object>;
            add(target.destination, target.protobuf ? protobufRecord(envelope as AnyEnvelope) : route.serialize(envelope));
          }
        }
      }
      const audit = this.#audit.get(event.event_type);
      if (audit !== undefined) {
        for (const route of audit) {
          for (const target of route.targets) add(target.destination, target.protobuf ? protobufRecord(event as AnyEnvelope) : lines[i]!);
        }
      }
    }
    for (const [destination, batch] of batches) {
      if (batch.json.length > 0) destination.deliver({ records: batch.json, contentType: NDJSON_CONTENT_TYPE });
      if (batch.protobuf.length > 0) destination.deliver({ records: batch.protobuf, contentType: PROTOBUF_CONTENT_TYPE });
    }
  }

  destination(id: string): RoutedDestination | undefined {
    return this.#destinations.get(id);
  }

  destinations(): RoutedDestination[] {
    return [...this.#destinations.values()];
  }

  /** Why `id` could not be built, or undefined. */
  problem(id: string): string | undefined {
    return this.#broken.get(id);
  }

  /** Counters per destination, for /metrics and the API. */
  stats(): RoutedDestinationStats[] {
    return this.destinations().map(({ definition, destination }) => ({ id: definition.id, target: targetKind(definition), ...destination.stats() }));
  }

  /** Flushes and closes every destination (each within its own close deadline). */
  async close(): Promise<void> {
    const held = [...this.#destinations.values()];
    this.#destinations.clear();
    this.#traffic = new Map();
    this.#audit = new Map();
    await Promise.allSettled([...this.#closing, ...held.map((d) => d.destination.close())]);
  }
}
