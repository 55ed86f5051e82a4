import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPythonWorker } from "./python-worker.js";

/** What bench/sklearn-score.py reports once it has fitted its forest. */
export interface SklearnInfo {
  rows: number;
  trainRows: number;
  sklearn: string;
  numpy: string;
  python: string;
  threadpools: unknown[];
}

/**
 * scikit-learn's IsolationForest, fitted and waiting in its own process for
 * the caller's turn: each call times one run there while this process waits.
 */
export interface SklearnWorker {
  readonly info: SklearnInfo;
  /** The command line, as the bench prints it. */
  readonly command: string;
  /** One timed `score_samples` on all the rows: rows per second, wall and CPU. */
  batch(): Promise<{ wall: number; cpu: number }>;
  /** Median seconds of `score_samples` on one row, over 200 calls. */
  single(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Starts bench/sklearn-score.py on the two row-major matrices and resolves
 * once its forest is fitted (100 trees, ψ 256, as the engine's).
 */
export async function startSklearn(
  python: string,
  train: Float64Array,
  rows: Float64Array,
  nFeatures: number,
): Promise<SklearnWorker> {
  const dir = await mkdtemp(join(tmpdir(), "netanomaly-bench-"));
  const trainPath = join(dir, "train.f64");
  const rowsPath = join(dir, "rows.f64");
  const metaPath = join(dir, "meta.json");
  await writeFile(trainPath, new Uint8Array(train.buffer, train.byteOffset, train.byteLength));
  await writeFile(rowsPath, new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength));
  await writeFile(
    metaPath,
    JSON.stringify({ trainPath, rowsPath, nFeatures, nEstimators: 100, maxSamples: 256 }),
  );
  const script = new URL("./sklearn-score.py", import.meta.url).pathname;
  const worker = startPythonWorker(python, script, metaPath, 600);
  try {
    const info = await worker.next<SklearnInfo>("fitted forest");
    return {
      info,
      command: `OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 ${python} bench/sklearn-score.py META.json`,
      async batch() {
        const r = await worker.ask<{ rowsPerSecond: number; rowsPerCpuSecond: number }>("batch");
        return { wall: r.rowsPerSecond, cpu: r.rowsPerCpuSecond };
      },
      async single() {
        return (await worker.ask<{ singleRowSeconds: number }>("single")).singleRowSeconds;
      },
      async close() {
        await worker.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await worker.kill();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
