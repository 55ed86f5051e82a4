import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

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

/** Environment that pins every BLAS/OpenMP pool to one thread. */
export function singleThreadEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_NUM_THREADS: "1",
    OPENBLAS_NUM_THREADS: "1",
    MKL_NUM_THREADS: "1",
    VECLIB_MAXIMUM_THREADS: "1",
    NUMEXPR_NUM_THREADS: "1",
  };
  // Set on this machine for old OpenBLAS builds; they slow a current numpy
  // down (see the machine notes), so the comparison runs without them.
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
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
  // `timeout` ends the worker should this process die without closing it.
  const child = spawn("timeout", ["600", python, script, metaPath], {
    env: singleThreadEnv(),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async <T>(what: string): Promise<T> => {
    const line = await lines.next();
    if (line.done) {
      await exited;
      throw new Error(
        `sklearn-score.py ended before its ${what} (exit ${child.exitCode}): ${stderr}`,
      );
    }
    const parsed = JSON.parse(line.value) as T & { error?: string };
    if (parsed.error) throw new Error(`sklearn-score.py: ${parsed.error}`);
    return parsed;
  };
  const ask = <T>(command: string): Promise<T> => {
    child.stdin.write(`${command}\n`);
    return next<T>(command);
  };
  try {
    const info = await next<SklearnInfo>("fitted forest");
    return {
      info,
      command: `OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 ${python} bench/sklearn-score.py META.json`,
      async batch() {
        const r = await ask<{ rowsPerSecond: number; rowsPerCpuSecond: number }>("batch");
        return { wall: r.rowsPerSecond, cpu: r.rowsPerCpuSecond };
      },
      async single() {
        return (await ask<{ singleRowSeconds: number }>("single")).singleRowSeconds;
      },
      async close() {
        child.stdin.end();
        await exited;
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    child.kill();
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
