// The default max_connections comes from the open-files limit; the edge limit is one atomic check.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { defaultMaxConnections, openFilesSoftLimit } from '../../../core/acceptor/connection-limit.js';
import { Counters, EdgeField, createCounterBuffer } from '../../../core/tables/counters.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             63459                63459                processes
Max open files            20000                1048576              files
Max locked memory         8388608              8388608              bytes
`;

t.test('the soft open-files limit is read from /proc/self/limits text', async (t) => {
  t.equal(openFilesSoftLimit(LIMITS), 20000);
  t.equal(openFilesSoftLimit(LIMITS.replace('20000  ', 'unlimited')), null, 'unlimited has no number');
  t.equal(openFilesSoftLimit('garbage'), null);
});

t.test('default: half of what is left after 256 reserved descriptors, at least 64', async (t) => {
  t.equal(defaultMaxConnections(LIMITS), (20000 - 256) / 2);
  t.equal(defaultMaxConnections(LIMITS.replace('20000', '1024 ')), 384);
  t.equal(defaultMaxConnections(LIMITS.replace('20000', '200  ')), 64, 'a tiny limit still leaves some room');
  t.equal(defaultMaxConnections(null), 4096, 'no /proc: a fixed fallback');
  t.ok(defaultMaxConnections() >= 64, 'this process gets a number');
});

t.test('an edge admits up to its limit; a refusal counts OverLimit and nothing else', async (t) => {
  const c = new Counters(createCounterBuffer());
  t.ok(c.openEdgeConnection(0, 5, 2));
  t.ok(c.openEdgeConnection(1, 5, 2));
  t.notOk(c.openEdgeConnection(0, 5, 2), 'the third is refused');
  t.equal(c.edge(5, EdgeField.Active), 2n);
  t.equal(c.edge(5, EdgeField.Total), 2n);
  t.equal(c.edge(5, EdgeField.OverLimit), 1n);
  c.closeEdgeConnection(1, 5);
  t.ok(c.openEdgeConnection(1, 5, 2), 'a place freed is taken');
  t.ok(c.openEdgeConnection(0, 6, 0), 'limit 0 = none');
});

t.test('a dead worker\'s open connections are taken off the edges, the others stay', async (t) => {
  const c = new Counters(createCounterBuffer());
  c.openEdgeConnection(0, 1, 0); c.openEdgeConnection(0, 1, 0); c.openEdgeConnection(1, 1, 0); c.openEdgeConnection(0, 9, 0);
  c.resetWorker(0);
  t.equal(c.edge(1, EdgeField.Active), 1n, 'worker 1\'s connection still counts');
  t.equal(c.edge(9, EdgeField.Active), 0n);
  c.closeEdgeConnection(1, 1);
  t.equal(c.edge(1, EdgeField.Active), 0n, 'and closes normally later');
});

t.test('workers racing for the last places never admit more than the limit', async (t) => {
  const buffer = createCounterBuffer();
  const LIMIT = 1000;
  const url = new URL(import.meta.url);
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.module).then(({ Counters }) => {
      const c = new Counters(workerData.buffer);
      let admitted = 0;
      for (let i = 0; i < 5000; i++) if (c.openEdgeConnection(workerData.index, 3, workerData.limit)) admitted++;
      parentPort.postMessage(admitted);
    });`;
  const module = new URL('../../../core/tables/counters.js', url).href;
  const runs = await Promise.all([0, 1, 2, 3].map((index) => new Promise<number>((resolve, reject) => {
    const w = new Worker(source, { eval: true, workerData: { buffer, index, limit: LIMIT, module } });
    w.once('message', resolve);
    w.once('error', reject);
  })));
  t.equal(runs.reduce((a, b) => a + b, 0), LIMIT, `4 threads × 5000 tries admitted exactly ${LIMIT}`);
  const c = new Counters(buffer);
  t.equal(c.edge(3, EdgeField.Active), BigInt(LIMIT));
  t.equal(c.edge(3, EdgeField.OverLimit), BigInt(4 * 5000 - LIMIT));
});

t.test('config: max_connections is checked with the path of the bad field', async (t) => {
  const { loadConfigText } = await import('../../../core/config/load.js');
  const problem = (text: string): string => { try { loadConfigText(text, { baseDir: '/tmp', env: {} }); return ''; } catch (err) { return (err as Error).message; } };
  t.match(problem('max_connections: 0'), /max_connections: max_connections must be 1\.\.10000000/);
  t.match(problem('max_connections: 2.5'), /max_connections: .*integer/);
  t.match(problem("edges: [{ id: edgtcp_a, type: tcp, hostports: ['127.0.0.1:9'], max_connections: -1 }]"), /edges\[0\]\.max_connections: max_connections must be 1\.\./);
  t.equal(loadConfigText('max_connections: 100', { baseDir: '/tmp', env: {} }).config.max_connections, 100);
  t.equal(loadConfigText('{}', { baseDir: '/tmp', env: {} }).config.max_connections, undefined, 'absent: the default from the open-files limit applies');
});
