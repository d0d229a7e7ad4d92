// The edge configuration as ngrok-style REST resources on a real daemon's admin listener: every
// family created, read, updated, listed page by page and deleted; the limits and the checker's codes;
// an edge + route + backend made only through REST carrying a real HTTPS request; certificate fields
// against node's own reading of the PEM, and no private key in any reply.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Daemon } from '../../core/daemon.js';
import { loadConfigFile } from '../../core/config/load.js';
import { configResourceRoutes } from '../../core/api/config-resources/index.js';
import { makePki } from '../helpers/pki.js';
import { tempDir } from '../helpers/daemon.js';
import { apiClient } from '../helpers/api-client.js';
import { freePort } from '../helpers/net.js';
import { httpsRequest, startOrigin } from '../helpers/http.js';

const KEY = 'rest-key-0123456789abcdef';
const RFC3339_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

interface Reply { status: number; body: any; text: string }
type T = { equal: Function; match: Function; ok: Function; same: Function };

function expectError(t: T, reply: Reply, status: number, code: string | RegExp, what: string): void {
  t.equal(reply.status, status, `${what}: status ${status}`);
  t.match(reply.body?.error_code, code, `${what}: ${String(code)}`);
  t.match(reply.body, { status_code: status, msg: String, details: { operation_id: /^op_/ } }, `${what}: error body shape`);
}

