// The deletion API's work (issue 7 point 5): every stored record of one client IP or user is deleted
// from every store the daemon keeps: the events file (config events.file), the files of every file
// destination (current and rotated), and what destinations still buffer. What already reached a
// remote receiver cannot be recalled here: those destinations are named so the operator can ask them.
import type { EventSubscription } from './model.js';
import type { EventSink } from './sink.js';
import type { EventRouter } from './router.js';
import { targetKind } from './router.js';
import { compileRecordMatcher, type RecordQuery } from './protect.js';
import { QueuedDestination } from './destinations/queue.js';
import { decodeRecord, deleteFromRecordFile, rotatedFamily } from './record-files.js';

export interface DeletionReport {
  deleted: number;
  stores: Array<{ store: string; deleted: number }>;
  /** Destinations that may have sent matching records off this machine already. */
  not_recallable: Array<{ destination_id: string; target: string; delivered: number }>;
}

export interface DeletionDeps {
  router: EventRouter;
  sink: EventSink;
  eventsFile: string | null;
  hashKey: string | Buffer;
  subscriptions: readonly EventSubscription[];
}

/** Targets whose records stay on this machine, in files the daemon can rewrite. */
const LOCAL_FILE = 'file';

export async function deleteRecords(query: RecordQuery, deps: DeletionDeps): Promise<DeletionReport> {
  const matches = compileRecordMatcher(query, deps.hashKey);
  const stores: DeletionReport['stores'] = [];
  if (deps.eventsFile !== null && deps.eventsFile !== '-') {
    const deleted = await deps.sink.exclusive((path) => deleteFromRecordFile(path, 'json', matches));
    stores.push({ store: `events.file ${deps.eventsFile}`, deleted });
  }
  const subscribed = new Set(deps.subscriptions.flatMap((s) => s.destination_ids));
  const notRecallable: DeletionReport['not_recallable'] = [];
  for (const { definition, destination } of deps.router.destinations()) {
    const kind = targetKind(definition);
    let deleted = 0;
    if (destination instanceof QueuedDestination) {
      deleted += destination.purge((record, contentType) => {
        const envelope = decodeRecord(record, contentType);
        return envelope !== null && matches(envelope);
      });
    }
    const file = definition.target.file;
    if (file !== undefined && destination instanceof QueuedDestination) {
      // Writes in progress land first; the file target reopens its file after the rewrite.
      deleted += await destination.exclusive(async () => {
        let sum = 0;
        for (const path of await rotatedFamily(file.path)) sum += await deleteFromRecordFile(path, definition.format, matches);
        return sum;
      }, true);
      stores.push({ store: `event_destination ${definition.id} (file ${file.path})`, deleted });
      continue;
    }
    stores.push({ store: `event_destination ${definition.id} (${kind} buffer)`, deleted });
    if (kind !== LOCAL_FILE && subscribed.has(definition.id)) {
      notRecallable.push({ destination_id: definition.id, target: kind, delivered: destination.stats().delivered });
    }
  }
  return { deleted: stores.reduce((sum, s) => sum + s.deleted, 0), stores, not_recallable: notRecallable };
}
