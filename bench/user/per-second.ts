// Throughput over time: a counter sampled and reset once a second. The last, partial second is kept
// (scaled to a per-second rate) when at least a tenth of a second of it ran.

export class PerSecondSampler {
  readonly samples: number[] = [];
  private current = 0;
  private lastTick = performance.now();
  private readonly timer: NodeJS.Timeout;

  /** `onSample` sees each full second's value as it is taken (the live progress line). */
  constructor(onSample?: (second: number, value: number) => void) {
    this.timer = setInterval(() => {
      this.lastTick = performance.now();
      this.samples.push(this.current);
      this.current = 0;
      onSample?.(this.samples.length, this.samples[this.samples.length - 1]!);
    }, 1000);
  }

  add(n: number): void { this.current += n; }

  stop(): number[] {
    clearInterval(this.timer);
    const rest = (performance.now() - this.lastTick) / 1000;
    if (rest >= 0.1) this.samples.push(Math.round(this.current / rest));
    return this.samples;
  }
}
