// The pieces of the REST config resources that need no daemon: extension sets side by side on one
// API, which paths the admin server hands to the API, ids and created_at, refused-config replies, and
// the certificate fields read from the DER.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isApiPath, json, openEventApi, type ApiExtensions, type ApiRequest } from '../../../core/api/index.js';
import { configRefused } from '../../../core/api/config-resources/errors.js';
import { createdAt, newResourceId } from '../../../core/api/config-resources/ids.js';
import { keyUsages, extendedKeyUsages, nameField, subjectAlternativeNames } from '../../../core/api/config-resources/x509.js';
import { makePki } from '../../helpers/pki.js';

const KEY = 'unit-key-0123456789abcdef';
const get = (path: string): ApiRequest => ({ method: 'get', path, query: '', authorization: `Bearer ${KEY}`, ngrokVersion: '2', contentType: '', host: 'h', body: null });

t.test('extension sets coexist: extend() replaces only its own set', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-ext-'));
  const api = openEventApi({ stateDir: dir, keys: () => [KEY], config: () => ({ destinations: [], subscriptions: [] }), onAudit: () => {}, warn: () => {} });
  t.teardown(() => { api.close(); rmSync(dir, { recursive: true, force: true }); });
  const answering = (path: string, name: string): ApiExtensions => ({ routes: [{ pattern: new RegExp(`^${path}$`), method: 'get', run: () => json(200, { name }) }] });
  const call = async (path: string) => { const r = await api.handle(get(path)); return { status: r.status, body: JSON.parse(r.body) }; };

  const remove = api.addExtensions(answering('/edges/https', 'config'));
  api.extend(answering('/event_records', 'router v1'));
  t.same((await call('/edges/https')).body, { name: 'config' });
  t.same((await call('/event_records')).body, { name: 'router v1' });
  api.extend(answering('/event_records', 'router v2'));
  t.same((await call('/event_records')).body, { name: 'router v2' }, 'extend replaces the router set');
  t.same((await call('/edges/https')).body, { name: 'config' }, 'the added set stays');
  remove();
  t.equal((await call('/edges/https')).status, 404, 'removed');
  t.same((await call('/event_records')).body, { name: 'router v2' });
});

t.test('isApiPath takes the config collections and nothing else new', async (t) => {
  for (const path of ['/edges/https', '/edges/https/edghts_1/routes', '/edges/tls', '/backends/static', '/backends/x', '/reserved_domains',
    '/tls_certificates/cert_1', '/certificate_authorities', '/ip_policies', '/ip_policy_rules/ipr_1', '/event_destinations']) {
    t.ok(isApiPath(path), path);
  }
  for (const path of ['/healthz', '/metrics', '/config', '/edgesx', '/inspect']) t.notOk(isApiPath(path), path);
});

t.test('ids: prefix, ordered by time, created_at read back', async (t) => {
  const a = newResourceId('bkdsc_');
  const b = newResourceId('bkdsc_');
  t.match(a, /^bkdsc_[0-9A-Za-z]{27}$/);
  t.ok(a < b, 'later ids sort after earlier ones');
  const made = Date.parse(createdAt(a, 'bkdsc_'));
  t.ok(Math.abs(made - Date.now()) < 5000, 'created_at is the id\'s time');
  const fileId = createdAt('bkd_from_file', 'bkdsc_');
  t.equal(createdAt('bkd_from_file', 'bkdsc_'), fileId, 'a config-file id keeps its first-seen time');
});

t.test('a refused config answers 400 with the first spec code', async (t) => {
  const coded = configRefused({ ok: false, generation: 3, details: [{ path: 'edges[0].hostports[0]', reason: 'not reserved (ERR_NGROK_7121)' }] });
  t.equal(coded.status, 400);
  t.match(JSON.parse(coded.body), { error_code: 'ERR_NGROK_7121', status_code: 400, msg: /edges\[0\]\.hostports\[0\]: not reserved/, details: { operation_id: /^op_/, problems: [{ path: 'edges[0].hostports[0]' }] } });
  t.equal(JSON.parse(configRefused({ ok: false, generation: 3, problems: ['something else'] }).body).error_code, 'ERR_EDGEPLANE_4007');
});

t.test('certificate fields from the DER', async (t) => {
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const leaf = new X509Certificate(pki.read('rsa-leaf.crt'));
  t.same(keyUsages(leaf), ['digital_signature', 'key_encipherment']);
  t.same(extendedKeyUsages(leaf), ['server_auth']);
  t.same(keyUsages(new X509Certificate(pki.read('ca.crt'))), ['cert_sign', 'crl_sign']);
  t.same(extendedKeyUsages(new X509Certificate(pki.read('client.crt'))), ['client_auth']);
  t.equal(nameField(leaf.subject, 'CN'), 'edgeplane rsa leaf');
  t.equal(nameField(leaf.subject, 'O'), '');
  t.same(subjectAlternativeNames(leaf), { dns_names: ['*.example.test', 'example.test', 'localhost'], ips: ['127.0.0.1'] });
});
