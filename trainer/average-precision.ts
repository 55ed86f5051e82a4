import { sortedIndices } from "./roc-auc.js";

/**
 * Average precision, scikit-learn's `average_precision_score`: the sum over
 * distinct score thresholds, from the highest down, of (recall gained) ×
 * (precision at that threshold), AP = Σₙ (Rₙ − Rₙ₋₁) Pₙ. Tied scores form one
 * threshold. This is the step-wise area under the precision–recall curve
 * ("PR-AUC"), without the optimistic linear interpolation of the trapezoid rule.
 *
 * @param scores higher = more likely positive.
 * @param labels 1 = positive, 0 = negative.
 * @returns AP in [0, 1], or null when there are no positives.
 */
export function averagePrecision(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
): number | null {
  const n = scores.length;
  if (labels.length !== n) throw new RangeError(`${n} scores but ${labels.length} labels`);
  let nPos = 0;
  for (let i = 0; i < n; i++) if (labels[i] === 1) nPos++;
  if (nPos === 0) return null;
  const order = sortedIndices(scores, -1);
  let tp = 0;
  let seen = 0;
  let ap = 0;
  let lastRecall = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    const s = scores[order[i] as number];
    while (j < n && scores[order[j] as number] === s) {
      if (labels[order[j] as number] === 1) tp++;
      j++;
    }
    seen = j;
    const recall = tp / nPos;
    ap += (recall - lastRecall) * (tp / seen);
    lastRecall = recall;
    i = j;
  }
  return ap;
}
