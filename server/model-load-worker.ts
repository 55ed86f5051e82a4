/**
 * Worker-thread entry of `model-loader.ts`: reads, parses and validates one
 * model file off the server's event loop, then posts the model back with
 * every tree's arrays as typed arrays whose buffers are transferred, not
 * copied, so the main thread receives it cheaply.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { ModelFile } from "../detector/model-file.js";
import { ModelFileError, readModelFile } from "../detector/model-file.js";

/** What the loader sends: where, and the read bounds. */
export interface LoadRequest {
  path: string;
  maxBytes: number;
  timeoutMs: number;
}

/** What the worker answers. */
export type LoadReply =
  | { ok: true; model: ModelFile }
  | { ok: false; message: string; modelFileError: boolean };

const request = workerData as LoadRequest;
try {
  const model = await readModelFile(request.path, {
    maxBytes: request.maxBytes,
    timeoutMs: request.timeoutMs,
  });
  const transfer: ArrayBuffer[] = [];
  const typed = <T extends Float64Array | Int32Array>(array: T): T => {
    transfer.push(array.buffer as ArrayBuffer);
    return array;
  };
  const trees = model.forest.trees.map((t) => ({
    feature: typed(Int32Array.from(t.feature)),
    threshold: typed(Float64Array.from(t.threshold)),
    right: typed(Int32Array.from(t.right)),
    size: typed(Int32Array.from(t.size)),
    low: typed(Float64Array.from(t.low)),
    high: typed(Float64Array.from(t.high)),
  }));
  const reply = {
    ok: true,
    model: { ...model, forest: { ...model.forest, trees } },
  } as unknown as LoadReply;
  parentPort?.postMessage(reply, transfer);
} catch (e) {
  const reply: LoadReply = {
    ok: false,
    message: e instanceof Error ? e.message : String(e),
    modelFileError: e instanceof ModelFileError,
  };
  parentPort?.postMessage(reply);
}
