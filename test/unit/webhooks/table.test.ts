// The README's webhook provider table is the one the registry renders (regenerate it when a provider changes).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { renderProviderTable, TABLE_END, TABLE_START } from '../../../workers/http/webhooks/providers/table.js';
import { PROVIDERS } from '../../../workers/http/webhooks/providers/index.js';

const README = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');

t.test('README.md holds the generated provider table, one row per provider', async (t) => {
  const start = README.indexOf(TABLE_START);
  const end = README.indexOf(TABLE_END);
  t.ok(start >= 0 && end > start, 'the README has the table markers');
  t.equal(README.slice(start, end + TABLE_END.length + 1), renderProviderTable(), 'regenerate: node dist/workers/http/webhooks/providers/table.js');
  const rows = renderProviderTable().split('\n').filter((l) => l.startsWith('| `') && !l.startsWith('| `provider`'));
  t.equal(rows.length, PROVIDERS.length);
  t.equal(PROVIDERS.length, 58);
  for (const p of PROVIDERS.filter((p) => !p.confirmed)) t.match(rows.find((r) => r.startsWith(`| \`${p.id}\``)) ?? '', /\*\*no\*\*/, `${p.id} is marked unconfirmed`);
});
