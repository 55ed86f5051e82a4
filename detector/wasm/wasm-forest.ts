import { FOREST_KERNEL_BASE64 } from "./forest-kernel-bytes.js";
import { LANES, MAX_CHECKED_LEVELS } from "./forest-kernel-wat.js";

/** Row groups copied into the kernel's memory and walked per call. */
const CHUNK_GROUPS = 128;
/** Row groups that walk one tree before the next tree is taken (a tree stays in L1). */
const BLOCK_GROUPS = 8;
/** Largest node area the kernel takes on; bigger forests stay on the JS kernel. */
const MAX_NODE_BYTES = 512 * 1024 * 1024;
const PAGE_BYTES = 65_536;
/** Bytes per tree slot: the threshold (f64) and the feature's offsets in a row group and in the attribution vector (i32, i32). */
const SLOT_BYTES = 16;
/** Bytes per tree in the range table: low and high (f64) of slots 0, 1 and 2. */
const RANGE_BYTES = 48;
/** Bytes per tree in the isolation-credit table: one f64 for each of slots 0, 1 and 2. */
const ISO_DELTA_BYTES = 24;

// The lib this project compiles against ("ES2023", no DOM) has no
// WebAssembly types: declare the little the kernel uses.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** The parameters `rowPaths` and `rowAttribution` begin with. */
type RowArgs = [
  nodes: number,
  treeBytes: number,
  nTrees: number,
  depth: number,
  row: number,
  ranges: number,
];

interface KernelExports {
  memory: WasmMemory;
  blockPaths(
    nodes: number,
    treeBytes: number,
    nTrees: number,
    depth: number,
    rows: number,
    groupBytes: number,
    nGroups: number,
    out: number,
    blockGroups: number,
    ranges: number,
  ): void;
  groupRows(src: number, nRows: number, nFeatures: number, dst: number): void;
  rowPaths(...args: RowArgs): number;
  rowAttribution(
    ...args: [
      ...RowArgs,
      deltas: number,
      deltaBytes: number,
      isoDeltas: number,
      out: number,
      leaves: number,
    ]
  ): number;
}

/** A forest's complete-binary-tree arrays, as `compileForest` lays them out. */
export interface ForestArrays {
  nTrees: number;
  nFeatures: number;
  /** Height limit L: every walk is L steps. */
  depth: number;
  /** Levels from the root that check the row against the slot's range. */
  checkedLevels: number;
  /** Split feature of internal slot i of tree t at `t·(2^L − 1) + i`. */
  feature: Int32Array;
  /** Threshold of the same slot; +∞ for padding (always left). */
  threshold: Float64Array;
  /** Range of the split feature among the slot's training points; (−∞, +∞) for padding. */
  low: Float64Array;
  high: Float64Array;
  /** Leaf path lengths, `t·2^L + j` for the j-th leaf from the left. */
  leaf: Float64Array;
  /**
   * Attribution credits of internal slot k at 3k (left turn), 3k + 1 (right
   * turn) and 3k + 2 (isolated by a range check), divided by the tree count.
   */
  delta: Float64Array;
}

/** Sums of leaf path lengths over the trees, in tree order. */
export interface PathSumKernel {
  /** `out[r]` = Σ_t h_t(row r) for rows [0, nRows) of the row-major `data`. */
  pathSums(data: Float64Array, nRows: number, out: Float64Array): void;
  /** Σ_t h_t(row). */
  rowPathSum(row: Float64Array): number;
  /**
   * Σ_t h_t(row), and the row's path attribution added to `out[f]` tree by
   * tree and level by level, as `attributeRow` of the compiled forest adds
   * it: the same sums, bit for bit.
   */
  rowAttribution(row: Float64Array, out: Float64Array): number;
}

let compiled: object | null | undefined;

function kernelModule(): object | null {
  if (compiled === undefined) {
    try {
      compiled = wasmApi ? new wasmApi.Module(Buffer.from(FOREST_KERNEL_BASE64, "base64")) : null;
    } catch {
      compiled = null; // WebAssembly, or its SIMD, unavailable here: callers fall back to JS
    }
  }
  return compiled;
}

/**
 * A fresh instance of the kernel module with at least `bytes` of memory, or
 * undefined where WebAssembly is unavailable. The memory never grows again,
 * so views of `buffer` stay valid.
 */
export function kernelInstance(
  bytes: number,
  moduleBytes?: Uint8Array,
): { exports: unknown; buffer: ArrayBuffer } | undefined {
  const module = moduleBytes && wasmApi ? new wasmApi.Module(moduleBytes) : kernelModule();
  if (!module || !wasmApi) return undefined;
  const instance = new wasmApi.Instance(module, {});
  const memory = (instance.exports as { memory: WasmMemory }).memory;
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
  return { exports: instance.exports, buffer: memory.buffer };
}

/**
 * Loads a forest into a fresh instance of the WebAssembly kernel. Returns
 * undefined when WebAssembly is unavailable, the forest is too large, or it
 * checks ranges deeper than the kernel does (MAX_CHECKED_LEVELS), so the
 * caller keeps its JS kernel.
 *
 * The kernel sums the same f64 path lengths (leaf values, or depth + 1 where
 * a range check isolates) in the same tree order as the reference walk and
 * compares with the same `>=`, `<` and `>`, so its sums, and the scores made
 * from them, are bit-identical.
 */
