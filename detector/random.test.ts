import { describe, expect, it } from "vitest";
import { createRandom } from "./random.js";

describe("createRandom()", () => {
  it("repeats the same stream for the same seed", () => {
    const a = createRandom(42);
    const b = createRandom(42);
    for (let i = 0; i < 1000; i++) expect(a.next()).toBe(b.next());
  });

  it("gives different streams for different seeds", () => {
    const a = createRandom(1);
    const b = createRandom(2);
    const same = Array.from({ length: 100 }, () => a.next() === b.next()).filter(Boolean).length;
    expect(same).toBeLessThan(3);
  });

  it("draws uniformly in [0, 1) and int(n) in [0, n)", () => {
    const r = createRandom(9);
    const buckets = new Array(10).fill(0);
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const v = r.next();
      if (v < 0 || v >= 1) outside++;
      else buckets[Math.floor(v * 10)]++;
    }
    expect(outside).toBe(0);
    for (const b of buckets) expect(Math.abs(b - 10_000)).toBeLessThan(500);
    for (let i = 0; i < 1000; i++) expect(r.int(7)).toBeLessThan(7);
  });

  it("rejects a negative or fractional seed", () => {
    expect(() => createRandom(-1)).toThrow(/seed must be an integer/);
    expect(() => createRandom(1.5)).toThrow(/seed must be an integer/);
  });
});
