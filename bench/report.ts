import { fmt, median } from './format.js';
import { notApplicable, type PeerName } from './peers/registry.js';
import { SCENARIOS, type Extra, type ScenarioName } from './scenarios.js';

/** One measured (or failed) point, as written to the raw JSON. */
export interface PointRecord {
  scenario: ScenarioName;
  peer: PeerName;
  rep: number;
  ok: boolean;
  error?: string;
  rate?: number;
  work?: number;
  cpu_per_unit?: number;
  proc_cpu_s?: number;
  core_pct?: number[];
  /** busy % of each core not charged to the bench's processes: other jobs on the machine (noise) */
  other_pct?: number[];
  softirq_pct?: number[];
  attempts?: number;
  /** how long the point waited for quiet cores, and their busy % then */
  settle?: { waited_ms: number; busy_pct: number[] };
  wall_s?: number;
  probe_ms?: number[];
  errors?: number;
  detail?: unknown;
}

/** A whole run: facts, options, points, and peers that never ran with the reason. */
export interface RunRecord {
  meta: Record<string, string>;
  options: unknown;
  points: PointRecord[];
  skipped: Array<{ peer: PeerName; reason: string }>;
  notes: string[];
}


/** Per scenario and peer: medians over the successful repetitions. */
export interface PeerSummary {
  peer: PeerName;
  reps: number;
  failed: number;
  rate: number;
  spread: number;
  ratio: number;
  cpu_per_unit: number;
  core_pct: number[];
  other_pct: number[];
  softirq_pct: number[];
  errors: number;
  perRep: number[];
  lastError?: string;
}

export function summarise(run: RunRecord, scenario: ScenarioName, peers: readonly PeerName[]): PeerSummary[] {
  const out: PeerSummary[] = [];
  for (const peer of peers) {
    const pts = run.points.filter((p) => p.scenario === scenario && p.peer === peer);
    if (pts.length === 0) continue;
    const ok = pts.filter((p) => p.ok && (p.rate ?? 0) > 0);
    const rates = ok.map((p) => p.rate as number);
    const med = rates.length ? median(rates) : NaN;
    out.push({
      peer, reps: ok.length, failed: pts.length - ok.length, rate: med,
      spread: rates.length ? (Math.max(...rates) - Math.min(...rates)) / med : NaN,
      ratio: NaN,
      cpu_per_unit: ok.length ? median(ok.map((p) => p.cpu_per_unit as number)) : NaN,
      core_pct: [0, 1].map((c) => (ok.length ? median(ok.map((p) => p.core_pct?.[c] ?? 0)) : NaN)),
      other_pct: [0, 1].map((c) => (ok.length ? median(ok.map((p) => p.other_pct?.[c] ?? 0)) : NaN)),
      softirq_pct: [0, 1].map((c) => (ok.some((p) => p.softirq_pct) ? median(ok.map((p) => p.softirq_pct?.[c] ?? 0)) : NaN)),
      errors: pts.reduce((a, p) => a + (p.errors ?? 0), 0),
      perRep: pts.map((p) => (p.ok ? (p.rate as number) : NaN)),
      lastError: pts.find((p) => !p.ok)?.error,
    });
  }
  const direct = out.find((s) => s.peer === 'direct')?.rate ?? NaN;
  for (const s of out) s.ratio = s.rate / direct;
  return out;
}

function cpuDigits(scenario: ScenarioName): number { return SCENARIOS[scenario].cpuDigits ?? (SCENARIOS[scenario].rateUnit === 'MB/s' ? 2 : 0); }

/** Median of an extra figure over a peer's successful reps; undefined when no rep has it. */
function extraMedian(run: RunRecord, scenario: ScenarioName, peer: PeerName, extra: Extra): number | undefined {
  const values = run.points
    .filter((p) => p.scenario === scenario && p.peer === peer && p.ok)
    .map((p) => extra.pick(p.detail))
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return values.length ? median(values) : undefined;
}

function scenarioLabel(sc: ScenarioName): string {
  const tag = SCENARIOS[sc].tag;
  return tag ? `${sc} (${tag})` : sc;
}

// peers whose version collectMeta records under their own name (older runs lack caddy's)
const VERSIONED_PEERS: readonly PeerName[] = ['nginx', 'haproxy', 'caddy'];

