import t from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import { spawn } from 'node:child_process';
import { MAX_CLIENT_HELLO_BYTES, parseClientHello, type HelloResult } from '../../../core/acceptor/client-hello.js';
import {
  CHROME_CIPHERS, CHROME_SIGALGS, GREASE_A, GREASE_B, GROUP_X25519, GROUP_X25519_MLKEM768, MLKEM768_SHARE_BYTES,
  buildClientHello, buildHelloMessage, chromeLikeHello, defaultExtensions, ext, frameRecords, reframe, unframe,
  type Extension,
} from '../../fixtures/client-hello/hello-builder.js';

// The subtest type (last overload of t.test takes only the callback).
type Test = Parameters<Parameters<typeof t.test>[0]>[0];
type Hello = Extract<HelloResult, { kind: 'hello' }>;

const JA4_SHAPE = /^t(13|12|11|10|s3|00)[di]\d{4}[0-9A-Za-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$/;
// Session id length byte: record header 5 + handshake header 4 + legacy_version 2 + random 32.
const SESSION_ID_LEN_OFFSET = 43;

/** Starts a raw TCP server that records what one client sends until the parser gives a verdict. */
function captureHello(t: Test, launch: (port: number) => () => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((sock) => {
      const chunks: Buffer[] = [];
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        sock.destroy();
        resolve(Buffer.concat(chunks));
      };
      sock.on('error', () => { /* the client gives up once we hang up */ });
      sock.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (parseClientHello(Buffer.concat(chunks)).kind !== 'incomplete') finish();
      });
      sock.on('end', finish);
    });
    server.on('error', reject);
    t.teardown(() => new Promise<void>((r) => server.close(() => r())));
    server.listen(0, '127.0.0.1', () => {
      const stop = launch((server.address() as net.AddressInfo).port);
      t.teardown(stop);
    });
  });
}

function nodeClient(options: tls.ConnectionOptions): (port: number) => () => void {
  return (port) => {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    sock.on('error', () => { /* expected: the capture server hangs up mid-handshake */ });
    return () => sock.destroy();
  };
}

