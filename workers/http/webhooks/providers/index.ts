// Every provider the webhook_verification module knows, by ngrok identifier (and its aliases).
// Each group file holds providers that share a construction; adding a provider = one entry there.
import type { ProviderDefinition } from '../types.js';
import { BODY_HMAC_PROVIDERS } from './body-hmac.js';
import { TIMESTAMPED_PROVIDERS } from './timestamped.js';
import { URL_AND_TOKEN_PROVIDERS } from './url-and-token.js';
import { ASYMMETRIC_PROVIDERS } from './asymmetric.js';

export const PROVIDERS: readonly ProviderDefinition[] = Object.freeze(
  [...BODY_HMAC_PROVIDERS, ...TIMESTAMPED_PROVIDERS, ...URL_AND_TOKEN_PROVIDERS, ...ASYMMETRIC_PROVIDERS]
    .sort((a, b) => a.id.localeCompare(b.id)),
);

const BY_ID = new Map<string, ProviderDefinition>();
for (const p of PROVIDERS) {
  for (const id of [p.id, ...(p.aliases ?? [])]) {
    if (BY_ID.has(id)) throw new Error(`webhook provider '${id}' is defined twice`);
    BY_ID.set(id, p);
  }
}

/** The provider for an identifier or alias, or undefined. */
export function findProvider(id: string): ProviderDefinition | undefined {
  return BY_ID.get(id);
}

/** Every accepted identifier (ids and aliases), sorted. */
export function providerIdentifiers(): string[] {
  return [...BY_ID.keys()].sort();
}
