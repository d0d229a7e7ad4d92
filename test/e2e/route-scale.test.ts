// bench/route-scale: the generated configs are what each proxy accepts, every installed proxy routes the
// N hostnames and refuses an unknown one, a reload moves the probe hostname to origin B (edgeplane by its
// SIGHUP only, not by its config-file watch), and the in-process edgeplane scripts report what they built.
// Real proxies, real sockets, small N; proxies that are not installed are skipped with the reason.
import t from 'tap';
import { readFileSync, readlinkSync, watch } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../core/config/load.js';
import { run } from '../helpers/net.js';
import { tempDir } from '../helpers/daemon.js';
import { isPortFree } from '../../bench/ports.js';
import { killAllChildren, stopChild } from '../../bench/processes.js';
import { switchVariant, writeConfigSet, type ConfigJob } from '../../bench/scale/configs.js';
import { runLookup, runPhases } from '../../bench/scale/inprocess.js';
import { PROBE_NAME, PROXIES, scalePorts, type ScaleProxy } from '../../bench/scale/names.js';
import { ensureScaleCert, startMarkerOrigin } from '../../bench/scale/origin.js';
import { measureScalePoint, type PointContext } from '../../bench/scale/point.js';
import { checkConfig, missingReason } from '../../bench/scale/proxies.js';
import { prepareTools } from '../../bench/scale/tools.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = join(REPO_ROOT, 'dist/bench/route-scale.js');
// three proxies started, loaded and reloaded one after the other on a busy 2-core box
t.setTimeout(180_000);
t.teardown(killAllChildren);

async function freeOffset(): Promise<number> {
  for (let offset = 3000 + (process.pid % 200) * 10; offset < 9000; offset += 37) {
    const p = scalePorts(offset);
    const all = [p.originA, p.originB, ...Object.values(p.proxy)];
    if ((await Promise.all(all.map(isPortFree))).every(Boolean)) return offset;
  }
  throw new Error('no free port range for the route-scale ports');
}

const job = (proxy: ScaleProxy, hosts: number, offset: number): ConfigJob => {
  const p = scalePorts(offset);
  return { proxy, hosts, workers: 2, hostsPerEdge: 100, port: p.proxy[proxy], originA: p.originA, originB: p.originB, asRoot: process.getuid?.() === 0 };
};

t.test('the edgeplane config: N hostnames in edges of hostsPerEdge, the probe alone, variants differ in the probe backend only', async (t) => {
  const dir = tempDir(t, 'route-scale-');
  const set = writeConfigSet(dir, job('edgeplane', 250, 0));
  const a = loadConfigFile(set.main).config;
  t.equal(a.edges.length, 4, 'probe edge + 3 edges of ≤ 100 hostnames');
  t.same(a.edges.map((e) => e.hostports.length), [1, 100, 100, 50]);
  t.equal(a.edges[0]!.hostports[0], `${PROBE_NAME}:${scalePorts(0).proxy.edgeplane}`);
  t.equal(a.edges[0]!.backend?.backend_id, 'bkd_a');
  t.ok(a.edges.every((e) => e.type === 'tls' && e.tls_termination?.terminate_at === 'upstream'), 'every edge is passthrough');
  switchVariant(set, 'b');
  t.equal(readlinkSync(set.switchLink), set.variants.b, 'the switch link points at variant b');
  const b = loadConfigFile(set.main).config;
  t.equal(b.edges[0]!.backend?.backend_id, 'bkd_b', 'the live path now reads variant b');
  t.same(b.edges.slice(1), a.edges.slice(1), 'the other edges are unchanged');
  const lines = (f: string): string[] => readFileSync(f, 'utf8').split('\n');
  const diff = lines(set.variants.a).filter((l, i) => l !== lines(set.variants.b)[i]);
  t.equal(diff.length, 1, 'one line differs between the variants');
});

t.test('switching variants makes no change in the directory edgeplane watches (only the SIGHUP may reload it)', async (t) => {
  const dir = tempDir(t, 'route-scale-');
  const set = writeConfigSet(dir, job('edgeplane', 10, 0));
  const seen: string[] = [];
  const watcher = watch(dirname(set.main), (event, name) => seen.push(`${event} ${name}`));
  t.teardown(() => watcher.close());
  switchVariant(set, 'b');
  switchVariant(set, 'a');
  await new Promise((r) => setTimeout(r, 300));
  t.same(seen, [], 'no event in the config directory');
  t.equal(loadConfigFile(set.main).config.edges[0]!.backend?.backend_id, 'bkd_a', 'yet the config read through it follows the switch');
});

