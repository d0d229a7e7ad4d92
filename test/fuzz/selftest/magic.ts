// Engine self-test: a crash behind four byte comparisons, one branch each. Random inputs hit it with
// odds of about 2^-40 per exec; coverage feedback finds it in seconds, a byte at a time. If the
// coverage feed breaks, the fuzz test's self-check fails.
import type { FuzzTarget } from '../target.js';

let sink = 0;

const target: FuzzTarget = {
  name: 'selftest-magic',
  maxLen: 16,
  coverageScripts: [import.meta.url],
  seeds: () => [Buffer.from('seed')],
  run(data) {
    if (data.length < 4) return;
    if (data[0] === 0xff) {
      sink++;
      if (data[1] === 0x00) {
        sink++;
        if (data[2] === 0x7f) {
          sink++;
          if (data[3] === 0x80) throw new Error('selftest: magic bytes reached');
        }
      }
    }
  },
};

export default target;