/** "nginx 1.22.1, caddy 2.6.2" for the binary peers that ran; '' when none did. */
function peerVersions(m: Record<string, string>, peers: readonly PeerName[]): string {
  return peers.flatMap((p) => {
    const v = VERSIONED_PEERS.includes(p) ? m[p] : undefined;
    // the version token of "nginx/1.22.1", "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - …", "2.6.2"
    return v ? [`${p} ${/\d+\.\d+[\w.+~-]*/.exec(v)?.[0] ?? v}`] : [];
  }).join(', ');
}

export function renderMarkdown(run: RunRecord, peers: readonly PeerName[], scenarios: readonly ScenarioName[]): string {
  const lines: string[] = [];
  const m = run.meta;
  lines.push(`# edgeplane bench — ${m.timestamp_utc}`, '');
  lines.push(`Machine: ${m.nproc} CPUs, ${m.cpu}, kernel ${m.kernel}, ${m.os}. Pinning: ${m.pinning}.`);
  lines.push(`Origin: ${m.origin}. New-connection client: ${m.conns_client}. Bulk client: ${m.curl}.`);
  if (m.http_client && m.http_client !== 'unused') lines.push(`Keep-alive HTTP client: ${m.http_client}.`);
  const versions = peerVersions(m, peers.filter((p) => !run.skipped.some((s) => s.peer === p)));
  if (versions) lines.push(`Peer versions: ${versions}.`);
  if (m.http_proxy) lines.push(`http-proxy peer: ${m.http_proxy}.`);
  if (m.fastify) lines.push(`fastify peer: ${m.fastify}.`);
  if (m.breaker_upstream) lines.push(`Breaker upstream: ${m.breaker_upstream}.`);
  lines.push(`Params: ${m.params}. edgeplane build: ${m.edgeplane_build ?? '?'}.`, '');
  for (const s of run.skipped) lines.push(`- **${s.peer}**: ${s.reason}`);
  if (run.skipped.length) lines.push('');

  lines.push('## Summary (medians; ratio = peer ÷ direct in the same run)', '');
  const shown = peers.filter((p) => !run.skipped.some((s) => s.peer === p));
  lines.push(`| scenario | ${shown.join(' | ')} |`, `|---|${shown.map(() => '---:').join('|')}|`);
  for (const sc of scenarios) {
    const sum = summarise(run, sc, shown);
    const spec = SCENARIOS[sc];
    const cell = (p: PeerName, f: (s: PeerSummary) => string): string => {
      if (notApplicable(p, spec.port) !== undefined) return 'n/a';
      const s = sum.find((x) => x.peer === p);
      return s ? f(s) : '–';
    };
    const label = scenarioLabel(sc);
    lines.push(`| ${label}, ${spec.rateUnit} (ratio) | ${shown.map((p) => cell(p, (s) => (s.reps ? `${fmt(s.rate)} (${fmt(s.ratio, 2)})` : 'failed'))).join(' | ')} |`);
    lines.push(`| ${label}, ${spec.cpuUnit} | ${shown.map((p) => cell(p, (s) => fmt(s.cpu_per_unit, cpuDigits(sc)))).join(' | ')} |`);
    for (const extra of (spec.extras ?? []).filter((e) => e.summary)) {
      lines.push(`| ${label}, ${extra.header} | ${shown.map((p) => cell(p, (s) => (s.reps ? fmt(extraMedian(run, sc, p, extra), extra.digits) : 'failed'))).join(' | ')} |`);
    }
  }
  lines.push('', ...renderAgainstPeers(run, scenarios, shown));
  lines.push('', 'For direct rows the CPU column is the origin\'s CPU. A row whose CPU0 (proxy core) is well below 100 % while CPU1 '
    + '(load generator + origin) is ~100 % was bounded by the test bed: compare its CPU per unit, not its rate. '
    + '"softirq %" = packet processing (information; the part taken inside a process is also in its CPU). '
    + '"other %" = core busy time not charged to the proxy, origin, load generator or runner: other jobs on this '
    + 'shared machine, or softirq work run outside our processes (noise indicator, upper bound).', '');

  for (const sc of scenarios) {
    const spec = SCENARIOS[sc];
    const digits = cpuDigits(sc);
    const extras = spec.extras ?? [];
    const extraHeads = extras.map((e) => ` ${e.header} |`).join('');
    lines.push(`### ${scenarioLabel(sc)} — ${spec.title}`, '');
    lines.push(`| peer | ${spec.rateUnit} median | spread | ratio vs direct | ${spec.cpuUnit} |${extraHeads} CPU0 % | CPU1 % | softirq % CPU0/CPU1 | other % CPU0/CPU1 | errors | per-rep ${spec.rateUnit} |`);
    lines.push(`|---|---:|---:|---:|---:|${extras.map(() => '---:|').join('')}---:|---:|---:|---:|---:|---|`);
    for (const s of summarise(run, sc, peers)) {
      const name = s.peer === 'direct' ? 'direct *(origin CPU)*' : s.peer;
      if (s.reps === 0) {
        lines.push(`| ${name} | failed | | | |${extras.map(() => ' |').join('')} | | | | | ${(s.lastError ?? '').split('\n')[0].slice(0, 160).replace(/\|/g, '/')} |`);
        continue;
      }
      const extraCells = extras.map((e) => ` ${fmt(extraMedian(run, sc, s.peer, e), e.digits)} |`).join('');
      lines.push(`| ${name} | ${fmt(s.rate)} | ${fmt(100 * s.spread, 1)}% | ${fmt(s.ratio, 2)} | ${fmt(s.cpu_per_unit, digits)} |${extraCells} `
        + `${fmt(s.core_pct[0])} | ${fmt(s.core_pct[1])} | ${fmt(s.softirq_pct[0])} / ${fmt(s.softirq_pct[1])} | ${fmt(s.other_pct[0])} / ${fmt(s.other_pct[1])} | ${s.errors}${s.failed ? ` (+${s.failed} failed reps)` : ''} | ${s.perRep.map((r) => fmt(r)).join(' / ')} |`);
    }
    const absent = peers.filter((p) => notApplicable(p, spec.port) !== undefined).map((p) => `${p} (${notApplicable(p, spec.port)})`);
    if (absent.length) lines.push('', `Not in this scenario, because they do not do the same job: ${absent.join('; ')}.`);
    lines.push('');
  }
  const probes = run.points.filter((p) => p.probe_ms).map((p) => p.probe_ms as number[]);
  if (probes.length) {
    const c = (i: number): string => { const v = probes.map((p) => p[i]); return `min ${Math.min(...v)} / median ${median(v)} / max ${Math.max(...v)} ms`; };
    lines.push(`Host-speed probe (fixed awk loop before each point; lower = faster): CPU0 ${c(0)}; CPU1 ${c(1)}.`, '');
  }
  for (const n of run.notes) lines.push(`- ${n}`);
  return lines.join('\n') + '\n';
}

