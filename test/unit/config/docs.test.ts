import { readFileSync } from 'node:fs';
import t from 'tap';
import { renderConfigDocs } from '../../../core/config/docs.js';

const CHECKED_IN = new URL('../../../../docs/config.md', import.meta.url);

t.test('the reference names every section and field with its default', async (tt) => {
  const md = renderConfigDocs();
  for (const title of ['`(top level)`', '`tls_certificates[]`', '`ip_policies[].rules[]`', '`backends[] (type: weighted)`', '`edges[] (type: tls)`', '`edges[].tls_termination`']) {
    tt.ok(md.includes(`# ${title}`), title);
  }
  tt.match(md, /\| `max_client_hello_bytes` \| integer \| `16384` \|/);
  tt.match(md, /\| `terminate_at` \| `"edge"` \\\| `"upstream"` \\\| `"agent"` \| `"upstream"` \|/);
  tt.match(md, /\| `private_key_pem` \| PEM string/);
  const tcp = md.slice(md.indexOf('### `edges[] (type: tcp)`'), md.indexOf('### `edges[] (type: https)`'));
  tt.match(tcp, /\| `hostports` \|/);
  tt.notMatch(tcp, /\| `(mutual_tls|tls_termination)` \|/, 'fields refused on tcp edges are not listed');
});

t.test('routes, their modules and the http block are documented', async (tt) => {
  const md = renderConfigDocs();
  for (const title of ['`edges[].routes[]`', '`edges[].routes[].circuit_breaker`', '`edges[].routes[].request_headers`', '`edges[].routes[].user_agent_filter`', '`http`']) {
    tt.ok(md.includes(`# ${title}`), title);
  }
  const https = md.slice(md.indexOf('### `edges[] (type: https)`'), md.indexOf('#### `edges[].routes[]`'));
  tt.notMatch(https, /\| `(backend|ip_restriction)` \|/, 'https edges take backend and ip_restriction per route only');
  tt.match(md, /\| `match` \| string \| \*\*required\*\* \| A path such as/, 'a required-with-code field reads as required');
  tt.match(md, /\| `max_request_body_bytes` \| integer \| `104857600` \| edgeplane extension/);
  tt.match(md, /\| `num_buckets` \| integer \| `10` \|/);
  tt.match(md, /\| `plain_mode` \| `"redirect"` \\\| `"serve"` \| `"redirect"` \|/);
});

t.test('docs/config.md is up to date with the schema', async (tt) => {
  tt.equal(readFileSync(CHECKED_IN, 'utf8'), renderConfigDocs(), 'regenerate: node dist/core/config/docs.js > docs/config.md');
});
