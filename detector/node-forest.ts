import type { Forest } from "./isolation-forest.js";
import { averagePathLength } from "./path-length.js";

/** Rows scored against one tree before the next tree is taken: the tree stays in cache. */
const BLOCK_ROWS = 256;

/**
 * A forest as arrays of its real nodes only, for trees too deep for the
 * complete layout (2^L slots a tree, most of them padding at L = 14).
 *
 * Each tree's nodes are numbered breadth first, so the root's children are
 * its nodes 1 and 2 and the two children of any node are neighbours: one
 * index, `left`, names both (right = left + 1). A leaf points at itself with
 * a NaN threshold, which no comparison passes, so a walk of the tree's own
 * height in steps ends on the leaf whatever the depth it reached it at, with
 * no data-dependent exit. Its path length (depth + c(size), the reference
 * walk's value) sits in `leafValue`.
 */
export interface NodeArrays {
  nTrees: number;
  /** First node of tree t at `treeStart[t]`; the forest's nodes end at `treeStart[nTrees]`. */
  treeStart: Int32Array;
  /**
   * Levels a walk of tree t takes: the depth of its deepest leaf. Every tree
   * has at least 3 nodes: a root that is a leaf gets an always-left root
   * (NaN threshold) above it, and an unused right sibling.
   */
  height: Int32Array;
  /** Split feature of node k; 0 at a leaf. */
  feature: Int32Array;
  /** Threshold of node k (right when value >= threshold); NaN at a leaf. */
  threshold: Float64Array;
  /** Forest-wide index of node k's left child (right = left + 1); k itself at a leaf. */
  left: Int32Array;
  /** Path length of a row that ends at leaf k; 0 at internal nodes. */
  leafValue: Float64Array;
  /**
   * Range of the split feature among the training points of tree t's nodes
   * 0, 1 and 2 (the root and its children) at `6t + 2j` (low) and `6t + 2j + 1`
   * (high); (−∞, +∞) where the level is not checked or the node is a leaf.
   */
  ranges: Float64Array;
  /**
   * Attribution credit of the turn into node k (from its parent), and of an
   * isolation by node k's range check, divided by the tree count.
   */
  turnCredit: Float64Array;
  isolationCredit: Float64Array;
}

/**
 * Lays a forest out as {@link NodeArrays}.
 *
 * @param checkedLevels levels from the root that check ranges (at most 2).
 * @param expected each tree's `expectedPathLengths`, for the attribution credits.
 */
