import { parentPort } from "node:worker_threads";
import { serializeModel, type TrainOptions, trainModel } from "../detector/index.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";

/** A fit request from `worker-fit.ts`. */
interface FitRequest {
  id: number;
  events: NetworkEvent[];
  options: TrainOptions;
}

// The worker thread of `worker-fit.ts`: trains off the event loop and sends
// the model back as its file text (the main thread validates it on parse).
parentPort?.on("message", (req: FitRequest) => {
  try {
    const text = serializeModel(trainModel(req.events, req.options));
    parentPort?.postMessage({ id: req.id, text });
  } catch (e) {
    parentPort?.postMessage({ id: req.id, error: e instanceof Error ? e.message : String(e) });
  }
});
