// Runs in a piscina thread (offload.ts): builds the provider's verifier once per provider and secret,
// then checks each task's request. Providers that need process facilities (SNS certificates) are
// never sent here.
import { LRUCache } from 'lru-cache';
import { findProvider } from './providers/index.js';
import type { OffloadTask } from './offload.js';
import type { ProviderVerifier, Verdict } from './types.js';
import { refuse } from './types.js';

const verifiers = new LRUCache<string, ProviderVerifier>({ max: 256 });

export default async function verifyTask(task: OffloadTask): Promise<Verdict> {
  const key = `${task.provider}\0${task.secret}`;
  let verifier = verifiers.get(key);
  if (verifier === undefined) {
    const provider = findProvider(task.provider);
    if (provider === undefined) return refuse('malformed_request', 'unknown provider');
    verifier = provider.create(task.secret, {});
    verifiers.set(key, verifier);
  }
  return verifier.verify({ ...task.request, body: new Uint8Array(task.body) });
}
