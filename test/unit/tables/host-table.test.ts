import t from 'tap';
import { Worker } from 'node:worker_threads';
import { buildHostTable, HostTable, type HostEntry } from '../../../core/tables/host-table.js';

const HOST_TABLE_URL = new URL('../../../core/tables/host-table.js', import.meta.url).href;

function tableOf(entries: HostEntry[]): HostTable {
  return new HostTable(buildHostTable(entries));
}

// Reference model: exact first, then the longest wildcard base that is a proper suffix after a dot,
// with no empty labels anywhere in the name.
function expectedLookup(entries: HostEntry[], port: number, name: string): number {
  const lower = name.toLowerCase();
  const exact = entries.find((e) => e.port === port && e.name === lower);
  if (exact) return exact.value;
  if (lower.split('.').some((label) => label === '')) return -1;
  for (let i = lower.indexOf('.'); i >= 0; i = lower.indexOf('.', i + 1)) {
    const wildcard = entries.find((e) => e.port === port && e.name === `*.${lower.slice(i + 1)}`);
    if (wildcard) return wildcard.value;
  }
  return -1;
}

// Deterministic PRNG so a failure reproduces.
function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let r = Math.imul(s ^ (s >>> 15), 1 | s);
    r ^= r + Math.imul(r ^ (r >>> 7), 61 | r);
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

function randomLabel(random: () => number, alphabet: string, min: number, max: number): string {
  const length = min + Math.floor(random() * (max - min + 1));
  let label = '';
  for (let i = 0; i < length; i++) label += alphabet[Math.floor(random() * alphabet.length)];
  return label;
}

t.test('exact host beats wildcard', async (t) => {
  const table = tableOf([
    { port: 443, name: '*.example.test', value: 1 },
    { port: 443, name: 'app.example.test', value: 2 },
  ]);
  t.equal(table.lookup(443, 'app.example.test'), 2);
  t.equal(table.lookup(443, 'other.example.test'), 1);
});

t.test('wildcard matches nested names but never its own base', async (t) => {
  const table = tableOf([{ port: 443, name: '*.example.test', value: 7 }]);
  t.equal(table.lookup(443, 'a.example.test'), 7);
  t.equal(table.lookup(443, 'a.b.c.example.test'), 7);
  t.equal(table.lookup(443, 'example.test'), -1);
  t.equal(table.lookup(443, 'test'), -1);
  t.equal(table.lookup(443, 'aexample.test'), -1, 'suffix must start at a label boundary');
  t.equal(table.lookup(443, 'a.example.testx'), -1);
});

t.test('longest matching wildcard wins', async (t) => {
  const table = tableOf([
    { port: 443, name: '*.example.test', value: 1 },
    { port: 443, name: '*.b.example.test', value: 2 },
    { port: 443, name: '*.c.b.example.test', value: 3 },
  ]);
  t.equal(table.lookup(443, 'x.b.example.test'), 2);
  t.equal(table.lookup(443, 'y.x.b.example.test'), 2);
  t.equal(table.lookup(443, 'x.c.b.example.test'), 3);
  t.equal(table.lookup(443, 'c.b.example.test'), 2, 'a base is matched by the next wildcard up');
  t.equal(table.lookup(443, 'b.example.test'), 1);
  t.equal(table.lookup(443, 'x.example.test'), 1);
});

t.test('port separates entries', async (t) => {
  const table = tableOf([
    { port: 443, name: 'app.example.test', value: 1 },
    { port: 8443, name: 'app.example.test', value: 2 },
    { port: 0, name: '*.example.test', value: 3 },
  ]);
  t.equal(table.lookup(443, 'app.example.test'), 1);
  t.equal(table.lookup(8443, 'app.example.test'), 2);
  t.equal(table.lookup(80, 'app.example.test'), -1);
  t.equal(table.lookup(0, 'app.example.test'), 3);
  t.equal(table.lookup(443, 'x.example.test'), -1);
  t.equal(table.lookup(0x10000 + 443, 'app.example.test'), -1, 'port is not truncated to 16 bits');
  t.equal(table.lookup(-1, 'app.example.test'), -1);
  t.equal(table.lookup(443.5, 'app.example.test'), -1);
  t.equal(table.lookup(NaN, 'app.example.test'), -1);
});

t.test('lookup is ASCII case-insensitive, build folds case too', async (t) => {
  const table = tableOf([
    { port: 443, name: 'app.example.test', value: 1 },
    { port: 443, name: '*.Wild.Example.Test', value: 2 },
  ]);
  t.equal(table.lookup(443, 'APP.Example.TEST'), 1);
  t.equal(table.lookup(443, 'Z.WILD.example.test'), 2);
  t.equal(table.lookup(443, 'z.wild.example.test'), 2);
  // Non-ASCII look-alikes must not fold into ASCII: U+212A KELVIN SIGN, U+0130 dotted capital I.
  t.equal(table.lookup(443, '\u212Aapp.example.test'), -1);
  t.equal(table.lookup(443, 'app.example.tes\u0130'), -1);
  t.equal(table.lookup(443, 'app\u0000example.test'), -1);
});