function spawnClient(cmd: string, args: (port: number) => string[]): (port: number) => () => void {
  return (port) => {
    const child = spawn(cmd, args(port), { stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('error', () => { /* reported by the missing capture */ });
    return () => { if (child.exitCode === null && child.signalCode === null) child.kill(); };
  };
}

function expectHello(t: Test, result: HelloResult): Hello {
  t.equal(result.kind, 'hello', `parsed as a hello (${'reason' in result ? result.reason : result.kind})`);
  if (result.kind !== 'hello') throw new Error('not a hello');
  return result;
}

/** Feeds a valid hello one byte at a time: incomplete (with an honest needBytes) until the last byte. */
function feedBytewise(t: Test, bytes: Buffer, expected: Hello): void {
  let bad = 0;
  for (let i = 0; i < bytes.length; i++) {
    const r = parseClientHello(bytes.subarray(0, i));
    // needBytes is a lower bound: more than we have, never more than the hello really needs.
    if (r.kind !== 'incomplete' || r.needBytes <= i || r.needBytes > bytes.length) {
      if (bad++ === 0) t.fail(`prefix ${i}/${bytes.length}: ${JSON.stringify(r)}`);
    }
  }
  t.equal(bad, 0, 'every proper prefix is incomplete with a sound needBytes');
  t.same(parseClientHello(bytes), expected, 'the full bytes give the same hello');
}

function withExtensions(extensions: Extension[] | null, spec: Parameters<typeof buildClientHello>[0] = {}): HelloResult {
  return parseClientHello(buildClientHello({ ...spec, extensions }));
}

function withServerName(name: string | Uint8Array): HelloResult {
  return withExtensions([ext.serverName(name), ext.supportedVersions([0x0304])]);
}

// Deterministic PRNG (mulberry32) so a failing fuzz case can be replayed.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test('real clients', async (t) => {
  t.test('node tls.connect with SNI and ALPN', async (t) => {
    const bytes = await captureHello(t, nodeClient({ servername: 'x.example.test', ALPNProtocols: ['h2', 'http/1.1'] }));
    const hello = expectHello(t, parseClientHello(bytes));
    t.equal(hello.serverName, 'x.example.test');
    t.same(hello.alpn, ['h2', 'http/1.1']);
    t.ok(hello.tlsVersions.includes(0x0304), 'offers TLS 1.3');
    t.match(hello.ja4, JA4_SHAPE);
    t.match(hello.ja4, /^t13d\d{4}h2_/);
    t.equal(hello.helloBytes, bytes.length);
    t.same(parseClientHello(bytes), hello, 'deterministic');

    t.test('fed one byte at a time', async (t) => feedBytewise(t, bytes, hello));
    t.test('bytes after the hello (a ChangeCipherSpec) are left alone', async (t) => {
      const more = Buffer.concat([bytes, Buffer.from([0x14, 0x03, 0x03, 0x00, 0x01, 0x01, 0x17, 0x03])]);
      t.same(parseClientHello(more), hello);
    });
    t.test('re-framed into 100-byte records', async (t) => {
      const split = reframe(bytes, 100);
      t.ok(split.length > bytes.length + 5, 'several records');
      const again = expectHello(t, parseClientHello(split));
      t.same({ ...again, helloBytes: 0 }, { ...hello, helloBytes: 0 }, 'same hello');
      t.equal(again.helloBytes, split.length);
      feedBytewise(t, split, again);
    });
    t.test('re-framed into 1-byte records (handshake header split too)', async (t) => {
      const split = reframe(bytes, 1);
      const again = expectHello(t, parseClientHello(split));
      t.equal(again.ja4, hello.ja4);
      t.equal(again.serverName, 'x.example.test');
      t.equal(again.helloBytes, split.length);
    });
    t.test('the cap counts the handshake message', async (t) => {
      t.equal(parseClientHello(bytes, 100).kind, 'malformed');
      t.equal(parseClientHello(bytes, unframe(bytes).length).kind, 'hello', 'exactly at the cap is fine');
      t.equal(parseClientHello(bytes, unframe(bytes).length - 1).kind, 'malformed');
    });
  });

  t.test('node tls.connect to an IP sends no SNI', async (t) => {
    const bytes = await captureHello(t, nodeClient({}));
    const hello = expectHello(t, parseClientHello(bytes));
    t.equal(hello.serverName, null);
    t.same(hello.alpn, []);
    t.match(hello.ja4, /^t13i\d{4}00_/);
  });

  t.test('node tls.connect limited to TLS 1.2', async (t) => {
    const bytes = await captureHello(t, nodeClient({ servername: 'old.example.test', maxVersion: 'TLSv1.2' }));
    const hello = expectHello(t, parseClientHello(bytes));
    t.equal(hello.serverName, 'old.example.test');
    t.same(hello.tlsVersions, [0x0303], 'legacy_version when supported_versions is absent');
    t.match(hello.ja4, /^t12d/);
  });

  t.test('openssl s_client', async (t) => {
    const bytes = await captureHello(t, spawnClient('openssl', (port) => [
      's_client', '-connect', `127.0.0.1:${port}`, '-servername', 'x.example.test', '-alpn', 'h2,http/1.1',
    ]));
    const hello = expectHello(t, parseClientHello(bytes));
    t.equal(hello.serverName, 'x.example.test');
    t.same(hello.alpn, ['h2', 'http/1.1']);
    t.match(hello.ja4, /^t13d\d{4}h2_[0-9a-f]{12}_[0-9a-f]{12}$/);
    feedBytewise(t, bytes, hello);
  });

  t.test('curl --resolve', async (t) => {
    const bytes = await captureHello(t, spawnClient('curl', (port) => [
      '-sS', '-o', '/dev/null', '--max-time', '30', '--resolve', `x.example.test:${port}:127.0.0.1`, `https://x.example.test:${port}/`,
    ]));
    const hello = expectHello(t, parseClientHello(bytes));
    t.equal(hello.serverName, 'x.example.test');
    t.ok(hello.alpn.includes('http/1.1'), `ALPN ${hello.alpn.join(',')}`);
    t.match(hello.ja4, JA4_SHAPE);
    t.equal(parseClientHello(reframe(bytes, 100)).kind, 'hello');
  });
});

