import t from 'tap';
import { DomainIndex, coveringDomain } from '../../../core/config/domain-index.js';

const domains = [
  { domain: '*.example.test', id: 'wild' },
  { domain: 'app.example.test', id: 'exact' },
  { domain: '*.deep.example.test', id: 'deep' },
  { domain: 'Other.Test', id: 'other' },
];

t.test('exact beats wildcard, the longest wildcard wins, nested names are covered', async (t) => {
  const index = new DomainIndex(domains);
  t.equal(index.cover('app.example.test')?.id, 'exact');
  t.equal(index.cover('x.example.test')?.id, 'wild');
  t.equal(index.cover('a.b.c.example.test')?.id, 'wild', 'nested under the shallow wildcard');
  t.equal(index.cover('x.deep.example.test')?.id, 'deep');
  t.equal(index.cover('y.x.deep.example.test')?.id, 'deep');
  t.equal(index.cover('other.test')?.id, 'other', 'reserved names are compared in lower case');
});

t.test('a wildcard never covers its own base, and a wildcard hostname only itself', async (t) => {
  const index = new DomainIndex(domains);
  t.equal(index.cover('example.test'), undefined);
  t.equal(index.cover('*.example.test')?.id, 'wild');
  t.equal(index.cover('*.x.example.test'), undefined, 'spec 321: a wildcard must be reserved as written');
  t.equal(index.cover('nothing.else'), undefined);
});

t.test('coveringDomain builds its index once per array and stays linear for large configs', async (t) => {
  const many = Array.from({ length: 50_000 }, (_, i) => ({ domain: `h${i}.example.test` }));
  for (let i = 0; i < 50_000; i += 997) t.equal(coveringDomain(many, `h${i}.example.test`)?.domain, `h${i}.example.test`);
  t.equal(coveringDomain(many, 'h50000.example.test'), undefined);
});
