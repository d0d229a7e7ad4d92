// ConfigDelta → edits of the config document: upserts by id, deletes by id, settings; problems, never throws.
import t from 'tap';
import { applyDelta, deltaFromProto } from '../../../core/control/convert.js';

const base = () => ({
  workers: 1,
  events: { file: '-' },
  reserved_domains: [{ domain: 'a.test' }, { id: 'rd_named', domain: 'b.test' }],
  backends: [
    { id: 'bkd_a', type: 'static_address', address: '127.0.0.1:1' },
    { id: 'bkd_b', type: 'http_response', status_code: 200 },
  ],
});

t.test('upsert replaces in place or appends; delete by id, generated ids included', async (t) => {
  const { value: delta, problems } = deltaFromProto({
    upsert_backends: [{ id: 'bkd_b', type: 'http_response', status_code: 404 }, { id: 'bkd_c', type: 'failover', failover_backends: ['bkd_a'] }],
    delete_backends: ['bkd_a'],
    delete_reserved_domains: ['rd_0'],
    settings: { workers: 4, http: { max_header_bytes: 2048 } },
    clear_settings: ['events'],
  });
  t.same(problems, []);
  const doc: Record<string, unknown> = base();
  t.same(applyDelta(doc, delta), []);
  t.strictSame(doc.backends, [
    { id: 'bkd_b', type: 'http_response', status_code: 404 },
    { id: 'bkd_c', type: 'failover', backends: ['bkd_a'] },
  ]);
  t.strictSame(doc.reserved_domains, [{ id: 'rd_named', domain: 'b.test' }]);
  t.equal(doc.workers, 4);
  t.strictSame(doc.http, { max_header_bytes: 2048 });
  t.notOk('events' in doc);
});

t.test('unknown ids, missing ids and collections in settings are problems with paths', async (t) => {
  const { value: delta, problems } = deltaFromProto({
    settings: { edges: [{ id: 'e', type: 'tcp' }] },
    clear_settings: ['nope', 'backends'],
  });
  t.same(problems.map((p) => p.path), ['settings.edges', 'clear_settings[0]', 'clear_settings[1]']);
  t.ok(delta);
  const second = deltaFromProto({ delete_edges: ['edg_missing'], upsert_backends: [{ type: 'http_response', status_code: 200 }] });
  t.same(second.problems, []);
  const doc: Record<string, unknown> = base();
  const found = applyDelta(doc, second.value);
  t.same(found.map((p) => p.path), ['delete_edges[0]', 'upsert_backends[0].id']);
  t.match(found[0]!.reason, /edg_missing/);
});
