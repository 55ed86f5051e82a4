/** Counts and rates of the verdict `score ≥ threshold` against labels. */
export interface ThresholdMetrics {
  threshold: number;
  truePositives: number;
  falsePositives: number;
  trueNegatives: number;
  falseNegatives: number;
  /** TP / (TP + FP); null when nothing is flagged. */
  precision: number | null;
  /** TP / (TP + FN), the true-positive rate; null without positives. */
  recall: number | null;
  /** Harmonic mean of precision and recall; null when either is. */
  f1: number | null;
  /** FP / (FP + TN); null without negatives. */
  falsePositiveRate: number | null;
}

/**
 * Scores the verdict "anomalous when score ≥ threshold" (the model's rule)
 * against labels.
 *
 * @param labels 1 = positive, 0 = negative.
 */
export function metricsAtThreshold(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): ThresholdMetrics {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const flagged = (scores[i] as number) >= threshold;
    if (labels[i] === 1) flagged ? tp++ : fn++;
    else flagged ? fp++ : tn++;
  }
  const precision = tp + fp === 0 ? null : tp / (tp + fp);
  const recall = tp + fn === 0 ? null : tp / (tp + fn);
  const f1 =
    precision === null || recall === null
      ? null
      : precision + recall === 0
        ? 0
        : (2 * precision * recall) / (precision + recall);
  return {
    threshold,
    truePositives: tp,
    falsePositives: fp,
    trueNegatives: tn,
    falseNegatives: fn,
    precision,
    recall,
    f1,
    falsePositiveRate: fp + tn === 0 ? null : fp / (fp + tn),
  };
}

/**
 * The lowest threshold whose false-positive rate on the negatives is at most
 * `targetFpr`, for the rule `score ≥ threshold`: just above the score of the
 * (⌊targetFpr · negatives⌋ + 1)-th highest negative. Ties at that score all
 * stay below, so the achieved rate can be lower than the target.
 *
 * @param targetFpr in [0, 1).
 * @returns the threshold, or null without negatives.
 */
export function thresholdAtFpr(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  targetFpr: number,
): number | null {
  if (!(targetFpr >= 0 && targetFpr < 1))
    throw new RangeError(`target false-positive rate must be in [0, 1), got ${targetFpr}`);
  const negatives: number[] = [];
  for (let i = 0; i < scores.length; i++) if (labels[i] !== 1) negatives.push(scores[i] as number);
  if (negatives.length === 0) return null;
  const sorted = Float64Array.from(negatives).sort().reverse();
  const allowed = Math.floor(targetFpr * sorted.length);
  return nextUp(sorted[allowed] as number);
}

/** The smallest double greater than `x`. */
export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Number.POSITIVE_INFINITY) return x;
  if (x === 0) return Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}
