import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import {
  type FitOptions,
  type Forest,
  type ForestShape,
  forestShape,
  type IsolationTree,
  type Matrix,
  PACKED_TREE_ARRAYS,
  readsColumns,
  transpose,
  treeSeeds,
} from "./isolation-forest.js";
import { startModuleWorker } from "./module-worker.js";
import type { Random } from "./random.js";

/** Options of a fit in workers: `FitOptions`, whose seeding can only be `"per-tree"`. */
export interface ParallelFitOptions extends FitOptions {
  /** Worker threads; default one per core (`os.availableParallelism()`). */
  workers?: number;
}

/** Most worker threads a fit may start. */
export const MAX_FIT_WORKERS = 256;

/** @private Messages to a worker of `fit-worker.ts`. */
export type FitWorkerRequest =
  | {
      kind: "begin";
      data: SharedArrayBuffer;
      nRows: number;
      nFeatures: number;
      shape: ForestShape;
      /** Trees this worker should expect to grow (it picks its layout by it). */
      trees: number;
      /** The matrix column-major, made once for every worker, when their layout reads it. */
      columns?: SharedArrayBuffer;
    }
  | { kind: "grow"; start: number; seeds: number[] };

/**
 * @private A worker's answer to "grow": the trees from `start` on, packed
 * (`PACKED_TREE_ARRAYS`) one after another, `lengths` values each; or its error.
 */
export type FitWorkerReply =
  | { start: number; lengths: Int32Array; packed: Float64Array; error?: undefined }
  | { start: -1; error: string };

/** Worker threads that grow forests; start once, fit many times, then close. */
export interface FitPool {
  readonly workers: number;
  /**
   * Grows a forest in the workers: the same forest, node for node, as
   * `fitForest(x, random, { ...options, seeding: "per-tree" })`, whatever
   * the number of workers. One fit at a time.
   */
  fit(x: Matrix, random: Random, options?: FitOptions): Promise<Forest>;
  /** Ends the workers; a fit in progress fails. */
  close(): Promise<void>;
}

/**
 * Grows a forest with a worker thread per core (or `options.workers`),
 * worker start-up included: per-tree seeding, so the forest does not depend
 * on the number of workers. See {@link createFitPool} to keep workers for
 * several fits.
 */
export async function fitForestInWorkers(
  x: Matrix,
  random: Random,
  options: ParallelFitOptions = {},
): Promise<Forest> {
  const { workers, ...fit } = options;
  forestShape(x, fit); // bad options fail before any worker starts
  const pool = createFitPool(workers);
  try {
    return await pool.fit(x, random, fit);
  } finally {
    await pool.close();
  }
}

/**
 * Starts `workers` worker threads (default one per core). The training
 * matrix goes to them as a `SharedArrayBuffer` (copied into one once per
 * fit unless it already is one); trees are handed out in chunks as workers
 * finish, and come back as one transferred buffer per chunk. When the
 * workers' layout reads the matrix column-major, this thread makes that copy
 * once, shared too. Under tsx the workers run `fit-worker.ts` bundled by
 * esbuild (once per process); after `npm run build`, the `.js` beside this file.
 */
export function createFitPool(workers: number = availableParallelism()): FitPool {
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_FIT_WORKERS) {
    throw new RangeError(`workers must be an integer in [1, ${MAX_FIT_WORKERS}], got ${workers}`);
  }
  const threads = Array.from({ length: workers }, startWorker);
  let failure: Error | undefined;
  let onFailure: ((e: Error) => void) | undefined;
  const fail = (e: Error) => {
    failure ??= e;
    onFailure?.(e);
  };
  for (const w of threads) {
    w.on("error", fail);
    w.on("exit", (code) => fail(new Error(`fit worker exited with code ${code}`)));
  }
  let busy = false;
  return {
    workers,
    async fit(x, random, options = {}) {
      if (options.seeding === "stream") {
        throw new RangeError('a fit in workers uses per-tree seeding; got seeding "stream"');
      }
      const shape = forestShape(x, options);
      if (failure) throw failure;
      if (busy) throw new Error("a fit is already running in this pool");
      busy = true;
      for (const w of threads) w.ref();
      try {
        const seeds = treeSeeds(random, shape.nEstimators);
        const trees = await growAll(threads, sharedMatrix(x), x, shape, seeds, (f) => {
          onFailure = f;
          if (failure) f(failure);
        });
        return { nFeatures: x.nFeatures, maxSamples: shape.psi, maxDepth: shape.maxDepth, trees };
      } finally {
        onFailure = undefined;
        busy = false;
        for (const w of threads) w.unref();
      }
    },
    async close() {
      fail(new Error("the fit pool is closed"));
      await Promise.all(threads.map((w) => w.terminate()));
    },
  };
}

