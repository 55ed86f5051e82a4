import type { Detector, ModelFile } from "../detector/index.js";
import { createTelemetryFeaturizer } from "../detector/index.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { psi } from "./psi.js";

/** Drift of recent traffic against a model's training sample. */
export interface DriftReport {
  /** PSI of the score distribution (the model's scores on both samples). */
  scorePsi: number;
  /** PSI per feature, in the model's feature order. */
  features: { feature: string; psi: number }[];
  /** The largest feature PSI and its feature. */
  maxFeaturePsi: number;
  worstFeature: string;
  /** Events in the reference (training) and recent samples compared. */
  referenceRows: number;
  recentRows: number;
}

/**
 * Compares recent traffic with the sample a model was trained on: PSI on
 * each feature (featurized by the model's own pipeline) and on the scores.
 *
 * @param model the model file, for its featurizer.
 * @param detector the same model, compiled, for its scores.
 */
export function measureDrift(
  model: ModelFile,
  detector: Detector,
  reference: readonly NetworkEvent[],
  recent: readonly NetworkEvent[],
): DriftReport {
  const spec = model.featureSpec;
  if (spec.kind !== "telemetry") throw new TypeError("drift needs a telemetry model");
  const featurizer = createTelemetryFeaturizer(spec);
  const nf = featurizer.nFeatures;
  const matrix = (events: readonly NetworkEvent[]) => {
    const m = new Float64Array(events.length * nf);
    events.forEach((e, i) => {
      featurizer.featurize(e, m, i * nf);
    });
    return m;
  };
  const ref = matrix(reference);
  const rec = matrix(recent);
  const column = (m: Float64Array, rows: number, f: number) => {
    const c = new Float64Array(rows);
    for (let i = 0; i < rows; i++) c[i] = m[i * nf + f] as number;
    return c;
  };
  const features = featurizer.names.map((feature, f) => ({
    feature,
    psi: psi(column(ref, reference.length, f), column(rec, recent.length, f)),
  }));
  const refScores = new Float64Array(reference.length);
  const recScores = new Float64Array(recent.length);
  if (reference.length > 0) detector.scoreBatch(reference, refScores);
  if (recent.length > 0) detector.scoreBatch(recent, recScores);
  let worst = features[0] ?? { feature: "", psi: 0 };
  for (const f of features) if (f.psi > worst.psi) worst = f;
  return {
    scorePsi: psi(refScores, recScores),
    features,
    maxFeaturePsi: worst.psi,
    worstFeature: worst.feature,
    referenceRows: reference.length,
    recentRows: recent.length,
  };
}