t.test('each installed proxy accepts its config, routes N hostnames, refuses an unknown one and reloads the probe to B', async (t) => {
  const offset = await freeOffset();
  const ports = scalePorts(offset);
  const dir = tempDir(t, 'route-scale-');
  const tools = prepareTools(join(REPO_ROOT, 'bench/out/work'), 'node');
  const origin = await startMarkerOrigin(tools, ensureScaleCert(join(REPO_ROOT, 'bench/out/work')), ports, 1, join(dir, 'origin.log'));
  t.teardown(() => stopChild(origin));
  for (const proxy of PROXIES) {
    const missing = missingReason(proxy, REPO_ROOT);
    await t.test(proxy, { skip: missing ?? false }, async (t) => {
      const set = writeConfigSet(dir, job(proxy, 300, offset));
      t.equal(checkConfig(set, REPO_ROOT), undefined, `${proxy}'s own checker accepts the config`);
      const ctx: PointContext = {
        repoRoot: REPO_ROOT, logDir: dir, cpuProxy: 0, cpuLoad: 1, port: ports.proxy[proxy], originPid: origin.pid, tools,
        conns: 4, connSeconds: 1, timeoutMs: 30_000, settleMs: 0, quietPct: 10,
      };
      const p = await measureScalePoint(ctx, set, 1);
      t.equal(p.error, undefined, 'no stage failed');
      t.ok(p.ok);
      t.ok(p.ready_ms! > 0 && p.ready_ms! < 30_000, `ready in ${Math.round(p.ready_ms!)} ms`);
      t.ok(p.memory!.rss_kib > 1000 && p.memory!.processes >= 1, `RSS ${p.memory!.rss_kib} KiB over ${p.memory!.processes} processes`);
      t.ok(p.conns!.connections > 0, `${p.conns!.connections} connections with random hostnames`);
      t.equal(p.conns!.errors.wrong_origin, 0, 'none reached the wrong origin');
      t.ok(p.reload!.first_new_ms > 0 && p.reload!.all_new_ms >= p.reload!.first_new_ms, `reload reached the clients in ${Math.round(p.reload!.first_new_ms)} ms`);
      if (proxy === 'edgeplane') {
        t.equal(p.daemon_reload?.trigger, 'SIGHUP', 'the daemon logged the SIGHUP reload');
        t.equal(p.daemon_reload?.ok, true);
        t.equal(p.other_reloads, undefined, 'the config switch did not trigger a file-watch reload too');
        t.equal(p.edgeplane?.workers, 2);
      }
    });
  }
});

t.test('the in-process edgeplane scripts: phases of a real config, lookups that find what the table holds', async (t) => {
  const dir = tempDir(t, 'route-scale-');
  const set = writeConfigSet(dir, job('edgeplane', 250, 0));
  const phases = await runPhases(set.variants.a, 0, 250, 1, 60_000);
  t.equal(phases.error, undefined);
  t.equal(phases.figures?.hostports, 251, 'N hostnames + the probe');
  t.equal(phases.figures?.edges, 4);
  t.ok(phases.figures!.total_ms > 0 && phases.figures!.yaml_ms > 0);
  const lookup = await runLookup(443, 0, 2000, 1, 60_000);
  t.equal(lookup.error, undefined);
  for (const kind of ['exact', 'miss', 'wildcard'] as const) {
    t.equal(lookup.figures![kind].wrong, 0, `${kind}: every lookup gave the expected answer`);
    t.ok(lookup.figures![kind].median_ns > 0);
  }
  t.equal(lookup.figures!.wildcards, 20);
  const missing = await runPhases(join(dir, 'nope.yaml'), 0, 1, 1, 30_000);
  t.equal(missing.ok, false, 'a config that cannot be read is a failed record, not a crash');
  t.match(missing.error, /exit 1/);
});

t.test('the command line: --help, and a bad option is a one-line error with exit 2', async (t) => {
  const help = await run(process.execPath, [SCRIPT, '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, '--hosts 100000,1000000');
  const bad = await run(process.execPath, [SCRIPT, '--hosts', '0']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^route-scale: --hosts: expected an integer ≥ 1, got "0"/);
  t.notMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  const render = await run(process.execPath, [SCRIPT, '--render', join(REPO_ROOT, 'no-such-run.json')]);
  t.equal(render.code, 2);
  t.match(render.stderr, /--render: cannot read/);
});
