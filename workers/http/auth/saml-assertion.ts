// The checks node-saml leaves to its caller, made on the assertion XML node-saml returns after the
// signature check (profile.getAssertionXml(): the signed-and-verified node, so a wrapped or injected
// copy elsewhere in the response cannot be read here by mistake): the assertion id (for replay),
// the issuer, how many AuthnStatements, and the bearer SubjectConfirmationData (InResponseTo,
// Recipient, NotOnOrAfter).
import { childElements, parseXml, type XmlElement } from './saml-xml.js';
import { SamlError } from './saml-errors.js';

const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

export interface AssertionFacts {
  id: string;
  issuer: string;
  issueInstantMs: number;
  authnStatements: number;
  /** InResponseTo of the bearer confirmation, or null (IdP-initiated). */
  inResponseTo: string | null;
  recipient: string | null;
  /** The earliest NotOnOrAfter of the conditions and the bearer confirmation; null when neither has one. */
  notOnOrAfterMs: number | null;
}

/**
 * Before node-saml sees it: the POSTed value must be base64 of a well-formed samlp:Response, so that
 * anything else is reported as an invalid response rather than as whichever check trips first.
 */
export function checkResponseEnvelope(samlResponse: string): void {
  if (!/^[A-Za-z0-9+/=\s]+$/.test(samlResponse)) throw new SamlError('response_invalid', 'SAMLResponse is not base64');
  const root = parse(Buffer.from(samlResponse, 'base64').toString('utf8'));
  if (root === null || root.namespaceURI !== PROTOCOL_NS || root.localName !== 'Response') {
    throw new SamlError('response_invalid', 'not a SAML Response');
  }
}

export function assertionFacts(xml: string): AssertionFacts {
  const assertion = parse(xml);
  if (assertion === null || assertion.namespaceURI !== ASSERTION_NS || assertion.localName !== 'Assertion') {
    throw new SamlError('response_invalid', 'assertion is not readable');
  }
  const id = assertion.getAttribute('ID') ?? '';
  if (id === '') throw new SamlError('response_invalid', 'assertion has no ID');
  const issueInstantMs = Date.parse(assertion.getAttribute('IssueInstant') ?? '');
  if (Number.isNaN(issueInstantMs)) throw new SamlError('response_invalid', 'assertion has no IssueInstant');
  const bearer = bearerConfirmation(assertion);
  const conditions = children(assertion, 'Conditions')[0];
  const expiries = [instant(conditions, 'NotOnOrAfter'), instant(bearer, 'NotOnOrAfter')].filter((t): t is number => t !== null);
  return {
    id,
    issuer: (children(assertion, 'Issuer')[0]?.textContent ?? '').trim(),
    issueInstantMs,
    authnStatements: children(assertion, 'AuthnStatement').length,
    inResponseTo: attribute(bearer, 'InResponseTo'),
    recipient: attribute(bearer, 'Recipient'),
    notOnOrAfterMs: expiries.length > 0 ? Math.min(...expiries) : null,
  };
}

/** The document element of well-formed XML without a DOCTYPE, else null. */
function parse(xml: string): XmlElement | null {
  return parseXml(xml).doc?.documentElement ?? null;
}

/** The SubjectConfirmationData of the bearer confirmation (Web Browser SSO profile §4.1.4.2). */
function bearerConfirmation(assertion: XmlElement): XmlElement | undefined {
  const subject = children(assertion, 'Subject')[0];
  if (subject === undefined) throw new SamlError('response_invalid', 'assertion has no Subject');
  const bearer = children(subject, 'SubjectConfirmation').find((c) => c.getAttribute('Method') === BEARER);
  if (bearer === undefined) throw new SamlError('conditions_unmet', 'no bearer SubjectConfirmation');
  return children(bearer, 'SubjectConfirmationData')[0];
}

function attribute(el: XmlElement | undefined, name: string): string | null {
  const value = el?.getAttribute(name);
  return value === undefined || value === null || value === '' ? null : value;
}

function instant(el: XmlElement | undefined, name: string): number | null {
  const text = attribute(el, name);
  if (text === null) return null;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new SamlError('response_invalid', `${name} is not a date`);
  return ms;
}

function children(parent: XmlElement, localName: string): XmlElement[] {
  return childElements(parent, ASSERTION_NS, localName);
}
