import { Counter, Gauge, type Registry } from "prom-client";
import { BatchHistogram } from "./batch-histogram.js";

/** What became of an alert, for `netanomaly_alerts_*_total`. */
export type AlertOutcome = "sent" | "failed" | "suppressed" | "deduplicated";

/** The service's own metrics: what it scored, rejected, flagged and alerted. */
export interface ProductMetrics {
  /**
   * One scored request or stream batch: `scores[0..n)` go into the score
   * histogram, `anomalies` of them were at or over the threshold.
   */
  scored(scores: ArrayLike<number>, n: number, anomalies: number): void;
  /** `n` events rejected for `reason` (the field that broke a rule); unknown reasons count as `other`. */
  rejected(reason: string, n?: number): void;
  /** A call refused by the rate limiter. */
  rateLimited(): void;
  /** The model now serving (its version is the info gauge's label; the old one's series goes). */
  model(version: string, threshold: number): void;
  /** A model reload that swapped (`ok`) or kept the old model (`rejected`). */
  reload(result: "ok" | "rejected"): void;
  /** `n` alerts with `outcome`; `output` (`webhook`, `syslog`, `file`) for sent and failed. */
  alert(outcome: AlertOutcome, output?: string, n?: number): void;
  /** A person's verdict on an alert (`benign`, `malicious`). */
  feedback(verdict: string): void;
  /** The suppression file was (re)read: `rules` now active, or `rejected` (old rules kept). */
  suppressions(result: "ok" | "rejected", rules: number): void;
}

/** Options for {@link createProductMetrics}. */
export interface ProductMetricsOptions {
  /**
   * Threshold the score histogram's buckets are laid around (the model's at
   * start); they stay fixed afterwards, so a reload never breaks a series.
   */
  threshold: number;
  /** Reasons `rejected` may use as labels; anything else is `other`. */
  reasons: readonly string[];
}

/** Offsets from the threshold of the score histogram's bucket bounds. */
const SCORE_OFFSETS = [-0.2, -0.1, -0.05, -0.02, -0.01, 0, 0.01, 0.02, 0.05, 0.1, 0.2];

/**
 * Bucket bounds of `netanomaly_score`: the threshold, points 0.01 to 0.2
 * either side, and 1 (scores are in (0, 1]), rounded to 4 places.
 */
export function scoreBuckets(threshold: number): number[] {
  const bounds = SCORE_OFFSETS.map((o) => Math.round((threshold + o) * 10_000) / 10_000).filter(
    (b) => b > 0 && b < 1,
  );
  return [...new Set([...bounds, 1])].sort((a, b) => a - b);
}

/**
 * Creates the product metrics in `registry` (all `netanomaly_*`). Gauges that
 * every worker reports alike (threshold, model info) aggregate with `max`
 * across `--workers`; counters and the histogram are summed. No label holds
 * an address, a path or other unbounded value: reasons are field names from
 * a fixed list, outputs and verdicts are fixed words, the model version is
 * the one model serving.
 */
export function createProductMetrics(
  registry: Registry,
  options: ProductMetricsOptions,
): ProductMetrics {
  const registers = [registry];
  const scoredTotal = new Counter({
    name: "netanomaly_events_scored_total",
    help: "Events scored (valid events, by Score and StreamScore).",
    registers,
  });
  const rejectedTotal = new Counter({
    name: "netanomaly_events_rejected_total",
    help: "Events (or whole batches) rejected without a score, by the field that broke a rule.",
    labelNames: ["reason"],
    registers,
  });
  const anomaliesTotal = new Counter({
    name: "netanomaly_anomalies_total",
    help: "Events scored at or over the threshold (suppressed ones included).",
    registers,
  });
  const histogram = new BatchHistogram(
    "netanomaly_score",
    "Anomaly scores in (0, 1], higher is more anomalous; buckets lie around the threshold.",
    scoreBuckets(options.threshold),
  ).register(registry);
  const threshold = new Gauge({
    name: "netanomaly_threshold",
    help: "Verdict threshold in use: a score at or over it is anomalous.",
    aggregator: "max",
    registers,
  });
  const info = new Gauge({
    name: "netanomaly_model_info",
    help: "The model serving, as a label; always 1.",
    labelNames: ["model_version"],
    aggregator: "max",
    registers,
  });
  const reloads = new Counter({
    name: "netanomaly_model_reloads_total",
    help: "Model reloads: ok (swapped in) or rejected (bad file, old model kept).",
    labelNames: ["result"],
    registers,
  });
  const rateLimited = new Counter({
    name: "netanomaly_rate_limited_total",
    help: "Calls (or stream batches) refused by the per-client rate limit.",
    registers,
  });
  const sent = new Counter({
    name: "netanomaly_alerts_sent_total",
    help: "Alerts delivered, by output.",
    labelNames: ["output"],
    registers,
  });
  const failed = new Counter({
    name: "netanomaly_alerts_failed_total",
    help: "Failed alert deliveries (each try that failed, and alerts dropped from a full queue), by output.",
    labelNames: ["output"],
    registers,
  });
  const suppressed = new Counter({
    name: "netanomaly_alerts_suppressed_total",
    help: "Anomalies a suppression rule matched: scored and counted, not alerted.",
    registers,
  });
  const deduplicated = new Counter({
    name: "netanomaly_alerts_deduplicated_total",
    help: "Anomalies folded into an earlier alert of the same pattern within the de-duplication window.",
    registers,
  });
  const feedback = new Counter({
    name: "netanomaly_feedback_total",
    help: "Verdicts people gave on alerts through the Feedback RPC.",
    labelNames: ["verdict"],
    registers,
  });
  const rules = new Gauge({
    name: "netanomaly_suppression_rules",
    help: "Suppression rules in force (not expired).",
    aggregator: "max",
    registers,
  });
  const ruleReloads = new Counter({
    name: "netanomaly_suppression_reloads_total",
    help: "Reads of the suppression file: ok, or rejected (old rules kept).",
    labelNames: ["result"],
    registers,
  });
  const reasons = new Set(options.reasons);
  const rejectedOf = new Map<string, Counter.Internal>();
  return {
    scored(scores, n, anomalies) {
      scoredTotal.inc(n);
      if (anomalies > 0) {
        anomaliesTotal.inc(anomalies);
      }
      histogram.observeBatch(scores, n);
    },
    rejected(reason, n = 1) {
      const label = reasons.has(reason) ? reason : "other";
      let c = rejectedOf.get(label);
      if (c === undefined) {
        c = rejectedTotal.labels({ reason: label });
        rejectedOf.set(label, c);
      }
      c.inc(n);
    },
    rateLimited: () => rateLimited.inc(),
    model(version, value) {
      threshold.set(value);
      info.reset();
      info.set({ model_version: version }, 1);
    },
    reload: (result) => reloads.inc({ result }),
    alert(outcome, output = "all", n = 1) {
      if (outcome === "sent") {
        sent.inc({ output }, n);
      } else if (outcome === "failed") {
        failed.inc({ output }, n);
      } else if (outcome === "suppressed") {
        suppressed.inc(n);
      } else {
        deduplicated.inc(n);
      }
    },
    feedback: (verdict) => feedback.inc({ verdict }),
    suppressions(result, count) {
      ruleReloads.inc({ result });
      if (result === "ok") {
        rules.set(count);
      }
    },
  };
}
