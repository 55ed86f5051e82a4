import { averagePathLength } from "./path-length.js";
import { createRandom, createReseedableRandom, type Random } from "./random.js";

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
  /**
   * How trees draw their randomness: `"stream"` (default), one stream
   * through every tree in turn, so each tree depends on the ones before it;
   * `"per-tree"`, a seed per tree drawn up front from the stream, so trees
   * can grow in any order and on any thread (`fitForestInWorkers`) and
   * give the same forest. The two give different forests for one seed.
   */
  seeding?: Seeding;
}

/** See {@link FitOptions.seeding}. */
export type Seeding = "stream" | "per-tree";

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
  const shape = forestShape(x, options);
  const { nEstimators, psi, maxDepth } = shape;
  if (options.seeding === "per-tree") {
    const grower = createSeededGrower(x, shape, nEstimators);
    const trees = treeSeeds(random, nEstimators).map((seed) => grower.grow(seed));
    return { nFeatures: x.nFeatures, maxSamples: psi, maxDepth, trees };
  }
  const permutation = new Int32Array(x.nRows);
  for (let i = 0; i < x.nRows; i++) permutation[i] = i;
  const grower = new TreeGrower(x, psi, maxDepth, fitLayout(x, psi, nEstimators));
  const trees: IsolationTree[] = [];
  const sample = grower.rows;
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
    trees.push(grower.grow(random));
  }
  return { nFeatures: x.nFeatures, maxSamples: psi, maxDepth, trees };
}

/** A forest's size, checked: trees, sub-sample size ψ and height limit. */
export interface ForestShape {
  nEstimators: number;
  psi: number;
  maxDepth: number;
}

/** Checks `options` against `x` and resolves the forest's shape (defaults, ψ clamped). */
export function forestShape(x: Matrix, options: FitOptions): ForestShape {
  const nEstimators = options.nEstimators ?? 100;
  const requested = options.maxSamples ?? 256;
  if (!Number.isInteger(nEstimators) || nEstimators < 1 || nEstimators > 10_000) {
    throw new RangeError(`nEstimators must be an integer in [1, 10000], got ${nEstimators}`);
  }
  if (!Number.isInteger(requested) || requested < 2) {
    throw new RangeError(`maxSamples must be an integer ≥ 2, got ${requested}`);
  }
  const seeding: unknown = options.seeding ?? "stream";
  if (seeding !== "stream" && seeding !== "per-tree") {
    throw new RangeError(`seeding must be "stream" or "per-tree", got ${String(seeding)}`);
  }
  if (x.nRows < 2) throw new RangeError(`need at least 2 rows to fit, got ${x.nRows}`);
  const psi = Math.min(requested, x.nRows);
  return { nEstimators, psi, maxDepth: Math.ceil(Math.log2(psi)) };
}

/**
 * The seeds of per-tree seeding: `n` integers in [0, 2^53), drawn in order
 * from `random` (two draws each), tree t grown from `createRandom(seeds[t])`.
 */
export function treeSeeds(random: Random, n: number): number[] {
  const seeds: number[] = [];
  for (let t = 0; t < n; t++) seeds.push(random.int(2 ** 21) * 2 ** 32 + random.int(2 ** 32));
  return seeds;
}

/**
 * A packed tree: its node arrays one after another in this order, each as
 * long as the tree has nodes, in one Float64Array (the integers are exact).
 */
export const PACKED_TREE_ARRAYS = ["feature", "threshold", "right", "size", "low", "high"] as const;

/** Grows the trees of per-tree seeding; see {@link createSeededGrower}. */
export interface SeededGrower {
  grow(seed: number): IsolationTree;
  /** The same tree as `grow(seed)`, packed (see {@link PACKED_TREE_ARRAYS}). */
  growPacked(seed: number): Float64Array;
}

/**
 * Grows the trees of per-tree seeding from their seeds: ψ rows
 * drawn without replacement by a partial Fisher–Yates over the identity
 * permutation, then the tree, both from `createRandom(seed)`. A tree depends
 * on its seed alone, not on the trees grown before it by the same grower.
 *
 * @param trees how many trees this grower will grow (it picks its layout by it; the trees do not depend on it).
 * @param columns `x` column-major (see {@link readsColumns}, {@link transpose}) when the caller
 *   has it, so that several growers share one copy; made here otherwise.
 */
