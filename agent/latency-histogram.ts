/**
 * A fixed-memory latency histogram: logarithmic buckets 2% wide from 1 µs to
 * about 20 minutes, so percentiles are accurate to about 2% however many
 * samples it holds.
 */
export class LatencyHistogram {
  private static readonly MIN_MS = 0.001;
  private static readonly GROWTH = Math.log(1.02);
  private readonly counts = new Float64Array(1100);
  private total = 0;

  /** Number of samples recorded. */
  get count(): number {
    return this.total;
  }

  /** Records one latency in milliseconds. */
  record(ms: number): void {
    const i =
      ms <= LatencyHistogram.MIN_MS
        ? 0
        : Math.ceil(Math.log(ms / LatencyHistogram.MIN_MS) / LatencyHistogram.GROWTH);
    this.counts[Math.min(i, this.counts.length - 1)]++;
    this.total++;
  }

  /**
   * The latency below which a share `q` of samples fall (upper bucket edge).
   *
   * @param q in [0, 1], e.g. 0.99.
   * @returns milliseconds, or 0 with no samples.
   */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) return LatencyHistogram.MIN_MS * Math.exp(i * LatencyHistogram.GROWTH);
    }
    return LatencyHistogram.MIN_MS * Math.exp((this.counts.length - 1) * LatencyHistogram.GROWTH);
  }
}