export function layOutNodes(
  forest: Forest,
  checkedLevels: number,
  expected: readonly Float64Array[],
): NodeArrays {
  if (checkedLevels > 2) throw new RangeError(`at most 2 checked levels, got ${checkedLevels}`);
  const nTrees = forest.trees.length;
  const treeStart = new Int32Array(nTrees + 1);
  forest.trees.forEach((tree, t) => {
    treeStart[t + 1] = (treeStart[t] as number) + Math.max(3, tree.feature.length);
  });
  const n = treeStart[nTrees] as number;
  const feature = new Int32Array(n);
  const threshold = new Float64Array(n);
  const left = new Int32Array(n);
  const leafValue = new Float64Array(n);
  const turnCredit = new Float64Array(n);
  const isolationCredit = new Float64Array(n);
  const height = new Int32Array(nTrees);
  const ranges = new Float64Array(6 * nTrees);
  for (let i = 0; i < ranges.length; i += 2) {
    ranges[i] = Number.NEGATIVE_INFINITY;
    ranges[i + 1] = Number.POSITIVE_INFINITY;
  }
  // Breadth-first queue of (preorder node, depth); a node's place is its position in the queue.
  const queue = new Int32Array(n);
  const depthOf = new Int32Array(n);
  forest.trees.forEach((tree, t) => {
    const base = treeStart[t] as number;
    const e = expected[t] as Float64Array;
    if ((tree.feature[0] as number) < 0) {
      // A root that is a leaf (every sampled point alike): an always-left
      // root above it keeps the root's children at nodes 1 and 2.
      threshold[base] = Number.NaN;
      left[base] = base + 1;
      for (const k of [base + 1, base + 2]) {
        threshold[k] = Number.NaN;
        left[k] = k;
      }
      leafValue[base + 1] = averagePathLength(tree.size[0] as number);
      height[t] = 1;
      return;
    }
    let head = 0;
    let tail = 0;
    queue[tail] = 0;
    depthOf[tail++] = 0;
    turnCredit[base] = 0;
    let deepest = 0;
    while (head < tail) {
      const k = base + head;
      const node = queue[head] as number;
      const depth = depthOf[head] as number;
      head++;
      const f = tree.feature[node] as number;
      if (f < 0) {
        feature[k] = 0;
        threshold[k] = Number.NaN;
        left[k] = k;
        leafValue[k] = depth + averagePathLength(tree.size[node] as number);
        if (depth > deepest) deepest = depth;
        continue;
      }
      const right = tree.right[node] as number;
      feature[k] = f;
      threshold[k] = tree.threshold[node] as number;
      left[k] = base + tail;
      const parentCredit = (e[node] as number) - 1;
      isolationCredit[k] = parentCredit / nTrees;
      turnCredit[base + tail] = (parentCredit - (e[node + 1] as number)) / nTrees;
      turnCredit[base + tail + 1] = (parentCredit - (e[right] as number)) / nTrees;
      queue[tail] = node + 1;
      depthOf[tail++] = depth + 1;
      queue[tail] = right;
      depthOf[tail++] = depth + 1;
      if (head - 1 < 3 && depth < checkedLevels) {
        ranges[6 * t + 2 * (head - 1)] = tree.low[node] as number;
        ranges[6 * t + 2 * (head - 1) + 1] = tree.high[node] as number;
      }
    }
    height[t] = deepest;
  });
  return {
    nTrees,
    treeStart,
    height,
    feature,
    threshold,
    left,
    leafValue,
    ranges,
    turnCredit,
    isolationCredit,
  };
}

/** Sums of path lengths over the trees, in tree order, as `PathSumKernel` gives them. */
export interface NodeKernel {
  pathSums(data: Float64Array, nRows: number, out: Float64Array): void;
  rowPathSum(row: Float64Array): number;
  /** Σ_t h_t(row), and the row's attribution credits added to `out[f]` in tree and level order. */
  rowAttribution(row: Float64Array, out: Float64Array): number;
}

/**
 * The JS kernel on {@link NodeArrays}: blocks of rows walk one tree at a
 * time, four rows side by side, and add each tree's path length to their
 * sums in tree order, so the sums equal the reference walk's bit for bit.
 */
