import type { ModelFile, TrainOptions } from "../detector/index.js";
import { trainModel } from "../detector/index.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";

/** Fits a model on a sample; the learner awaits it. */
export type FitModel = (
  events: readonly NetworkEvent[],
  options: TrainOptions,
) => Promise<ModelFile>;

/**
 * Fits on the calling thread. For tests and the benchmark, which drive the
 * learner step by step; the server fits in a worker (`worker-fit.ts`).
 */
export const fitInProcess: FitModel = async (events, options) => trainModel(events, options);
