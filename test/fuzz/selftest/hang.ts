// Engine self-test: an input that never finishes (a synchronous endless loop) must be reported as a
// hang with that input, and the worker replaced.
import type { FuzzTarget } from '../target.js';

const target: FuzzTarget = {
  name: 'selftest-hang',
  maxLen: 16,
  seeds: () => [Buffer.from('fine'), Buffer.from('loop')],
  run(data) {
    if (data.toString('latin1') === 'loop') for (;;) { /* the hang under test */ }
  },
};

export default target;
