// The markdown report of a route-scale run: one table per measure (rows: proxies; columns: hostname
// counts), medians with [min–max] over the repetitions, and ratios between proxies and against the
// 3-hostname baseline. Every failure is listed with its cause; skipped proxies keep a row.
import { BASELINE_HOSTS, type ScaleProxy } from './names.js';
import type { ScalePoint } from './point.js';
import type { ScaleRun } from './record.js';
import { fmt, fmtRatio, fmtSpread, spreadOf, type Spread } from './stats.js';

export const CADDY_NOT_SAME_JOB = 'not the same job: Debian\'s caddy has no layer-4 app (SNI passthrough needs the caddy-l4 plugin), so it cannot route TLS by SNI without terminating it';

const MIB = 1024; // KiB → MiB
// a connection run is flagged when a core carried more than this share of work not charged to the bench
const NOISY_PCT = 15;

interface Metric {
  title: string;
  digits: number;
  pick: (p: ScalePoint) => number | undefined;
  /** add "<N> ÷ 3" columns (how the proxy itself changes with N) */
  againstBaseline?: boolean;
  /** add "edgeplane ÷ peer" rows */
  betweenProxies?: boolean;
}

class Failures {
  readonly lines: string[] = [];
  private readonly index = new Map<string, number>();
  ref(p: ScalePoint): string {
    const text = `${p.proxy} at ${fmt(p.hosts)} hostnames, rep ${p.rep}, ${p.failed_stage}: ${p.error}`;
    let n = this.index.get(text);
    if (n === undefined) {
      n = this.lines.length + 1;
      this.index.set(text, n);
      this.lines.push(`${n}. ${text}`);
    }
    return `[${n}]`;
  }
}

function hostsLabel(n: number): string { return `${fmt(n)} hosts`; }

function pointsOf(run: ScaleRun, proxy: ScaleProxy, hosts: number): ScalePoint[] {
  return run.points.filter((p) => p.proxy === proxy && p.hosts === hosts);
}

function spreadFor(run: ScaleRun, proxy: ScaleProxy, hosts: number, m: Metric): Spread | undefined {
  return spreadOf(pointsOf(run, proxy, hosts).map(m.pick).filter((v): v is number => v !== undefined));
}

function cell(run: ScaleRun, proxy: ScaleProxy, hosts: number, m: Metric, failures: Failures): string {
  const pts = pointsOf(run, proxy, hosts);
  if (pts.length === 0) return '–';
  const s = spreadFor(run, proxy, hosts, m);
  const missing = pts.filter((p) => m.pick(p) === undefined && !p.ok);
  const refs = [...new Set(missing.map((p) => failures.ref(p)))].join(' ');
  if (s === undefined) return missing.length > 0 ? `✗ ${missing[0]!.failed_stage} ${refs}` : '–';
  return missing.length > 0 ? `${fmtSpread(s, m.digits)} (${missing.length} of ${pts.length} ✗ ${refs})` : fmtSpread(s, m.digits);
}

function metricTable(run: ScaleRun, m: Metric, failures: Failures): string[] {
  const counts = run.counts;
  const big = counts.filter((n) => n !== BASELINE_HOSTS);
  const header = ['proxy', ...counts.map(hostsLabel), ...(m.againstBaseline ? big.map((n) => `${fmt(n)} ÷ ${BASELINE_HOSTS}`) : [])];
  const lines = [`### ${m.title}`, '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const proxy of run.options.peers) {
    const skipped = run.skipped.find((s) => s.proxy === proxy);
    if (skipped) { lines.push(`| ${proxy} | ${skipped.reason} |${' |'.repeat(header.length - 2)}`); continue; }
    const cells = counts.map((n) => cell(run, proxy, n, m, failures));
    const base = spreadFor(run, proxy, BASELINE_HOSTS, m);
    const ratios = m.againstBaseline ? big.map((n) => fmtRatio(spreadFor(run, proxy, n, m), base)) : [];
    lines.push(`| ${proxy} | ${[...cells, ...ratios].join(' | ')} |`);
  }
  if (m.betweenProxies && run.options.peers.includes('edgeplane')) {
    for (const peer of run.options.peers.filter((p) => p !== 'edgeplane' && !run.skipped.some((s) => s.proxy === p))) {
      const ratios = counts.map((n) => fmtRatio(spreadFor(run, 'edgeplane', n, m), spreadFor(run, peer, n, m)));
      lines.push(`| *edgeplane ÷ ${peer}* | ${ratios.join(' | ')} |${m.againstBaseline ? ' |'.repeat(big.length) : ''}`);
    }
  }
  lines.push(`| caddy | not the same job (see above) |${' |'.repeat(header.length - 2)}`, '');
  return lines;
}