t.test('large post-quantum hello (X25519MLKEM768, 1216-byte share)', async (t) => {
  const bytes = chromeLikeHello('PQ.Example.Test');
  t.ok(bytes.length > 1700, `${bytes.length} bytes`);
  const hello = expectHello(t, parseClientHello(bytes));
  t.equal(hello.serverName, 'pq.example.test', 'lowercased');
  t.same(hello.alpn, ['h2', 'http/1.1']);
  t.same(hello.tlsVersions, [0x0304, 0x0303], 'GREASE left out');
  feedBytewise(t, bytes, hello);
  const split = reframe(bytes, 512);
  t.equal(expectHello(t, parseClientHello(split)).ja4, hello.ja4, 'same over 512-byte records');
  feedBytewise(t, split, { ...hello, helloBytes: split.length });
});

t.test('JA4', async (t) => {
  t.test('published Chrome fingerprint (GREASE ignored, wire order irrelevant)', async (t) => {
    const bytes = chromeLikeHello();
    const hello = expectHello(t, parseClientHello(bytes));
    t.equal(hello.ja4, 't13d1516h2_8daaf6152771_d8a2da3f94cd');
    t.same(parseClientHello(new Uint8Array(bytes)), hello, 'a plain Uint8Array parses the same as a Buffer');
    t.same(parseClientHello(new Uint8Array(reframe(bytes, 700))), { ...hello, helloBytes: bytes.length + 10 }, 'plain Uint8Array over records');
  });

  t.test('FoxIO README example', async (t) => {
    // Cipher and extension lists of the JA4 technical-details example, in a shuffled wire order.
    const extensions: Extension[] = [
      ext.raw(GREASE_A),
      ext.raw(0x4469, Buffer.from([0, 3, 2, 0x68, 0x32])),
      ext.signatureAlgorithms(CHROME_SIGALGS),
      ext.serverName('example.test'),
      ext.raw(0x0017), ext.raw(0x0023), ext.raw(0xff01, Buffer.from([0])),
      ext.supportedGroups([GREASE_B, GROUP_X25519]), ext.raw(0x000b, Buffer.from([1, 0])),
      ext.alpn(['h2', 'http/1.1']),
      ext.raw(0x0005, Buffer.from([1, 0, 0, 0, 0])), ext.raw(0x0012),
      ext.supportedVersions([GREASE_B, 0x0304, 0x0303]),
      ext.raw(0x002d, Buffer.from([1, 1])), ext.keyShare([[GROUP_X25519, 32]]),
      ext.raw(0x001b, Buffer.from([2, 0, 2])), ext.padding(100),
    ];
    const r = withExtensions(extensions, { ciphers: [GREASE_A, ...[...CHROME_CIPHERS].reverse()] });
    t.equal(expectHello(t, r).ja4, 't13d1516h2_8daaf6152771_e5627efa2ab1');
  });

  t.test('no ALPN, no SNI, legacy version', async (t) => {
    const r = expectHello(t, withExtensions([ext.signatureAlgorithms([0x0403])], { legacyVersion: 0x0302, ciphers: [0x002f] }));
    t.match(r.ja4, /^t11i010100_[0-9a-f]{12}_[0-9a-f]{12}$/);
  });

  t.test('no extensions at all hashes to zeros', async (t) => {
    const r = expectHello(t, withExtensions(null, { ciphers: [0x002f, 0x0035] }));
    t.match(r.ja4, /^t12i020000_[0-9a-f]{12}_000000000000$/);
    t.equal(r.serverName, null);
  });

  t.test('only GREASE ciphers hash to zeros', async (t) => {
    const r = expectHello(t, withExtensions([ext.supportedVersions([0x0304])], { ciphers: [GREASE_A, GREASE_B] }));
    t.match(r.ja4, /^t13i0001\w\w_000000000000_/);
  });

  t.test('counts are capped at 99', async (t) => {
    const ciphers = Array.from({ length: 150 }, (_, i) => 0x0100 + i);
    const extensions = Array.from({ length: 120 }, (_, i) => ext.raw(0x0100 + i));
    t.match(expectHello(t, withExtensions(extensions, { ciphers })).ja4, /^t12i9999/);
  });

  t.test('ALPN characters', async (t) => {
    const alpnCode = (proto: Uint8Array | string): string =>
      expectHello(t, withExtensions([ext.alpn([proto, 'h2'])])).ja4.slice(8, 10);
    t.equal(alpnCode('http/1.1'), 'h1');
    t.equal(alpnCode('b'), 'bb', 'a single character is both first and last');
    t.equal(alpnCode(Buffer.from([0xab])), 'ab');
    t.equal(alpnCode(Buffer.from([0xab, 0xcd])), 'ad');
    t.equal(alpnCode(Buffer.from([0x30, 0xab])), '3b');
    t.equal(alpnCode(Buffer.from([0x30, 0x31, 0xab, 0xcd])), '3d');
    t.equal(alpnCode(Buffer.from([0x30, 0xab, 0xcd, 0x31])), '01');
    t.equal(alpnCode(Buffer.from([0x2a, 0x2a])), '00', 'GREASE ALPN value');
  });

  t.test('extension order does not matter, signature algorithm order does', async (t) => {
    const base = defaultExtensions('example.test');
    const a = expectHello(t, withExtensions(base)).ja4;
    t.equal(expectHello(t, withExtensions([...base].reverse())).ja4, a);
    const swapped = base.map((e): Extension => (e[0] === 0x000d ? ext.signatureAlgorithms([0x0804, 0x0403]) : e));
    t.not(expectHello(t, withExtensions(swapped)).ja4, a);
  });
});

