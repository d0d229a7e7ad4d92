// Exchange.readBody: a module that answers at the edge from the posted body (SAML's ACS) gets the
// whole body once the client has sent it, null when it is over the limit or the client left.
import t from 'tap';
import type { RouteSpec } from '../../../core/generation/spec.js';
import type { EdgeResponse, Exchange, HeaderList } from '../../../workers/http/exchange.js';
import { Transaction, type BodyFraming, type ClientResponse, type ForwardContext } from '../../../workers/http/forward.js';
import type { CompiledPipeline } from '../../../workers/http/pipeline.js';
import { makeExchange } from './exchange-fixture.js';

const ROUTE: RouteSpec = { id: 'edghtsrt_1', matchType: 'path_prefix', match: '/', backend: -1, maxRequestBodyBytes: 0, modules: {} };

interface Answer { status: number; headers: HeaderList; body: string }

/** A transaction whose only module reads the body (limit `max`) and answers with what it got. */
function harness(max: number, framing: BodyFraming) {
  let answered: (a: Answer) => void = () => {};
  const answer = new Promise<Answer>((resolve) => { answered = resolve; });
  let status = 0;
  let headers: HeaderList = [];
  const chunks: Buffer[] = [];
  const res: ClientResponse = {
    head(s, h) { status = s; headers = h; },
    write(chunk) { chunks.push(chunk); return true; },
    onceDrain() {},
    end() { answered({ status, headers, body: Buffer.concat(chunks).toString() }); },
    abort() { answered({ status: -1, headers: [], body: '' }); },
  };
  const pauses: string[] = [];
  const pipeline: CompiledPipeline = {
    modules: [],
    request: async (x: Exchange): Promise<EdgeResponse> => {
      const body = await x.readBody(max);
      return body === null
        ? { status: 413, errorCode: 'TEST_TOO_LARGE', body: 'too large' }
        : { status: 200, errorCode: '', body: `got ${body.length}: ${body.toString()}` };
    },
    responseHead() {},
    responseBody: () => [],
    complete() {},
  };
  const ctx = { backends: [], responseHeaderTimeoutMs: 1000, onComplete() {} } as unknown as ForwardContext;
  const tx = new Transaction(ctx, { spec: ROUTE, pipeline }, makeExchange({ method: 'POST' }), res, { pause: () => pauses.push('pause'), resume: () => pauses.push('resume') }, framing);
  return { tx, answer, pauses };
}

t.test('the body arrives in pieces after the module asked: it gets all of it at the end', async (t) => {
  const { tx, answer } = harness(1024, { kind: 'chunked' });
  tx.start();
  tx.requestData(Buffer.from('SAMLResponse=abc'));
  tx.requestData(Buffer.from('&RelayState=xyz'));
  tx.requestEnd();
  const a = await answer;
  t.equal(a.status, 200);
  t.equal(a.body, 'got 31: SAMLResponse=abc&RelayState=xyz');
});

t.test('a body bigger than the limit gives null, whether announced by Content-Length or found while reading', async (t) => {
  const announced = harness(10, { kind: 'length', length: 11 });
  announced.tx.start();
  t.equal((await announced.answer).status, 413, 'Content-Length over the limit: refused before reading');
  const found = harness(10, { kind: 'chunked' });
  found.tx.start();
  found.tx.requestData(Buffer.from('123456'));
  found.tx.requestData(Buffer.from('789012'));
  t.equal((await found.answer).status, 413, 'over the limit while reading');
});

t.test('a large body is read on past the forwarding buffer (no pause while a module collects it)', async (t) => {
  const { tx, answer, pauses } = harness(512 * 1024, { kind: 'length', length: 300 * 1024 });
  tx.start();
  for (let i = 0; i < 300; i++) tx.requestData(Buffer.alloc(1024, 0x61));
  tx.requestEnd();
  const a = await answer;
  t.equal(a.status, 200);
  t.match(a.body, /^got 307200: a/);
  t.same(pauses, [], 'the client was never paused');
});

t.test('the client leaving while the module waits gives null (and nothing hangs)', async (t) => {
  const { tx } = harness(1024, { kind: 'chunked' });
  let got: Buffer | null | undefined;
  const x = tx.x;
  tx.requestData(Buffer.from('partial'));
  const reading = x.readBody(1024).then((b) => { got = b; });
  tx.clientGone();
  await reading;
  t.equal(got, null);
});
