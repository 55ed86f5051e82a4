import { describe, expect, it } from "vitest";
import { averagePrecision } from "./average-precision.js";
import { evaluateScores } from "./evaluation.js";
import { labelValue } from "./labels.js";
import { rocAuc } from "./roc-auc.js";
import { metricsAtThreshold, nextUp, thresholdAtFpr } from "./threshold-metrics.js";

// scikit-learn's documentation example for roc_auc_score / average_precision_score.
const SK_SCORES = [0.1, 0.4, 0.35, 0.8];
const SK_LABELS = [0, 0, 1, 1];

describe("rocAuc()", () => {
  it("matches scikit-learn's documented example (0.75)", () => {
    expect(rocAuc(SK_SCORES, SK_LABELS)).toBe(0.75);
  });

  it("counts a tie between a positive and a negative as one half", () => {
    // Pairs (pos, neg): (0.5, 0.2) 1, (0.5, 0.5) ½, (0.9, 0.2) 1, (0.9, 0.5) 1 → 3.5 / 4.
    expect(rocAuc([0.2, 0.5, 0.5, 0.9], [0, 1, 0, 1])).toBe(0.875);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
  });

  it("is 1 for a perfect ranking and 0 for a reversed one", () => {
    expect(rocAuc([1, 2, 3, 4], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([4, 3, 2, 1], [0, 0, 1, 1])).toBe(0);
  });

  it("is null when a class is missing", () => {
    expect(rocAuc([1, 2], [1, 1])).toBeNull();
    expect(rocAuc([1, 2], [0, 0])).toBeNull();
  });
});

describe("averagePrecision()", () => {
  it("matches scikit-learn's documented example (0.8333…)", () => {
    // Thresholds 0.8: P 1, R ½; 0.4: P ½, R ½; 0.35: P ⅔, R 1 → ½ · 1 + ½ · ⅔.
    expect(averagePrecision(SK_SCORES, SK_LABELS)).toBeCloseTo(5 / 6, 15);
  });

  it("treats tied scores as one threshold", () => {
    // 0.9: P 1, R ½; {0.5, 0.5}: P ⅔, R 1 → ½ + ½ · ⅔.
    expect(averagePrecision([0.2, 0.5, 0.5, 0.9], [0, 1, 0, 1])).toBeCloseTo(5 / 6, 15);
    // One threshold holding everything: precision = base rate.
    expect(averagePrecision([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
  });

  it("is null without positives", () => {
    expect(averagePrecision([0.1, 0.2], [0, 0])).toBeNull();
  });
});

describe("metricsAtThreshold()", () => {
  it("flags scores at or above the threshold", () => {
    // Flagged: 0.4 (neg), 0.8 (pos); missed: 0.35 (pos).
    const m = metricsAtThreshold(SK_SCORES, SK_LABELS, 0.4);
    expect(m).toEqual({
      threshold: 0.4,
      truePositives: 1,
      falsePositives: 1,
      trueNegatives: 1,
      falseNegatives: 1,
      precision: 0.5,
      recall: 0.5,
      f1: 0.5,
      falsePositiveRate: 0.5,
    });
  });

  it("leaves precision undefined when nothing is flagged", () => {
    const m = metricsAtThreshold(SK_SCORES, SK_LABELS, 0.9);
    expect(m.precision).toBeNull();
    expect(m.recall).toBe(0);
    expect(m.f1).toBeNull();
  });
});

describe("thresholdAtFpr()", () => {
  it("allows ⌊target · negatives⌋ false positives", () => {
    const scores = Array.from({ length: 100 }, (_, i) => (i + 1) / 100);
    const labels = scores.map(() => 0);
    const t = thresholdAtFpr(scores, labels, 0.01) as number;
    expect(t).toBe(nextUp(0.99));
    expect(metricsAtThreshold(scores, labels, t).falsePositiveRate).toBe(0.01);
    expect(
      metricsAtThreshold(scores, labels, thresholdAtFpr(scores, labels, 0) as number)
        .falsePositives,
    ).toBe(0);
  });

  it("ignores positives and is null without negatives", () => {
    expect(thresholdAtFpr([0.9, 0.1], [1, 0], 0)).toBe(nextUp(0.1));
    expect(thresholdAtFpr([0.9], [1], 0.01)).toBeNull();
  });
});

describe("nextUp()", () => {
  it("returns the next representable double", () => {
    expect(nextUp(1)).toBe(1 + Number.EPSILON);
    expect(nextUp(0)).toBe(Number.MIN_VALUE);
    expect(nextUp(0.5) > 0.5).toBe(true);
  });
});

describe("labelValue()", () => {
  it.each([
    ["0", 0],
    ["0.0", 0],
    ["false", 0],
    ["FALSE", 0],
    ["normal", 0],
    [" Normal ", 0],
    ["", 0],
    [undefined, 0],
    ["1", 1],
    ["true", 1],
    ["attack", 1],
    ["neptune", 1],
  ])("reads %j as %i", (cell, expected) => {
    expect(labelValue(cell)).toBe(expected);
  });
});

describe("evaluateScores()", () => {
  it("reports recall per scenario at the model threshold and at the target FPR", () => {
    // 100 normals scored 0.01..1.00; scenario a scores 0.995, b scores 0.5.
    const normals = Array.from({ length: 100 }, (_, i) => (i + 1) / 100);
    const scores = Float64Array.from([...normals, 0.995, 0.995, 0.5, 0.5]);
    const labels = Uint8Array.from([...normals.map(() => 0), 1, 1, 1, 1]);
    const scenarios = [...normals.map(() => "normal"), "a", "a", "b", "b"];
    const r = evaluateScores(scores, labels, scenarios, 0.45, 0.01);
    expect(r).toMatchObject({
      rows: 104,
      positives: 4,
      flagged: 60,
      recall: 1,
      threshold_at_target_fpr: nextUp(0.99),
    });
    expect(r.recall_at_target_fpr).toBe(0.5);
    expect(r.per_scenario).toEqual({
      a: {
        rows: 2,
        positives: 2,
        recall: 1,
        recall_at_target_fpr: 1,
        false_positive_rate: null,
        false_positive_rate_at_target_fpr: null,
      },
      b: {
        rows: 2,
        positives: 2,
        recall: 1,
        recall_at_target_fpr: 0,
        false_positive_rate: null,
        false_positive_rate_at_target_fpr: null,
      },
      normal: {
        rows: 100,
        positives: 0,
        recall: null,
        recall_at_target_fpr: null,
        false_positive_rate: 0.56,
        false_positive_rate_at_target_fpr: 0.01,
      },
    });
  });

  it("reports only the flagged count without labels", () => {
    const r = evaluateScores(Float64Array.from([0.2, 0.7]), null, null, 0.6, 0.01);
    expect(r).toMatchObject({
      rows: 2,
      flagged: 1,
      roc_auc: null,
      pr_auc: null,
      per_scenario: null,
    });
  });
});
