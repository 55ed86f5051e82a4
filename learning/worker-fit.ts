import { parseModel } from "../detector/index.js";
import { startModuleWorker } from "../detector/module-worker.js";
import type { FitModel } from "./fit.js";

/** A {@link FitModel} that trains in a `worker_threads` worker, and the means to stop it. */
export interface WorkerFit {
  fit: FitModel;
  /** Ends the worker; a fit in progress fails. */
  close(): Promise<void>;
}

/**
 * Starts one worker thread for retraining: the forest is grown there, never
 * on the event loop, so scoring latency does not move while a model is
 * fitted. Fits run one at a time. Under tsx the worker runs the `.ts` file
 * with tsx's loader; after `npm run build`, the `.js` beside this file.
 */
export function createWorkerFit(): WorkerFit {
  const worker = startModuleWorker(import.meta.url, "retrain-worker");
  let nextId = 1;
  const waiting = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  worker.on("message", (m: { id: number; text?: string; error?: string }) => {
    const w = waiting.get(m.id);
    if (w === undefined) return;
    waiting.delete(m.id);
    if (m.text !== undefined) w.resolve(m.text);
    else w.reject(new Error(`retrain failed: ${m.error}`));
  });
  const failAll = (e: Error) => {
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  worker.on("error", failAll);
  worker.on("exit", (code) => failAll(new Error(`retrain worker exited with code ${code}`)));
  return {
    async fit(events, options) {
      const id = nextId++;
      const text = await new Promise<string>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, events, options });
      });
      return parseModel(text);
    },
    async close() {
      await worker.terminate();
    },
  };
}
