/** Smallest bin share used in PSI, so an empty bin does not make it infinite. */
export const PSI_FLOOR = 1e-4;

/**
 * Bin edges at the reference's quantiles (about `bins` bins; repeated
 * values give fewer): bin i holds values ≤ edges[i] and > edges[i − 1]. The
 * reference's maximum is always the last edge, so values beyond anything the
 * reference held (a constant feature that starts to vary) get a bin of their own.
 */
export function quantileEdges(reference: ArrayLike<number>, bins = 10): number[] {
  const sorted = Float64Array.from(reference).sort();
  const edges: number[] = [];
  if (sorted.length === 0) return edges;
  for (let i = 1; i < bins; i++) {
    const v = sorted[Math.min(sorted.length - 1, Math.floor((i * sorted.length) / bins))] as number;
    if (edges.length === 0 || v > (edges.at(-1) as number)) edges.push(v);
  }
  const max = sorted[sorted.length - 1] as number;
  if (edges.length === 0 || max > (edges.at(-1) as number)) edges.push(max);
  return edges;
}

/** Share of `values` in each bin of `edges` (edges.length + 1 bins). */
export function binShares(values: ArrayLike<number>, edges: readonly number[]): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v <= (edges[mid] as number)) hi = mid;
      else lo = mid + 1;
    }
    counts[lo] = (counts[lo] as number) + 1;
  }
  const n = Math.max(1, values.length);
  for (let i = 0; i < counts.length; i++) counts[i] = (counts[i] as number) / n;
  return counts;
}

/**
 * Population stability index of `actual` against `expected` on the
 * expected sample's quantile bins: Σ (a − e)·ln(a / e). Rules of thumb: below
 * 0.1 stable, 0.1–0.25 a moderate shift, above 0.25 a large one.
 */
export function psi(expected: ArrayLike<number>, actual: ArrayLike<number>, bins = 10): number {
  if (expected.length === 0 || actual.length === 0) return 0;
  const edges = quantileEdges(expected, bins);
  const e = binShares(expected, edges);
  const a = binShares(actual, edges);
  let sum = 0;
  for (let i = 0; i < e.length; i++) {
    const ei = Math.max(PSI_FLOOR, e[i] as number);
    const ai = Math.max(PSI_FLOOR, a[i] as number);
    sum += (ai - ei) * Math.log(ai / ei);
  }
  return sum;
}

/** Two-sample Kolmogorov–Smirnov statistic: the largest gap between the two empirical CDFs, in [0, 1]. */
export function ksStatistic(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length === 0 || b.length === 0) return 0;
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i] as number, y[j] as number);
    while (i < x.length && (x[i] as number) <= v) i++;
    while (j < y.length && (y[j] as number) <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}
