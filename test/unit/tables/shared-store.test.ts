import t from 'tap';
import { Worker } from 'node:worker_threads';
import { createSharedStoreBuffer, PROBE_WINDOW, SharedStore } from '../../../core/tables/shared-store.js';
import { SharedSessionExtras } from '../../../workers/http/auth/session-extras.js';
import { AssertionReplayCache } from '../../../workers/http/auth/saml-replay.js';

const STORE_URL = new URL('../../../core/tables/shared-store.js', import.meta.url).href;
const bytes = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const text = (value: Uint8Array | undefined): string | undefined => (value === undefined ? undefined : Buffer.from(value).toString('utf8'));

t.test('set, get, overwrite, delete', async (t) => {
  const store = new SharedStore(createSharedStoreBuffer({ slots: 64, slotBytes: 256 }));
  const later = Date.now() + 60_000;
  t.equal(store.get('a'), undefined);
  t.ok(store.set('a', bytes('one'), later));
  t.ok(store.set('b', bytes('two'), later));
  t.equal(text(store.get('a')?.value), 'one');
  t.equal(store.get('a')?.expiresAt, later);
  t.ok(store.set('a', bytes('uno'), later));
  t.equal(text(store.get('a')?.value), 'uno');
  t.equal(text(store.get('b')?.value), 'two');
  t.ok(store.delete('a'));
  t.equal(store.get('a'), undefined);
  t.equal(text(store.get('b')?.value), 'two', 'deleting one key leaves the others');
  t.ok(store.set('empty-value', new Uint8Array(0), later));
  t.same(store.get('empty-value')?.value, new Uint8Array(0));
});

t.test('values that do not fit a slot are refused; empty keys too', async (t) => {
  const store = new SharedStore(createSharedStoreBuffer({ slots: 64, slotBytes: 256 }));
  const later = Date.now() + 60_000;
  t.ok(store.set('k', new Uint8Array(store.capacity - 1), later), 'exactly the capacity fits');
  t.notOk(store.set('k2', new Uint8Array(store.capacity), later), 'one byte more does not');
  t.equal(store.get('k2'), undefined);
  t.notOk(store.set('', bytes('x'), later));
});

t.test('expiry hides entries and frees their slots; add is first-one-wins until expiry', async (t) => {
  let now = 1_000_000;
  const store = new SharedStore(createSharedStoreBuffer({ slots: 64, slotBytes: 256 }), () => now);
  t.equal(store.add('assertion-1', new Uint8Array(0), now + 5000), 'added');
  t.equal(store.add('assertion-1', new Uint8Array(0), now + 5000), 'present', 'second claim refused');
  t.equal(store.add('assertion-2', new Uint8Array(0), now + 5000), 'added', 'another key is independent');
  now += 5000;
  t.equal(store.get('assertion-1'), undefined, 'expired');
  t.equal(store.add('assertion-1', new Uint8Array(0), now + 5000), 'added', 'claimable again once expired');
});

t.test('add never evicts a live entry, and set never evicts an added one', async (t) => {
  let now = 1_000_000;
  // PROBE_WINDOW slots in all: every key shares the one window
  const store = new SharedStore(createSharedStoreBuffer({ slots: PROBE_WINDOW, slotBytes: 128 }), () => now);
  for (let i = 0; i < PROBE_WINDOW - 1; i++) t.equal(store.add(`id${i}`, new Uint8Array(0), now + 10_000), 'added');
  t.ok(store.set('cached', bytes('c'), now + 60_000), 'the last free slot');
  t.equal(store.add('one-more', new Uint8Array(0), now + 90_000), 'refused', 'a full window refuses rather than evict');
  t.equal(text(store.get('cached')?.value), 'c', 'not even the cache entry was evicted by add');
  t.ok(store.set('cached-2', bytes('d'), now + 60_000), 'set evicts the unpinned cache entry');
  t.equal(store.get('cached'), undefined);
  t.ok(store.delete('cached-2'));
  t.equal(store.add('last-id', new Uint8Array(0), now + 10_000), 'added');
  t.notOk(store.set('cached-3', bytes('e'), now + 60_000), 'only added (pinned) live entries left: set is refused');
  for (let i = 0; i < PROBE_WINDOW - 1; i++) t.equal(store.add(`id${i}`, new Uint8Array(0), now + 10_000), 'present', `id${i} still claimed`);
  now += 10_000;
  t.equal(store.add('one-more', new Uint8Array(0), now + 90_000), 'added', 'expired ids free their slots');
});