const kib = (v: number | undefined): number | undefined => (v === undefined || v === 0 ? undefined : v / MIB);

function metrics(run: ScaleRun): Metric[] {
  const o = run.options;
  return [
    { title: 'Build time: spawn → first routed TLS handshake (s)', digits: 2, pick: (p) => (p.ready_ms === undefined ? undefined : p.ready_ms / 1000), betweenProxies: true, againstBaseline: true },
    { title: 'Memory after ready: VmRSS summed over the process tree (MiB)', digits: 0, pick: (p) => kib(p.memory?.rss_kib), betweenProxies: true, againstBaseline: true },
    { title: 'Memory after ready: Pss summed over the process tree (MiB; shared pages split between nginx/haproxy processes)', digits: 0, pick: (p) => kib(p.memory?.pss_kib), betweenProxies: true },
    { title: 'Peak memory up to ready: VmHWM summed over the process tree (MiB; includes the build\'s transient peak)', digits: 0, pick: (p) => kib(p.memory?.hwm_kib), betweenProxies: true },
    { title: 'Peak memory through the reload: VmHWM after the reload reached the clients (MiB; old and new config at once; nginx/haproxy start new processes)', digits: 0, pick: (p) => kib(p.memory_after_reload?.hwm_kib), betweenProxies: true },
    { title: `New TLS connections/s, random hostname per connection (closed loop, ${o.conns} concurrent, ${o.connSeconds} s, full handshake each)`, digits: 0, pick: (p) => p.conns?.per_s, betweenProxies: true, againstBaseline: true },
    { title: 'Proxy CPU per connection (µs, all processes and threads of the proxy)', digits: 0, pick: (p) => p.conns?.proxy_cpu_us_per_conn, betweenProxies: true, againstBaseline: true },
    { title: 'Reload reach: signal → first handshake routed by the new config (ms)', digits: 0, pick: (p) => p.reload?.first_new_ms, betweenProxies: true, againstBaseline: true },
    { title: 'Reload reach: signal → every handshake routed by the new config (ms; old workers may answer until then)', digits: 0, pick: (p) => p.reload?.all_new_ms, betweenProxies: true },
    { title: 'Longest handshake while reloading (ms): how long new connections waited', digits: 0, pick: (p) => p.reload?.max_handshake_ms, betweenProxies: true },
    { title: 'Handshakes refused or closed while reloading (count)', digits: 0, pick: (p) => p.reload?.failed_polls },
  ];
}

/** The failed handshakes seen while reloading, and connection runs that shared a core with other work. */
function observations(run: ScaleRun): string[] {
  const lines: string[] = [];
  for (const p of run.points) {
    if (p.reload && p.reload.failed_polls > 0) {
      lines.push(`- ${p.proxy} at ${fmt(p.hosts)} hosts, rep ${p.rep}: ${p.reload.failed_polls} of ${p.reload.polls} probe handshakes failed while reloading (${p.reload.failures.join('; ')})`);
    }
  }
  const noisy = run.points.filter((p) => p.conns && Math.max(...p.conns.other_pct) > NOISY_PCT);
  for (const p of noisy) {
    lines.push(`- noise: ${p.proxy} at ${fmt(p.hosts)} hosts, rep ${p.rep}: other work took ${p.conns!.other_pct.map((x) => `${fmt(x)} %`).join(' / ')} of CPU0 / CPU1 during the connection run`);
  }
  return lines.length > 0 ? ['### Observations', '', ...lines, ''] : [];
}

