import { type NetworkEvent, NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { compileForest } from "./compiled-forest.js";
import { boostScore, TAIL_FEATURES, tailExcess, tailShares } from "./context-tails.js";
import type { Contribution, Detector, ExplainedScore, ModelInfo } from "./detector.js";
import { createTelemetryFeaturizer } from "./features.js";
import { type ModelFile, ModelFileError, modelVersion, readModelFile } from "./model-file.js";
import { averagePathLength } from "./path-length.js";

/**
 * Builds a detector from a validated telemetry model.
 *
 * @throws ModelFileError when the model is not a telemetry model (for example
 *   a model trained on an NSL-KDD table).
 */
export function createDetector(model: ModelFile): Detector {
  const spec = model.featureSpec;
  if (spec.kind !== "telemetry") {
    throw new ModelFileError(
      `model was trained on ${spec.format} tables; scoring network events needs a telemetry model`,
    );
  }
  const featurizer = createTelemetryFeaturizer(spec);
  const forest = compileForest(model.forest);
  const nf = featurizer.nFeatures;
  const row = new Float64Array(nf);
  let batch = new Float64Array(nf * 64);
  const explainValues = new Float64Array(nf);
  const explainContributions = new Float64Array(nf);
  const explainBest = new Int32Array(nf);
  const tailStats = spec.tails;
  const tailRow = new Float64Array(TAIL_FEATURES.length);
  const tailShare = new Float64Array(TAIL_FEATURES.length);
  // A score's worth in tree levels: s = 2^(−E[h]/c(ψ)), so raising s to s'
  // shortens the mean path by c(ψ)·log2(s'/s).
  const levelsPerBit = averagePathLength(model.forest.maxSamples);
  /** The forest's score raised by the event's context tail, if it has one beyond training. */
  const withTail = (event: NetworkEvent, features: Float64Array, offset: number, score: number) => {
    if (tailStats === undefined) return { score, index: -1, levels: 0 };
    featurizer.tails(event, features, offset, tailRow);
    const { excess, index } = tailExcess(tailRow, tailStats);
    const boosted = boostScore(score, excess);
    if (boosted === score) return { score, index: -1, levels: 0 };
    return { score: boosted, index, levels: levelsPerBit * Math.log2(boosted / score) };
  };
  const info: ModelInfo = {
    formatVersion: model.formatVersion,
    version: modelVersion(model),
    nEstimators: model.forest.trees.length,
    maxSamples: model.forest.maxSamples,
    maxDepth: model.forest.maxDepth,
    seed: model.params.seed,
    contamination: model.params.contamination,
    threshold: model.threshold,
    trainingRows: model.training.rows,
    dataEndTimeMs:
      model.training.dataEndTime === null ? undefined : Date.parse(model.training.dataEndTime),
    features: featurizer.names,
    fields: spec.fields ?? NetworkEventSchema.fields.map((f) => f.name),
    lineage: model.lineage,
  };

  /** The `top` largest of `explainContributions`, largest first. */
  const topContributions = (top: number): Contribution[] => {
    // One pass keeping the k best so far in order (k is small: 5 on the
    // wire, of nf = 26): most features lose one comparison with the k-th.
    // Equal contributions keep feature order, as a stable sort would.
    const k = Math.max(0, Math.min(top, nf));
    const best = explainBest;
    const value = explainContributions;
    let n = 0;
    for (let f = 0; f < nf; f++) {
      const c = value[f] as number;
      if (n === k && !(c > (value[best[k - 1] as number] as number))) continue;
      let at = n < k ? n++ : k - 1;
      for (; at > 0 && c > (value[best[at - 1] as number] as number); at--) {
        best[at] = best[at - 1] as number;
      }
      best[at] = f;
    }
    const result: Contribution[] = [];
    for (let i = 0; i < n; i++) {
      const f = best[i] as number;
      result.push({
        feature: featurizer.names[f] as string,
        contribution: value[f] as number,
        value: explainValues[f] as number,
      });
    }
    return result;
  };

  /**
   * Credits the tail's path shortening to the measures past their training
   * maxima, in proportion to how far past: added to the forest's
   * contribution of the same feature (the volume z-scores), or as a
   * contribution of its own (`parent_given_process`, `dest_lookalike`, …),
   * so the contributions still sum to the event's path shortening in levels.
   */
  const withTailContribution = (
    forestTop: Contribution[],
    levels: number,
    top: number,
  ): Contribution[] => {
    if (tailStats === undefined) return forestTop;
    tailShares(tailRow, tailStats, tailShare);
    const all = new Map(forestTop.map((c) => [c.feature, { ...c }]));
    TAIL_FEATURES.forEach((name, j) => {
      const share = tailShare[j] as number;
      if (share <= 0) return;
      const f = featurizer.names.indexOf(name);
      const c = all.get(name) ?? {
        feature: name,
        contribution: f >= 0 ? (explainContributions[f] as number) : 0,
        value: tailRow[j] as number,
      };
      c.contribution += share * levels;
      all.set(name, c);
    });
    return [...all.values()].sort((a, b) => b.contribution - a.contribution).slice(0, top);
  };

  const scoreAndExplain = (event: NetworkEvent, top = 5): ExplainedScore => {
    featurizer.featurize(event, explainValues);
    explainContributions.fill(0);
    const forestScore = forest.scoreAndAttributeRow(explainValues, explainContributions);
    const tail = withTail(event, explainValues, 0, forestScore);
    const contributions = topContributions(top);
    if (tail.index < 0) return { score: tail.score, contributions };
    return {
      score: tail.score,
      contributions: withTailContribution(contributions, tail.levels, top),
    };
  };

  const make = (threshold: number): Detector => ({
    info,
    threshold,
    score(event: NetworkEvent): number {
      featurizer.featurize(event, row);
      return withTail(event, row, 0, forest.scoreRow(row)).score;
    },
    scoreBatch(events: readonly NetworkEvent[], out: Float64Array): void {
      if (batch.length < events.length * nf) batch = new Float64Array(events.length * nf * 2);
      for (let i = 0; i < events.length; i++)
        featurizer.featurize(events[i] as NetworkEvent, batch, i * nf);
      forest.scoreRows({ data: batch, nRows: events.length, nFeatures: nf }, out);
      if (tailStats === undefined) return;
      for (let i = 0; i < events.length; i++)
        out[i] = withTail(events[i] as NetworkEvent, batch, i * nf, out[i] as number).score;
    },
    explain(event: NetworkEvent, top = 5): Contribution[] {
      return scoreAndExplain(event, top).contributions;
    },
    scoreAndExplain,
    withThreshold(t: number): Detector {
      if (!(t > 0 && t <= 1)) throw new RangeError(`threshold must be in (0, 1], got ${t}`);
      return make(t);
    },
  });
  return make(model.threshold);
}

/**
 * Reads, validates and compiles a telemetry model file.
 *
 * @throws ModelFileError naming the file and the problem.
 */
export async function loadModel(path: string): Promise<Detector> {
  const model = await readModelFile(path);
  try {
    return createDetector(model);
  } catch (e) {
    if (e instanceof ModelFileError) throw new ModelFileError(`model file ${path}: ${e.message}`);
    throw e;
  }
}