t.test('a full probe window evicts the earliest-expiring entry', async (t) => {
  const now = 1_000_000;
  // PROBE_WINDOW slots in all: every key shares the one window
  const store = new SharedStore(createSharedStoreBuffer({ slots: PROBE_WINDOW, slotBytes: 128 }), () => now);
  for (let i = 0; i < PROBE_WINDOW; i++) t.ok(store.set(`k${i}`, bytes(`v${i}`), now + 10_000 + (i === 5 ? -5000 : i)));
  t.ok(store.set('newcomer', bytes('n'), now + 20_000));
  t.equal(store.get('k5'), undefined, 'the earliest-expiring entry went');
  t.equal(text(store.get('newcomer')?.value), 'n');
  for (let i = 0; i < PROBE_WINDOW; i++) if (i !== 5) t.equal(text(store.get(`k${i}`)?.value), `v${i}`);
});

t.test('another SharedStore over the same buffer sees the same data; a foreign buffer is refused', async (t) => {
  const buffer = createSharedStoreBuffer({ slots: 64, slotBytes: 256 });
  new SharedStore(buffer).set('x', bytes('shared'), Date.now() + 60_000);
  t.equal(text(new SharedStore(buffer).get('x')?.value), 'shared');
  t.throws(() => new SharedStore(new SharedArrayBuffer(1024)), /createSharedStoreBuffer/);
  t.throws(() => createSharedStoreBuffer({ slots: 3 }), /slots/);
});

// Each worker writes values whose every byte encodes (key, writer, round), checksummed, to the same
// small key set, and reads them back all the time: a torn read shows up as a mixed or bad value.
const HAMMER = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.url).then(({ SharedStore }) => {
  const store = new SharedStore(workerData.buffer);
  const { id, keys, rounds } = workerData;
  let reads = 0, hits = 0, torn = 0, refused = 0, foreign = 0;
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < keys; k++) {
      const len = 16 + ((r * 7 + k * 13 + id * 31) % 8000);
      const value = new Uint8Array(len);
      const fill = (k * 16 + id * 4 + (r % 4)) & 0xff;
      value.fill(fill);
      value[0] = k; value[1] = id; value[2] = len & 0xff; value[3] = len >> 8;
      if (!store.set('key-' + k, value, Date.now() + 60000)) refused++;
      const got = store.get('key-' + ((k + r) % keys));
      reads++;
      if (got === undefined) continue;
      hits++;
      const v = got.value;
      const expectKey = (k + r) % keys;
      const okHeader = v.length >= 4 && v[0] === expectKey && (v[2] | (v[3] << 8)) === v.length;
      let ok = okHeader;
      for (let i = 4; ok && i < v.length; i++) if (v[i] !== v[4]) ok = false;
      if (ok && ((v[4] >> 4) !== expectKey || ((v[4] >> 2) & 3) !== v[1])) ok = false;
      if (!ok) torn++;
      if (okHeader && v[1] !== id) foreign++;
    }
  }
  parentPort.postMessage({ reads, hits, torn, refused, foreign });
});
`;

t.test('several worker threads hammering the same keys never read a torn value', async (t) => {
  // large values and few keys: copies are long and overlap often, so a missing seqlock shows up
  const buffer = createSharedStoreBuffer({ slots: 64, slotBytes: 8192 });
  const runs = [0, 1, 2, 3].map((id) => new Promise<{ reads: number; hits: number; torn: number; refused: number; foreign: number }>((resolve, reject) => {
    const worker = new Worker(HAMMER, { eval: true, workerData: { url: STORE_URL, buffer, id, keys: 2, rounds: 40_000 } });
    worker.once('message', resolve);
    worker.once('error', reject);
  }));
  const results = await Promise.all(runs);
  const total = results.reduce((a, r) => ({ reads: a.reads + r.reads, hits: a.hits + r.hits, torn: a.torn + r.torn, refused: a.refused + r.refused, foreign: a.foreign + r.foreign }));
  t.comment(JSON.stringify(total));
  t.equal(total.torn, 0, 'no torn or mixed reads');
  t.equal(total.refused, 0, 'no write refused (no lock timeouts)');
  t.equal(total.hits, total.reads, 'every key written before it is read is found');
  t.ok(total.foreign > 0, 'workers did read each other\'s writes (the test really shares)');
  // the final state is one complete value per key
  const store = new SharedStore(buffer);
  for (let k = 0; k < 2; k++) t.equal(store.get(`key-${k}`)?.value[0], k);
});

t.test('add is first-one-wins across worker threads', async (t) => {
  // 500 ids in 1024 slots: windows do fill up now and then, which must refuse, never claim twice
  const ids = 500;
  const rounds = 5;
  for (let round = 0; round < rounds; round++) {
    const buffer = createSharedStoreBuffer({ slots: 1024, slotBytes: 128 });
    const code = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.url).then(({ SharedStore }) => {
  const store = new SharedStore(workerData.buffer);
  const outcomes = [];
  for (let i = 0; i < ${ids}; i++) outcomes.push(store.add('claim-' + i, new Uint8Array(0), Date.now() + 60000));
  parentPort.postMessage(outcomes);
});`;
    const outcomes = await Promise.all([0, 1, 2].map(() => new Promise<string[]>((resolve, reject) => {
      const worker = new Worker(code, { eval: true, workerData: { url: STORE_URL, buffer } });
      worker.once('message', resolve);
      worker.once('error', reject);
    })));
    const store = new SharedStore(buffer);
    let twice = 0;
    let lost = 0;
    for (let i = 0; i < ids; i++) {
      const added = outcomes.filter((o) => o[i] === 'added').length;
      if (added > 1) twice++;
      // an id no worker could add must not be readable either, and one added must still be there
      if ((added === 1) !== (store.get('claim-' + i) !== undefined)) lost++;
    }
    t.equal(twice, 0, `round ${round}: no id claimed by two workers`);
    t.equal(lost, 0, `round ${round}: every claimed id is still stored`);
  }
});

