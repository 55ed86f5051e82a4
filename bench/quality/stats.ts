/** Mean and sample standard deviation of a few numbers. */
export interface MeanSd {
  mean: number;
  sd: number;
  values: number[];
}

/** Mean ± sample standard deviation (n − 1); sd is 0 for a single value. */
export function meanSd(values: readonly number[]): MeanSd {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const ss = values.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, values: [...values] };
}

/** Formats `0.9234 ± 0.0012`. */
export function formatMeanSd(m: MeanSd, digits = 4): string {
  return `${m.mean.toFixed(digits)} ± ${m.sd.toFixed(digits)}`;
}
