// The config loader (core/config/load.ts loadConfigText) on YAML and JSON text: it either returns a
// config or throws ConfigError whose problems each carry a path and a reason; any other exception
// (a TypeError from a shape it did not expect, a RangeError, a stack overflow) is a finding.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText } from '../../../core/config/load.js';
import { ConfigError, parsePath } from '../../../core/config/errors.js';
import { check, type FuzzTarget } from '../target.js';

// `{ file: … }` values resolve against an empty directory: reading nothing real.
const BASE_DIR = mkdtempSync(join(tmpdir(), 'edgeplane-fuzz-config-'));
const ENV: NodeJS.ProcessEnv = { FUZZ_SECRET: 'a-secret-of-enough-length-000' };
const PATH = /^([A-Za-z0-9_.$\-*]+|\[\d+\])([.[][^\s]*)?$/;

const target: FuzzTarget = {
  name: 'config',
  maxLen: 4096,
  coverageLibraries: ['yaml', 'zod'],
  dictionary: [
    'edges:', 'backends:', 'tls_certificates:', 'reserved_domains:', 'ip_policies:', 'admin:', 'workers:', 'http:', 'tunnel:',
    'routes:', 'modules:', 'type: https', 'type: tls', 'type: tcp', 'hostports:', 'backend_id:', 'id:', 'match:', 'match_type: path_prefix',
    '{ file: x }', '{ env: FUZZ_SECRET }', '- ', ': ', '\n  ', '\n- ', '[', ']', '{', '}', ',', '"', "'", '&a ', '*a', '<<: *a', '!!binary ', '!!str ',
    '---\n', '...\n', '#', '|', '>', '? ', '%YAML 1.2\n', 'null', 'true', '0x10', '1e999', '-1', '.inf', '~', '__proto__', 'constructor',
    '127.0.0.1:443', '*.example.test', 'webhook_verification:', 'provider: github', 'oauth:', 'saml:', 'oidc:', 'request_headers:', '${req.method}',
  ],
  run(data) {
    const text = data.toString('utf8');
    try {
      const loaded = loadConfigText(text, { baseDir: BASE_DIR, env: ENV, sourceName: 'fuzz.yaml' });
      check(typeof loaded.config === 'object' && loaded.config !== null, 'loaded config is not an object');
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      check(err.problems.length > 0, 'ConfigError without problems');
      for (const p of err.problems) {
        check(typeof p.reason === 'string' && p.reason !== '', `problem at '${p.path}' without a reason`);
        check(typeof p.path === 'string', 'problem path is not a string');
        if (p.path !== '') {
          check(PATH.test(p.path) || parsePath(p.path).length > 0, `problem path '${p.path}' does not look like a field path`);
        }
      }
    }
  },
};

export default target;