export function createSeededGrower(
  x: Matrix,
  shape: ForestShape,
  trees: number,
  columns?: Float64Array,
): SeededGrower {
  const { psi, maxDepth } = shape;
  const n = x.nRows;
  const permutation = new Int32Array(n);
  for (let i = 0; i < n; i++) permutation[i] = i;
  const swapped = new Int32Array(psi);
  const grower = new TreeGrower(x, psi, maxDepth, fitLayout(x, psi, trees), columns);
  const sample = grower.rows;
  // One generator reseeded per tree, not one per tree: the grower's calls
  // into it then always meet the same function, which V8 can inline.
  const random = createReseedableRandom(0);
  const drawSample = (seed: number) => {
    random.reseed(seed);
    for (let i = 0; i < psi; i++) {
      const j = i + random.int(n - i);
      const tmp = permutation[i] as number;
      permutation[i] = permutation[j] as number;
      permutation[j] = tmp;
      sample[i] = permutation[i] as number;
      swapped[i] = j;
    }
    // Undo the swaps, last first: the next tree starts from the identity again.
    for (let i = psi - 1; i >= 0; i--) {
      const j = swapped[i] as number;
      const tmp = permutation[i] as number;
      permutation[i] = permutation[j] as number;
      permutation[j] = tmp;
    }
  };
  return {
    grow(seed) {
      drawSample(seed);
      return grower.grow(random);
    },
    growPacked(seed) {
      drawSample(seed);
      return grower.growPacked(random);
    },
  };
}

/** Whether a grower of `trees` trees of ψ `psi` on `x` reads a column-major copy of it. */
export function readsColumns(x: Matrix, psi: number, trees: number): boolean {
  return fitLayout(x, psi, trees) === "columns";
}

/** `x` column-major, value (r, f) at `f · nRows + r`, into `out` (nRows × nFeatures long). */
export function transpose(x: Matrix, out: Float64Array): Float64Array {
  const { data, nRows, nFeatures: nf } = x;
  for (let r = 0; r < nRows; r++) {
    const base = r * nf;
    for (let f = 0; f < nf; f++) out[f * nRows + r] = data[base + f] as number;
  }
  return out;
}

function fitLayout(x: Matrix, psi: number, trees: number): FitLayout {
  return psi * x.nFeatures <= COMPACT_VALUES
    ? "compact"
    : trees * psi >= TRANSPOSE_READS * x.nRows
      ? "columns"
      : "rows";
}

/**
 * How a fit reads the matrix: `compact`, each tree copies its sampled rows
 * together (small trees: they then sit in cache); `columns`, a column-major
 * copy of the whole matrix made once (large trees reading each row many times
 * over); `rows`, the caller's matrix as it is.
 */
type FitLayout = "compact" | "columns" | "rows";

/**
 * Features up to which a compact copy copies a row in a loop: a short row
 * does not pay for `subarray` and `set` (an allocation and a native call).
 */
const SHORT_ROW = 32;

/** Values (ψ × features) up to which a tree's sample is copied together. */
const COMPACT_VALUES = 1 << 16;

/** Sampled rows per matrix row at or above which `fitForest` works on a column-major copy. */
const TRANSPOSE_READS = 8;

/**
 * Share of probed rows at a feature's usual value from which its departs are
 * counted; below it, values are compared row by row, which finds a difference
 * within a few rows.
 */
const SPARSE_SHARE = 0.8;

/** Rows, evenly spaced, whose most common value per feature becomes its "usual" value. */
const USUAL_VALUE_PROBE = 256;

/**
 * Grows one tree at a time on the sub-sample in `rows`, without allocating
 * per node: the node's points are a range of `rows`, partitioned in place;
 * nodes go into preallocated typed arrays (a tree on ψ points has at most
 * 2ψ − 1 nodes) and are copied out once per tree.
 *
 * The split feature is drawn among the features not constant at the node,
 * as in the paper, so every node must know which features vary. Scanning
 * every feature over the node's rows (the plain way) costs ψ × features per
 * tree level, and a feature that is mostly one value (a one-hot column, a
 * rarely non-zero count) needs long scans to find a row that differs.
 * Instead such sparse features get a usual value (their most common one),
 * each row a list of the sparse features where it departs from theirs, and
 * each node a count per feature of its rows that depart: a feature varies
 * where that count is neither 0 nor all of the node (only at "all" are values
 * compared). Counts go down the tree by the subtraction trick: scan the
 * smaller child's rows, subtract from the parent for the larger one. Dense
 * features are compared with the node's first row down their column, which
 * finds a difference within a row or two; the two rows that differ are kept
 * as the feature's witnesses, and a child holding both knows the feature
 * varies without reading it (one read of the split feature per witness).
 * A feature constant at a node stays so below it, so each node only checks
 * the features still varying at its parent (a list per depth, in feature
 * order). The split feature's min, max and
 * partition read a column-major copy of the matrix when the trees read each
 * row often enough to pay for it.
 *
 * Same draws as Liu et al.'s recursion in the same order (feature, then
 * threshold, then the left subtree before the right), the points of each node
 * in the same order (or, see `sorted`, in one that cannot change the result):
 * the same forest, bit for bit, as the plain version kept in
 * detector/testdata/reference-fit.ts, which the tests compare it with.
 */
