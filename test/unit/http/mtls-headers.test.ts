import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { makeLeaf, makePki } from '../../helpers/pki.js';
import { clientCertificateInfo, mtlsUpstreamHeaders } from '../../../workers/http/mtls-headers.js';

t.test('client certificate facts come from a real X509Certificate', async (t) => {
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  makeLeaf(pki, 'alice', { dns: ['alice.example.test', 'alice-2.example.test'], emails: ['alice@example.test', 'a.l@example.test'], signer: 'ca', cn: 'alice', usage: 'client' });
  const cert = new X509Certificate(pki.read('alice.crt'));
  const info = clientCertificateInfo(cert);
  t.same(info, {
    subjectCn: 'alice',
    sanDns: ['alice.example.test', 'alice-2.example.test'],
    emailAddresses: ['alice@example.test', 'a.l@example.test'],
    serialNumber: cert.serialNumber.toUpperCase(),
  });
  t.match(info.serialNumber, /^[0-9A-F]+$/);
  t.same(mtlsUpstreamHeaders(info), [
    'ngrok-mtls-subject-cn', 'alice',
    'ngrok-mtls-subject-alt-name-dns', 'alice.example.test,alice-2.example.test',
    'ngrok-mtls-email-addresses', 'alice@example.test,a.l@example.test',
    'ngrok-mtls-serial-number', info.serialNumber,
  ]);

  const client = clientCertificateInfo(new X509Certificate(pki.read('client.crt')));
  t.equal(client.subjectCn, 'client-1');
  t.same(client.sanDns, []);
  t.same(client.emailAddresses, ['client-1@example.test']);
  t.same(mtlsUpstreamHeaders(client).filter((_, i) => i % 2 === 0), ['ngrok-mtls-subject-cn', 'ngrok-mtls-email-addresses', 'ngrok-mtls-serial-number'],
    'empty lists are left out');
});

t.test('quoted SAN values, several CNs, subject emailAddress and UTF-8 names', async (t) => {
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  writeFileSync(pki.path('odd.cnf'), '[req]\ndistinguished_name=dn\nx509_extensions=ext\n[dn]\n[ext]\nsubjectAltName=@alt\n' +
    '[alt]\nDNS.1=plain.example.test\nDNS.2="comma, inside.example"\nemail.1=san@example.test\nIP.1=10.0.0.1\n');
  execFileSync('openssl', ['req', '-config', 'odd.cnf', '-utf8', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'odd.key', '-out', 'odd.crt', '-days', '2', '-subj', '/O=Acme, Inc./CN=first/CN=Jörg Müller/emailAddress=subject@example.test'],
  { cwd: pki.dir, stdio: 'ignore' });
  const info = clientCertificateInfo(new X509Certificate(pki.read('odd.crt')));
  t.equal(info.subjectCn, 'Jörg Müller', 'the last CN, as Go reads it');
  t.same(info.sanDns, ['plain.example.test', 'comma, inside.example']);
  t.same(info.emailAddresses, ['san@example.test', 'subject@example.test']);
  const headers = mtlsUpstreamHeaders(info);
  t.equal(Buffer.from(headers[1]!, 'latin1').toString('utf8'), 'Jörg Müller');
});

t.test('header values are sanitised against CR/LF and carry UTF-8 as bytes', async (t) => {
  const headers = mtlsUpstreamHeaders({
    subjectCn: 'evil\r\nx-injected: yes',
    sanDns: ['a.test\n', 'b.test'],
    emailAddresses: ['jörg@example.test'],
    serialNumber: '0A\u0000FF',
  });
  t.same(headers.slice(0, 4), ['ngrok-mtls-subject-cn', 'evilx-injected: yes', 'ngrok-mtls-subject-alt-name-dns', 'a.test,b.test']);
  t.equal(Buffer.from(headers[5]!, 'latin1').toString('utf8'), 'jörg@example.test');
  t.equal(headers[7], '0AFF');
  for (let i = 1; i < headers.length; i += 2) t.notMatch(headers[i]!, /[\r\n\0]/);
});