t.test('SharedSessionExtras: tokens written through one store view are read through another', async (t) => {
  const buffer = createSharedStoreBuffer({ slots: 64, slotBytes: 1024 });
  const writer = new SharedSessionExtras(new SharedStore(buffer));
  const reader = new SharedSessionExtras(new SharedStore(buffer));
  writer.set('sid-1', { accessToken: 'at-1', refreshToken: 'rt-1', groups: ['a', 'b'] }, 60);
  t.same(reader.get('sid-1'), { accessToken: 'at-1', refreshToken: 'rt-1', groups: ['a', 'b'] });
  t.equal(reader.get('sid-2'), undefined);
  // too large for a slot: the ID token and groups go, the tokens the flow sends stay
  writer.set('sid-big', { accessToken: 'at-2', refreshToken: 'rt-2', idToken: 'x'.repeat(2000), groups: ['g'] }, 60);
  t.same(reader.get('sid-big'), { accessToken: 'at-2', refreshToken: 'rt-2' });
  // even the tokens too large: nothing (a miss), not a stale older value
  writer.set('sid-1', { accessToken: 'y'.repeat(2000) }, 60);
  t.equal(reader.get('sid-1'), undefined);
  writer.set('sid-3', { accessToken: 'at-3' }, 60);
  writer.delete('sid-3');
  t.equal(reader.get('sid-3'), undefined);
});

t.test('SharedSessionExtras honours the ttl', async (t) => {
  let now = 5_000_000;
  const store = new SharedStore(createSharedStoreBuffer({ slots: 64, slotBytes: 512 }), () => now);
  const extras = new SharedSessionExtras(store, () => now);
  extras.set('sid', { accessToken: 'at' }, 10);
  now += 9_000;
  t.same(extras.get('sid'), { accessToken: 'at' });
  now += 1_000;
  t.equal(extras.get('sid'), undefined);
});

t.test('AssertionReplayCache over a shared store: a claim made by one is refused by another', async (t) => {
  const buffer = createSharedStoreBuffer({ slots: 64, slotBytes: 512 });
  const one = new AssertionReplayCache();
  const two = new AssertionReplayCache();
  one.useShared(new SharedStore(buffer));
  two.useShared(new SharedStore(buffer));
  const until = Date.now() + 60_000;
  t.equal(one.claim('sp\nidp\n_assertion1', until), 'added');
  t.equal(two.claim('sp\nidp\n_assertion1', until), 'present', 'replayed through the other cache');
  t.equal(two.claim('sp\nidp\n_assertion2', until), 'added');
  t.equal(one.claim('sp\nidp\n_assertion2', until), 'present');
});
