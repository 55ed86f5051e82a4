import { availableParallelism } from "node:os";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { compileForest } from "./compiled-forest.js";
import { fitTailStats, TAIL_FEATURES } from "./context-tails.js";
import { createTelemetryFeaturizer, fitTelemetryFeatures } from "./features.js";
import { type FitOptions, type Forest, fitForest, type Matrix } from "./isolation-forest.js";
import {
  type FeatureSpec,
  type ModelFile,
  type ModelLineage,
  type ModelParams,
  sealModel,
} from "./model-file.js";
import { fitForestInWorkers } from "./parallel-fit.js";
import { createRandom } from "./random.js";
import { calibrateThreshold } from "./threshold.js";

/** Training parameters; scikit-learn's names and defaults where they exist. */
export interface TrainOptions {
  /** Number of trees; default 100. */
  nEstimators?: number;
  /** Sub-sample size per tree; default 256 (clamped to the number of rows). */
  maxSamples?: number;
  /** Seed of the forest's random generator; default 42. */
  seed?: number;
  /**
   * Share of training rows expected to be anomalous, in (0, 0.5]: the
   * threshold is set so that this share of training rows is flagged. On
   * normal-only training data it is the target false-positive rate. `"auto"`
   * uses the paper's fixed 0.5. Default 0.01.
   */
  contamination?: number | "auto";
  /** Rows the caller read, when `events` is a sample of them; default events.length. */
  totalRows?: number;
  /**
   * Latest event time in the whole input, ms since the epoch, when `events`
   * is a sample of it; default the latest time among `events`.
   */
  dataEndTimeMs?: number;
  /** Lineage of a model learned from the stream, written into the file. */
  lineage?: ModelLineage;
  /**
   * Grow the forest in this many worker threads (per-tree seeding, recorded
   * in the model's params: the forest does not depend on the number). Only
   * `trainModelInWorkers` reads it; default: one stream, on the calling thread.
   */
  fitWorkers?: number;
}

/** Defaults merged in one place. */
export function resolveParams(options: TrainOptions): ModelParams {
  const params: ModelParams = {
    nEstimators: options.nEstimators ?? 100,
    maxSamples: options.maxSamples ?? 256,
    seed: options.seed ?? 42,
    contamination: options.contamination ?? 0.01,
    ...(options.fitWorkers === undefined ? {} : { seeding: "per-tree" as const }),
  };
  if (
    !Number.isInteger(params.nEstimators) ||
    params.nEstimators < 1 ||
    params.nEstimators > 10_000
  ) {
    throw new RangeError(`trees must be an integer in [1, 10000], got ${params.nEstimators}`);
  }
  if (!Number.isInteger(params.maxSamples) || params.maxSamples < 2 || params.maxSamples > 65_536) {
    throw new RangeError(`sample size must be an integer in [2, 65536], got ${params.maxSamples}`);
  }
  if (!Number.isSafeInteger(params.seed) || params.seed < 0) {
    throw new RangeError(`seed must be a non-negative integer, got ${params.seed}`);
  }
  const c = params.contamination;
  if (c !== "auto" && !(c > 0 && c <= 0.5)) {
    throw new RangeError(`contamination must be in (0, 0.5] or "auto", got ${c}`);
  }
  return params;
}

/**
 * Trains a telemetry model: fits the feature spec (count tables, volume
 * baselines) on the events, featurizes them, grows the forest and
 * calibrates the threshold on the training scores.
 *
 * @param events training events (for a large file, a uniform sample of it).
 * @returns a sealed model file; same events and seed give the same bytes.
 */
export function trainModel(events: readonly NetworkEvent[], options: TrainOptions = {}): ModelFile {
  if (options.fitWorkers !== undefined)
    throw new RangeError("fitWorkers needs trainModelInWorkers (it is asynchronous)");
  const t = featurizeTraining(events, options);
  return trainOnMatrix(t.x, t.spec, t.params, t.training);
}

/**
 * `trainModel`, with the forest grown in `options.fitWorkers` worker
 * threads (default one per core): the same model, byte for byte, whatever
 * the number of workers; not the same forest as `trainModel`'s one stream.
 */
