// TLS posture (issue 10): a testssl.sh scan of an HTTPS edge and a TLS edge (terminate_at: edge) of a real
// daemon, with the configured minimum of TLS 1.2. Fails (exit 1) when a protocol below the minimum is
// offered, a cipher testssl rates weak is accepted, or the chain is not the configured one; prints a
// markdown summary for SECURITY.md. Takes a few minutes; not part of `npm test`.
// Usage: npx tsc -p . && node dist/test/long/testssl-scan.js [--json-dir DIR]
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { spawn } from 'node:child_process';
import { makePki } from '../helpers/pki.js';
import { freePort } from '../helpers/net.js';
import { CLI } from '../helpers/daemon.js';

interface Finding { id: string; severity: string; finding: string }

const BAD_SEVERITIES = new Set(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
// Protocols below the configured minimum (TLS 1.2) and cipher classes no edge may offer.
const MUST_BE_OFF = ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1', 'cipherlist_NULL', 'cipherlist_aNULL', 'cipherlist_EXPORT', 'cipherlist_LOW', 'cipherlist_3DES_IDEA', 'cipherlist_AVERAGE'];

/**
 * Findings about the throwaway test PKI or the network, not the edge's TLS: the 30-day test certificates
 * ("expires soon"), no OCSP/CRL for a test CA, no DNS CAA record for example.test.
 */
const NOT_ABOUT_THE_EDGE = (id: string): boolean => id.startsWith('cert_') || id === 'DNS_CAArecord';

function runTestssl(target: string, servername: string, jsonFile: string, caFile: string): Promise<Finding[]> {
  return new Promise((resolve, reject) => {
    // --ip pins the address (the name resolves nowhere); --sneaky keeps its HTTP probe plain; --add-ca trusts our test root.
    const args = ['--quiet', '--color', '0', '--warnings', 'off', '--ip', '127.0.0.1', '--add-ca', caFile, '--jsonfile', jsonFile,
      '--protocols', '--std', '--server-defaults', '--vulnerable', `${servername}:${target.split(':')[1]}`];
    execFile('testssl', args, { timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 }, (err) => {
      // testssl exits non-zero when it found something; the JSON is what we judge.
      try { resolve(JSON.parse(readFileSync(jsonFile, 'utf8')) as Finding[]); } catch { reject(err ?? new Error('no JSON output')); }
    });
  });
}

function judge(name: string, findings: Finding[]): { problems: string[]; lines: string[] } {
  const byId = new Map(findings.map((f) => [f.id, f]));
  const problems: string[] = [];
  for (const id of MUST_BE_OFF) {
    const f = byId.get(id);
    if (f === undefined) problems.push(`${name}: testssl did not report ${id}`);
    else if (!/not offered/i.test(f.finding)) problems.push(`${name}: ${id} is ${f.finding}`);
  }
  for (const f of findings) {
    if (BAD_SEVERITIES.has(f.severity) && !NOT_ABOUT_THE_EDGE(f.id)) problems.push(`${name}: ${f.id} (${f.severity}): ${f.finding}`);
  }
  const chain = byId.get('cert_chain_of_trust');
  if (chain === undefined || !/passed/i.test(chain.finding)) problems.push(`${name}: chain of trust: ${chain?.finding ?? 'not reported'}`);
  const pick = (id: string): string => byId.get(id)?.finding ?? 'n/a';
  const lines = [
    `| ${name} | TLS 1.2 ${pick('TLS1_2')}; TLS 1.3 ${pick('TLS1_3')}; SSLv3/TLS 1.0/1.1 ${[pick('SSLv3'), pick('TLS1'), pick('TLS1_1')].every((v) => /not offered/i.test(v)) ? 'not offered' : 'OFFERED'} | ${pick('cipherlist_STRONG')} | ${chain?.finding ?? 'n/a'} | ${findings.filter((f) => BAD_SEVERITIES.has(f.severity)).map((f) => `${f.id} (${f.severity})`).join(', ') || 'none'} |`,
  ];
  return { problems, lines };
}

async function main(): Promise<number> {
  const pki = makePki();
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-testssl-'));
  const port = await freePort();
  const config = {
    workers: 1,
    tls_certificates: [{ id: 'cert_edge', certificate_pem: { file: pki.path('bundle.crt') }, private_key_pem: { file: pki.path('leaf.key') } }],
    reserved_domains: [{ domain: '*.example.test', certificate_id: 'cert_edge' }],
    backends: [{ id: 'bkd_page', type: 'http_response', status_code: 200, body: 'ok' }, { id: 'bkd_echo', type: 'static_address', address: '127.0.0.1:9' }],
    edges: [
      { id: 'edghts_app', type: 'https', hostports: [`app.example.test:${port}`], routes: [{ match_type: 'path_prefix', match: '/', backend: { backend_id: 'bkd_page' } }] },
      { id: 'edgtls_db', type: 'tls', hostports: [`db.example.test:${port}`], backend: { backend_id: 'bkd_echo' }, tls_termination: { terminate_at: 'edge', min_version: '1.2' } },
    ],
  };
  const configPath = join(dir, 'edge.yaml');
  writeFileSync(configPath, stringify(config));
  const daemon = spawn(process.execPath, [CLI, 'serve', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let log = '';
      daemon.stderr!.on('data', (d: Buffer) => { log += d.toString(); if (log.includes('"msg":"ready"')) resolve(); });
      daemon.once('exit', () => reject(new Error(`daemon exited:\n${log}`)));
    });
    const problems: string[] = [];
    const rows: string[] = [];
    for (const [name, host] of [['HTTPS edge', 'app.example.test'], ['TLS edge (terminate_at: edge)', 'db.example.test']] as const) {
      const findings = await runTestssl(`127.0.0.1:${port}`, host, join(dir, `${host}.json`), pki.path('ca.crt'));
      const verdict = judge(name, findings);
      problems.push(...verdict.problems);
      rows.push(...verdict.lines);
    }
    process.stdout.write([
      `testssl.sh ${'3.x'} scan, ${new Date().toISOString()}, node ${process.version}`,
      '',
      '| edge | protocols | strong ciphers | chain of trust | findings LOW or worse |',
      '|---|---|---|---|---|',
      ...rows,
      '',
      problems.length === 0 ? 'verdict: pass' : `verdict: FAIL\n${problems.map((p) => `- ${p}`).join('\n')}`,
      '',
    ].join('\n'));
    return problems.length === 0 ? 0 : 1;
  } finally {
    daemon.kill('SIGKILL');
    pki.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => { process.stderr.write(`${(err as Error).stack ?? String(err)}\n`); process.exitCode = 2; });
