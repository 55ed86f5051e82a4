import { averagePathLength } from "./path-length.js";
import type { Random } from "./random.js";

/**
 * One isolation tree, in preorder. Node `i` is a leaf when `feature[i] < 0`;
 * otherwise its left child is `i + 1` (points with `x[feature] < threshold`)
 * and its right child is `right[i]`. `size[i]` is the number of sub-sample
 * points that reached node `i` during fitting; `low[i]` and `high[i]` are
 * the smallest and largest value of the split feature among them (0 at
 * leaves), so `low[i] < threshold[i] <= high[i]`.
 */
export interface IsolationTree {
  feature: number[];
  threshold: number[];
  right: number[];
  size: number[];
  low: number[];
  high: number[];
}

/** A fitted forest. Fitted state only; see `FitOptions` for the parameters. */
export interface Forest {
  /** Number of features each row has. */
  nFeatures: number;
  /** Sub-sample size ψ each tree was grown on (min(maxSamples, rows)). */
  maxSamples: number;
  /** Height limit ceil(log2 ψ). */
  maxDepth: number;
  trees: IsolationTree[];
}

/** Parameters of `fitForest`, with scikit-learn's names and defaults. */
export interface FitOptions {
  /** Number of trees; default 100. */
  nEstimators?: number;
  /** Sub-sample size ψ per tree; default 256, clamped to the number of rows. */
  maxSamples?: number;
}

/** A row-major matrix of finite doubles: `data[r * nFeatures + f]`. */
export interface Matrix {
  data: Float64Array;
  nRows: number;
  nFeatures: number;
}

/**
 * Grows an Isolation Forest: each tree on ψ rows drawn without replacement,
 * splitting on a feature chosen uniformly among those not constant at the
 * node, at a threshold between its min and max, until a node holds one point
 * or reaches the height limit ceil(log2 ψ).
 *
 * Thresholds are uniform in signed log scale, sign(v)·ln(1 + |v|), not in
 * the raw values as in Liu et al. and scikit-learn. Network features are
 * heavy-tailed (bytes from 0 to 10^9, counts, durations): uniform raw splits
 * land almost all in the tail and isolate the few largest values over and
 * over, while the bulk, where most attacks hide, is barely split. On values
 * within ±1 the two scales nearly agree. Scoring does not depend on how
 * thresholds were drawn: trees store raw thresholds.
 *
 * @param x training rows; every value must be finite.
 * @param random the only source of randomness: same generator state, same forest.
 * @see Liu, Ting & Zhou, "Isolation Forest", ICDM 2008, algorithms 1 and 2.
 */
export function fitForest(x: Matrix, random: Random, options: FitOptions = {}): Forest {
  const nEstimators = options.nEstimators ?? 100;
  const requested = options.maxSamples ?? 256;
  if (!Number.isInteger(nEstimators) || nEstimators < 1 || nEstimators > 10_000) {
    throw new RangeError(`nEstimators must be an integer in [1, 10000], got ${nEstimators}`);
  }
  if (!Number.isInteger(requested) || requested < 2) {
    throw new RangeError(`maxSamples must be an integer ≥ 2, got ${requested}`);
  }
  if (x.nRows < 2) throw new RangeError(`need at least 2 rows to fit, got ${x.nRows}`);
  const psi = Math.min(requested, x.nRows);
  const maxDepth = Math.ceil(Math.log2(psi));
  const permutation = new Int32Array(x.nRows);
  for (let i = 0; i < x.nRows; i++) permutation[i] = i;
  const trees: IsolationTree[] = [];
  const sample = new Int32Array(psi);
  for (let t = 0; t < nEstimators; t++) {
    // Partial Fisher–Yates: the first ψ slots become a uniform sample without
    // replacement, whatever order earlier trees left the permutation in.
    for (let i = 0; i < psi; i++) {
      const j = i + random.int(x.nRows - i);
      const tmp = permutation[i] as number;
      permutation[i] = permutation[j] as number;
      permutation[j] = tmp;
      sample[i] = permutation[i] as number;
    }
    trees.push(growTree(x, sample, maxDepth, random));
  }
  return { nFeatures: x.nFeatures, maxSamples: psi, maxDepth, trees };
}

