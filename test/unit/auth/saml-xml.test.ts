// SAML XML parsing on hostile input, from what the fuzzer found (test/fuzz, target saml).
import t from 'tap';
import { parseXml } from '../../../workers/http/auth/saml-xml.js';
import { checkResponseEnvelope } from '../../../workers/http/auth/saml-assertion.js';
import { SamlError } from '../../../workers/http/auth/saml-errors.js';

// xmldom throws a DOMException ("Hierarchy request error") for character data it cannot place,
// here a CDATA section after the root element, instead of reporting it to the error handler.
const CDATA_AFTER_ROOT = '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1" Version="2.0"/><![CDATA[x]]>';

t.test('regression (fuzz): CDATA after the root element is refused as malformed, not thrown', async (t) => {
  const parsed = parseXml(CDATA_AFTER_ROOT);
  t.equal(parsed.doc, null, 'no document');
  t.match(parsed.problem, /Hierarchy request error/, 'the problem says why');
});

t.test('regression (fuzz): a posted SAMLResponse with CDATA after the root is a SamlError (response_invalid)', async (t) => {
  const posted = Buffer.from(CDATA_AFTER_ROOT).toString('base64');
  t.throws(() => checkResponseEnvelope(posted), SamlError);
  try {
    checkResponseEnvelope(posted);
  } catch (err) {
    t.equal((err as SamlError).samlReason, 'response_invalid');
    t.equal((err as SamlError).detail, 'not a SAML Response');
  }
});

t.test('a DOCTYPE (entity expansion, XML bombs) is refused before parsing', async (t) => {
  const bomb = '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;</r>';
  t.same(parseXml(bomb), { doc: null, problem: 'a DOCTYPE is not allowed' });
});

t.test('deep nesting parses in bounded time', async (t) => {
  const depth = 20_000;
  const started = Date.now();
  const parsed = parseXml('<a>'.repeat(depth) + '</a>'.repeat(depth));
  t.ok(parsed.doc !== null || parsed.problem !== null, 'an answer');
  t.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
});
