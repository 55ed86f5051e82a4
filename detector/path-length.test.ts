import { describe, expect, it } from "vitest";
import { averagePathLength } from "./path-length.js";

describe("averagePathLength()", () => {
  it("is 0 for zero or one point and 1 for two", () => {
    expect(averagePathLength(0)).toBe(0);
    expect(averagePathLength(1)).toBe(0);
    expect(averagePathLength(2)).toBe(1);
  });

  it("matches the closed form 2H(n-1) - 2(n-1)/n", () => {
    // Closed-form values, as scikit-learn's _average_path_length gives them.
    // c(3) = 2(ln 2 + γ) − 4/3.
    expect(averagePathLength(3)).toBeCloseTo(1.2073924, 6);
    expect(averagePathLength(256)).toBeCloseTo(10.244770920116851, 10);
    const exactH = (m: number) =>
      Array.from({ length: m }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b, 0);
    // The ln + γ approximation of H(n−1) is within 1/(2(n−1)) of the exact sum.
    expect(Math.abs(averagePathLength(1000) - (2 * exactH(999) - (2 * 999) / 1000))).toBeLessThan(
      2 / 999,
    );
  });

  it("increases with n", () => {
    for (let n = 2; n < 2000; n++)
      expect(averagePathLength(n + 1)).toBeGreaterThan(averagePathLength(n));
  });
});
