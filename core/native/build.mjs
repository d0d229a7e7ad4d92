// Builds the native addon (binding.gyp → build/Release/edgeplane_native.node).
// Runs as the npm `install` script and in `npm run build`. A failed build is a
// warning, not an error: edgeplane then runs degraded (see native-notes.md).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// No network for header downloads: use the headers the Node package installs.
const SYSTEM_NODEDIR = '/usr';

function findNodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return { cmd: process.execPath, args: [fromNpm] };
  const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return { cmd: process.execPath, args: [bundled] };
  return { cmd: 'npx', args: ['--no-install', 'node-gyp'] };
}

function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  return existsSync(join(SYSTEM_NODEDIR, 'include', 'node', 'node_api.h')) ? [`--nodedir=${SYSTEM_NODEDIR}`] : [];
}

function warnDegraded(what) {
  console.warn([
    '',
    'edgeplane: WARNING: the native addon was not built.',
    `edgeplane:   ${what}`,
    'edgeplane:   edgeplane still installs and runs, but DEGRADED: connections are handled',
    'edgeplane:   on the main thread and there is no worker pool.',
    'edgeplane:   Needs a C compiler, make, python3 and Node headers (/usr/include/node or --nodedir).',
    'edgeplane:   See native-notes.md ("Building" and "Without the addon"); retry with `npm run build`.',
    '',
  ].join('\n'));
}

const gyp = findNodeGyp();
const args = [...gyp.args, 'rebuild', ...nodedirArgs()];
const run = spawnSync(gyp.cmd, args, { cwd: ROOT, stdio: 'inherit' });
if (run.error) {
  warnDegraded(`could not start node-gyp (${gyp.cmd} ${args.join(' ')}): ${run.error.message}`);
} else if (run.status !== 0) {
  warnDegraded(`\`node-gyp ${args.slice(gyp.args.length).join(' ')}\` failed (${run.signal ?? `exit code ${run.status}`}); its output is above.`);
} else if (!existsSync(join(ROOT, 'build', 'Release', 'edgeplane_native.node'))) {
  warnDegraded('node-gyp succeeded but build/Release/edgeplane_native.node is missing.');
}
process.exit(0);
