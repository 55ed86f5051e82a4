import type { NodeArrays } from "../node-forest.js";
import { NODE_LANES } from "./forest-kernel-wat.js";
import { kernelInstance } from "./wasm-forest.js";

/**
 * Bytes of rows in a block: the rows that walk one tree before the next
 * tree is taken. A deep tree is read from beyond L1 once per block, so the
 * more rows meet it the better, as long as the block's rows stay in L2 for
 * the next tree. Wide rows (NSL-KDD's 118 features) thus get fewer rows a
 * block than narrow ones (our 26). Measured at 500 × 10,000 (with groups
 * of 8 rows) over 128 KiB to 2 MiB: NSL-KDD peaked at 512 KiB, our
 * telemetry at 1 MiB (a quarter less at 512 KiB); NSL-KDD, the further
 * from its goal, decides.
 */
const BLOCK_BYTES = 1 << 19;
/** Bounds of the rows in a block, in groups. */
const MIN_BLOCK_GROUPS = 16;
const MAX_BLOCK_GROUPS = 1024;
/**
 * Largest node area the kernel takes on; bigger forests stay on the JS
 * kernel. Under 2^28 bytes, one level's moves add less than 2^32 (16 lanes
 * × 2^28) to the lanes' address sum, which then cannot wrap round to its
 * old value (see `walkUntilLeaves`): 16M nodes, about 800 trees at ψ 10,000.
 */
const MAX_NODE_BYTES = 1 << 28;
/** Bytes per node: the threshold (f64), the feature offset (i32), the left child's address (i32). */
const NODE_BYTES = 16;
/** Bytes per tree in the range table: low and high (f64) of nodes 0, 1 and 2. */
const RANGE_BYTES = 48;

interface NodeKernelExports {
  nodeBlockPaths(
    trees: number,
    nTrees: number,
    depth: number,
    rows: number,
    groupBytes: number,
    nGroups: number,
    out: number,
    blockGroups: number,
    ranges: number,
    values: number,
  ): void;
  groupNodeRows(src: number, nRows: number, nFeatures: number, dst: number): void;
}

/** Path sums over many rows; the caller walks single rows itself. */
export interface NodePathSums {
  /** `out[r]` = Σ_t h_t(row r) for rows [0, nRows) of the row-major `data`, in tree order. */
  pathSums(data: Float64Array, nRows: number, out: Float64Array): void;
}

/**
 * Loads a forest's node arrays into a fresh instance of the WebAssembly
 * kernel (`nodeBlockPaths`). Returns undefined when WebAssembly is
 * unavailable or the forest too large, so the caller keeps its JS kernel.
 * The sums are the JS kernel's bit for bit: the same f64 path lengths, in
 * the same tree order, the same comparisons.
 *
 * @param depth the forest's height limit: every walk takes this many levels.
 */
export function createWasmNodeKernel(
  a: NodeArrays,
  nf: number,
  depth: number,
  kernel: { blockBytes?: number; bytes?: Uint8Array } = {},
): NodePathSums | undefined {
  const W = NODE_LANES;
  const nNodes = a.treeStart[a.nTrees] as number;
  const nodeBytes = nNodes * NODE_BYTES;
  if (depth < 1 || nodeBytes > MAX_NODE_BYTES) return undefined;
  const groupBytes = nf * W * 8;
  // One block a call: the rows copied in are the rows that walk a tree together.
  const blockGroups = Math.min(
    MAX_BLOCK_GROUPS,
    Math.max(MIN_BLOCK_GROUPS, Math.floor((kernel.blockBytes ?? BLOCK_BYTES) / groupBytes)),
  );
  const chunkRows = blockGroups * W;
  const treesPtr = nodeBytes;
  const rangesPtr = treesPtr + a.nTrees * 4 + ((8 - ((a.nTrees * 4) % 8)) % 8);
  const valuesPtr = rangesPtr + a.nTrees * RANGE_BYTES;
  const rowsPtr = valuesPtr + nNodes * 8;
  const stagingPtr = rowsPtr + blockGroups * groupBytes;
  const outPtr = stagingPtr + blockGroups * groupBytes;
  const total = outPtr + chunkRows * 8;
  const instance = kernelInstance(total, kernel.bytes);
  if (!instance) return undefined;
  const k = instance.exports as unknown as NodeKernelExports;
  const f64 = new Float64Array(instance.buffer);
  const i32 = new Int32Array(instance.buffer);
  for (let n = 0; n < nNodes; n++) {
    f64[2 * n] = a.threshold[n] as number;
    i32[4 * n + 2] = (a.feature[n] as number) * W * 8;
    i32[4 * n + 3] = (a.left[n] as number) * NODE_BYTES;
  }
  for (let t = 0; t < a.nTrees; t++)
    i32[treesPtr / 4 + t] = (a.treeStart[t] as number) * NODE_BYTES;
  f64.set(a.ranges, rangesPtr / 8);
  f64.set(a.leafValue, valuesPtr / 8);
  const stagingAt = stagingPtr / 8;
  const outAt = outPtr / 8;

  return {
    pathSums(data, nRows, out) {
      for (let start = 0; start < nRows; start += chunkRows) {
        const n = Math.min(chunkRows, nRows - start);
        f64.set(data.subarray(start * nf, (start + n) * nf), stagingAt);
        k.groupNodeRows(stagingPtr, n, nf, rowsPtr);
        k.nodeBlockPaths(
          treesPtr,
          a.nTrees,
          depth,
          rowsPtr,
          groupBytes,
          Math.ceil(n / W),
          outPtr,
          blockGroups,
          rangesPtr,
          valuesPtr,
        );
        out.set(f64.subarray(outAt, outAt + n), start);
      }
    },
  };
}