/**
 * edgeplane ÷ each peer in the same run, per scenario: the rate ratio (above 1 = edgeplane faster) and the
 * CPU-per-unit ratio (below 1 = edgeplane cheaper). The figures the issues' targets are stated in.
 */
export function renderAgainstPeers(run: RunRecord, scenarios: readonly ScenarioName[], shown: readonly PeerName[]): string[] {
  const peers = shown.filter((p) => p !== 'direct' && p !== 'edgeplane');
  if (!shown.includes('edgeplane') || peers.length === 0) return [];
  const lines = ['## edgeplane against each peer (edgeplane ÷ peer, same run: rate ratio, then CPU-per-unit ratio)', ''];
  lines.push(`| scenario | ${peers.map((p) => `vs ${p}`).join(' | ')} |`, `|---|${peers.map(() => '---:').join('|')}|`);
  for (const sc of scenarios) {
    const sum = summarise(run, sc, ['edgeplane', ...peers]);
    const ours = sum.find((s) => s.peer === 'edgeplane');
    const cells = peers.map((p) => {
      if (notApplicable(p, SCENARIOS[sc].port) !== undefined) return 'n/a';
      const theirs = sum.find((s) => s.peer === p);
      if (!ours?.reps || !theirs?.reps) return '–';
      return `${fmt(ours.rate / theirs.rate, 2)} · CPU ${fmt(ours.cpu_per_unit / theirs.cpu_per_unit, 2)}`;
    });
    lines.push(`| ${scenarioLabel(sc)} | ${cells.join(' | ')} |`);
  }
  return lines;
}
