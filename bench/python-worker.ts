import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** A Python script answering one JSON line per request, started by {@link startPythonWorker}. */
export interface PythonWorker {
  /** The next JSON line; a line with `error`, or the script's end, throws naming `what`. */
  next<T>(what: string): Promise<T>;
  /** Writes `command` as one line and returns the answer's JSON. */
  ask<T>(command: string): Promise<T>;
  /** Ends its input and waits for it to exit. */
  close(): Promise<void>;
  /** Kills it and waits for it to exit. */
  kill(): Promise<void>;
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
 * Starts `python script metaPath` on one thread per pool; `timeout` ends it
 * after `timeoutS` should this process die without closing it.
 */
export function startPythonWorker(
  python: string,
  script: string,
  metaPath: string,
  timeoutS: number,
): PythonWorker {
  const name = script.split("/").pop() ?? script;
  const child = spawn("timeout", [String(timeoutS), python, script, metaPath], {
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
      throw new Error(`${name} ended before its ${what} (exit ${child.exitCode}): ${stderr}`);
    }
    const parsed = JSON.parse(line.value) as T & { error?: string };
    if (parsed.error) throw new Error(`${name}: ${parsed.error}`);
    return parsed;
  };
  return {
    next,
    ask<T>(command: string) {
      child.stdin.write(`${command}\n`);
      return next<T>(command);
    },
    async close() {
      child.stdin.end();
      await exited;
    },
    async kill() {
      child.kill();
      await exited;
    },
  };
}