function edgeplaneDaemonTable(run: ScaleRun): string[] {
  const pts = run.points.filter((p) => p.proxy === 'edgeplane' && p.daemon_reload !== undefined);
  if (pts.length === 0) return [];
  const lines = ['### edgeplane reload as logged by the daemon: SIGHUP → "config reloaded" (ms; logged once every worker acknowledged the generation)', '',
    '| hosts | SIGHUP → config reloaded | other reloads logged |', '|---|---|---|'];
  for (const n of run.counts) {
    const at = pts.filter((p) => p.hosts === n);
    if (at.length === 0) continue;
    const ok = spreadOf(at.filter((p) => p.daemon_reload!.ok && p.daemon_reload!.trigger === 'SIGHUP').map((p) => p.daemon_reload!.ms));
    const refused = at.filter((p) => !p.daemon_reload!.ok).map((p) => `refused: ${p.daemon_reload!.problem}`);
    const others = at.flatMap((p) => p.other_reloads ?? []).map((r) => `${r.trigger}${r.ok ? '' : ' (refused)'}`);
    lines.push(`| ${fmt(n)} | ${[fmtSpread(ok), ...refused].join('; ')} | ${others.length ? others.join(', ') : 'none'} |`);
  }
  return [...lines, ''];
}

function phasesTable(run: ScaleRun): string[] {
  if (run.phases.length === 0) return [];
  const lines = ['### edgeplane start-up phases, in-process (ms, median [min–max]; bench/scale/edgeplane-phases.ts)', '',
    '| hosts | config MiB | read | YAML parse | schema + checks | buildGeneration | publish at boot (spawn workers + install) | publish on reload | sum to boot | sum to reload | cloned to each worker (MiB) | host table (MiB) | heap after (MiB) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const n of run.counts) {
    const recs = run.phases.filter((r) => r.hosts === n);
    if (recs.length === 0) continue;
    const ok = recs.filter((r) => r.ok).map((r) => r.figures!);
    if (ok.length === 0) { lines.push(`| ${fmt(n)} | ✗ ${recs[0]!.error} |${' |'.repeat(11)}`); continue; }
    const s = (f: (x: (typeof ok)[number]) => number, d = 0): string => fmtSpread(spreadOf(ok.map(f)), d);
    const failedNote = ok.length < recs.length ? ` (${recs.length - ok.length} ✗: ${recs.find((r) => !r.ok)!.error})` : '';
    lines.push(`| ${fmt(n)}${failedNote} | ${s((x) => x.config_mib, 1)} | ${s((x) => x.read_ms)} | ${s((x) => x.yaml_ms)} | ${s((x) => x.check_ms)} | ${s((x) => x.build_ms)} | `
      + `${s((x) => x.boot_publish_ms)} | ${s((x) => x.reload_publish_ms)} | ${s((x) => x.total_ms)} | ${s((x) => x.total_ms - x.boot_publish_ms + x.reload_publish_ms)} | ${s((x) => x.cloned_mib_per_worker, 1)} | ${s((x) => x.host_table_mib, 1)} | ${s((x) => x.heap_used_mib)} |`);
  }
  const degraded = run.phases.some((r) => r.figures?.degraded);
  if (degraded) lines.push('', '**The native addon was not loaded: "publish" is the main thread\'s own install (degraded mode, no worker pool).**');
  return [...lines, ''];
}