t.test('SNI', async (t) => {
  const name = (n: string | Uint8Array): string | null | undefined => {
    const r = withServerName(n);
    return r.kind === 'hello' ? r.serverName : r.kind === 'malformed' ? undefined : `unexpected ${r.kind}`;
  };
  t.equal(name('Www.EXAMPLE.test'), 'www.example.test', 'lowercased');
  t.equal(name('example.test.'), 'example.test', 'one trailing dot stripped');
  t.equal(name('_acme-challenge.example.test'), '_acme-challenge.example.test');
  t.equal(name('*.example.test'), '*.example.test');
  t.equal(name('localhost'), 'localhost');
  t.equal(name('a'.repeat(255)), 'a'.repeat(255));
  t.equal(name(`${'a'.repeat(255)}.`), 'a'.repeat(255));
  for (const bad of ['', '.', 'example.test..', 'a..b', '.example.test', 'a'.repeat(256), 'exa mple.test', 'a/b', 'a:b.test', 'ex\u00e4mple.test', 'a\u0000b']) {
    t.equal(name(bad), undefined, `${JSON.stringify(bad)} is malformed`);
  }
  t.equal(name(Buffer.from('c3a4', 'hex')), undefined, 'raw UTF-8 is malformed');
  // IP literals are not host names (RFC 6066): reported as no SNI, the JA4 still says 'd'.
  for (const ip of ['127.0.0.1', '10.0.0.1.', '2130706433', '::1', 'fe80::1', '::ffff:1.2.3.4']) {
    const r = expectHello(t, withServerName(ip));
    t.equal(r.serverName, null, `${ip} gives serverName null`);
    t.match(r.ja4, /^t13d/);
  }
  t.test('server_name framing', async (t) => {
    const entry = (type: number, host: string): Buffer => Buffer.concat([Buffer.from([type, 0, host.length]), Buffer.from(host)]);
    const list = (...entries: Buffer[]): Extension => {
      const body = Buffer.concat(entries);
      return ext.raw(0x0000, Buffer.concat([Buffer.from([body.length >> 8, body.length & 0xff]), body]));
    };
    t.equal(withExtensions([list(entry(0, 'a.test'), entry(0, 'b.test'))]).kind, 'malformed', 'two host_names');
    t.equal(expectHello(t, withExtensions([list(entry(7, 'opaque'), entry(0, 'b.test'))])).serverName, 'b.test', 'unknown name types skipped');
    t.equal(expectHello(t, withExtensions([list(entry(7, 'opaque'))])).serverName, null, 'no host_name entry');
    t.equal(withExtensions([ext.raw(0x0000)]).kind, 'malformed', 'empty extension');
    t.equal(withExtensions([ext.raw(0x0000, Buffer.from([0, 0]))]).kind, 'malformed', 'empty list');
    t.equal(withExtensions([ext.raw(0x0000, Buffer.from([0, 9, 0, 0, 6, 0x61]))]).kind, 'malformed', 'list length too long');
    t.equal(withExtensions([ext.raw(0x0000, Buffer.from([0, 4, 0, 0, 6, 0x61]))]).kind, 'malformed', 'name runs past the list');
  });
});

