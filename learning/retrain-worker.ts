import { parentPort } from "node:worker_threads";
import {
  serializeModel,
  type TrainOptions,
  trainModel,
  trainModelInWorkers,
} from "../detector/index.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";

/** A fit request from `worker-fit.ts`. */
interface FitRequest {
  id: number;
  events: NetworkEvent[];
  options: TrainOptions;
}

// The worker thread of `worker-fit.ts`: trains off the event loop (with
// `options.fitWorkers`, in that many more worker threads) and sends the
// model back as its file text (the main thread validates it on parse).
parentPort?.on("message", async (req: FitRequest) => {
  try {
    const model =
      req.options.fitWorkers === undefined
        ? trainModel(req.events, req.options)
        : await trainModelInWorkers(req.events, req.options);
    parentPort?.postMessage({ id: req.id, text: serializeModel(model) });
  } catch (e) {
    parentPort?.postMessage({ id: req.id, error: e instanceof Error ? e.message : String(e) });
  }
});
