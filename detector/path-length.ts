const EULER_GAMMA = 0.5772156649015329;

/**
 * Average path length of an unsuccessful search in a binary search tree of
 * `n` points, c(n) in Liu, Ting & Zhou (2008), eq. 1: the normaliser of
 * isolation path lengths, and the path length credited to a leaf that still
 * holds `n` points when the height limit stops the tree.
 *
 * c(n) = 2 H(n − 1) − 2 (n − 1) / n, with H(i) ≈ ln(i) + γ; c(2) = 1 and
 * c(n) = 0 for n ≤ 1, as in scikit-learn's `_average_path_length`.
 *
 * @param n number of points, ≥ 0.
 * @see Liu, Ting & Zhou, "Isolation Forest", ICDM 2008, section 2.
 */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}
