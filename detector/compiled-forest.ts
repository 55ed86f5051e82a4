import type { Forest, IsolationTree, Matrix } from "./isolation-forest.js";
import { scoreFromPathSum } from "./isolation-forest.js";
import { averagePathLength } from "./path-length.js";

/** Rows scored together per tree, so a tree's arrays stay in cache. */
const BLOCK = 16;

/**
 * A forest laid out for speed: each tree as a complete binary tree of its
 * height limit L in flat typed arrays (children of slot i at 2i+1 and 2i+2),
 * leaves that the fit stopped early padded down to depth L with nodes that
 * always go left. Every walk is exactly L steps with no data-dependent loop
 * exit, and a block of rows walks each tree in turn.
 *
 * Scores equal `scoreRowReference` bit for bit: the same thresholds, the same
 * leaf values (depth + c(size)) summed in the same tree order.
 */
export interface CompiledForest {
  readonly nFeatures: number;
  readonly nTrees: number;
  readonly maxSamples: number;
  readonly maxDepth: number;
  /** Mean over trees of the average training path length from the root. */
  readonly meanRootPathLength: number;
  /**
   * Scores `rows.nRows` rows into `out`.
   * @param out receives scores in (0, 1], higher = more anomalous.
   */
  scoreRows(rows: Matrix, out: Float64Array): void;
  /** Scores one row of `nFeatures` values. */
  scoreRow(row: Float64Array): number;
  /**
   * Path-based attribution for one row: adds to `out[f]` the isolation-path
   * shortening (in tree levels, averaged over trees) that splits on feature
   * `f` caused, relative to the average training point. Summed over f it is
   * `meanRootPathLength − E[h(row)]`.
   */
  attributeRow(row: Float64Array, out: Float64Array): void;
}

/**
 * Lays a fitted forest out for scoring.
 *
 * @param forest a forest from `fitForest` or a validated model file.
 */
export function compileForest(forest: Forest): CompiledForest {
  const depth = forest.maxDepth;
  const nInternal = 2 ** depth - 1;
  const nLeaves = 2 ** depth;
  const nTrees = forest.trees.length;
  const feature = new Int32Array(nTrees * nInternal);
  const threshold = new Float64Array(nTrees * nInternal);
  // Attribution: the shortening credited to the split when the walk goes left
  // (deltaLeft) or right (deltaRight) from a slot.
  const deltaLeft = new Float64Array(nTrees * nInternal);
  const deltaRight = new Float64Array(nTrees * nInternal);
  const leaf = new Float64Array(nTrees * nLeaves);
  let rootSum = 0;

  forest.trees.forEach((tree, t) => {
    const expected = expectedPathLengths(tree);
    rootSum += expected[0] as number;
    const place = (node: number, slot: number, level: number, leafValue: number): void => {
      if (level === depth) {
        // Growth stops at the height limit, so a real node here is a leaf.
        leaf[t * nLeaves + slot - nInternal] =
          leafValue >= 0 ? leafValue : level + averagePathLength(tree.size[node] as number);
        return;
      }
      const k = t * nInternal + slot;
      const f = tree.feature[node] as number;
      if (f < 0 || leafValue >= 0) {
        // A leaf above the height limit: pad with always-left nodes.
        const value = leafValue >= 0 ? leafValue : level + averagePathLength(tree.size[node] as number);
        feature[k] = 0;
        threshold[k] = Number.POSITIVE_INFINITY;
        place(node, 2 * slot + 1, level + 1, value);
        place(node, 2 * slot + 2, level + 1, value);
        return;
      }
      const right = tree.right[node] as number;
      feature[k] = f;
      threshold[k] = tree.threshold[node] as number;
      deltaLeft[k] = (expected[node] as number) - 1 - (expected[node + 1] as number);
      deltaRight[k] = (expected[node] as number) - 1 - (expected[right] as number);
      place(node + 1, 2 * slot + 1, level + 1, -1);
      place(right, 2 * slot + 2, level + 1, -1);
    };
    place(0, 0, 0, -1);
  });

  const nf = forest.nFeatures;
  const maxSamples = forest.maxSamples;
  const acc = new Float64Array(BLOCK);

  const scoreRows = (rows: Matrix, out: Float64Array): void => {
    if (rows.nFeatures !== nf) {
      throw new RangeError(`rows have ${rows.nFeatures} features, model expects ${nf}`);
    }
    const data = rows.data;
    for (let start = 0; start < rows.nRows; start += BLOCK) {
      const end = Math.min(start + BLOCK, rows.nRows);
      acc.fill(0);
      for (let t = 0; t < nTrees; t++) {
        const nodeBase = t * nInternal;
        const leafBase = t * nLeaves - nInternal;
        for (let r = start; r < end; r++) {
          const rowBase = r * nf;
          let i = 0;
          for (let level = 0; level < depth; level++) {
            const k = nodeBase + i;
            i = 2 * i + ((data[rowBase + (feature[k] as number)] as number) < (threshold[k] as number) ? 1 : 2);
          }
          acc[r - start] += leaf[leafBase + i] as number;
        }
      }
      for (let r = start; r < end; r++) {
        out[r] = scoreFromPathSum(acc[r - start] as number, nTrees, maxSamples);
      }
    }
  };

  const scoreRow = (row: Float64Array): number => {
    let sum = 0;
    for (let t = 0; t < nTrees; t++) {
      const nodeBase = t * nInternal;
      let i = 0;
      for (let level = 0; level < depth; level++) {
        const k = nodeBase + i;
        i = 2 * i + ((row[feature[k] as number] as number) < (threshold[k] as number) ? 1 : 2);
      }
      sum += leaf[t * nLeaves - nInternal + i] as number;
    }
    return scoreFromPathSum(sum, nTrees, maxSamples);
  };

  const attributeRow = (row: Float64Array, out: Float64Array): void => {
    for (let t = 0; t < nTrees; t++) {
      const nodeBase = t * nInternal;
      let i = 0;
      for (let level = 0; level < depth; level++) {
        const k = nodeBase + i;
        const f = feature[k] as number;
        if ((row[f] as number) < (threshold[k] as number)) {
          out[f] = (out[f] as number) + (deltaLeft[k] as number) / nTrees;
          i = 2 * i + 1;
        } else {
          out[f] = (out[f] as number) + (deltaRight[k] as number) / nTrees;
          i = 2 * i + 2;
        }
      }
    }
  };

  return {
    nFeatures: nf,
    nTrees,
    maxSamples,
    maxDepth: depth,
    meanRootPathLength: rootSum / nTrees,
    scoreRows,
    scoreRow,
    attributeRow,
  };
}

/**
 * Expected remaining path length from each node for the training points
 * that reached it: c(size) at a leaf, else 1 + the size-weighted mean of the
 * children's. At the root it is the tree's mean training path length.
 */
export function expectedPathLengths(tree: IsolationTree): Float64Array {
  const n = tree.feature.length;
  const expected = new Float64Array(n);
  // Children come after their parent in preorder: fill from the end.
  for (let i = n - 1; i >= 0; i--) {
    if ((tree.feature[i] as number) < 0) {
      expected[i] = averagePathLength(tree.size[i] as number);
    } else {
      const l = i + 1;
      const r = tree.right[i] as number;
      const nl = tree.size[l] as number;
      const nr = tree.size[r] as number;
      expected[i] = 1 + ((expected[l] as number) * nl + (expected[r] as number) * nr) / (nl + nr);
    }
  }
  return expected;
}