t.test('no match gives -1, including degenerate names', async (t) => {
  const table = tableOf([
    { port: 443, name: '*.example.test', value: 1 },
    { port: 443, name: 'a.test', value: 2 },
  ]);
  const names = ['', '.', '..', '.example.test', '..example.test', 'x..example.test', 'x.example.test.', 'a.test.',
    'example.test', 'a'.repeat(254), `${'a.'.repeat(126)}example.test`, 'a.tes', 'xa.test', 'a.test\u0000'];
  for (const name of names) t.equal(table.lookup(443, name), -1, JSON.stringify(name));
  t.equal(tableOf([]).lookup(443, 'a.test'), -1, 'empty table');
  t.equal(tableOf([]).entryCount, 0);
  // The longest legal name still works.
  const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(56)}.test`;
  t.equal(long.length, 253);
  t.equal(tableOf([{ port: 1, name: long, value: 9 }]).lookup(1, long), 9);
});

t.test('duplicate (port, name) is refused with the name in the message', async (t) => {
  t.throws(
    () => buildHostTable([
      { port: 443, name: 'app.example.test', value: 1 },
      { port: 443, name: 'APP.example.test', value: 2 },
    ]),
    { message: /app\.example\.test/ },
  );
  t.throws(
    () => buildHostTable([
      { port: 443, name: '*.example.test', value: 1 },
      { port: 443, name: '*.example.test', value: 2 },
    ]),
    { message: /duplicate host entry: port 443 name \*\.example\.test/ },
  );
  t.doesNotThrow(() => buildHostTable([
    { port: 443, name: '*.example.test', value: 1 },
    { port: 443, name: 'example.test', value: 2 },
    { port: 80, name: '*.example.test', value: 3 },
  ]), 'a wildcard and its base, or another port, are different keys');
});

t.test('invalid entries are refused', async (t) => {
  const bad: unknown[] = [
    { port: 443, name: '', value: 1 },
    { port: 443, name: 'a..b', value: 1 },
    { port: 443, name: '.a', value: 1 },
    { port: 443, name: 'a.', value: 1 },
    { port: 443, name: '*', value: 1 },
    { port: 443, name: 'a.*.b', value: 1 },
    { port: 443, name: '*-app.b', value: 1 },
    { port: 443, name: 'ä.test', value: 1 },
    { port: 443, name: 'a'.repeat(254), value: 1 },
    { port: 65536, name: 'a.test', value: 1 },
    { port: -1, name: 'a.test', value: 1 },
    { port: 443, name: 'a.test', value: -1 },
    { port: 443, name: 'a.test', value: 2 ** 32 },
    { port: 443, name: 'a.test', value: 1.5 },
    { port: 443, name: 42, value: 1 },
    null,
  ];
  for (const entry of bad) t.throws(() => buildHostTable([entry as HostEntry]), JSON.stringify(entry));
});

t.test('values keep all 32 bits', async (t) => {
  const table = tableOf([
    { port: 443, name: 'a.test', value: 0xffffffff },
    { port: 443, name: 'b.test', value: 0 },
  ]);
  t.equal(table.lookup(443, 'a.test'), 0xffffffff);
  t.equal(table.lookup(443, 'b.test'), 0);
});

t.test('reader refuses a buffer that is not a host table', async (t) => {
  t.throws(() => new HostTable(new SharedArrayBuffer(8)));
  t.throws(() => new HostTable(new SharedArrayBuffer(4096)));
  t.throws(() => new HostTable(new ArrayBuffer(4096) as unknown as SharedArrayBuffer));
  const buf = buildHostTable([{ port: 1, name: 'a.test', value: 1 }]);
  const copy = new SharedArrayBuffer(buf.byteLength + 4);
  new Uint8Array(copy).set(new Uint8Array(buf));
  t.throws(() => new HostTable(copy), 'length disagrees with the header');
});

t.test('random names on a small alphabet agree with the reference model', async (t) => {
  const random = seededRandom(7);
  const entries: HostEntry[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < 300; i++) {
    const labels = 1 + Math.floor(random() * 3);
    let name = Array.from({ length: labels }, () => randomLabel(random, 'ab', 1, 2)).join('.');
    if (random() < 0.4) name = `*.${name}`;
    const port = random() < 0.8 ? 443 : 80;
    if (seen.has(`${port} ${name}`)) continue;
    seen.add(`${port} ${name}`);
    entries.push({ port, name, value: entries.length });
  }
  const table = tableOf(entries);
  t.equal(table.entryCount, entries.length);
  let mismatches = 0;
  for (let i = 0; i < 5000; i++) {
    const labels = 1 + Math.floor(random() * 5);
    const name = Array.from({ length: labels }, () => randomLabel(random, 'abAB', 0, 2)).join('.');
    const port = random() < 0.8 ? 443 : 80;
    if (table.lookup(port, name) !== expectedLookup(entries, port, name)) {
      if (mismatches++ < 5) t.fail(`lookup(${port}, ${JSON.stringify(name)})`);
    }
  }
  t.equal(mismatches, 0);
});

t.test('100k names and 10k wildcards are all found', async (t) => {
  const random = seededRandom(42);
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const entries: HostEntry[] = [];
  const exact = new Map<string, number>();
  const wildcards = new Map<string, number>();
  while (exact.size < 100_000) {
    const name = `${randomLabel(random, alphabet, 3, 12)}.${randomLabel(random, alphabet, 2, 8)}.test`;
    if (exact.has(name)) continue;
    exact.set(name, entries.length);
    entries.push({ port: 443, name, value: entries.length });
  }
  while (wildcards.size < 10_000) {
    const depth = 1 + Math.floor(random() * 3);
    const base = [...Array.from({ length: depth }, () => randomLabel(random, alphabet, 2, 6)), 'wild', 'test'].join('.');
    if (wildcards.has(base)) continue;
    wildcards.set(base, entries.length);
    entries.push({ port: 443, name: `*.${base}`, value: entries.length });
  }
  const table = tableOf(entries);
  t.equal(table.entryCount, 110_000);
  t.ok(table.byteLength > 0);

  let missing = 0;
  for (const [name, value] of exact) if (table.lookup(443, name) !== value) missing++;
  t.equal(missing, 0, 'every exact name');

  // '-' never occurs in generated labels, so 'q-…' names are exact-miss and hit the longest base.
  let wrong = 0;
  for (const base of wildcards.keys()) {
    const name = `q-${randomLabel(random, alphabet, 1, 5)}.${base}`;
    if (table.lookup(443, name) !== expectedWildcard(wildcards, name)) wrong++;
    const nested = `q-a.q-b.${base}`;
    if (table.lookup(443, nested) !== expectedWildcard(wildcards, nested)) wrong++;
  }
  t.equal(wrong, 0, 'every wildcard, nested or not, longest first');

  let falseHits = 0;
  const exactNames = [...exact.keys()];
  for (let i = 0; i < 20_000; i++) {
    const name = `q-${randomLabel(random, alphabet, 3, 12)}.${randomLabel(random, alphabet, 2, 8)}.test`;
    if (table.lookup(443, name) !== -1) falseHits++;
    if (table.lookup(80, exactNames[i]) !== -1) falseHits++;
  }
  t.equal(falseHits, 0, 'misses stay misses');
});

function expectedWildcard(wildcards: Map<string, number>, name: string): number {
  for (let i = name.indexOf('.'); i >= 0; i = name.indexOf('.', i + 1)) {
    const value = wildcards.get(name.slice(i + 1));
    if (value !== undefined) return value;
  }
  return -1;
}

t.test('a worker given only the SharedArrayBuffer answers the same', async (t) => {
  const entries: HostEntry[] = [
    { port: 443, name: 'app.example.test', value: 1 },
    { port: 443, name: '*.example.test', value: 2 },
    { port: 443, name: '*.b.example.test', value: 3 },
    { port: 8443, name: 'app.example.test', value: 4 },
  ];
  const buf = buildHostTable(entries);
  const table = new HostTable(buf);
  const queries: Array<[number, string]> = [
    [443, 'app.example.test'], [443, 'x.example.test'], [443, 'x.b.example.test'], [443, 'example.test'],
    [8443, 'APP.example.test'], [80, 'app.example.test'], [443, 'a.b.c.example.test'],
  ];
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     import(workerData.url).then(({ HostTable }) => {
       const table = new HostTable(workerData.buf);
       parentPort.postMessage({
         shared: workerData.buf instanceof SharedArrayBuffer,
         answers: workerData.queries.map(([port, name]) => table.lookup(port, name)),
       });
     });`,
    { eval: true, workerData: { url: HOST_TABLE_URL, buf, queries } },
  );
  t.teardown(() => worker.terminate());
  const reply = await new Promise<{ shared: boolean; answers: number[] }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  t.equal(reply.shared, true);
  t.same(reply.answers, queries.map(([port, name]) => table.lookup(port, name)));
  t.same(reply.answers, [1, 2, 3, -1, 4, -1, 2]);
});