t.test('not TLS', async (t) => {
  const verdict = (bytes: Buffer | number[]): string => parseClientHello(Buffer.from(bytes)).kind;
  t.same(parseClientHello(Buffer.alloc(0)), { kind: 'incomplete', needBytes: 1 });
  t.equal(verdict(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), 'not_tls');
  t.equal(verdict(Buffer.from('G')), 'not_tls', 'decided on the first byte');
  t.equal(verdict([0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15]), 'not_tls', 'SSLv2 ClientHello');
  t.equal(verdict([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]), 'not_tls', 'alert record');
  t.equal(verdict([0x17, 0x03, 0x03, 0x00, 0x10]), 'not_tls', 'application data');
  t.equal(verdict([0x16, 0x00]), 'not_tls', 'bad record version, decided early');
  t.equal(verdict([0x16, 0x03, 0x00, 0x00, 0x10]), 'not_tls', 'SSL 3.0 record version');
  t.equal(verdict([0x16, 0x03, 0x05]), 'not_tls');
  const serverHello = Buffer.from(buildClientHello());
  serverHello[5] = 0x02;
  t.equal(verdict(serverHello), 'not_tls', 'a ServerHello');
  t.equal(verdict(serverHello.subarray(0, 6)), 'not_tls', 'decided on the handshake type byte');
  const random = prng(1);
  for (let i = 0; i < 200; i++) {
    const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
    if (bytes[0] === 0x16) bytes[0] = 0x00;
    if (verdict(bytes) !== 'not_tls') t.fail(`random bytes ${bytes.toString('hex')}`);
  }
});

