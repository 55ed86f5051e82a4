import { describe, expect, it } from "vitest";
import { calibrateThreshold } from "./threshold.js";

describe("calibrateThreshold()", () => {
  it("is the paper's 0.5 for auto", () => {
    expect(calibrateThreshold(new Float64Array([0.1, 0.9]), "auto")).toBe(0.5);
  });

  it("flags the contamination share of the training scores", () => {
    const scores = Float64Array.from({ length: 1000 }, (_, i) => (i + 1) / 1000);
    const t = calibrateThreshold(scores, 0.05);
    expect(scores.filter((s) => s >= t).length).toBe(50);
  });

  it("interpolates like numpy's percentile", () => {
    // np.percentile([1,2,3,4], 75) == 3.25
    expect(calibrateThreshold(new Float64Array([4, 1, 3, 2]), 0.25)).toBe(3.25);
  });

  it("rejects contamination outside (0, 0.5]", () => {
    expect(() => calibrateThreshold(new Float64Array([0.5]), 0)).toThrow(
      'contamination must be in (0, 0.5] or "auto", got 0',
    );
    expect(() => calibrateThreshold(new Float64Array([0.5]), 0.6)).toThrow(/got 0.6/);
  });
});
