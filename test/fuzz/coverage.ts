// Coverage feedback from V8's own precise block coverage (node:inspector on this thread): no
// instrumentation, works on the compiled ESM as it is. A feature is (script, block range, hit-count
// bucket) of a function that ran, the same idea as AFL's edge buckets. Taking coverage resets V8's counters, so each take
// covers exactly what ran since the previous one.
import { Session } from 'node:inspector';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './paths.js';

interface Range { startOffset: number; endOffset: number; count: number }
interface ScriptCoverage { url: string; functions: { ranges: Range[] }[] }

const PRODUCT_PREFIXES = ['dist/core/', 'dist/workers/'].map((p) => pathToFileURL(REPO_ROOT + '/' + p).href);

/** AFL-style bucket of a hit count: 0, 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+. */
function bucket(count: number): number {
  if (count <= 3) return count;
  if (count < 8) return 4;
  if (count < 16) return 5;
  if (count < 32) return 6;
  if (count < 128) return 7;
  return 8;
}

export class CoverageFeed {
  private readonly session = new Session();
  private readonly scriptIds = new Map<string, number>();
  private readonly libraryMarkers: readonly string[];

  /**
   * `libraries`: node_modules package names whose code counts too (parsers that live in a library);
   * `scripts`: further script URLs that count (the engine's self-test targets).
   */
  constructor(libraries: readonly string[] = [], scripts: readonly string[] = []) {
    this.libraryMarkers = [...libraries.map((l) => `/node_modules/${l}/`), ...scripts];
    this.session.connect();
    this.post('Profiler.enable');
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  /** Features of everything that ran since the last take (and resets the counters). */
  take(): Set<string> {
    const { result } = this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] };
    const features = new Set<string>();
    for (const script of result) {
      if (!this.counts(script.url)) continue;
      let id = this.scriptIds.get(script.url);
      if (id === undefined) { id = this.scriptIds.size; this.scriptIds.set(script.url, id); }
      for (const fn of script.functions) {
        // Functions that did not run (count 0) say nothing. In one that ran, V8 lists a nested block
        // only where its count differs from the block around it, so a block that was skipped shows
        // up with count 0 and one that ran as often as its parent is not listed at all: the (range,
        // count) pairs, zeros included, are what tells one path through the function from another.
        if (fn.ranges.length === 0 || fn.ranges[0]!.count === 0) continue;
        for (const r of fn.ranges) features.add(`${id}:${r.startOffset}:${r.endOffset}:${bucket(r.count)}`);
      }
    }
    return features;
  }

  /** Throws away what ran since the last take. */
  reset(): void {
    this.post('Profiler.takePreciseCoverage');
  }

  close(): void {
    try { this.post('Profiler.stopPreciseCoverage'); } catch { /* closing anyway */ }
    this.session.disconnect();
  }

  private counts(url: string): boolean {
    if (PRODUCT_PREFIXES.some((p) => url.startsWith(p))) return true;
    return this.libraryMarkers.length > 0 && this.libraryMarkers.some((m) => url.includes(m));
  }

  // Profiler methods on a same-thread session answer before post() returns.
  private post(method: string, params?: object): unknown {
    let answer: unknown;
    let failure: Error | null = null;
    let done = false;
    this.session.post(method, params ?? {}, (err, result) => { failure = err; answer = result; done = true; });
    if (!done) throw new Error(`inspector ${method} did not answer synchronously`);
    if (failure !== null) throw failure;
    return answer;
  }
}
