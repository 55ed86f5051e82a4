import { describe, expect, it } from "vitest";
import { createRandom } from "../detector/index.js";
import { createReservoir } from "./reservoir.js";

describe("createReservoir()", () => {
  it("keeps everything, in order, while the stream fits", () => {
    const r = createReservoir<number>(10, createRandom(1));
    for (let i = 0; i < 7; i++) r.offer(i);
    expect(r.items()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(r.seen).toBe(7);
  });

  it("holds at most its capacity and the same seed gives the same sample", () => {
    const sample = (seed: number) => {
      const r = createReservoir<number>(50, createRandom(seed));
      for (let i = 0; i < 10_000; i++) r.offer(i);
      return r.items();
    };
    expect(sample(3)).toHaveLength(50);
    expect(sample(3)).toEqual(sample(3));
    expect(sample(4)).not.toEqual(sample(3));
  });

  it("samples uniformly", () => {
    // Each of 100 items lands in a 10-slot reservoir with chance 1/10:
    // over 2000 runs, 200 expected per item, sd ≈ 13.4; allow 6 sd.
    const hits = new Array<number>(100).fill(0);
    const random = createRandom(5);
    for (let run = 0; run < 2000; run++) {
      const r = createReservoir<number>(10, random);
      for (let i = 0; i < 100; i++) r.offer(i);
      for (const i of r.items()) hits[i] = (hits[i] as number) + 1;
    }
    for (const h of hits) expect(Math.abs(h - 200)).toBeLessThan(81);
  });
});
