// HTTP-01 answers cross threads through the shared store: what the manager writes on the main side,
// the plain listener reads on the worker side, by token.
import t from 'tap';
import { createSharedStoreBuffer, SharedStore } from '../../../core/tables/shared-store.js';
import { ACME_CHALLENGE_PREFIX, ACME_CHALLENGE_TTL_MS, acmeChallengeAnswer, writeAcmeChallenge } from '../../../core/acme/challenge.js';

const TOKEN = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA';
const KEY_AUTH = `${TOKEN}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI`;

t.test('written on one view, read on another view of the same buffer', async (t) => {
  const buffer = createSharedStoreBuffer({ slots: 64, slotBytes: 512 });
  const main = new SharedStore(buffer);
  const worker = new SharedStore(buffer);
  t.equal(acmeChallengeAnswer(worker, ACME_CHALLENGE_PREFIX + TOKEN), null, 'nothing before it is published');
  t.ok(writeAcmeChallenge(main, TOKEN, KEY_AUTH));
  t.equal(acmeChallengeAnswer(worker, ACME_CHALLENGE_PREFIX + TOKEN), KEY_AUTH);
  t.equal(acmeChallengeAnswer(worker, `/other${ACME_CHALLENGE_PREFIX}${TOKEN}`), null, 'only under the well-known path');
  t.equal(acmeChallengeAnswer(worker, `${ACME_CHALLENGE_PREFIX}${TOKEN}?x=1`), null, 'not with a query');
  t.equal(acmeChallengeAnswer(worker, `${ACME_CHALLENGE_PREFIX}../${TOKEN}`), null, 'not a token shape');
  t.equal(acmeChallengeAnswer(null, ACME_CHALLENGE_PREFIX + TOKEN), null, 'no store: no answers');
  writeAcmeChallenge(main, TOKEN, null);
  t.equal(acmeChallengeAnswer(worker, ACME_CHALLENGE_PREFIX + TOKEN), null, 'withdrawn');
});

t.test('answers expire', async (t) => {
  let now = 1_000_000;
  const buffer = createSharedStoreBuffer({ slots: 64, slotBytes: 512 });
  const main = new SharedStore(buffer, () => now);
  const worker = new SharedStore(buffer, () => now);
  writeAcmeChallenge(main, TOKEN, KEY_AUTH, now);
  now += ACME_CHALLENGE_TTL_MS + 1;
  t.equal(acmeChallengeAnswer(worker, ACME_CHALLENGE_PREFIX + TOKEN), null);
});
