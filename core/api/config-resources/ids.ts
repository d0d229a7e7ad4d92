// Ids of resources made through the API: the spec's prefix + the same time-ordered body the event API
// uses (../ids.ts), so "newest first" is "largest id first" and created_at can be read back from the id.
import { newId } from '../ids.js';
import { rfc3339 } from '../resources.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 27; // 7 time + 3 counter + 17 random (../ids.ts)

export function newResourceId(prefix: string): string {
  return prefix + newId('ed_').slice('ed_'.length);
}

// Ids written in the config file carry no time: they get the time this process first showed them.
const firstSeen = new Map<string, string>();

/** From an API-made id, its creation time; for a config-file id, when this process first saw it. */
export function createdAt(id: string, prefix: string): string {
  const body = id.startsWith(prefix) ? id.slice(prefix.length) : '';
  if (body.length === BODY_LENGTH && /^[0-9A-Za-z]+$/.test(body)) {
    let ms = 0;
    for (const ch of body.slice(0, 7)) ms = ms * 62 + ALPHABET.indexOf(ch);
    return rfc3339(new Date(ms));
  }
  let seen = firstSeen.get(id);
  if (seen === undefined) firstSeen.set(id, (seen = rfc3339(new Date())));
  return seen;
}