function growTree(x: Matrix, sample: Int32Array, maxDepth: number, random: Random): IsolationTree {
  const tree: IsolationTree = {
    feature: [],
    threshold: [],
    right: [],
    size: [],
    low: [],
    high: [],
  };
  const rows = Int32Array.from(sample);
  const nf = x.nFeatures;
  const lo = new Float64Array(nf);
  const hi = new Float64Array(nf);
  const candidates = new Int32Array(nf);

  const grow = (start: number, end: number, depth: number): void => {
    const node = tree.feature.length;
    const n = end - start;
    tree.feature.push(-1);
    tree.threshold.push(0);
    tree.right.push(-1);
    tree.size.push(n);
    tree.low.push(0);
    tree.high.push(0);
    if (depth >= maxDepth || n <= 1) return;
    lo.fill(Number.POSITIVE_INFINITY);
    hi.fill(Number.NEGATIVE_INFINITY);
    for (let i = start; i < end; i++) {
      const base = (rows[i] as number) * nf;
      for (let f = 0; f < nf; f++) {
        const v = x.data[base + f] as number;
        if (v < (lo[f] as number)) lo[f] = v;
        if (v > (hi[f] as number)) hi[f] = v;
      }
    }
    let nCandidates = 0;
    for (let f = 0; f < nf; f++)
      if ((hi[f] as number) > (lo[f] as number)) candidates[nCandidates++] = f;
    if (nCandidates === 0) return; // every point at this node is identical: a leaf
    const f = candidates[random.int(nCandidates)] as number;
    const min = lo[f] as number;
    const max = hi[f] as number;
    const from = signedLog1p(min);
    let threshold = signedExpm1(from + random.next() * (signedLog1p(max) - from));
    // Rounding can land on or below min, which would leave the left side
    // empty, or above max, which would leave the right side empty.
    if (!(threshold > min) || threshold > max) threshold = max;
    let mid = start;
    for (let i = start; i < end; i++) {
      const r = rows[i] as number;
      if ((x.data[r * nf + f] as number) < threshold) {
        rows[i] = rows[mid] as number;
        rows[mid++] = r;
      }
    }
    tree.feature[node] = f;
    tree.threshold[node] = threshold;
    tree.low[node] = min;
    tree.high[node] = max;
    grow(start, mid, depth + 1);
    tree.right[node] = tree.feature.length;
    grow(mid, end, depth + 1);
  };
  grow(0, rows.length, 0);
  return tree;
}

/** Levels from the root whose nodes check their range; see `rangeCheckLevels`. */
export const RANGE_CHECK_LEVELS = 2;

/**
 * Levels (from the root) whose nodes check their range, for a height limit
 * L: the top two (or L, if smaller), where a node holds on average at least
 * a quarter of the sub-sample. A range spanned by a handful of points says
 * little: normal values fall outside it all the time.
 */
export function rangeCheckLevels(maxDepth: number): number {
  return Math.min(RANGE_CHECK_LEVELS, maxDepth);
}

/**
 * Path length h(x) of one row in one tree: the number of edges from the root
 * to the leaf the row falls in, plus c(leaf size) for the points the height
 * limit left unseparated. This is the plain pointer-chasing reference; the
 * server scores with `CompiledForest`, which must agree with it bit for bit.
 *
 * Range-aware: at the first `rangeLevels` levels, a row whose value lies
 * outside `[low, high]` of the node's split feature is isolated there, at
 * depth + 1. Had the row been in the sub-sample, a split drawn in the gap
 * between it and the node's points would cut it off alone; the plain walk
 * instead files it with the node's most extreme point, so a value far
 * beyond anything seen in training could never score above the most extreme
 * training value ("never seen" would look like "rarest seen"). Rows inside
 * those ranges walk exactly as in Liu et al. and scikit-learn.
 *
 * @param rangeLevels `rangeCheckLevels(forest.maxDepth)` for the forest's own rule.
 */
export function pathLength(
  tree: IsolationTree,
  row: ArrayLike<number>,
  rangeLevels: number,
): number {
  let node = 0;
  let depth = 0;
  while ((tree.feature[node] as number) >= 0) {
    const value = row[tree.feature[node] as number] as number;
    if (
      depth < rangeLevels &&
      (value < (tree.low[node] as number) || value > (tree.high[node] as number))
    ) {
      return depth + 1;
    }
    node = value < (tree.threshold[node] as number) ? node + 1 : (tree.right[node] as number);
    depth++;
  }
  return depth + averagePathLength(tree.size[node] as number);
}

/**
 * Anomaly score s(x) = 2^(−E[h(x)] / c(ψ)) from a sum of path lengths over
 * `nTrees` trees. In (0, 1]; higher is more anomalous. scikit-learn's
 * `score_samples` is the negation of this value.
 *
 * Computed as e^(pathSum · k) with k from {@link pathSumExponent}: V8's
 * `Math.exp` takes about a quarter of the time of `2 ** x`, and each scorer
 * that computes k once and scores with `Math.exp(pathSum * k)` gets the same
 * bits as this function.
 */
export function scoreFromPathSum(pathSum: number, nTrees: number, maxSamples: number): number {
  return Math.exp(pathSum * pathSumExponent(nTrees, maxSamples));
}

/** k = −ln 2 / (nTrees · c(ψ)), so that e^(pathSum · k) = 2^(−E[h] / c(ψ)). */
export function pathSumExponent(nTrees: number, maxSamples: number): number {
  return -Math.LN2 / (nTrees * averagePathLength(maxSamples));
}

/**
 * Reference scorer: scores one row by walking every tree node by node.
 * Use `compileForest` for speed; tests pin the two to identical results.
 */
export function scoreRowReference(forest: Forest, row: ArrayLike<number>): number {
  const rangeLevels = rangeCheckLevels(forest.maxDepth);
  let sum = 0;
  for (const tree of forest.trees) sum += pathLength(tree, row, rangeLevels);
  return scoreFromPathSum(sum, forest.trees.length, forest.maxSamples);
}

/** sign(v)·ln(1 + |v|): monotone, odd, and close to v near 0. */
function signedLog1p(v: number): number {
  return v < 0 ? -Math.log1p(-v) : Math.log1p(v);
}

/** The inverse of `signedLog1p`. */
function signedExpm1(u: number): number {
  return u < 0 ? -Math.expm1(-u) : Math.expm1(u);
}