export function createNodeKernel(a: NodeArrays, nf: number): NodeKernel {
  const { nTrees, treeStart, height, feature, threshold, left, leafValue, ranges } = a;
  const acc = new Float64Array(BLOCK_ROWS);

  /** Path length of the row at data[b..] in tree t. */
  const walk = (data: Float64Array, b: number, t: number): number => {
    const base = treeStart[t] as number;
    const h = height[t] as number;
    const r = 6 * t;
    let k = base;
    let iso = 0;
    for (let level = 0; level < h; level++) {
      const v = data[b + (feature[k] as number)] as number;
      if (level < 2 && iso === 0) {
        const j = r + 2 * (k - base);
        if (v < (ranges[j] as number) || v > (ranges[j + 1] as number)) iso = level + 1;
      }
      k = (left[k] as number) + +(v >= (threshold[k] as number));
    }
    return iso !== 0 ? iso : (leafValue[k] as number);
  };

  const pathSums = (data: Float64Array, nRows: number, out: Float64Array): void => {
    for (let start = 0; start < nRows; start += BLOCK_ROWS) {
      const end = Math.min(start + BLOCK_ROWS, nRows);
      acc.fill(0);
      for (let t = 0; t < nTrees; t++) {
        const base = treeStart[t] as number;
        const h = height[t] as number;
        const rt = 6 * t;
        let r = start;
        for (; r + 4 <= end; r += 4) {
          const b0 = r * nf;
          const b1 = b0 + nf;
          const b2 = b1 + nf;
          const b3 = b2 + nf;
          let k0 = base;
          let k1 = base;
          let k2 = base;
          let k3 = base;
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          let level = 0;
          // The checked levels (root, then its children at nodes 1 and 2).
          for (; level < 2 && level < h; level++) {
            const v0 = data[b0 + (feature[k0] as number)] as number;
            const v1 = data[b1 + (feature[k1] as number)] as number;
            const v2 = data[b2 + (feature[k2] as number)] as number;
            const v3 = data[b3 + (feature[k3] as number)] as number;
            const j0 = rt + 2 * (k0 - base);
            const j1 = rt + 2 * (k1 - base);
            const j2 = rt + 2 * (k2 - base);
            const j3 = rt + 2 * (k3 - base);
            if (s0 === 0 && (v0 < (ranges[j0] as number) || v0 > (ranges[j0 + 1] as number)))
              s0 = level + 1;
            if (s1 === 0 && (v1 < (ranges[j1] as number) || v1 > (ranges[j1 + 1] as number)))
              s1 = level + 1;
            if (s2 === 0 && (v2 < (ranges[j2] as number) || v2 > (ranges[j2 + 1] as number)))
              s2 = level + 1;
            if (s3 === 0 && (v3 < (ranges[j3] as number) || v3 > (ranges[j3 + 1] as number)))
              s3 = level + 1;
            k0 = (left[k0] as number) + +(v0 >= (threshold[k0] as number));
            k1 = (left[k1] as number) + +(v1 >= (threshold[k1] as number));
            k2 = (left[k2] as number) + +(v2 >= (threshold[k2] as number));
            k3 = (left[k3] as number) + +(v3 >= (threshold[k3] as number));
          }
          for (; level < h; level++) {
            k0 =
              (left[k0] as number) +
              +((data[b0 + (feature[k0] as number)] as number) >= (threshold[k0] as number));
            k1 =
              (left[k1] as number) +
              +((data[b1 + (feature[k1] as number)] as number) >= (threshold[k1] as number));
            k2 =
              (left[k2] as number) +
              +((data[b2 + (feature[k2] as number)] as number) >= (threshold[k2] as number));
            k3 =
              (left[k3] as number) +
              +((data[b3 + (feature[k3] as number)] as number) >= (threshold[k3] as number));
          }
          const i = r - start;
          acc[i] = (acc[i] as number) + (s0 !== 0 ? s0 : (leafValue[k0] as number));
          acc[i + 1] = (acc[i + 1] as number) + (s1 !== 0 ? s1 : (leafValue[k1] as number));
          acc[i + 2] = (acc[i + 2] as number) + (s2 !== 0 ? s2 : (leafValue[k2] as number));
          acc[i + 3] = (acc[i + 3] as number) + (s3 !== 0 ? s3 : (leafValue[k3] as number));
        }
        for (; r < end; r++) acc[r - start] = (acc[r - start] as number) + walk(data, r * nf, t);
      }
      for (let r = start; r < end; r++) out[r] = acc[r - start] as number;
    }
  };

  const rowPathSum = (row: Float64Array): number => {
    let sum = 0;
    for (let t = 0; t < nTrees; t++) sum += walk(row, 0, t);
    return sum;
  };

  const { turnCredit, isolationCredit } = a;
  const rowAttribution = (row: Float64Array, out: Float64Array): number => {
    let sum = 0;
    for (let t = 0; t < nTrees; t++) {
      const base = treeStart[t] as number;
      let k = base;
      let depth = 0;
      let path = 0;
      for (;;) {
        const f = feature[k] as number;
        const next = left[k] as number;
        if (next === k) {
          path = leafValue[k] as number;
          break;
        }
        const v = row[f] as number;
        if (depth < 2) {
          const j = 6 * t + 2 * (k - base);
          if (v < (ranges[j] as number) || v > (ranges[j + 1] as number)) {
            out[f] = (out[f] as number) + (isolationCredit[k] as number);
            path = depth + 1;
            break;
          }
        }
        const child = next + +(v >= (threshold[k] as number));
        out[f] = (out[f] as number) + (turnCredit[child] as number);
        k = child;
        depth++;
      }
      sum += path;
    }
    return sum;
  };

  return { pathSums, rowPathSum, rowAttribution };
}
