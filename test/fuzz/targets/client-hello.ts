// ClientHello/SNI peek (core/acceptor/client-hello.ts parseClientHello, with ja4.ts's fingerprint):
// the acceptor calls it on every TLS connection's first bytes, and again on every prefix as more
// arrive. Checks the documented outcomes, not just "did not throw".
import { MAX_CLIENT_HELLO_BYTES, parseClientHello, type HelloResult } from '../../../core/acceptor/client-hello.js';
import { check, type FuzzTarget } from '../target.js';

const HOST = /^[a-z0-9_*-]+(\.[a-z0-9_*-]+)*$/;
const JA4 = /^t[0-9a-z]{2}[di][0-9]{2}[0-9]{2}[0-9A-Za-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$/;

// RFC 8701: 0x0a0a, 0x1a1a, … 0xfafa (both bytes equal, low nibble 0xa).
function isGreaseValue(v: number): boolean {
  return (v >> 8) === (v & 0xff) && (v & 0x0f) === 0x0a;
}

function checkResult(r: HelloResult, buf: Buffer): void {
  switch (r.kind) {
    case 'incomplete':
      check(Number.isInteger(r.needBytes) && r.needBytes > buf.length, `incomplete with needBytes ${r.needBytes} <= ${buf.length} bytes given`);
      break;
    case 'not_tls':
    case 'malformed':
      check(typeof r.reason === 'string' && r.reason !== '', 'refusal without a reason');
      // parseClientHello's catch-all: reaching it means the parser threw on these bytes
      check(!r.reason.startsWith('parser error'), `the parser threw inside: ${r.reason}`);
      break;
    case 'hello':
      check(r.helloBytes > 0 && r.helloBytes <= buf.length, `helloBytes ${r.helloBytes} outside the ${buf.length} bytes given`);
      if (r.serverName !== null) {
        check(r.serverName.length > 0 && r.serverName.length <= 255 && HOST.test(r.serverName), `server name ${JSON.stringify(r.serverName)} is not a lowercase hostname`);
        check(!r.serverName.endsWith('.'), 'server name keeps its trailing dot');
      }
      check(r.alpn.every((p) => p.length > 0 && p.length < 256), 'empty or oversized ALPN name');
      check(r.tlsVersions.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffff && !isGreaseValue(v)), 'bad or GREASE TLS version in the list');
      check(JA4.test(r.ja4), `JA4 ${JSON.stringify(r.ja4)} has the wrong shape`);
      break;
    default:
      check(false, `unknown result kind ${(r as { kind: string }).kind}`);
  }
}

const target: FuzzTarget = {
  name: 'client-hello',
  maxLen: 4096,
  dictionary: [
    Buffer.of(0x16, 0x03, 0x01), Buffer.of(0x16, 0x03, 0x03), Buffer.of(0x01, 0x00), Buffer.of(0x03, 0x03),
    Buffer.of(0x00, 0x00), Buffer.of(0x00, 0x10), Buffer.of(0x00, 0x2b), Buffer.of(0x00, 0x0d), Buffer.of(0x00, 0x0a), Buffer.of(0x00, 0x33),
    Buffer.of(0x0a, 0x0a), Buffer.of(0x03, 0x04), Buffer.of(0x02, 0x68, 0x32), Buffer.from('\x08http/1.1', 'latin1'),
    'example.test', '.', '::1', '127.0.0.1', 'A', '*',
  ],
  run(data) {
    const whole = parseClientHello(data);
    checkResult(whole, data);
    // The acceptor peeks repeatedly: every prefix must be consistent with the whole.
    if (whole.kind !== 'incomplete' && data.length > 0) {
      const cut = data.length >> 1;
      const prefix = data.subarray(0, cut);
      const early = parseClientHello(prefix);
      checkResult(early, prefix);
      if (early.kind === 'hello') check(whole.kind === 'hello' && whole.serverName === early.serverName && whole.ja4 === early.ja4, 'a prefix gave a hello that differs from the whole');
      if (early.kind === 'incomplete' && whole.kind === 'hello') check(early.needBytes <= whole.helloBytes, `prefix asked for ${early.needBytes} bytes, but the hello ends at ${whole.helloBytes}`);
    }
    if (whole.kind === 'incomplete') check(whole.needBytes <= data.length + MAX_CLIENT_HELLO_BYTES + 64 * 5, `needBytes ${whole.needBytes} larger than any hello`);
    // Same bytes, same answer (the parser keeps scratch state between calls).
    const again = parseClientHello(Buffer.from(data));
    check(JSON.stringify(again) === JSON.stringify(whole), 'a second parse of the same bytes differs');
  },
};

export default target;