class TreeGrower {
  /** The sub-sample's row indices; the caller fills it before each `grow`. */
  readonly rows: Int32Array;
  private readonly nf: number;
  /** The rows the nodes index: the caller's matrix, or the tree's compact copy. */
  private readonly data: Float64Array;
  /** The caller's matrix. */
  private readonly source: Float64Array;
  private readonly compact: boolean;
  /**
   * Whether each node keeps its rows in row order (sorted sample, stable
   * partition), so that its passes read the matrix forwards. Only the order
   * among equal values could change the forest, through which of −0 and 0 a
   * min or max is; so only for matrices without −0, and not for compact
   * copies, which sit in cache anyway. Otherwise the rows keep the plain
   * version's order (sample order, in-place partition).
   */
  private readonly sorted: boolean;
  private readonly picked: Uint8Array;
  private readonly scratch: Int32Array;
  /** The split feature's values at the node, at the node's positions in `rows`. */
  private readonly values: Float64Array;
  private readonly maxDepth: number;
  /** The current tree's randomness; each `grow` sets it. */
  private random: Random = createRandom(0);
  /** Value (r, f) at `f · featureStride + r · rowStride`: a column-major copy, or the matrix. */
  private readonly columns: Float64Array;
  private readonly featureStride: number;
  private readonly rowStride: number;
  /**
   * Row r departs from the usual value in the features `departs[departFrom[r] ..
   * departFrom[r] + departCount[r])`; built the first time a tree samples r
   * (departFrom −1 until then).
   */
  private readonly departFrom: Int32Array;
  private readonly departCount: Int32Array;
  private departs: Int32Array;
  private nDeparts = 0;
  /** The sparse features, and their usual values. */
  private readonly sparse: Int32Array;
  private readonly usual: Float64Array;
  /** 1 for the features counted by departs (sparse ones), 0 for those compared row by row. */
  private readonly tracked: Uint8Array;
  /** Per depth d, at d · nf: rows of the node on the current path that depart, per feature. */
  private readonly counts: Int32Array;
  /** Features not constant at the node on the current path at each depth, at d · nf. */
  private readonly candidates: Int32Array;
  private readonly nCandidates: Int32Array;
  /**
   * Per depth d, at d · nf: two rows of the node on the current path whose
   * values of the feature differ, found by comparing (−1 when its depart
   * counts showed it varies). Kept by a child holding both, found again
   * otherwise.
   */
  private readonly witnessA: Int32Array;
  private readonly witnessB: Int32Array;
  /** Per depth: the split of the node on the current path, and whether the path goes left (1) or right (0). */
  private readonly splitFeature: Int32Array;
  private readonly splitThreshold: Float64Array;
  private readonly wentLeft: Uint8Array;
  private readonly feature: Int32Array;
  private readonly threshold: Float64Array;
  private readonly right: Int32Array;
  private readonly size: Int32Array;
  private readonly low: Float64Array;
  private readonly high: Float64Array;
  private nodes = 0;

