import { parentPort } from "node:worker_threads";
import { createSeededGrower, type IsolationTree } from "./isolation-forest.js";
import { type FitWorkerReply, type FitWorkerRequest, TREE_ARRAYS } from "./parallel-fit.js";

// A worker thread of `parallel-fit.ts`: on "begin", builds a grower over the
// shared matrix (no copy); on "grow", grows the trees of the seeds it is sent
// and sends them back packed in one transferred buffer.
let grow: ((seed: number) => IsolationTree) | undefined;

parentPort?.on("message", (req: FitWorkerRequest) => {
  try {
    if (req.kind === "begin") {
      const data = new Float64Array(req.data, 0, req.nRows * req.nFeatures);
      grow = createSeededGrower(
        { data, nRows: req.nRows, nFeatures: req.nFeatures },
        req.shape,
        req.trees,
      );
      return;
    }
    if (grow === undefined) throw new Error("grow before begin");
    const trees = req.seeds.map(grow);
    const sizes = new Int32Array(trees.map((t) => t.feature.length));
    let total = 0;
    for (const n of sizes) total += n;
    const packed = new Float64Array(total * TREE_ARRAYS.length);
    let at = 0;
    for (const tree of trees) {
      for (const key of TREE_ARRAYS) {
        packed.set(tree[key], at);
        at += tree[key].length;
      }
    }
    const reply: FitWorkerReply = { start: req.start, sizes, packed };
    parentPort?.postMessage(reply, [sizes.buffer, packed.buffer]);
  } catch (e) {
    const reply: FitWorkerReply = { start: -1, error: e instanceof Error ? e.message : String(e) };
    parentPort?.postMessage(reply);
  }
});
