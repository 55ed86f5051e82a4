/**
 * Calibrates the verdict threshold from training scores, as scikit-learn's
 * `offset_`: with `contamination = "auto"` the paper's 0.5 (scores well above
 * it are anomalies, Liu et al. 2008 section 2); otherwise the score that a
 * share `contamination` of the training rows reach or exceed, so that on
 * normal-only training data it is the target false-positive rate.
 *
 * @param scores training scores, s(x) in (0, 1].
 * @param contamination in (0, 0.5], or `"auto"`.
 * @returns a threshold in (0, 1]: scores ≥ it are anomalous.
 */
export function calibrateThreshold(scores: Float64Array, contamination: number | "auto"): number {
  if (contamination === "auto") return 0.5;
  if (!(contamination > 0 && contamination <= 0.5)) {
    throw new RangeError(`contamination must be in (0, 0.5] or "auto", got ${contamination}`);
  }
  if (scores.length === 0) throw new RangeError("need at least one score to calibrate");
  const sorted = Float64Array.from(scores).sort();
  // The (1 − contamination) quantile with linear interpolation (numpy's
  // default), as scikit-learn takes np.percentile(scores, 100 * contamination)
  // of the negated scores.
  const position = (1 - contamination) * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const fraction = position - below;
  return (
    (sorted[below] as number) + ((sorted[above] as number) - (sorted[below] as number)) * fraction
  );
}
