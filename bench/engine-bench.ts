import { compileForest, type ForestKernelKind } from "../detector/compiled-forest.js";
import { createTelemetryFeaturizer } from "../detector/features.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { createEngineFixture } from "./engine-fixture.js";
import { type SklearnInfo, type SklearnWorker, startSklearn } from "./sklearn-worker.js";
import { micros, type Rates, timePairs, timeRuns } from "./stats.js";

/** Pairs of runs (kernel, then scikit-learn) per repeat in the comparison. */
export const PAIRS_PER_REPEAT = 3;

/** Options of `runEngineBench`. */
export interface EngineBenchOptions {
  /** Timed runs per measurement (after one warm-up); default 7. */
  repeats?: number;
  /** Events scored per run; default 50,000. */
  scoreEvents?: number;
  /** Training events; default 20,000. */
  trainEvents?: number;
  /** Python with scikit-learn and threadpoolctl; skip scikit-learn when undefined. */
  python?: string;
}

/** scikit-learn's side of the comparison, timed by bench/sklearn-score.py. */
export interface SklearnResult extends SklearnInfo {
  /** Its runs, each taken right after a run of the WebAssembly kernel. */
  rowsPerSecond: Rates;
  /** WebAssembly kernel ÷ scikit-learn, pair by pair. */
  ratio: Rates;
  singleRowSeconds: number;
  command: string;
}

/** Results of the in-process engine benchmark; rates in events (rows) per second. */
export interface EngineResults {
  rows: number;
  nFeatures: number;
  nTrees: number;
  maxSamples: number;
  /** Forest only, on featurized rows, per kernel. */
  forest: Record<ForestKernelKind, Rates>;
  /** Featurization only (event → 26 doubles). */
  featurize: Rates;
  /** `detector.scoreBatch` in batches of 1,000 events: featurize + score. */
  detectorBatch: Rates;
  /** Microseconds per `forest.scoreRow` (featurized row), per kernel. */
  singleRowMicros: Record<ForestKernelKind, Rates>;
  /** Microseconds per `detector.score(event)`, featurization included. */
  singleEventMicros: Rates;
  /**
   * Microseconds per explained event, as unary `Score` answers: `fused` is
   * `detector.scoreAndExplain` (one walk of the trees), `separate` is
   * `score` then `explain` (two walks).
   */
  explainedEventMicros: { fused: Rates; separate: Rates };
  sklearn?: SklearnResult;
}

/**
 * Times the scoring engine in this process (one core): the forest on
 * featurized rows with each kernel, featurization alone, the detector end to
 * end, single-event latency, and scikit-learn's `score_samples` fitted on
 * the same training matrix and timed on the same rows.
 */
export async function runEngineBench(options: EngineBenchOptions = {}): Promise<EngineResults> {
  const repeats = options.repeats ?? 7;
  const fx = createEngineFixture({
    scoreEvents: options.scoreEvents,
    trainEvents: options.trainEvents,
  });
  const { rows, events, model, detector } = fx;
  const nf = rows.nFeatures;
  const out = new Float64Array(rows.nRows);

  const forest = {} as Record<ForestKernelKind, Rates>;
  const singleRowMicros = {} as Record<ForestKernelKind, Rates>;
  const row = new Float64Array(nf);
  const singles = Math.min(20_000, rows.nRows);
  let sink = 0;
  const sklearn: SklearnWorker | undefined = options.python
    ? await startSklearn(options.python, fx.train.data, rows.data, nf)
    : undefined;
  let sklearnResult: SklearnResult | undefined;
  try {
    for (const kernel of ["wasm", "js"] as const) {
      const compiled = compileForest(model.forest, { kernel });
      if (compiled.kernel !== kernel) throw new Error(`kernel ${kernel} unavailable`);
      const run = () => compiled.scoreRows(rows, out);
      if (kernel === "wasm" && sklearn) {
        // Taking turns, both sides meet the same spells of this shared machine.
        // A pair takes well under a second, so there are three per repeat.
        const pairs = PAIRS_PER_REPEAT * repeats;
        const paired = await timePairs(pairs, rows.nRows, run, () => sklearn.batch());
        forest[kernel] = paired.ours;
        sklearnResult = {
          ...sklearn.info,
          rowsPerSecond: paired.theirs,
          ratio: paired.ratio,
          singleRowSeconds: await sklearn.single(),
          command: sklearn.command,
        };
      } else {
        forest[kernel] = timeRuns(repeats, rows.nRows, run);
      }
      singleRowMicros[kernel] = micros(
        timeRuns(repeats, singles, () => {
          for (let r = 0; r < singles; r++) {
            for (let f = 0; f < nf; f++) row[f] = rows.data[r * nf + f] as number;
            sink += compiled.scoreRow(row);
          }
        }),
      );
    }
  } finally {
    await sklearn?.close();
  }

  if (model.featureSpec.kind !== "telemetry") throw new Error("not a telemetry model");
  const featurizer = createTelemetryFeaturizer(model.featureSpec);
  const scratch = new Float64Array(rows.nRows * nf);
  const featurize = timeRuns(repeats, events.length, () => {
    for (let i = 0; i < events.length; i++)
      featurizer.featurize(events[i] as NetworkEvent, scratch, i * nf);
  });

  const BATCH = 1000;
  const batches: NetworkEvent[][] = [];
  for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH));
  const batchOut = new Float64Array(BATCH);
  const detectorBatch = timeRuns(repeats, events.length, () => {
    for (const b of batches) detector.scoreBatch(b, batchOut);
  });
  const singleEventMicros = micros(
    timeRuns(repeats, singles, () => {
      for (let i = 0; i < singles; i++) sink += detector.score(events[i] as NetworkEvent);
    }),
  );
  const explainedEventMicros = {
    fused: micros(
      timeRuns(repeats, singles, () => {
        for (let i = 0; i < singles; i++)
          sink += detector.scoreAndExplain(events[i] as NetworkEvent, 5).score;
      }),
    ),
    separate: micros(
      timeRuns(repeats, singles, () => {
        for (let i = 0; i < singles; i++) {
          const event = events[i] as NetworkEvent;
          sink += detector.score(event) + detector.explain(event, 5).length;
        }
      }),
    ),
  };
  if (!(sink > 0)) throw new Error("scores vanished");

  const results: EngineResults = {
    rows: rows.nRows,
    nFeatures: nf,
    nTrees: model.forest.trees.length,
    maxSamples: model.forest.maxSamples,
    forest,
    featurize,
    detectorBatch,
    singleRowMicros,
    singleEventMicros,
    explainedEventMicros,
  };
  if (sklearnResult) results.sklearn = sklearnResult;
  return results;
}