t.test('framing errors', async (t) => {
  const good = chromeLikeHello();
  const patched = (offset: number, ...values: number[]): Buffer => {
    const b = Buffer.from(good);
    values.forEach((v, i) => { b[offset + i] = v; });
    return b;
  };
  const kind = (b: Uint8Array): string => parseClientHello(b).kind;

  t.equal(kind(patched(3, 0, 0)), 'malformed', 'zero-length record');
  t.equal(kind(patched(3, 0x40, 0x01)), 'malformed', 'record over 2^14');
  t.equal(kind(patched(6, 0, 0, 0x40)), 'malformed', 'handshake shorter than its record');
  const longer = patched(6, 0, (good.length - 9 + 1) >> 8, (good.length - 9 + 1) & 0xff);
  t.same(parseClientHello(longer), { kind: 'incomplete', needBytes: good.length + 5 + 1 }, 'handshake longer than its record waits for the next one');

  const split = reframe(good, 200);
  const secondRecord = 5 + 200;
  const wrongType = Buffer.from(split);
  wrongType[secondRecord] = 0x17;
  t.equal(kind(wrongType), 'malformed', 'application data inside the hello');
  t.equal(kind(wrongType.subarray(0, secondRecord + 1)), 'malformed', 'decided on the record type byte');
  const wrongVersion = Buffer.from(split);
  wrongVersion[secondRecord + 1] = 0x02;
  t.equal(kind(wrongVersion), 'malformed', 'bad version on a later record');
  const firstOnly = split.subarray(0, secondRecord);
  t.same(parseClientHello(firstOnly), { kind: 'incomplete', needBytes: secondRecord + 5 + (unframe(good).length - 200) });

  t.equal(kind(patched(SESSION_ID_LEN_OFFSET, 33)), 'malformed', 'session id over 32 bytes');
  const sidEnd = SESSION_ID_LEN_OFFSET + 1 + 32;
  t.equal(kind(patched(sidEnd, 0, 31)), 'malformed', 'odd cipher_suites length');
  t.equal(kind(patched(sidEnd, 0, 0)), 'malformed', 'empty cipher_suites');
  t.equal(kind(patched(sidEnd, 0xff, 0xfe)), 'malformed', 'cipher_suites past the end');
  const compOffset = sidEnd + 2 + 2 * (CHROME_CIPHERS.length + 1);
  t.equal(kind(patched(compOffset, 0)), 'malformed', 'empty compression_methods');
  t.equal(kind(patched(compOffset + 2, 0xff, 0xff)), 'malformed', 'extensions block longer than the hello');
  t.equal(kind(patched(compOffset + 2, 0, 1)), 'malformed', 'extensions block shorter than the hello');
  t.equal(kind(patched(compOffset + 6, 0xff, 0xff)), 'malformed', 'first extension runs past the end');

  t.equal(withExtensions([ext.raw(0x0017), ext.raw(0x0017)]).kind, 'malformed', 'duplicate extension');
  t.equal(withExtensions([ext.raw(GREASE_A), ext.raw(GREASE_A)]).kind, 'malformed', 'duplicate GREASE extension');
  t.equal(withExtensions([ext.alpn([''])]).kind, 'malformed', 'empty ALPN protocol');
  t.equal(withExtensions([ext.raw(0x0010, Buffer.from([0, 0]))]).kind, 'malformed', 'empty ALPN list');
  t.equal(withExtensions([ext.raw(0x0010, Buffer.from([0, 3, 5, 0x68, 0x32]))]).kind, 'malformed', 'ALPN name past the list');
  t.equal(withExtensions([ext.raw(0x002b, Buffer.from([3, 3, 4, 3]))]).kind, 'malformed', 'odd supported_versions');
  t.equal(withExtensions([ext.raw(0x002b, Buffer.from([0]))]).kind, 'malformed', 'empty supported_versions');
  t.equal(withExtensions([ext.raw(0x000d, Buffer.from([0, 4, 4, 3]))]).kind, 'malformed', 'signature_algorithms length');
  t.equal(parseClientHello(buildClientHello({ legacyVersion: 0x0202 })).kind, 'malformed', 'legacy_version 2.2');
  const tiny = frameRecords(Buffer.from([1, 0, 0, 3, 3, 3, 0]));
  t.equal(kind(tiny), 'malformed', 'body too short');
});

