import {
  type Forest,
  type IsolationTree,
  type Matrix,
  pathSumExponent,
  rangeCheckLevels,
} from "./isolation-forest.js";
import { createNodeKernel, layOutNodes } from "./node-forest.js";
import { averagePathLength } from "./path-length.js";
import { createWasmKernel, type PathSumKernel } from "./wasm/wasm-forest.js";
import { createWasmNodeKernel } from "./wasm/wasm-node-forest.js";

/** Rows scored together per tree, so a tree's arrays stay in cache. */
const BLOCK = 16;

/**
 * A forest laid out for speed, in one of two layouts chosen by the height
 * limit L (see `COMPLETE_LAYOUT_MAX_DEPTH`):
 * - "complete": each tree as a complete binary tree of height L in flat
 *   typed arrays (children of slot i at 2i+1 and 2i+2), leaves that the fit
 *   stopped early padded down to depth L with nodes that always go left.
 *   2^L slots a tree: small and regular for shallow trees.
 * - "nodes": each tree's real nodes only, breadth first (see
 *   `node-forest.ts`), for deep trees, where the complete layout would be
 *   mostly padding (2^14 slots a tree at ψ 10,000, against a few thousand
 *   nodes) and too large to stay in cache.
 * Either way every walk is L steps with no data-dependent loop exit, and a
 * block of rows walks each tree in turn. A walk that leaves a node's
 * training range in the checked top levels (see `pathLength`) goes on to
 * the end but counts the depth where it left.
 *
 * Scores equal `scoreRowReference` bit for bit: the same thresholds and
 * ranges, the same path lengths (depth + c(size) at a leaf, depth + 1 where
 * a range check isolates) summed in the same tree order.
 */
export interface CompiledForest {
  /** Which kernel scores batches: the WebAssembly one, or the JS fallback. */
  readonly kernel: ForestKernelKind;
  /** How the trees are laid out: complete binary trees, or their real nodes. */
  readonly layout: ForestLayout;
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
  /**
   * `scoreRow(row)` and `attributeRow(row, out)` in one walk of the trees
   * (the WebAssembly kernel's `rowAttribution`): the same score and the
   * same sums, bit for bit, for half the memory traffic.
   */
  scoreAndAttributeRow(row: Float64Array, out: Float64Array): number;
}

/** The scoring kernels; both give bit-identical scores. */
export type ForestKernelKind = "wasm" | "js";

/** The tree layouts; both give bit-identical scores. */
export type ForestLayout = "complete" | "nodes";

/**
 * Deepest height limit laid out as complete trees; deeper forests get the
 * node layout. At L = 8 (ψ 256) the complete layout of a tree is 8 KiB and
 * its fixed-shape walk the fastest; at L = 14 it is 512 KiB of mostly
 * padding a tree, and the node layout scores several times faster (the
 * bench's big-forest rows).
 */
export const COMPLETE_LAYOUT_MAX_DEPTH = 10;

/** Options of `compileForest`. */
export interface CompileOptions {
  /**
   * Kernel to score batches with. Default "wasm", which falls back to "js"
   * where WebAssembly is unavailable or the forest too large for it.
   */
  kernel?: ForestKernelKind;
  /** Tree layout; default by depth, "complete" up to `COMPLETE_LAYOUT_MAX_DEPTH`. */
  layout?: ForestLayout;
}

/** Path sums over the trees in tree order, as each layout's kernel gives them. */
interface PathSums {
  pathSums(data: Float64Array, nRows: number, out: Float64Array): void;
  rowPathSum(row: Float64Array): number;
  /** Σ_t h_t(row), and the row's attribution credits added to `out` in tree and level order. */
  rowAttribution(row: Float64Array, out: Float64Array): number;
}

/**
 * Lays a fitted forest out for scoring.
 *
 * @param forest a forest from `fitForest` or a validated model file.
 */
export function compileForest(forest: Forest, options: CompileOptions = {}): CompiledForest {
  const depth = forest.maxDepth;
  const layout = options.layout ?? (depth > COMPLETE_LAYOUT_MAX_DEPTH ? "nodes" : "complete");
  if (layout === "nodes") {
    const expected = forest.trees.map(expectedPathLengths);
    const arrays = layOutNodes(forest, rangeCheckLevels(depth), expected);
    const js = createNodeKernel(arrays, forest.nFeatures);
    const wasm =
      options.kernel === "js" ? undefined : createWasmNodeKernel(arrays, forest.nFeatures, depth);
    const rootSum = expected.reduce((sum, e) => sum + (e[0] as number), 0);
    const sums = wasm ? { ...js, pathSums: wasm.pathSums } : js;
    return assemble(forest, { kernel: wasm ? "wasm" : "js", layout }, sums, rootSum);
  }
  return compileComplete(forest, options);
}

