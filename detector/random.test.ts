import { describe, expect, it } from "vitest";
import { createRandom, createReseedableRandom } from "./random.js";

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

describe("createReseedableRandom()", () => {
  it("gives, after each reseed, the stream createRandom gives from that seed", () => {
    const r = createReseedableRandom(7);
    for (const seed of [7, 0, 1, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER, 7]) {
      r.reseed(seed);
      const expected = createRandom(seed);
      for (let i = 0; i < 50; i++) {
        expect(r.next()).toBe(expected.next());
        expect(r.int(1000)).toBe(expected.int(1000));
      }
    }
  });

  it("rejects a bad seed like createRandom", () => {
    expect(() => createReseedableRandom(-1)).toThrow(
      /seed must be an integer in \[0, 2\^53\), got -1/,
    );
    expect(() => createReseedableRandom(0).reseed(0.5)).toThrow(/got 0.5/);
  });
});
