import { parentPort } from "node:worker_threads";
import { createSeededGrower, type SeededGrower } from "./isolation-forest.js";
import type { FitWorkerReply, FitWorkerRequest } from "./parallel-fit.js";

// A worker thread of `parallel-fit.ts`: on "begin", builds a grower over the
// shared matrix (no copy); on "grow", grows the trees of the seeds it is sent
// and sends them back packed, one after another, in one transferred buffer.
let grower: SeededGrower | undefined;

parentPort?.on("message", (req: FitWorkerRequest) => {
  try {
    if (req.kind === "begin") {
      const data = new Float64Array(req.data, 0, req.nRows * req.nFeatures);
      const x = { data, nRows: req.nRows, nFeatures: req.nFeatures };
      const columns = req.columns && new Float64Array(req.columns, 0, req.nRows * req.nFeatures);
      grower = createSeededGrower(x, req.shape, req.trees, columns);
      return;
    }
    if (grower === undefined) throw new Error("grow before begin");
    const trees = req.seeds.map((seed) => (grower as SeededGrower).growPacked(seed));
    const lengths = new Int32Array(trees.map((t) => t.length));
    let total = 0;
    for (const n of lengths) total += n;
    const packed = new Float64Array(total);
    let at = 0;
    for (const tree of trees) {
      packed.set(tree, at);
      at += tree.length;
    }
    const reply: FitWorkerReply = { start: req.start, lengths, packed };
    parentPort?.postMessage(reply, [lengths.buffer, packed.buffer]);
  } catch (e) {
    const reply: FitWorkerReply = { start: -1, error: e instanceof Error ? e.message : String(e) };
    parentPort?.postMessage(reply);
  }
});
