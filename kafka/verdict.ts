import type { Contribution, Detector } from "../detector/index.js";

/** Where a record came from: with it, downstream can recognise a duplicate verdict. */
export interface InputPosition {
  topic: string;
  partition: number;
  /** The input record's offset, as a decimal string (int64 in the proto JSON mapping). */
  offset: string;
}

/**
 * One verdict record's value: the fields of `netanomaly.v1.ScoreResponse` in
 * its JSON mapping (score, verdict, threshold, modelVersion, contributions)
 * plus `input`, the position of the record it answers. Contributions are
 * filled for anomalies only, as in `StreamScore`.
 */
export interface VerdictRecord {
  input: InputPosition;
  score: number;
  verdict: "VERDICT_NORMAL" | "VERDICT_ANOMALOUS";
  threshold: number;
  modelVersion: string;
  contributions: { feature: string; contribution: number; value: number }[];
}

/** How many feature contributions an anomaly's verdict carries, largest first (as the server). */
export const TOP_CONTRIBUTIONS = 5;

/**
 * Builds the verdict for one scored event.
 *
 * @param explain called for anomalies only, to keep normal verdicts cheap.
 */
export function verdictRecord(
  input: InputPosition,
  score: number,
  detector: Detector,
  explain: () => Contribution[],
): VerdictRecord {
  const anomalous = score >= detector.threshold;
  return {
    input,
    score,
    verdict: anomalous ? "VERDICT_ANOMALOUS" : "VERDICT_NORMAL",
    threshold: detector.threshold,
    modelVersion: detector.info.version,
    contributions: anomalous
      ? explain().map((c) => ({ feature: c.feature, contribution: c.contribution, value: c.value }))
      : [],
  };
}

/** Headers of a dead-letter record: the original value is kept as it came, the reason goes here. */
export const DEAD_LETTER_HEADERS = {
  reason: "netanomaly-error",
  field: "netanomaly-error-field",
  input: "netanomaly-input",
} as const;

/** `topic/partition/offset`, the form the `netanomaly-input` header takes. */
export function positionText(p: InputPosition): string {
  return `${p.topic}/${p.partition}/${p.offset}`;
}