export async function trainModelInWorkers(
  events: readonly NetworkEvent[],
  options: TrainOptions = {},
): Promise<ModelFile> {
  const workers = options.fitWorkers ?? availableParallelism();
  const t = featurizeTraining(events, { ...options, fitWorkers: workers });
  return trainOnMatrixInWorkers(t.x, t.spec, t.params, t.training, workers);
}

/** The training matrix, feature spec, checked params and summary of `trainModel`. */
function featurizeTraining(events: readonly NetworkEvent[], options: TrainOptions) {
  const params = resolveParams(options);
  if (events.length < 2)
    throw new RangeError(`need at least 2 events to train, got ${events.length}`);
  const spec = fitTelemetryFeatures(events);
  const featurizer = createTelemetryFeaturizer(spec);
  const nf = featurizer.nFeatures;
  const data = new Float64Array(events.length * nf);
  let endMs = Number.NEGATIVE_INFINITY;
  events.forEach((e, i) => {
    featurizer.featurize(e, data, i * nf);
    if (e.timestamp)
      endMs = Math.max(
        endMs,
        Number(e.timestamp.seconds) * 1000 + Math.floor(e.timestamp.nanos / 1e6),
      );
  });
  if (options.dataEndTimeMs !== undefined) endMs = Math.max(endMs, options.dataEndTimeMs);
  const k = TAIL_FEATURES.length;
  const tails = new Float64Array(events.length * k);
  const one = new Float64Array(k);
  events.forEach((e, i) => {
    featurizer.tails(e, data, i * nf, one);
    tails.set(one, i * k);
  });
  spec.tails = fitTailStats(tails, events.length);
  const x: Matrix = { data, nRows: events.length, nFeatures: nf };
  const training: TrainingSummary = {
    rows: options.totalRows ?? events.length,
    dataEndTime: Number.isFinite(endMs) ? new Date(endMs).toISOString() : null,
    ...(options.lineage === undefined ? {} : { lineage: options.lineage }),
  };
  return { x, spec, params, training };
}

/** What the model file says about its training data, and its lineage. */
export interface TrainingSummary {
  rows: number;
  dataEndTime: string | null;
  lineage?: ModelLineage;
}

/**
 * Grows the forest on an already featurized matrix and seals the model; the
 * shared last step of every trainer (telemetry or tables). On the calling
 * thread, per-tree seeding if `params.seeding` says so.
 */
export function trainOnMatrix(
  x: Matrix,
  featureSpec: FeatureSpec,
  params: ModelParams,
  training: TrainingSummary,
): ModelFile {
  const forest = fitForest(x, createRandom(params.seed), forestOptions(params));
  return sealForest(x, forest, featureSpec, params, training);
}

/**
 * `trainOnMatrix` with the forest grown in `workers` worker threads; the
 * params record per-tree seeding, so `trainOnMatrix` on them regrows the
 * same forest on one thread.
 */
export async function trainOnMatrixInWorkers(
  x: Matrix,
  featureSpec: FeatureSpec,
  params: ModelParams,
  training: TrainingSummary,
  workers: number,
): Promise<ModelFile> {
  const perTree: ModelParams = { ...params, seeding: "per-tree" };
  const forest = await fitForestInWorkers(x, createRandom(params.seed), {
    ...forestOptions(perTree),
    workers,
  });
  return sealForest(x, forest, featureSpec, perTree, training);
}

function forestOptions(params: ModelParams): FitOptions {
  return {
    nEstimators: params.nEstimators,
    maxSamples: params.maxSamples,
    ...(params.seeding === undefined ? {} : { seeding: params.seeding }),
  };
}

/** Scores the training rows, calibrates the threshold and seals the model. */
function sealForest(
  x: Matrix,
  forest: Forest,
  featureSpec: FeatureSpec,
  params: ModelParams,
  training: TrainingSummary,
): ModelFile {
  const scores = new Float64Array(x.nRows);
  compileForest(forest).scoreRows(x, scores);
  return sealModel({
    params,
    training: { rows: training.rows, sampledRows: x.nRows, dataEndTime: training.dataEndTime },
    threshold: calibrateThreshold(scores, params.contamination),
    featureSpec,
    ...(training.lineage === undefined ? {} : { lineage: training.lineage }),
    forest,
  });
}
