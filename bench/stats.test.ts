import { describe, expect, it } from "vitest";
import { renderTable, verdict } from "./report.js";
import { micros, si, summarize, timePairs } from "./stats.js";

describe("summarize()", () => {
  it("gives the median of odd and even run counts with min and max", () => {
    expect(summarize([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, runs: [3, 1, 2] });
    expect(summarize([4, 1, 3, 2]).median).toBe(2.5);
    expect(() => summarize([])).toThrow(/no runs/);
  });

  it("turns rates into microseconds per item run by run", () => {
    const r = { wall: summarize([1e6, 5e5]), cpu: summarize([2e6]) };
    expect(micros(r).wall.runs).toEqual([1, 2]);
    expect(micros(r).cpu.median).toBe(0.5);
  });
});

describe("report", () => {
  it("formats with k/M suffixes and checks goals against the median", () => {
    expect(si(638_123)).toBe("638k");
    expect(si(1_150_000)).toBe("1.15M");
    expect(verdict(500_000, "min", 500_000)).toBe("ok");
    expect(verdict(5.01, "max", 5)).toBe("MISS");
    expect(verdict(Number.NaN, "max", 5)).toBe("MISS");
  });

  it("renders an aligned Markdown table", () => {
    const table = renderTable([{ id: "a", what: "x", value: "1", goal: "≥ 1", verdict: "ok" }]);
    expect(table.split("\n")).toHaveLength(3);
    expect(table).toContain("| 1 | x           | 1                | ≥ 1  | ok |");
  });
});

describe("timePairs()", () => {
  it("takes turns with the other side and divides each pair of runs", async () => {
    const order: string[] = [];
    let spin = 0;
    const theirRates = [100, 200, 400, 800];
    const paired = await timePairs(
      3,
      1000,
      () => {
        order.push("ours");
        for (let i = 0; i < 1e5; i++) spin += i;
      },
      async () => {
        order.push("theirs");
        const r = theirRates.shift() as number;
        return { wall: r, cpu: r / 2 };
      },
    );
    expect(spin).toBeGreaterThan(0);
    // One warm-up each, then strict turns.
    expect(order).toEqual(["ours", "theirs", "ours", "theirs", "ours", "theirs", "ours", "theirs"]);
    // The warm-up's 100 is not counted.
    expect(paired.theirs.wall.runs).toEqual([200, 400, 800]);
    expect(paired.theirs.cpu.runs).toEqual([100, 200, 400]);
    const expected = paired.ours.wall.runs.map((x, i) => x / ([200, 400, 800][i] as number));
    paired.ratio.wall.runs.forEach((r, i) => {
      expect(r).toBeCloseTo(expected[i] as number, 9);
    });
  });
});
