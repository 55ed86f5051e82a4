import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import type { ModelLineage } from "./model-file.js";

/** How much one feature pushed an event towards "anomalous". */
export interface Contribution {
  /** Feature name, as in `ModelInfo.features`. */
  feature: string;
  /**
   * Tree levels of isolation-path shortening that this feature's splits
   * account for, averaged over trees; positive = more anomalous. The
   * contributions of all features sum to (mean training path length −
   * the event's mean path length).
   */
  contribution: number;
  /** The feature's value for the event, after featurization. */
  value: number;
}

/** An event's score with its top contributions. */
export interface ExplainedScore {
  score: number;
  contributions: Contribution[];
}

/** What the model file says about how it was trained. */
export interface ModelInfo {
  /** Model file format version. */
  formatVersion: number;
  /** Content hash of the model (first 12 hex digits of its checksum). */
  version: string;
  nEstimators: number;
  maxSamples: number;
  maxDepth: number;
  seed: number;
  /** Calibration share in (0, 0.5], or `"auto"` for the paper's 0.5. */
  contamination: number | "auto";
  /** Threshold stored in the model, in score units. */
  threshold: number;
  trainingRows: number;
  /** Latest event timestamp in the training data, ms since epoch, or undefined. */
  dataEndTimeMs: number | undefined;
  /** Feature names in the order the forest sees them. */
  features: readonly string[];
  /**
   * Telemetry fields the model was trained with (NetworkEvent field names);
   * the others are ignored when scoring. Empty for table models (NSL-KDD).
   */
  fields: readonly string[];
  /** Where a model learned from the stream came from; undefined for trainer models. */
  lineage: ModelLineage | undefined;
}

/**
 * A loaded, immutable Isolation Forest with its feature pipeline and
 * threshold. Framework-free: no transport, no logging.
 *
 * Scores are `s(x) = 2^(−E[h(x)]/c(ψ))` in (0, 1], higher = more anomalous
 * (Liu, Ting & Zhou 2008). scikit-learn's `score_samples` is `−s(x)`.
 */
export interface Detector {
  readonly info: ModelInfo;
  /** Threshold verdicts are taken at (the model's, unless overridden). */
  readonly threshold: number;
  /** Scores one event. Never throws for an event that passed validation. */
  score(event: NetworkEvent): number;
  /**
   * Scores many events; `out[i]` receives the score of `events[i]`.
   * @param out at least `events.length` long.
   */
  scoreBatch(events: readonly NetworkEvent[], out: Float64Array): void;
  /** Per-feature contributions to the event's score, largest first. */
  explain(event: NetworkEvent, top?: number): Contribution[];
  /**
   * `score(event)` and `explain(event, top)` at once, from one walk of the
   * trees: the same score and contributions, for about half the work.
   */
  scoreAndExplain(event: NetworkEvent, top?: number): ExplainedScore;
  /** The same model with verdicts taken at another threshold in (0, 1]. */
  withThreshold(threshold: number): Detector;
}
