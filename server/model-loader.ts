import { createRequire } from "node:module";
import { extname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { Detector } from "../detector/detector.js";
import { createDetector, ModelFileError } from "../detector/index.js";
import {
  DEFAULT_MAX_MODEL_BYTES,
  DEFAULT_MODEL_READ_TIMEOUT_MS,
  type ModelFile,
  readModelFile,
} from "../detector/model-file.js";
import type { LoadReply, LoadRequest } from "./model-load-worker.js";

/** Options for {@link loadModelOffThread}. */
export interface ModelLoadOptions {
  /** Largest model file, bytes; default 64 MiB (`--max-model-bytes`). */
  maxBytes?: number;
  /** Longest a load may take, ms; default 10 000. */
  timeoutMs?: number;
}

const WORKER = new URL(
  `./model-load-worker${extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
);

/**
 * URL of tsx's ESM API, found from this file (not the cwd, which may be
 * anywhere); `require.resolve` gives its CommonJS twin, the `.mjs` sits beside it.
 */
function tsxApi(): string {
  const cjs = createRequire(import.meta.url).resolve("tsx/esm/api");
  return pathToFileURL(cjs.replace(/\.cjs$/, ".mjs")).href;
}

/**
 * Loads a telemetry model without stalling the event loop (issue 23, item
 * 6): a worker thread reads (regular files only, bounded in size and time),
 * parses, checks the checksum and validates every field — the part whose
 * cost grows with the file — and hands the trees over as transferred typed
 * arrays. Only building the detector's lookup tables and compiling the
 * forest run here. A load that takes longer than `timeoutMs` is abandoned
 * (the worker is terminated) and rejected, so neither a reload nor
 * shutdown ever waits on it.
 *
 * @throws ModelFileError naming the file and the problem.
 */
export async function loadModelOffThread(
  path: string,
  options: ModelLoadOptions = {},
): Promise<Detector> {
  const request: LoadRequest = {
    path,
    maxBytes: options.maxBytes ?? DEFAULT_MAX_MODEL_BYTES,
    timeoutMs: options.timeoutMs ?? DEFAULT_MODEL_READ_TIMEOUT_MS,
  };
  // From TypeScript sources (tsx, vitest), Node 20 does not apply a loader
  // to a worker's entry module: the thread registers tsx itself first.
  const worker = WORKER.pathname.endsWith(".ts")
    ? new Worker(
        `import(${JSON.stringify(tsxApi())}).then(({ register }) => { register(); return import(${JSON.stringify(WORKER.href)}); })`,
        { eval: true, workerData: request },
      )
    : new Worker(WORKER, { workerData: request });
  worker.unref();
  let timer: NodeJS.Timeout | undefined;
  const reply = await new Promise<LoadReply>((resolve, reject) => {
    timer = setTimeout(() => {
      reject(
        new ModelFileError(
          `model file ${path}: loading it took longer than ${request.timeoutMs} ms`,
        ),
      );
    }, request.timeoutMs + 1_000);
    timer.unref();
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) =>
      reject(new Error(`model loader thread exited (${code}) without an answer`)),
    );
  }).finally(() => {
    clearTimeout(timer);
    void worker.terminate();
  });
  if (!reply.ok) {
    throw reply.modelFileError ? new ModelFileError(reply.message) : new Error(reply.message);
  }
  try {
    return createDetector(reply.model as ModelFile);
  } catch (e) {
    if (e instanceof ModelFileError) throw new ModelFileError(`model file ${path}: ${e.message}`);
    throw e;
  }
}

/**
 * Loads a model on this thread, with the same bounds: for start-up, when
 * nothing is being served yet and a thread would only add its start time.
 *
 * @throws ModelFileError naming the file and the problem.
 */
export async function loadModelHere(
  path: string,
  options: ModelLoadOptions = {},
): Promise<Detector> {
  const model = await readModelFile(path, {
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  try {
    return createDetector(model);
  } catch (e) {
    if (e instanceof ModelFileError) throw new ModelFileError(`model file ${path}: ${e.message}`);
    throw e;
  }
}
