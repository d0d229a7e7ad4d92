// Finds the reserved domain that covers a hostname (spec §1.3): the exact name first, else the
// longest matching wildcard ('*.example.test' covers nested names too). Indexed by name, so a
// config with 100k domains checks in linear time; a wildcard hostname is only covered by itself.
interface Domain { domain: string }

export class DomainIndex<T extends Domain> {
  private readonly exact = new Map<string, T>();
  private readonly wildcards = new Map<string, T>(); // keyed by the base: '*.example.test' → 'example.test'

  constructor(domains: readonly T[]) {
    for (const d of domains) {
      const name = d.domain.toLowerCase();
      if (name.startsWith('*.')) { if (!this.wildcards.has(name.slice(2))) this.wildcards.set(name.slice(2), d); }
      else if (!this.exact.has(name)) this.exact.set(name, d);
    }
  }

  cover(name: string): T | undefined {
    if (name.startsWith('*.')) return this.wildcards.get(name.slice(2));
    const exact = this.exact.get(name);
    if (exact !== undefined) return exact;
    // Left to right over the dots: the first suffix found is the longest wildcard.
    for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
      const hit = this.wildcards.get(name.slice(dot + 1));
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
}

const cache = new WeakMap<readonly Domain[], DomainIndex<Domain>>();

/** The covering domain, with the index built once per domains array. */
export function coveringDomain<T extends Domain>(domains: readonly T[], name: string): T | undefined {
  let index = cache.get(domains);
  if (index === undefined) { index = new DomainIndex(domains); cache.set(domains, index); }
  return index.cover(name) as T | undefined;
}
