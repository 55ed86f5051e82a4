import { describe, expect, it } from "vitest";
import { ksStatistic, psi, quantileEdges } from "./psi.js";

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

describe("psi()", () => {
  it("is zero for the same distribution and large for a shifted one", () => {
    const a = range(1000, (i) => i);
    expect(psi(a, a)).toBeCloseTo(0, 10);
    expect(
      psi(
        a,
        range(1000, (i) => i + 500),
      ),
    ).toBeGreaterThan(1);
  });

  it("sees a constant reference start to vary, without dividing by zero", () => {
    expect(quantileEdges([1, 1, 1, 1])).toEqual([1]);
    expect(Number.isFinite(psi([0, 0, 0], [0, 1, 1]))).toBe(true);
    expect(psi([0, 0, 0], [0, 1, 1])).toBeGreaterThan(1);
  });
});

describe("ksStatistic()", () => {
  it("is 0 for equal samples and 1 for disjoint ones", () => {
    const a = range(100, (i) => i);
    expect(ksStatistic(a, a)).toBe(0);
    expect(
      ksStatistic(
        a,
        range(100, (i) => i + 1000),
      ),
    ).toBe(1);
  });
});
