// What every semantic check needs: the (possibly partial) config, item paths, and a problem list.
import type { ParsedCertificate } from '../tls/certificates.js';
import type { ConfigProblem } from './errors.js';
import type { CollectionName, EdgeplaneConfig } from './schema.js';

/** Input of checkConfig. Only `config` is required; the rest lets a loader check a partially valid config. */
export interface CheckInput {
  config: EdgeplaneConfig;
  /** Path of item `index` of `collection` (default `collection[index]`): a loader that dropped invalid items maps back. */
  at?: (collection: CollectionName, index: number) => string;
  /** Ids of items dropped for schema problems: references to them are not reported a second time. */
  invalidIds?: Partial<Record<CollectionName, ReadonlySet<string>>>;
  /** Parsed certificates by id; when given, certificate coverage of terminated hostports is checked. */
  certificates?: ReadonlyMap<string, ParsedCertificate>;
  /** Top-level sections that failed the schema (their defaults stand in): checks that read them stay quiet. */
  invalidSections?: ReadonlySet<string>;
}

export class CheckContext {
  readonly config: EdgeplaneConfig;
  readonly problems: ConfigProblem[] = [];
  readonly certificates: ReadonlyMap<string, ParsedCertificate> | undefined;
  readonly invalidSections: ReadonlySet<string>;
  private readonly pathOf: (collection: CollectionName, index: number) => string;
  private readonly invalidIds: Partial<Record<CollectionName, ReadonlySet<string>>>;
  private readonly ids = new Map<CollectionName, Map<string, number>>();

  constructor(input: CheckInput) {
    this.config = input.config;
    this.certificates = input.certificates;
    this.invalidSections = input.invalidSections ?? new Set();
    this.pathOf = input.at ?? ((collection, index) => `${collection}[${index}]`);
    this.invalidIds = input.invalidIds ?? {};
  }

  at(collection: CollectionName, index: number): string {
    return this.pathOf(collection, index);
  }

  add(path: string, reason: string): void {
    this.problems.push({ path, reason });
  }

  /** Index of the first item with this id (after indexIds ran for the collection). */
  indexOf(collection: CollectionName, id: string): number | undefined {
    return this.ids.get(collection)?.get(id);
  }

  /** Whether an id exists, counting items that failed the schema (so that one mistake is reported once). */
  exists(collection: CollectionName, id: string): boolean {
    return this.indexOf(collection, id) !== undefined || this.invalidIds[collection]?.has(id) === true;
  }

  /** Records ids of one collection and reports duplicates. */
  indexIds(collection: CollectionName, items: readonly { id: string }[]): void {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const first = seen.get(item.id);
      if (first === undefined) seen.set(item.id, i);
      else this.add(`${this.at(collection, i)}.id`, `duplicate id '${item.id}' (already used by ${this.at(collection, first)})`);
    });
    this.ids.set(collection, seen);
  }
}