/** `compileForest` with the complete layout. */
function compileComplete(forest: Forest, options: CompileOptions): CompiledForest {
  const depth = forest.maxDepth;
  // Levels that check the row against the slot's range (see pathLength).
  const checked = rangeCheckLevels(depth);
  const nInternal = 2 ** depth - 1;
  const nLeaves = 2 ** depth;
  const nTrees = forest.trees.length;
  const feature = new Int32Array(nTrees * nInternal);
  const threshold = new Float64Array(nTrees * nInternal);
  // Range of the split feature among the slot's training points.
  const low = new Float64Array(nTrees * nInternal).fill(Number.NEGATIVE_INFINITY);
  const high = new Float64Array(nTrees * nInternal).fill(Number.POSITIVE_INFINITY);
  // Attribution: the shortening credited to the split when the walk goes left
  // (at 3k) or right (at 3k + 1) from slot k, or when a range check isolates
  // the row at slot k (at 3k + 2), already divided by the number of trees.
  const delta = new Float64Array(3 * nTrees * nInternal);
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
        const value =
          leafValue >= 0 ? leafValue : level + averagePathLength(tree.size[node] as number);
        feature[k] = 0;
        threshold[k] = Number.POSITIVE_INFINITY;
        place(node, 2 * slot + 1, level + 1, value);
        place(node, 2 * slot + 2, level + 1, value);
        return;
      }
      const right = tree.right[node] as number;
      feature[k] = f;
      threshold[k] = tree.threshold[node] as number;
      low[k] = tree.low[node] as number;
      high[k] = tree.high[node] as number;
      delta[3 * k] = ((expected[node] as number) - 1 - (expected[node + 1] as number)) / nTrees;
      delta[3 * k + 1] = ((expected[node] as number) - 1 - (expected[right] as number)) / nTrees;
      delta[3 * k + 2] = ((expected[node] as number) - 1) / nTrees;
      place(node + 1, 2 * slot + 1, level + 1, -1);
      place(right, 2 * slot + 2, level + 1, -1);
    };
    place(0, 0, 0, -1);
  });

  const nf = forest.nFeatures;
  const acc = new Float64Array(BLOCK);

  const jsPathSums = (data: Float64Array, nRows: number, out: Float64Array): void => {
    for (let start = 0; start < nRows; start += BLOCK) {
      const end = Math.min(start + BLOCK, nRows);
      acc.fill(0);
      for (let t = 0; t < nTrees; t++) {
        const nodeBase = t * nInternal;
        const leafBase = t * nLeaves - nInternal;
        let r = start;
        // Four rows walk the tree side by side: four independent chains of
        // loads keep the core busy while each waits for its next node. The
        // comparison is turned into 0/1 arithmetic, not a branch, so random
        // left/right turns cost no mispredictions. s0..s3 hold depth + 1 of
        // the first slot whose range a row left, 0 while it has not.
        for (; r + 4 <= end; r += 4) {
          const b0 = r * nf;
          const b1 = b0 + nf;
          const b2 = b1 + nf;
          const b3 = b2 + nf;
          let i0 = 0;
          let i1 = 0;
          let i2 = 0;
          let i3 = 0;
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          for (let level = 0; level < depth; level++) {
            const k0 = nodeBase + i0;
            const k1 = nodeBase + i1;
            const k2 = nodeBase + i2;
            const k3 = nodeBase + i3;
            const v0 = data[b0 + (feature[k0] as number)] as number;
            const v1 = data[b1 + (feature[k1] as number)] as number;
            const v2 = data[b2 + (feature[k2] as number)] as number;
            const v3 = data[b3 + (feature[k3] as number)] as number;
            if (level < checked) {
              if (s0 === 0 && (v0 < (low[k0] as number) || v0 > (high[k0] as number))) {
                s0 = level + 1;
              }
              if (s1 === 0 && (v1 < (low[k1] as number) || v1 > (high[k1] as number))) {
                s1 = level + 1;
              }
              if (s2 === 0 && (v2 < (low[k2] as number) || v2 > (high[k2] as number))) {
                s2 = level + 1;
              }
              if (s3 === 0 && (v3 < (low[k3] as number) || v3 > (high[k3] as number))) {
                s3 = level + 1;
              }
            }
            i0 = 2 * i0 + 1 + +(v0 >= (threshold[k0] as number));
            i1 = 2 * i1 + 1 + +(v1 >= (threshold[k1] as number));
            i2 = 2 * i2 + 1 + +(v2 >= (threshold[k2] as number));
            i3 = 2 * i3 + 1 + +(v3 >= (threshold[k3] as number));
          }
          const a = r - start;
          acc[a] = (acc[a] as number) + (s0 !== 0 ? s0 : (leaf[leafBase + i0] as number));
          acc[a + 1] = (acc[a + 1] as number) + (s1 !== 0 ? s1 : (leaf[leafBase + i1] as number));
          acc[a + 2] = (acc[a + 2] as number) + (s2 !== 0 ? s2 : (leaf[leafBase + i2] as number));
          acc[a + 3] = (acc[a + 3] as number) + (s3 !== 0 ? s3 : (leaf[leafBase + i3] as number));
        }
        for (; r < end; r++) {
          acc[r - start] = (acc[r - start] as number) + walk(data, r * nf, t);
        }
      }
      for (let r = start; r < end; r++) out[r] = acc[r - start] as number;
    }
  };

  /** Path length of the row at `data[base..]` in tree `t`: the reference walk on the flat layout. */
  const walk = (data: Float64Array, base: number, t: number): number => {
    const nodeBase = t * nInternal;
    let i = 0;
    let isolated = 0;
    for (let level = 0; level < depth; level++) {
      const k = nodeBase + i;
      const v = data[base + (feature[k] as number)] as number;
      if (
        level < checked &&
        isolated === 0 &&
        (v < (low[k] as number) || v > (high[k] as number))
      ) {
        isolated = level + 1;
      }
      i = 2 * i + 1 + +(v >= (threshold[k] as number));
    }
    return isolated !== 0 ? isolated : (leaf[t * nLeaves - nInternal + i] as number);
  };

  const jsRowPathSum = (row: Float64Array): number => {
    let sum = 0;
    for (let t = 0; t < nTrees; t++) sum += walk(row, 0, t);
    return sum;
  };

  const wasm: PathSumKernel | undefined =
    options.kernel === "js"
      ? undefined
      : createWasmKernel({
          nTrees,
          nFeatures: nf,
          depth,
          checkedLevels: checked,
          feature,
          threshold,
          low,
          high,
          leaf,
          delta,
        });
  /** The reference attribution walk: adds each tree's credits to `out`, in tree and level order. */
  const jsAttributeRow = (row: Float64Array, out: Float64Array): void => {
    for (let t = 0; t < nTrees; t++) {
      const nodeBase = t * nInternal;
      let i = 0;
      for (let level = 0; level < depth; level++) {
        const k = nodeBase + i;
        const f = feature[k] as number;
        const v = row[f] as number;
        if (level < checked && (v < (low[k] as number) || v > (high[k] as number))) {
          // Isolated here: this split takes the rest of the shortening.
          out[f] = (out[f] as number) + (delta[3 * k + 2] as number);
          break;
        }
        const right = +(v >= (threshold[k] as number));
        out[f] = (out[f] as number) + (delta[3 * k + right] as number);
        i = 2 * i + 1 + right;
      }
    }
  };

  const sums: PathSums = wasm
    ? wasm
    : {
        pathSums: jsPathSums,
        rowPathSum: jsRowPathSum,
        rowAttribution(row, out) {
          jsAttributeRow(row, out);
          return jsRowPathSum(row);
        },
      };
  return assemble(forest, { kernel: wasm ? "wasm" : "js", layout: "complete" }, sums, rootSum);
}

