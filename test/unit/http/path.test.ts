import t from 'tap';
import { normalizePath, splitTarget } from '../../../core/http/path.js';
import { buildRouteTable, type RouteMatch } from '../../../workers/http/routes.js';

t.test('normalizePath makes every spelling of a path one canonical form', async (t) => {
  const cases: Array<[string, string | null]> = [
    ['/', '/'],
    ['/admin', '/admin'],
    ['//admin', '/admin'],
    ['/a//b///c', '/a/b/c'],
    ['/x/../admin', '/admin'],
    ['/x/./admin', '/x/admin'],
    ['/../../admin', '/admin'],
    ['/%61dmin', '/admin'],
    ['/x%2F..%2Fadmin', '/admin'],
    ['/x%2f%2e%2e%2fadmin', '/admin'],
    ['/x%5C..%5Cadmin', '/admin'],
    ['/x\\..\\admin', '/admin'],
    ['/a/b/', '/a/b/'],
    ['/a/b/.', '/a/b/'],
    ['/a/b/..', '/a/'],
    ['/caf%C3%A9', '/caf%C3%A9'],
    ['/a%20b', '/a%20b'],
    ['/a%zzb', null],
    ['/a%', null],
    ['/a%00b', null],
    ['', '/'],
  ];
  for (const [raw, want] of cases) t.equal(normalizePath(raw), want, JSON.stringify(raw));
});

t.test('splitTarget handles origin-form, absolute-form and asterisk-form', async (t) => {
  t.same(splitTarget('/a/b?x=1&y=2'), { path: '/a/b', query: 'x=1&y=2' });
  t.same(splitTarget('/a#frag'), { path: '/a', query: '' });
  t.same(splitTarget('https://example.com/p?q'), { path: '/p', query: 'q' });
  t.same(splitTarget('http://example.com'), { path: '/', query: '' });
  t.same(splitTarget('*'), { path: '*', query: '' });
  t.equal(splitTarget('example.com/p'), null);
});

t.test('routes: exact beats prefix, longest prefix wins, prefixes match whole segments', async (t) => {
  const routes: Array<RouteMatch & { id: string }> = [
    { id: 'root', matchType: 'path_prefix', match: '/' },
    { id: 'api', matchType: 'path_prefix', match: '/api' },
    { id: 'api-v2', matchType: 'path_prefix', match: '/api/v2' },
    { id: 'health', matchType: 'exact_path', match: '/api/health' },
    { id: 'static', matchType: 'path_prefix', match: '/static/' },
  ];
  const table = buildRouteTable(routes, (r) => r);
  const find = (p: string): string | undefined => table.find(p)?.id;
  t.equal(find('/'), 'root');
  t.equal(find('/anything'), 'root');
  t.equal(find('/api'), 'api');
  t.equal(find('/api/users'), 'api');
  t.equal(find('/apix'), 'root', 'prefix /api does not match /apix');
  t.equal(find('/api/v2/x'), 'api-v2');
  t.equal(find('/api/health'), 'health');
  t.equal(find('/api/health/x'), 'api');
  t.equal(find('/static/app.js'), 'static');
  const noRoot = buildRouteTable(routes.slice(1), (r) => r);
  t.equal(noRoot.find('/other'), undefined);
});