t.test('size cap', async (t) => {
  t.equal(MAX_CLIENT_HELLO_BYTES, 65536);
  const overHeader = Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x01, 0x00, 0x00]);
  t.equal(parseClientHello(overHeader).kind, 'malformed', 'decided from the handshake header alone');
  t.equal(parseClientHello(overHeader.subarray(0, 8)).kind, 'incomplete');

  // A padding extension sized so the handshake message is exactly `total` bytes.
  const sized = (total: number): Buffer => {
    const base = buildHelloMessage({ extensions: [...defaultExtensions('big.example.test'), ext.padding(0)] }).length;
    return buildHelloMessage({ extensions: [...defaultExtensions('big.example.test'), ext.padding(total - base)] });
  };
  const atCap = sized(MAX_CLIENT_HELLO_BYTES);
  t.equal(atCap.length, MAX_CLIENT_HELLO_BYTES);
  const hello = expectHello(t, parseClientHello(frameRecords(atCap)));
  t.equal(hello.serverName, 'big.example.test');
  t.equal(hello.helloBytes, MAX_CLIENT_HELLO_BYTES + 5 * 4, 'four full records');
  t.equal(parseClientHello(frameRecords(sized(MAX_CLIENT_HELLO_BYTES + 1))).kind, 'malformed');
  t.equal(parseClientHello(frameRecords(atCap), 1000).kind, 'malformed', 'caller-supplied cap');
  t.equal(parseClientHello(frameRecords(atCap), Number.NaN).kind, 'hello', 'nonsense cap falls back to the default');
});

t.test('fuzz: mutated hellos never throw and keep the invariants', async (t) => {
  const seeds = [chromeLikeHello(), reframe(chromeLikeHello('f.example.test'), 300), buildClientHello()];
  const random = prng(0xc11e);
  const kinds = new Map<string, number>();
  let violations = 0;
  const check = (bytes: Uint8Array): void => {
    let r: HelloResult;
    try {
      r = parseClientHello(bytes);
    } catch (err) {
      if (violations++ < 3) t.fail(`threw on ${Buffer.from(bytes).toString('hex')}: ${(err as Error).message}`);
      return;
    }
    kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
    const ok = r.kind === 'incomplete' ? r.needBytes > bytes.length
      : r.kind === 'hello' ? r.helloBytes <= bytes.length && (r.serverName === null || /^[a-z0-9._*-]{1,255}$/.test(r.serverName)) && JA4_SHAPE.test(r.ja4)
        : (r.kind === 'malformed' || r.kind === 'not_tls') && r.reason.length > 0;
    if (!ok && violations++ < 3) t.fail(`invariant broken by ${Buffer.from(bytes).toString('hex')}: ${JSON.stringify(r)}`);
  };
  for (let i = 0; i < 6000; i++) {
    const seed = seeds[i % seeds.length];
    let b = Buffer.from(seed);
    const edits = 1 + Math.floor(random() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(random() * b.length);
      const op = random();
      if (op < 0.6) b[at] = Math.floor(random() * 256);
      else if (op < 0.75) b[at] ^= 1 << Math.floor(random() * 8);
      else if (op < 0.85) b = b.subarray(0, at);
      else if (op < 0.95) b = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(random() * 256)]), b.subarray(at)]);
      else b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    }
    check(b);
  }
  t.equal(violations, 0, 'no throws, no broken invariants');
  t.ok((kinds.get('hello') ?? 0) > 0 && (kinds.get('malformed') ?? 0) > 0, `mix of verdicts ${JSON.stringify([...kinds])}`);
});

t.test('key share group constants match the builder', async (t) => {
  // Guards the PQ test above: the hello really carries a 1216-byte X25519MLKEM768 share.
  const bytes = chromeLikeHello();
  const needle = Buffer.from([GROUP_X25519_MLKEM768 >> 8, GROUP_X25519_MLKEM768 & 0xff, MLKEM768_SHARE_BYTES >> 8, MLKEM768_SHARE_BYTES & 0xff]);
  t.ok(bytes.indexOf(needle) > 0, 'X25519MLKEM768 key share present');
  t.ok(bytes.indexOf(Buffer.from([0, GROUP_X25519, 0, 32])) > 0, 'X25519 key share present');
});