  /** `transposed`: `x` column-major, when the layout is `columns` and the caller has it. */
  constructor(
    x: Matrix,
    psi: number,
    maxDepth: number,
    layout: FitLayout,
    transposed?: Float64Array,
  ) {
    const { nRows, nFeatures: nf } = x;
    this.rows = new Int32Array(psi);
    this.nf = nf;
    this.maxDepth = maxDepth;
    this.source = x.data;
    this.compact = layout === "compact";
    this.sorted = !this.compact && !hasNegativeZero(x.data);
    this.picked = new Uint8Array(this.sorted ? nRows : 0);
    this.scratch = new Int32Array(this.sorted ? psi : 0);
    this.values = new Float64Array(psi);
    // Compact: each tree's rows copied together, numbered 0 … ψ − 1 in sample order.
    const data = this.compact ? new Float64Array(psi * nf) : x.data;
    if (layout === "columns") {
      this.columns = transposed ?? transpose(x, new Float64Array(nRows * nf));
      this.featureStride = nRows;
      this.rowStride = 1;
    } else {
      this.columns = data;
      this.featureStride = 1;
      this.rowStride = nf;
    }
    const { usual, tracked } = usualValues(x);
    this.data = data;
    this.tracked = tracked;
    this.usual = usual;
    const sparse: number[] = [];
    for (let f = 0; f < nf; f++) if (tracked[f] === 1) sparse.push(f);
    this.sparse = Int32Array.from(sparse);
    this.departFrom = new Int32Array(this.compact ? psi : nRows).fill(-1);
    this.departCount = new Int32Array(this.compact ? psi : nRows);
    this.departs = new Int32Array(1024);
    this.counts = new Int32Array((maxDepth + 1) * nf);
    this.candidates = new Int32Array((maxDepth + 1) * nf);
    this.nCandidates = new Int32Array(maxDepth + 1);
    this.witnessA = new Int32Array((maxDepth + 1) * nf);
    this.witnessB = new Int32Array((maxDepth + 1) * nf);
    this.splitFeature = new Int32Array(maxDepth + 1);
    this.splitThreshold = new Float64Array(maxDepth + 1);
    this.wentLeft = new Uint8Array(maxDepth + 1);
    const capacity = 2 * psi - 1;
    this.feature = new Int32Array(capacity);
    this.threshold = new Float64Array(capacity);
    this.right = new Int32Array(capacity);
    this.size = new Int32Array(capacity);
    this.low = new Float64Array(capacity);
    this.high = new Float64Array(capacity);
  }

  /** Grows a tree on `rows` (reordering it) from `random`, and returns it as plain arrays. */
  grow(random: Random): IsolationTree {
    const nodes = this.growNodes(random);
    return {
      feature: toArray(this.feature, nodes),
      threshold: toArray(this.threshold, nodes),
      right: toArray(this.right, nodes),
      size: toArray(this.size, nodes),
      low: toArray(this.low, nodes),
      high: toArray(this.high, nodes),
    };
  }

  /** Grows a tree like `grow`, and returns it packed (see {@link PACKED_TREE_ARRAYS}). */
  growPacked(random: Random): Float64Array {
    const nodes = this.growNodes(random);
    const out = new Float64Array(PACKED_TREE_ARRAYS.length * nodes);
    PACKED_TREE_ARRAYS.forEach((key, k) => {
      out.set(this[key].subarray(0, nodes), k * nodes);
    });
    return out;
  }

  /** Grows a tree into the node arrays; returns its number of nodes. */
  private growNodes(random: Random): number {
    this.random = random;
    this.nodes = 0;
    const nf = this.nf;
    // The root's "parent" list is every feature; the root narrows it in place.
    for (let f = 0; f < nf; f++) this.candidates[f] = f;
    this.nCandidates[0] = nf;
    const n = this.rows.length;
    const rows = this.rows;
    if (this.compact) {
      const { source, data } = this;
      for (let i = 0; i < n; i++) {
        const from = (rows[i] as number) * nf;
        if (nf <= SHORT_ROW)
          for (let f = 0; f < nf; f++) data[i * nf + f] = source[from + f] as number;
        else data.set(source.subarray(from, from + nf), i * nf);
        rows[i] = i;
      }
      this.nDeparts = 0;
      for (let i = 0; i < n; i++) this.listDeparts(i);
    } else {
      for (let i = 0; i < n; i++) {
        const r = rows[i] as number;
        if ((this.departFrom[r] as number) < 0) this.listDeparts(r);
      }
      if (this.sorted) {
        // Row order, by marking: the passes over a node then read the matrix forwards.
        const picked = this.picked;
        for (let i = 0; i < n; i++) picked[rows[i] as number] = 1;
        let k = 0;
        for (let r = 0; r < picked.length; r++) {
          if (picked[r] === 1) {
            picked[r] = 0;
            rows[k++] = r;
          }
        }
      }
    }
    if (this.maxDepth > 0 && n > 1) this.countDeparts(0, 0, n);
    this.growNode(0, n, 0);
    return this.nodes;
  }