function lookupTable(run: ScaleRun): string[] {
  if (run.lookups.length === 0) return [];
  const lines = ['### edgeplane host-table lookup, in-process (ns per lookup: median of 2,000 batches of 1,000 [p99 batch]; bench/scale/host-lookup.ts)', '',
    '| hosts (+ wildcards) | build (ms) | table (MiB) | exact hit | miss | wildcard hit | exact ÷ 3 hosts |', '|---|---|---|---|---|---|---|'];
  const exactAt = (n: number): Spread | undefined => spreadOf(run.lookups.filter((r) => r.hosts === n && r.ok).map((r) => r.figures!.exact.median_ns));
  for (const n of run.counts) {
    const recs = run.lookups.filter((r) => r.hosts === n);
    if (recs.length === 0) continue;
    const ok = recs.filter((r) => r.ok).map((r) => r.figures!);
    if (ok.length === 0) { lines.push(`| ${fmt(n)} | ✗ ${recs[0]!.error} | | | | | |`); continue; }
    const kind = (k: 'exact' | 'miss' | 'wildcard'): string => {
      const wrong = ok.reduce((a, x) => a + x[k].wrong, 0);
      return `${fmtSpread(spreadOf(ok.map((x) => x[k].median_ns)))} [${fmt(spreadOf(ok.map((x) => x[k].p99_ns))?.median)}]${wrong ? ` (${wrong} wrong answers!)` : ''}`;
    };
    lines.push(`| ${fmt(n)} (+ ${fmt(ok[0]!.wildcards)}) | ${fmtSpread(spreadOf(ok.map((x) => x.build_ms)))} | ${fmt(ok[0]!.table_mib, 1)} | ${kind('exact')} | ${kind('miss')} | ${kind('wildcard')} | ${fmtRatio(exactAt(n), exactAt(BASELINE_HOSTS))} |`);
  }
  return [...lines, ''];
}

export function renderScaleReport(run: ScaleRun): string {
  const m = run.meta;
  const o = run.options;
  const failures = new Failures();
  const lines = [`# edgeplane route-table scale — ${m.timestamp_utc}`, ''];
  lines.push(`Machine: ${m.nproc} CPUs, ${m.cpu}, ${m.mem_gib} GiB, kernel ${m.kernel}. ${m.pinning}.`);
  lines.push(`Versions: node ${m.node}; nginx ${m.nginx}; ${m.haproxy}; edgeplane as built at ${m.edgeplane_build}. Origin (TLS 1.3, ECDSA P-256, no resumption) and client: ${m.tools}.`);
  lines.push(`Job: TLS passthrough routed by SNI among N hostnames h0…h{N-1}.scale.test → origin A; probe.scale.test → A, moved to B by the reload; unknown.scale.test must not route. `
    + `Workers: ${o.workers} (edgeplane workers, nginx worker_processes, haproxy nbthread). edgeplane: ${o.hostsPerEdge} hostnames per tls edge (its edge cap is 16,384). `
    + `Repetitions: ${o.reps}; cells are median [min–max]; ✗ = failed (see Failures).`, '');
  for (const s of run.skipped) lines.push(`- **${s.proxy}**: ${s.reason}`);
  lines.push(`- **caddy**: ${CADDY_NOT_SAME_JOB}`);
  for (const note of run.notes) lines.push(`- ${note}`);
  lines.push('');
  const configs = run.configs.filter((c) => c.hosts !== BASELINE_HOSTS);
  if (configs.length > 0) {
    lines.push(`Config sizes (both variants written in one pass): ${configs.map((c) => `${c.proxy} ${fmt(c.hosts)}: ${fmt(c.bytes / 2 ** 20, 1)} MiB in ${fmt(c.write_ms)} ms`).join('; ')}.`, '');
  }
  lines.push('## Proxies side by side', '');
  for (const metric of metrics(run)) lines.push(...metricTable(run, metric, failures));
  lines.push(...observations(run));
  lines.push('## edgeplane only', '');
  lines.push(...edgeplaneDaemonTable(run), ...phasesTable(run), ...lookupTable(run));
  const degraded = run.points.some((p) => p.edgeplane?.degraded);
  if (degraded) lines.push('**edgeplane ran degraded (native addon not loaded: no worker pool); build it with `npm run build`.**', '');
  if (failures.lines.length > 0) lines.push('## Failures', '', ...failures.lines, '');
  return lines.join('\n');
}
