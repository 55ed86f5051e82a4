import { averagePrecision } from "./average-precision.js";
import { rocAuc } from "./roc-auc.js";
import { metricsAtThreshold, type ThresholdMetrics, thresholdAtFpr } from "./threshold-metrics.js";

/** Detection quality of one scenario, at the model threshold and at the target FPR. */
export interface ScenarioReport {
  rows: number;
  positives: number;
  /** Share of this scenario's positives flagged at the model threshold; null without positives. */
  recall: number | null;
  /** The same at the threshold giving the target FPR on all negatives. */
  recall_at_target_fpr: number | null;
  /** Share of this scenario's negatives flagged at the model threshold; null without negatives. */
  false_positive_rate: number | null;
  false_positive_rate_at_target_fpr: number | null;
}

/**
 * What `npm run evaluate -- --json` prints. Label-dependent fields are null
 * when the data has no labels (or lacks one of the classes).
 */
export interface EvaluationReport {
  rows: number;
  /** Rows with score ≥ the model threshold. */
  flagged: number;
  threshold: number;
  positives: number | null;
  roc_auc: number | null;
  pr_auc: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  false_positive_rate: number | null;
  target_fpr: number;
  threshold_at_target_fpr: number | null;
  recall_at_target_fpr: number | null;
  per_scenario: Record<string, ScenarioReport> | null;
}

/**
 * Computes the evaluation report from scores and (optional) labels and
 * scenario names, one per row.
 *
 * @param labels 1/0 per row, or null when the data is unlabelled.
 * @param targetFpr false-positive rate on the negatives for the second threshold, e.g. 0.01.
 */
export function evaluateScores(
  scores: Float64Array,
  labels: Uint8Array | null,
  scenarios: readonly string[] | null,
  threshold: number,
  targetFpr: number,
): EvaluationReport {
  let flagged = 0;
  for (const s of scores) if (s >= threshold) flagged++;
  const base = { rows: scores.length, flagged, threshold, target_fpr: targetFpr };
  if (labels === null) {
    return {
      ...base,
      positives: null,
      roc_auc: null,
      pr_auc: null,
      precision: null,
      recall: null,
      f1: null,
      false_positive_rate: null,
      threshold_at_target_fpr: null,
      recall_at_target_fpr: null,
      per_scenario: null,
    };
  }
  const at = metricsAtThreshold(scores, labels, threshold);
  const fprThreshold = thresholdAtFpr(scores, labels, targetFpr);
  const atFpr: ThresholdMetrics | null =
    fprThreshold === null ? null : metricsAtThreshold(scores, labels, fprThreshold);
  return {
    ...base,
    positives: at.truePositives + at.falseNegatives,
    roc_auc: rocAuc(scores, labels),
    pr_auc: averagePrecision(scores, labels),
    precision: at.precision,
    recall: at.recall,
    f1: at.f1,
    false_positive_rate: at.falsePositiveRate,
    threshold_at_target_fpr: fprThreshold,
    recall_at_target_fpr: atFpr?.recall ?? null,
    per_scenario:
      scenarios === null ? null : perScenario(scores, labels, scenarios, threshold, fprThreshold),
  };
}

function perScenario(
  scores: Float64Array,
  labels: Uint8Array,
  scenarios: readonly string[],
  threshold: number,
  fprThreshold: number | null,
): Record<string, ScenarioReport> {
  const groups = new Map<string, number[]>();
  scenarios.forEach((name, i) => {
    const rows = groups.get(name) ?? [];
    rows.push(i);
    groups.set(name, rows);
  });
  const report: Record<string, ScenarioReport> = {};
  for (const name of [...groups.keys()].sort()) {
    const rows = groups.get(name) ?? [];
    const s = Float64Array.from(rows, (i) => scores[i] as number);
    const l = Uint8Array.from(rows, (i) => labels[i] as number);
    const at = metricsAtThreshold(s, l, threshold);
    const atFpr = fprThreshold === null ? null : metricsAtThreshold(s, l, fprThreshold);
    report[name] = {
      rows: rows.length,
      positives: at.truePositives + at.falseNegatives,
      recall: at.recall,
      recall_at_target_fpr: atFpr?.recall ?? null,
      false_positive_rate: at.falsePositiveRate,
      false_positive_rate_at_target_fpr: atFpr?.falsePositiveRate ?? null,
    };
  }
  return report;
}