  /** Appends row r's list of departing sparse features to `departs`. */
  private listDeparts(r: number): void {
    const { data, nf, sparse, usual } = this;
    const m = sparse.length;
    if (this.nDeparts + m > this.departs.length) {
      const grown = new Int32Array(Math.max(2 * this.departs.length, this.nDeparts + m));
      grown.set(this.departs.subarray(0, this.nDeparts));
      this.departs = grown;
    }
    const departs = this.departs;
    const base = r * nf;
    const from = this.nDeparts;
    let k = from;
    for (let j = 0; j < m; j++) {
      const f = sparse[j] as number;
      if ((data[base + f] as number) !== usual[f]) departs[k++] = f;
    }
    this.departFrom[r] = from;
    this.departCount[r] = k - from;
    this.nDeparts = k;
  }

  /** Counts, per feature, the rows in rows[start..end) that depart, into depth `depth`. */
  private countDeparts(depth: number, start: number, end: number): void {
    const { rows, departFrom, departCount, departs, counts, nf } = this;
    const to = depth * nf;
    for (let f = 0; f < nf; f++) counts[to + f] = 0;
    for (let i = start; i < end; i++) {
      const r = rows[i] as number;
      const first = departFrom[r] as number;
      const last = first + (departCount[r] as number);
      for (let k = first; k < last; k++) counts[to + (departs[k] as number)]++;
    }
  }

  /** counts[depth + 1] = counts[depth] − counts[depth + 1], over the node's candidates. */
  private subtractCounts(depth: number): void {
    const { counts, candidates, nf } = this;
    const parent = depth * nf;
    const child = parent + nf;
    const m = this.nCandidates[depth] as number;
    for (let j = 0; j < m; j++) {
      const f = candidates[parent + j] as number;
      counts[child + f] = (counts[parent + f] as number) - (counts[child + f] as number);
    }
  }

  /**
   * Narrows the candidate list of depth `depth − 1` (at the root, depth 0's
   * own) to the features that vary among rows[start..end), whose depart
   * counts are at `depth`; writes it at `depth` and returns its length.
   */
  private varyingFeatures(start: number, end: number, depth: number): number {
    const { rows, nf, candidates, counts, columns, featureStride, rowStride, tracked } = this;
    const { witnessA, witnessB } = this;
    const from = depth === 0 ? 0 : (depth - 1) * nf;
    const m = this.nCandidates[depth === 0 ? 0 : depth - 1] as number;
    const at = depth * nf;
    const n = end - start;
    const r0 = rows[start] as number;
    // The split that made this node, to tell whether the parent's witnesses are here.
    const split = depth === 0 ? -1 : (this.splitFeature[depth - 1] as number);
    const splitOffset = split * featureStride;
    const splitAt = depth === 0 ? 0 : (this.splitThreshold[depth - 1] as number);
    const left = depth === 0 ? 0 : (this.wentLeft[depth - 1] as number);
    // Kept in the parent's (feature) order, written over it at the root.
    let kept = 0;
    for (let j = 0; j < m; j++) {
      const f = candidates[from + j] as number;
      if (tracked[f] === 1) {
        const c = counts[at + f] as number;
        if (c === 0) continue;
        if (c < n) {
          candidates[at + kept++] = f;
          witnessA[at + f] = -1;
          continue;
        }
        // Every row departs from the usual value: compare them, as for a dense feature.
      }
      if (split >= 0) {
        const a = witnessA[from + f] as number;
        if (a >= 0) {
          const b = witnessB[from + f] as number;
          const aLeft = (columns[splitOffset + a * rowStride] as number) < splitAt ? 1 : 0;
          const bLeft = (columns[splitOffset + b * rowStride] as number) < splitAt ? 1 : 0;
          if (aLeft === left && bLeft === left) {
            candidates[at + kept++] = f;
            witnessA[at + f] = a;
            witnessB[at + f] = b;
            continue;
          }
        }
      }
      const offset = f * featureStride;
      const first = columns[offset + r0 * rowStride] as number;
      for (let i = start + 1; i < end; i++) {
        const r = rows[i] as number;
        if ((columns[offset + r * rowStride] as number) !== first) {
          candidates[at + kept++] = f;
          witnessA[at + f] = r0;
          witnessB[at + f] = r;
          break;
        }
      }
    }
    this.nCandidates[depth] = kept;
    return kept;
  }

