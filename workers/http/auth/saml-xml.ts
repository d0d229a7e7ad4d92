// XML parsing for the SAML helpers, with @xmldom/xmldom (the parser node-saml and xml-crypto use).
// Loaded through require with the few DOM shapes used here declared locally: xmldom's own typings
// reference TypeScript's "dom" lib, which would put browser globals (fetch's BodyInit, Element, …)
// into the whole project's types.
import { createRequire } from 'node:module';

export interface XmlNode {
  readonly nodeType: number;
  readonly firstChild: XmlNode | null;
  readonly nextSibling: XmlNode | null;
  readonly parentNode: XmlNode | null;
  readonly textContent: string | null;
}

export interface XmlElement extends XmlNode {
  readonly namespaceURI: string | null;
  readonly localName: string;
  getAttribute(name: string): string | null;
  getElementsByTagNameNS(ns: string, localName: string): { readonly length: number; item(i: number): XmlElement | null };
}

interface XmlDocument {
  readonly documentElement: XmlElement | null;
  getElementsByTagNameNS(ns: string, localName: string): { readonly length: number; item(i: number): XmlElement | null };
}

interface DomParserOptions {
  errorHandler: { warning: (m: string) => void; error: (m: string) => void; fatalError: (m: string) => void };
}

const { DOMParser } = createRequire(import.meta.url)('@xmldom/xmldom') as {
  DOMParser: new (options: DomParserOptions) => { parseFromString(xml: string, mime: string): XmlDocument };
};

/** Parses well-formed XML without a DOCTYPE (entities are how XML bombs work; SAML never needs them). */
export function parseXml(xml: string): { doc: XmlDocument; problem: null } | { doc: null; problem: string } {
  if (/<!DOCTYPE/i.test(xml)) return { doc: null, problem: 'a DOCTYPE is not allowed' };
  const problems: string[] = [];
  const record = (m: string) => void problems.push(m);
  let doc: XmlDocument;
  try {
    doc = new DOMParser({ errorHandler: { warning: () => undefined, error: record, fatalError: record } }).parseFromString(xml, 'text/xml');
  } catch (err) {
    // xmldom throws (rather than reports) on some malformed documents, e.g. CDATA outside the root
    // element ("Hierarchy request error"): refused like any other malformed XML.
    return { doc: null, problem: String((err as Error).message ?? err).split('\n')[0]!.slice(0, 120) };
  }
  if (problems.length > 0 || doc.documentElement === null) {
    return { doc: null, problem: (problems[0] ?? 'no document element').split('\n')[0]!.slice(0, 120) };
  }
  return { doc, problem: null };
}

/** Child elements of `parent` with this namespace and local name, in order. */
export function childElements(parent: XmlElement, ns: string, localName: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (let n = parent.firstChild; n !== null; n = n.nextSibling) {
    const el = n as XmlElement;
    if (n.nodeType === 1 && el.namespaceURI === ns && el.localName === localName) out.push(el);
  }
  return out;
}
