import { describe, expect, it } from "vitest";
import { formatMeanSd, meanSd } from "./stats.js";

describe("meanSd()", () => {
  it("gives the mean and the sample standard deviation", () => {
    // Values 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, sd = √(32/7).
    const m = meanSd([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(m.mean).toBe(5);
    expect(m.sd).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(formatMeanSd(m, 2)).toBe("5.00 ± 2.14");
  });

  it("has sd 0 for one value", () => {
    expect(meanSd([0.9])).toMatchObject({ mean: 0.9, sd: 0 });
  });
});
