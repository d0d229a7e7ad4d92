// Runs one input through a target in this process and says what happened:
//   node dist/test/fuzz/replay.js <target> <file | base64:…>
// (EDGEPLANE_FUZZ_VERBOSE=1 lets targets print what they saw, e.g. http1's response bytes.)
import { existsSync, readFileSync } from 'node:fs';
import { loadTarget } from './targets/index.js';

const [name, source] = process.argv.slice(2);
if (name === undefined || source === undefined) {
  console.error('usage: node dist/test/fuzz/replay.js <target> <file | base64:…>');
  process.exit(2);
}
const data = source.startsWith('base64:') ? Buffer.from(source.slice(7), 'base64') : existsSync(source) ? readFileSync(source) : Buffer.from(source, 'base64');
const target = await loadTarget(name);
await target.setup?.();
console.log(`${name}: ${data.length} bytes: ${JSON.stringify(data.toString('latin1').slice(0, 2000))}`);
const timer = setTimeout(() => { console.log('HANG: no result in 10 s'); process.exit(1); }, 10_000);
try {
  await target.run(data);
  console.log('ok: no finding');
  clearTimeout(timer);
  process.exit(0);
} catch (err) {
  console.log(`FINDING: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
}