/** The compiled forest around a layout's path sums: scores from sums, and the checks. */
function assemble(
  forest: Forest,
  kind: { kernel: ForestKernelKind; layout: ForestLayout },
  sums: PathSums,
  rootSum: number,
): CompiledForest {
  const nf = forest.nFeatures;
  const nTrees = forest.trees.length;
  const maxSamples = forest.maxSamples;
  const scoreExponent = pathSumExponent(nTrees, maxSamples);
  const { pathSums, rowPathSum, rowAttribution } = sums;

  const scoreRows = (rows: Matrix, out: Float64Array): void => {
    if (rows.nFeatures !== nf) {
      throw new RangeError(`rows have ${rows.nFeatures} features, model expects ${nf}`);
    }
    pathSums(rows.data, rows.nRows, out);
    // scoreFromPathSum's formula with its exponent computed once: the same operations, the same bits.
    for (let r = 0; r < rows.nRows; r++) out[r] = Math.exp((out[r] as number) * scoreExponent);
  };

  return {
    ...kind,
    nFeatures: nf,
    nTrees,
    maxSamples,
    maxDepth: forest.maxDepth,
    meanRootPathLength: rootSum / nTrees,
    scoreRows,
    scoreRow: (row) => Math.exp(rowPathSum(row) * scoreExponent),
    attributeRow: (row, out) => {
      rowAttribution(row, out);
    },
    scoreAndAttributeRow: (row, out) => Math.exp(rowAttribution(row, out) * scoreExponent),
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