  private growNode(start: number, end: number, depth: number): void {
    const node = this.nodes++;
    const n = end - start;
    this.feature[node] = -1;
    this.threshold[node] = 0;
    this.right[node] = -1;
    this.size[node] = n;
    this.low[node] = 0;
    this.high[node] = 0;
    if (depth >= this.maxDepth || n <= 1) return;
    const nCandidates = this.varyingFeatures(start, end, depth);
    if (nCandidates === 0) return; // every point at this node is identical: a leaf
    const f = this.candidates[depth * this.nf + this.random.int(nCandidates)] as number;
    const rows = this.rows;
    const column = this.columns;
    const offset = f * this.featureStride;
    const stride = this.rowStride;
    // The node's values of f, gathered once: the partition reads them in order.
    const values = this.values;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = start; i < end; i++) {
      const v = column[offset + (rows[i] as number) * stride] as number;
      values[i] = v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const from = signedLog1p(min);
    let threshold = signedExpm1(from + this.random.next() * (signedLog1p(max) - from));
    // Rounding can land on or below min, which would leave the left side
    // empty, or above max, which would leave the right side empty.
    if (!(threshold > min) || threshold > max) threshold = max;
    let mid = start;
    if (this.sorted) {
      // Stable: both sides stay in row order (the right side via scratch).
      const scratch = this.scratch;
      let k = 0;
      for (let i = start; i < end; i++) {
        const r = rows[i] as number;
        if ((values[i] as number) < threshold) rows[mid++] = r;
        else scratch[k++] = r;
      }
      for (let i = 0; i < k; i++) rows[mid + i] = scratch[i] as number;
    } else {
      for (let i = start; i < end; i++) {
        if ((values[i] as number) < threshold) {
          const r = rows[i] as number;
          rows[i] = rows[mid] as number;
          rows[mid++] = r;
        }
      }
    }
    this.feature[node] = f;
    this.threshold[node] = threshold;
    this.low[node] = min;
    this.high[node] = max;
    // Children below the height limit are leaves and need no counts.
    const counted = depth + 1 < this.maxDepth;
    if (counted) {
      // The left child's counts at depth + 1, from the smaller side.
      if (mid - start <= end - mid) this.countDeparts(depth + 1, start, mid);
      else {
        this.countDeparts(depth + 1, mid, end);
        this.subtractCounts(depth);
      }
    }
    this.splitFeature[depth] = f;
    this.splitThreshold[depth] = threshold;
    this.wentLeft[depth] = 1;
    this.growNode(start, mid, depth + 1);
    this.right[node] = this.nodes;
    // The left subtree wrote only below depth + 1: the left counts are intact.
    if (counted) this.subtractCounts(depth);
    this.wentLeft[depth] = 0;
    this.growNode(mid, end, depth + 1);
  }
}

/** Whether any value is −0. */
function hasNegativeZero(data: Float64Array): boolean {
  for (let i = 0; i < data.length; i++)
    if (data[i] === 0 && 1 / (data[i] as number) < 0) return true;
  return false;
}

/**
 * The first n values of a typed array as a plain array: allocated at its
 * length, then filled (`Array.from` iterates slowly; pushing grows it over
 * and over: 4–7× slower).
 */
function toArray(values: Int32Array | Float64Array, n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = values[i] as number;
  return out;
}

/**
 * Each feature's most common value among up to `USUAL_VALUE_PROBE` evenly
 * spaced rows (the smallest on ties). Any value would give the same forest;
 * the most common one makes the rows' depart lists short.
 */
function usualValues(x: Matrix): { usual: Float64Array; tracked: Uint8Array } {
  const { data, nRows, nFeatures: nf } = x;
  const probe = Math.min(nRows, USUAL_VALUE_PROBE);
  const values = new Float64Array(probe);
  const usual = new Float64Array(nf);
  const tracked = new Uint8Array(nf);
  for (let f = 0; f < nf; f++) {
    for (let i = 0; i < probe; i++) {
      values[i] = data[Math.floor((i * nRows) / probe) * nf + f] as number;
    }
    values.sort();
    let best = values[0] as number;
    let bestRun = 0;
    for (let i = 0; i < probe; ) {
      let j = i + 1;
      while (j < probe && values[j] === values[i]) j++;
      if (j - i > bestRun) {
        bestRun = j - i;
        best = values[i] as number;
      }
      i = j;
    }
    usual[f] = best;
    tracked[f] = bestRun >= probe * SPARSE_SHARE ? 1 : 0;
  }
  return { usual, tracked };
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
