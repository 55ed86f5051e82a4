import type { FitOptions, Forest, IsolationTree, Matrix } from "../isolation-forest.js";
import type { Random } from "../random.js";

/**
 * The Isolation Forest fit as it was before the typed-array rewrite, kept
 * verbatim (closures, per-node pushes into plain arrays) as the reference the
 * fast `fitForest` must match bit for bit: same random draws in the same
 * order, same splits. Test-only; slow on purpose of being obvious.
 */
export function fitForestReference(x: Matrix, random: Random, options: FitOptions = {}): Forest {
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

/** sign(v)·ln(1 + |v|): monotone, odd, and close to v near 0. */
function signedLog1p(v: number): number {
  return v < 0 ? -Math.log1p(-v) : Math.log1p(v);
}

/** The inverse of `signedLog1p`. */
function signedExpm1(u: number): number {
  return u < 0 ? -Math.expm1(-u) : Math.expm1(u);
}