export function createWasmKernel(
  forest: ForestArrays,
  kernel: { bytes?: Uint8Array; lanes?: number; blockGroups?: number } = {},
): PathSumKernel | undefined {
  const W = kernel.lanes ?? LANES;
  const blockGroups = kernel.blockGroups ?? BLOCK_GROUPS;
  const { nTrees, nFeatures: nf, depth, checkedLevels } = forest;
  const nInternal = 2 ** depth - 1;
  const slots = 2 ** (depth + 1) - 1;
  const treeBytes = slots * SLOT_BYTES;
  const nodeBytes = nTrees * treeBytes;
  if (depth < 1 || nodeBytes > MAX_NODE_BYTES || checkedLevels > MAX_CHECKED_LEVELS) {
    return undefined;
  }
  const groupBytes = nf * W * 8;
  const chunkRows = CHUNK_GROUPS * W;
  const rangesPtr = nodeBytes;
  const rowsPtr = rangesPtr + nTrees * RANGE_BYTES;
  // Row-major rows as the caller has them, copied in before groupRows.
  const stagingPtr = rowsPtr + CHUNK_GROUPS * groupBytes;
  const outPtr = stagingPtr + CHUNK_GROUPS * groupBytes;
  const rowPtr = outPtr + chunkRows * 8;
  const deltaBytes = nInternal * 16;
  const deltasPtr = rowPtr + groupBytes;
  const isoDeltasPtr = deltasPtr + nTrees * deltaBytes;
  const attributionPtr = isoDeltasPtr + nTrees * ISO_DELTA_BYTES;
  // Each tree's leaf offset and isolating level, kept by rowAttribution's walks for its credits.
  const leavesPtr = attributionPtr + nf * 8;
  const total = leavesPtr + nTrees * 8;

  const instance = kernelInstance(total, kernel.bytes);
  if (!instance) return undefined;
  const k = instance.exports as KernelExports;
  const f64 = new Float64Array(instance.buffer);
  const i32 = new Int32Array(instance.buffer);
  for (let t = 0; t < nTrees; t++) {
    const base = (t * treeBytes) / 8; // in f64 units; a slot is 2 of them
    for (let i = 0; i < nInternal; i++) {
      f64[base + 2 * i] = forest.threshold[t * nInternal + i] as number;
      const feature = forest.feature[t * nInternal + i] as number;
      i32[2 * (base + 2 * i) + 2] = feature * W * 8; // in a row group
      i32[2 * (base + 2 * i) + 3] = feature * 8; // in the attribution vector
    }
    for (let j = 0; j <= nInternal; j++) {
      f64[base + 2 * (nInternal + j)] = forest.leaf[t * (nInternal + 1) + j] as number;
    }
    // Slots 0..2 of the range table. A slot of a level that is not checked,
    // or past the internal ones (depth 1), gets (−∞, +∞): it never isolates.
    const ranges = (rangesPtr + t * RANGE_BYTES) / 8;
    for (let i = 0; i < 3; i++) {
      const k = t * nInternal + i;
      const checks = i < nInternal && (i === 0 ? 0 : 1) < checkedLevels;
      f64[ranges + 2 * i] = checks ? (forest.low[k] as number) : Number.NEGATIVE_INFINITY;
      f64[ranges + 2 * i + 1] = checks ? (forest.high[k] as number) : Number.POSITIVE_INFINITY;
      f64[(isoDeltasPtr + t * ISO_DELTA_BYTES) / 8 + i] =
        i < nInternal ? (forest.delta[3 * k + 2] as number) : 0;
    }
    const deltas = (deltasPtr + t * deltaBytes) / 8;
    for (let i = 0; i < nInternal; i++) {
      const k = t * nInternal + i;
      f64[deltas + 2 * i] = forest.delta[3 * k] as number;
      f64[deltas + 2 * i + 1] = forest.delta[3 * k + 1] as number;
    }
  }
  const stagingAt = stagingPtr / 8;
  const outAt = outPtr / 8;
  const rowAt = rowPtr / 8;
  const attributionAt = attributionPtr / 8;

  return {
    pathSums(data, nRows, out) {
      for (let start = 0; start < nRows; start += chunkRows) {
        const n = Math.min(chunkRows, nRows - start);
        // Copy the rows in as they are, and let the kernel group them by W,
        // feature-major. Lanes past the last row keep earlier finite values;
        // their sums are not read.
        f64.set(data.subarray(start * nf, (start + n) * nf), stagingAt);
        k.groupRows(stagingPtr, n, nf, rowsPtr);
        k.blockPaths(
          0,
          treeBytes,
          nTrees,
          depth,
          rowsPtr,
          groupBytes,
          Math.ceil(n / W),
          outPtr,
          blockGroups,
          rangesPtr,
        );
        out.set(f64.subarray(outAt, outAt + n), start);
      }
    },
    rowPathSum(row) {
      for (let f = 0; f < nf; f++) f64[rowAt + f * W] = row[f] as number;
      return k.rowPaths(0, treeBytes, nTrees, depth, rowPtr, rangesPtr);
    },
    rowAttribution(row, out) {
      for (let f = 0; f < nf; f++) {
        f64[rowAt + f * W] = row[f] as number;
        f64[attributionAt + f] = out[f] as number;
      }
      const sum = k.rowAttribution(
        0,
        treeBytes,
        nTrees,
        depth,
        rowPtr,
        rangesPtr,
        deltasPtr,
        deltaBytes,
        isoDeltasPtr,
        attributionPtr,
        leavesPtr,
      );
      for (let f = 0; f < nf; f++) out[f] = f64[attributionAt + f] as number;
      return sum;
    },
  };
}
