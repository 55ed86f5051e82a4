import { createDetector } from "../detector/create-detector.js";
import type { Detector } from "../detector/detector.js";
import { createTelemetryFeaturizer } from "../detector/features.js";
import type { Matrix } from "../detector/isolation-forest.js";
import type { ModelFile } from "../detector/model-file.js";
import { trainModel } from "../detector/train.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { createSimulator } from "../telemetry/simulator.js";

/** Sizes of the engine benchmark's data. */
export interface EngineFixtureOptions {
  /** Simulator events the model is trained on; default 20,000. */
  trainEvents?: number;
  /** Events scored in the timed runs; default 50,000. */
  scoreEvents?: number;
  /** Trees; default 100. */
  nEstimators?: number;
  /** Sub-sample size ψ; default 256. */
  maxSamples?: number;
}

/** A trained telemetry model with the matrices it was trained on and is scored on. */
export interface EngineFixture {
  model: ModelFile;
  detector: Detector;
  /** The featurized training events (what the forest was grown on). */
  train: Matrix;
  /** Held-out simulator traffic (seed 2, 1% attacks), as events and featurized. */
  events: NetworkEvent[];
  rows: Matrix;
}

/** Simulator events: `n` from `seed`, with `anomalyRate` of attacks. */
export function simulatorEvents(n: number, seed: number, anomalyRate: number): NetworkEvent[] {
  const sim = createSimulator({ seed, anomalyRate });
  const events: NetworkEvent[] = [];
  for (let i = 0; i < n; i++) events.push(sim.next().event);
  return events;
}

/** Featurizes events with the model's spec into a row-major matrix. */
export function featurizeAll(model: ModelFile, events: readonly NetworkEvent[]): Matrix {
  if (model.featureSpec.kind !== "telemetry") throw new Error("not a telemetry model");
  const f = createTelemetryFeaturizer(model.featureSpec);
  const data = new Float64Array(events.length * f.nFeatures);
  for (let i = 0; i < events.length; i++)
    f.featurize(events[i] as NetworkEvent, data, i * f.nFeatures);
  return { data, nRows: events.length, nFeatures: f.nFeatures };
}

/**
 * Trains a model on normal simulator traffic (seed 1) and featurizes held-out
 * traffic (seed 2, 1% attacks): the telemetry feature vector the server scores.
 */
export function createEngineFixture(options: EngineFixtureOptions = {}): EngineFixture {
  const trainEvents = simulatorEvents(options.trainEvents ?? 20_000, 1, 0);
  const model = trainModel(trainEvents, {
    nEstimators: options.nEstimators ?? 100,
    maxSamples: options.maxSamples ?? 256,
    seed: 42,
  });
  const events = simulatorEvents(options.scoreEvents ?? 50_000, 2, 0.01);
  return {
    model,
    detector: createDetector(model),
    train: featurizeAll(model, trainEvents),
    events,
    rows: featurizeAll(model, events),
  };
}
