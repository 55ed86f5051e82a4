/**
 * Area under the ROC curve, as the Mann–Whitney U statistic: the chance that
 * a random positive scores above a random negative, ties counting one half
 * (tied scores share their average rank). Equals scikit-learn's
 * `roc_auc_score(labels, scores)`.
 *
 * @param scores higher = more likely positive.
 * @param labels 1 = positive, 0 = negative; same length as `scores`.
 * @returns the AUC in [0, 1], or null when either class is absent.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const n = scores.length;
  if (labels.length !== n) throw new RangeError(`${n} scores but ${labels.length} labels`);
  const order = sortedIndices(scores, 1);
  let nPos = 0;
  let positiveRankSum = 0;
  for (let i = 0; i < n; ) {
    // Rows i..j-1 tie; their ranks (1-based) i+1..j average to (i+1+j)/2.
    let j = i + 1;
    while (j < n && scores[order[j] as number] === scores[order[i] as number]) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      if (labels[order[k] as number] === 1) {
        nPos++;
        positiveRankSum += rank;
      }
    }
    i = j;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  return (positiveRankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * Indices of `scores` sorted by score, ascending (`direction` 1) or
 * descending (−1); ties keep index order.
 */
export function sortedIndices(scores: ArrayLike<number>, direction: 1 | -1): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => direction * ((scores[a] as number) - (scores[b] as number)) || a - b);
}