/** Hands out chunks of seeds to the workers as they finish, and gathers the trees in seed order. */
function growAll(
  threads: Worker[],
  data: SharedArrayBuffer,
  x: Matrix,
  shape: ForestShape,
  seeds: number[],
  watch: (fail: (e: Error) => void) => void,
): Promise<IsolationTree[]> {
  const n = seeds.length;
  // About four chunks per worker: a worker slowed down by other load gets fewer.
  const chunk = Math.max(1, Math.ceil(n / (threads.length * 4)));
  const trees: IsolationTree[] = new Array(n);
  return new Promise((resolve, reject) => {
    let next = 0;
    let done = 0;
    let settled = false;
    const finish = (e?: Error) => {
      if (settled) return;
      settled = true;
      for (const w of threads) w.off("message", listeners.get(w) as (m: FitWorkerReply) => void);
      if (e) reject(e);
      else resolve(trees);
    };
    const send = (w: Worker) => {
      if (next >= n) return;
      const start = next;
      next = Math.min(n, next + chunk);
      const req: FitWorkerRequest = { kind: "grow", start, seeds: seeds.slice(start, next) };
      w.postMessage(req);
    };
    const listeners = new Map<Worker, (m: FitWorkerReply) => void>();
    for (const w of threads) {
      const listener = (m: FitWorkerReply) => {
        if (m.error !== undefined) return finish(new Error(`fit worker failed: ${m.error}`));
        send(w); // first, so the worker grows on while this thread unpacks
        done += unpack(m, trees);
        if (done === n) finish();
      };
      listeners.set(w, listener);
      w.on("message", listener);
    }
    watch(finish);
    const share = Math.ceil(n / threads.length);
    let columns: SharedArrayBuffer | undefined;
    if (readsColumns(x, shape.psi, share)) {
      columns = new SharedArrayBuffer(x.nRows * x.nFeatures * Float64Array.BYTES_PER_ELEMENT);
      transpose(x, new Float64Array(columns, 0, x.nRows * x.nFeatures));
    }
    for (const w of threads) {
      const begin: FitWorkerRequest = {
        kind: "begin",
        data,
        nRows: x.nRows,
        nFeatures: x.nFeatures,
        shape,
        trees: share,
        columns,
      };
      w.postMessage(begin);
      send(w);
    }
  });
}

/** Writes a reply's trees into `trees` from `start` on; returns how many. */
function unpack(
  m: { start: number; lengths: Int32Array; packed: Float64Array },
  trees: IsolationTree[],
): number {
  const { packed } = m;
  let at = 0;
  m.lengths.forEach((length, k) => {
    const nodes = length / PACKED_TREE_ARRAYS.length;
    const tree = {} as IsolationTree;
    for (const key of PACKED_TREE_ARRAYS) {
      // Allocated at its length, then filled: pushing grows it over and over (4–7× slower).
      const values = new Array<number>(nodes);
      for (let i = 0; i < nodes; i++) values[i] = packed[at + i] as number;
      tree[key] = values;
      at += nodes;
    }
    trees[m.start + k] = tree;
  });
  return m.lengths.length;
}

/** The matrix's values in a `SharedArrayBuffer`: its own buffer if it is one, else a copy. */
function sharedMatrix(x: Matrix): SharedArrayBuffer {
  const { data } = x;
  if (data.buffer instanceof SharedArrayBuffer && data.byteOffset === 0) return data.buffer;
  const shared = new SharedArrayBuffer(x.nRows * x.nFeatures * Float64Array.BYTES_PER_ELEMENT);
  new Float64Array(shared).set(data.subarray(0, x.nRows * x.nFeatures));
  return shared;
}

function startWorker(): Worker {
  return startModuleWorker(import.meta.url, "fit-worker", { selfContained: true });
}