t.test('REST config resources', async (t) => {
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const dir = tempDir(t);
  const edgePort = await freePort();
  const origin = await startOrigin(t);
  const configPath = join(dir, 'edgeplane.yaml');
  writeFileSync(configPath, stringify({
    workers: 1,
    listen_address: '127.0.0.1',
    drain_timeout: 1,
    admin: { listen: '127.0.0.1:0', api_keys: [KEY], state_dir: join(dir, 'state') },
  }));
  const daemon = await Daemon.start({ loaded: loadConfigFile(configPath), configPath });
  t.teardown(() => daemon.shutdown('test'));
  // what the lead wires into core/daemon.ts; done here until then
  daemon.eventApi!.addExtensions(configResourceRoutes(daemon));

  const base = `http://${daemon.adminAddress}`;
  const texts: string[] = [];
  const client = apiClient(base, KEY);
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> => {
    const reply = await client(method, path, body, headers);
    texts.push(reply.text);
    return reply;
  };

  /** Every id of a list, following next_page_uri with `limit` items a page; checks each page's size. */
  const allPages = async (tt: T, path: string, listKey: string, limit: number): Promise<string[]> => {
    const ids: string[] = [];
    let next: string | null = `${path}?limit=${limit}`;
    for (let pages = 0; next !== null; pages++) {
      if (pages > 1000) throw new Error(`${path}: paging does not end`);
      const page = await call('GET', next);
      tt.equal(page.status, 200);
      const items = page.body[listKey] as Array<{ id: string }>;
      tt.ok(items.length <= limit, `${path}: a page holds at most ${limit}`);
      ids.push(...items.map((item) => item.id));
      next = page.body.next_page_uri as string | null;
      if (next !== null) tt.equal(items.length, limit, `${path}: only the last page is short`);
    }
    return ids;
  };

  /** create → read → update → list (paged one by one) → delete → 404, for one collection. `second`: another valid create body. */
  const crud = async (tt: T, path: string, listKey: string, prefix: RegExp, create: object, update: object, second: object = create) => {
    const made = await call('POST', path, { description: 'made', metadata: '{"k":1}', ...create });
    tt.equal(made.status, 201, `${path}: created`);
    tt.match(made.body, { id: prefix, uri: `${base}${path}/${made.body.id}`, created_at: RFC3339_UTC, description: 'made', metadata: '{"k":1}' });
    const id = made.body.id as string;
    const read = await call('GET', `${path}/${id}`);
    tt.equal(read.status, 200);
    tt.same(read.body, made.body, `${path}: read back as created`);
    const patched = await call('PATCH', `${path}/${id}`, { description: 'patched', ...update });
    tt.equal(patched.status, 200, `${path}: patched`);
    tt.equal(patched.body.description, 'patched');
    tt.equal(patched.body.metadata, '{"k":1}', `${path}: omitted field unchanged`);
    const list = await call('GET', path);
    tt.equal(list.status, 200);
    tt.ok(list.body[listKey].some((item: { id: string }) => item.id === id), `${path}: listed under ${listKey}`);
    tt.equal(list.body.uri, `${base}${path}`);
    tt.equal(list.body.next_page_uri, null);
    const other = await call('POST', path, second);
    tt.equal(other.status, 201, `${path}: a second one`);
    const paged = await allPages(tt, path, listKey, 1);
    tt.ok(paged.includes(id) && paged.includes(other.body.id), `${path}: paging with limit=1 reaches both`);
    tt.equal(new Set(paged).size, paged.length, `${path}: no item on two pages`);
    tt.ok(paged.indexOf(other.body.id) < paged.indexOf(id), `${path}: newest first`);
    tt.equal((await call('DELETE', `${path}/${other.body.id}`)).status, 204);
    tt.equal((await call('DELETE', `${path}/${id}`)).status, 204, `${path}: deleted`);
    expectError(tt, await call('GET', `${path}/${id}`), 404, 'ERR_EDGEPLANE_4043', `${path}: gone`);
    return patched.body;
  };

  let certId = '';
  await t.test('tls certificates: read-only fields from the PEM', async (t) => {
    const pem = pki.read('bundle.crt');
    const made = await call('POST', '/tls_certificates', { certificate_pem: pem, private_key_pem: pki.read('leaf.key'), description: 'edge cert' });
    t.equal(made.status, 201);
    certId = made.body.id;
    t.match(certId, /^cert_/);
    const leaf = new X509Certificate(pem);
    const cn = /CN=([^\n]+)/.exec(leaf.subject)![1];
    t.match(made.body, {
      subject_common_name: cn,
      issuer_common_name: /CN=([^\n]+)/.exec(leaf.issuer)![1],
      serial_number: leaf.serialNumber.toLowerCase(),
      not_before: new Date(leaf.validFrom).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      not_after: new Date(leaf.validTo).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      private_key_type: 'ecdsa',
      key_usages: ['digital_signature'],
      extended_key_usages: ['server_auth'],
    });
    t.same(made.body.subject_alternative_names, {
      dns_names: leaf.subjectAltName!.split(', ').filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4)),
      ips: ['127.0.0.1'],
    });
    t.notOk('private_key_pem' in made.body, 'the key is not returned');
    const rsa = await call('POST', '/tls_certificates', { certificate_pem: pki.read('rsa-leaf.crt'), private_key_pem: pki.read('rsa-leaf.key') });
    t.match(rsa.body, { private_key_type: 'rsa', key_usages: ['digital_signature', 'key_encipherment'] });
    const certs = await allPages(t, '/tls_certificates', 'certificates', 1);
    t.same(certs.slice(0, 2), [rsa.body.id, certId], 'paging with limit=1, newest first');
    expectError(t, await call('PATCH', `/tls_certificates/${rsa.body.id}`, { private_key_pem: pki.read('leaf.key') }), 400, 'ERR_EDGEPLANE_4003', 'the key is create-only');
    t.equal((await call('DELETE', `/tls_certificates/${rsa.body.id}`)).status, 204);
    expectError(t, await call('POST', '/tls_certificates', { certificate_pem: pki.read('leaf.crt'), private_key_pem: pki.read('rsa-leaf.key') }), 400, 'ERR_NGROK_1923', 'key does not match');
    expectError(t, await call('POST', '/tls_certificates', { certificate_pem: pki.read('leaf.crt') }), 400, 'ERR_EDGEPLANE_4006', 'key missing');
  });

  await t.test('certificate authorities', async (t) => {
    const ca = new X509Certificate(pki.read('ca.crt'));
    const out = await crud(t, '/certificate_authorities', 'certificate_authorities', /^ca_/, { ca_pem: pki.read('ca.crt') }, {});
    t.match(out, { subject_common_name: 'edgeplane test root CA', key_usages: ['cert_sign', 'crl_sign'], not_after: new Date(ca.validTo).toISOString().replace(/\.\d{3}Z$/, 'Z') });
    expectError(t, await call('POST', '/certificate_authorities', { ca_pem: pki.read('leaf.crt') }), 400, 'ERR_NGROK_1913', 'not a CA');
  });

  await t.test('reserved domains', async (t) => {
    const out = await crud(t, '/reserved_domains', 'reserved_domains', /^rd_/, { domain: 'crud.example.test' }, { certificate_id: certId }, { domain: 'crud2.example.test' });
    t.same(out.certificate, { id: certId, uri: `${base}/tls_certificates/${certId}` });
    const kept = await call('POST', '/reserved_domains', { domain: '*.example.test', certificate_id: certId });
    t.equal(kept.status, 201);
    expectError(t, await call('PATCH', `/reserved_domains/${kept.body.id}`, { domain: 'other.example.test' }), 400, 'ERR_EDGEPLANE_4005', 'domain is create-only');
    expectError(t, await call('POST', '/reserved_domains', { domain: 'x.example.test', certificate_id: 'cert_missing' }), 400, /^ERR_/, 'unknown certificate');
  });

  await t.test('backends of every type', async (t) => {
    const child = await call('POST', '/backends/static', { address: origin.address });
    await crud(t, '/backends/static', 'backends', /^bkdsc_/, { address: origin.address, tls: { enabled: false } }, { address: '127.0.0.1:1' });
    await crud(t, '/backends/tunnel_group', 'backends', /^bkdtg_/, { labels: { app: 'a' } }, { labels: { app: 'b' } });
    await crud(t, '/backends/http_response', 'backends', /^bkdhr_/, { status_code: 404, body: 'nope', headers: { 'x-a': '1' } }, { status_code: 410 });
    await crud(t, '/backends/weighted', 'backends', /^bkdwd_/, { backends: { [child.body.id]: 10 } }, { backends: { [child.body.id]: 20 } });
    const fo = await crud(t, '/backends/failover', 'backends', /^bkdfo_/, { backends: [child.body.id] }, {});
    t.same(fo.backends, [child.body.id]);
    expectError(t, await call('POST', '/backends/weighted', { backends: { bkd_missing: 1 } }), 400, 'ERR_NGROK_6501', 'unknown child backend');
    expectError(t, await call('POST', '/backends/http_response', { status_code: 99 }), 400, 'ERR_NGROK_6517', 'bad status');
    const parent = await call('POST', '/backends/failover', { backends: [child.body.id] });
    expectError(t, await call('DELETE', `/backends/static/${child.body.id}`), 400, 'ERR_NGROK_6502', 'child still referenced');
    t.equal((await call('DELETE', `/backends/failover/${parent.body.id}`)).status, 204);
    t.equal((await call('DELETE', `/backends/static/${child.body.id}`)).status, 204, 'deletable once unreferenced');
  });

  await t.test('ip policies and rules, paging', async (t) => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await call('POST', '/ip_policies', { description: `p${i}` })).body.id);
    const seen: string[] = [];
    let next: string | null = '/ip_policies?limit=2';
    let pages = 0;
    while (next !== null) {
      const page: Reply = await call('GET', next);
      t.equal(page.status, 200);
      t.ok(page.body.ip_policies.length <= 2);
      seen.push(...page.body.ip_policies.map((p: { id: string }) => p.id));
      next = page.body.next_page_uri;
      pages++;
    }
    t.equal(pages, 3, 'five policies in pages of two');
    t.same(seen, [...made].reverse(), 'newest first, each once');
    expectError(t, await call('GET', '/ip_policies?limit=101'), 400, 'ERR_EDGEPLANE_4004', 'limit over 100');

    await crud(t, '/ip_policies', 'ip_policies', /^ipp_/, {}, {});
    const rule = await call('POST', '/ip_policy_rules', { ip_policy_id: made[0], cidr: '10.0.0.0/8', action: 'allow' });
    t.equal(rule.status, 201);
    t.match(rule.body, { id: /^ipr_/, cidr: '10.0.0.0/8', action: 'allow', ip_policy: { id: made[0] }, created_at: RFC3339_UTC });
    const moved = await call('PATCH', `/ip_policy_rules/${rule.body.id}`, { cidr: '192.168.0.0/16' });
    t.match(moved.body, { id: rule.body.id, cidr: '192.168.0.0/16', action: 'allow' }, 'the id survives a cidr change');
    t.equal((await call('GET', `/ip_policy_rules/${rule.body.id}`)).body.cidr, '192.168.0.0/16');
    t.ok((await call('GET', '/ip_policy_rules')).body.ip_policy_rules.some((r: { id: string }) => r.id === rule.body.id));
    const rule2 = await call('POST', '/ip_policy_rules', { ip_policy_id: made[1], cidr: '172.16.0.0/12', action: 'deny' });
    const rules = await allPages(t, '/ip_policy_rules', 'ip_policy_rules', 1);
    t.ok(rules.includes(rule.body.id) && rules.includes(rule2.body.id), 'rules page with limit=1');
    t.equal((await call('DELETE', `/ip_policy_rules/${rule2.body.id}`)).status, 204);
    expectError(t, await call('POST', '/ip_policy_rules', { ip_policy_id: made[0], cidr: '10.0.0.1/8', action: 'deny' }), 400, 'ERR_NGROK_1409', 'not the lowest address');
    expectError(t, await call('POST', '/ip_policy_rules', { ip_policy_id: made[0], cidr: '10.0.0.0/8', action: 'maybe' }), 400, 'ERR_NGROK_1422', 'bad action');
    t.equal((await call('DELETE', `/ip_policy_rules/${rule.body.id}`)).status, 204);
    expectError(t, await call('GET', `/ip_policy_rules/${rule.body.id}`), 404, 'ERR_EDGEPLANE_4043', 'rule gone');
  });

  await t.test('an https edge made through REST serves HTTPS', async (t) => {
    const backend = await call('POST', '/backends/static', { address: origin.address });
    const edge = await call('POST', '/edges/https', { hostports: [`app.example.test:${edgePort}`], tls_termination: { min_version: '1.2' } });
    t.equal(edge.status, 201);
    t.match(edge.body, { id: /^edghts_/, hostports: [`app.example.test:${edgePort}`], routes: [], mutual_tls: null });
    const route = await call('POST', `/edges/https/${edge.body.id}/routes`, { match_type: 'path_prefix', match: '/', backend: { backend_id: backend.body.id } });
    t.equal(route.status, 201);
    t.match(route.body, { id: /^edghtsrt_/, edge_id: edge.body.id, backend: { enabled: true, backend: { id: backend.body.id, uri: `${base}/backends/static/${backend.body.id}` } } });

    const res = await httpsRequest({ port: edgePort, host: 'app.example.test', ca: pki.read('ca.crt'), path: '/through/rest' });
    t.equal(res.status, 200, 'the request reached the origin');
    t.ok(origin.requestsTo('/through/rest').length === 1, 'the origin saw it');

    expectError(t, await call('DELETE', `/backends/static/${backend.body.id}`), 400, 'ERR_NGROK_6502', 'backend used by a route');
    // route modules: PUT / GET / DELETE
    const policy = await call('POST', '/ip_policies', {});
    expectError(t, await call('PUT', `/edges/https/${edge.body.id}/routes/${route.body.id}/ip_restriction`, { ip_policy_ids: ['ipp_missing'] }), 400, 'ERR_NGROK_7007', 'unknown policy');
    const put = await call('PUT', `/edges/https/${edge.body.id}/routes/${route.body.id}/ip_restriction`, { ip_policy_ids: [policy.body.id] });
    t.equal(put.status, 200);
    t.same(put.body, { enabled: true, ip_policies: [{ id: policy.body.id, uri: `${base}/ip_policies/${policy.body.id}` }] });
    expectError(t, await call('DELETE', `/ip_policies/${policy.body.id}`), 400, 'ERR_NGROK_1420', 'policy in use');
    const blocked = await httpsRequest({ port: edgePort, host: 'app.example.test', ca: pki.read('ca.crt'), path: '/blocked' });
    t.equal(blocked.status, 403, 'a policy with no allow rule blocks');
    t.equal((await call('DELETE', `/edges/https/${edge.body.id}/routes/${route.body.id}/ip_restriction`)).status, 204);
    expectError(t, await call('GET', `/edges/https/${edge.body.id}/routes/${route.body.id}/ip_restriction`), 404, 'ERR_EDGEPLANE_4044', 'module unset');
    t.equal((await call('DELETE', `/ip_policies/${policy.body.id}`)).status, 204);

    const patched = await call('PATCH', `/edges/https/${edge.body.id}/routes/${route.body.id}`, { description: 'root' });
    t.match(patched.body, { description: 'root', match: '/', backend: { backend: { id: backend.body.id } } });
    expectError(t, await call('POST', `/edges/https/${edge.body.id}/routes`, { match_type: 'path_prefix', match: '/', backend: { backend_id: backend.body.id } }), 400, 'ERR_NGROK_7126', 'duplicate match');
    expectError(t, await call('POST', `/edges/https/${edge.body.id}/routes`, { match_type: 'path_prefix', match: '/x', backend: { backend_id: 'bkd_missing' } }), 400, 'ERR_NGROK_6501', 'unknown backend');
    const tls = await call('PUT', `/edges/https/${edge.body.id}/tls_termination`, { min_version: '1.3' });
    t.match(tls.body, { min_version: '1.3' });
    const other = await call('POST', '/edges/https', { hostports: [`other.example.test:${edgePort}`] });
    const edges = await allPages(t, '/edges/https', 'https_edges', 1);
    t.same(edges.slice(0, 2), [other.body.id, edge.body.id], 'https edges page with limit=1, newest first');
    t.equal((await call('DELETE', `/edges/https/${other.body.id}`)).status, 204);
    const shown = await call('GET', `/edges/https/${edge.body.id}`);
    t.equal(shown.body.routes.length, 1, 'routes embedded in the edge');
    t.equal((await call('DELETE', `/edges/https/${edge.body.id}/routes/${route.body.id}`)).status, 204);
    expectError(t, await call('GET', `/edges/https/${edge.body.id}/routes/${route.body.id}`), 404, 'ERR_EDGEPLANE_4043', 'route gone');
    t.equal((await call('DELETE', `/edges/https/${edge.body.id}`)).status, 204);
    t.equal((await call('DELETE', `/backends/static/${backend.body.id}`)).status, 204);
  });

  await t.test('tls and tcp edges with their modules', async (t) => {
    const backend = await call('POST', '/backends/static', { address: origin.address });
    const tcpPort = await freePort();
    const tcp = await crud(t, '/edges/tcp', 'tcp_edges', /^edgtcp_/, { hostports: [`127.0.0.1:${tcpPort}`], backend: { backend_id: backend.body.id } }, {},
      { hostports: [`127.0.0.1:${await freePort()}`] });
    t.match(tcp, { backend: { backend: { id: backend.body.id } }, ip_restriction: null });
    const tls = await call('POST', '/edges/tls', {});
    t.equal(tls.status, 201);
    t.match(tls.body, { tls_termination: { terminate_at: 'upstream' }, backend: null });
    const tls2 = await call('POST', '/edges/tls', {});
    t.same((await allPages(t, '/edges/tls', 'tls_edges', 1)).slice(0, 2), [tls2.body.id, tls.body.id], 'tls edges page with limit=1');
    t.equal((await call('DELETE', `/edges/tls/${tls2.body.id}`)).status, 204);
    const put = await call('PUT', `/edges/tls/${tls.body.id}/backend`, { backend_id: backend.body.id });
    t.match(put.body, { enabled: true, backend: { id: backend.body.id } });
    t.match((await call('GET', `/edges/tls/${tls.body.id}/backend`)).body, { backend: { id: backend.body.id } });
    expectError(t, await call('PUT', `/edges/tls/${tls.body.id}/mutual_tls`, { certificate_authority_ids: ['ca_missing'] }), 400, /^ERR_/, 'unknown CA');
    expectError(t, await call('PUT', `/edges/tcp/${tls.body.id}/backend`, { backend_id: backend.body.id }), 404, 'ERR_EDGEPLANE_4043', 'a tls edge is not a tcp edge');
    t.equal((await call('DELETE', `/edges/tls/${tls.body.id}/backend`)).status, 204);
    t.equal((await call('DELETE', `/edges/tls/${tls.body.id}`)).status, 204);
    t.equal((await call('DELETE', `/backends/static/${backend.body.id}`)).status, 204);
  });

  await t.test('limits, auth and the version header', async (t) => {
    expectError(t, await call('POST', '/ip_policies', { description: 'é'.repeat(128) }), 400, 'ERR_EDGEPLANE_4001', 'description over 255 bytes');
    expectError(t, await call('POST', '/ip_policies', { metadata: 'x'.repeat(4097) }), 400, 'ERR_EDGEPLANE_4002', 'metadata over 4096 bytes');
    t.equal((await call('POST', '/ip_policies', { description: 'x'.repeat(255), metadata: 'x'.repeat(4096) })).status, 201, 'at the limits');
    expectError(t, await call('POST', '/ip_policies', { colour: 'red' }), 400, 'ERR_EDGEPLANE_4003', 'unknown field');
    expectError(t, await call('POST', '/ip_policies', { description: 'x'.repeat(70_000) }), 413, 'ERR_EDGEPLANE_4130', 'body over 64 KiB');
    expectError(t, await call('POST', '/ip_policies', '{not json'), 400, 'ERR_EDGEPLANE_4000', 'bad JSON');
    expectError(t, await call('GET', '/edges/https', undefined, { 'ngrok-version': '' }), 400, 'ERR_NGROK_218', 'version header');
    expectError(t, await call('GET', '/edges/https', undefined, { authorization: 'Bearer wrong-key-0123456789' }), 401, 'ERR_EDGEPLANE_4010', 'bad key');
    expectError(t, await call('PUT', '/ip_policies'), 405, 'ERR_EDGEPLANE_4050', 'method not allowed');
    expectError(t, await call('GET', '/backends/nope'), 404, 'ERR_EDGEPLANE_4041', 'no such collection');
  });

  await t.test('the changes are the running config, kept in the state directory', async (t) => {
    const doc = daemon.desiredConfig() as { tls_certificates: Array<{ id: string }> };
    t.ok(doc.tls_certificates.some((c) => c.id === certId));
    t.ok(texts.length > 50, 'many replies were checked');
    t.notOk(texts.some((text) => text.includes('PRIVATE KEY')), 'no reply carries a private key');
  });
});
