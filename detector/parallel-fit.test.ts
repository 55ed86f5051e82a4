import { afterAll, describe, expect, it } from "vitest";
import { compileForest } from "./compiled-forest.js";
import { type Forest, fitForest, type Matrix, readsColumns } from "./isolation-forest.js";
import { createFitPool, fitForestInWorkers } from "./parallel-fit.js";
import { createRandom } from "./random.js";
import { fitCases, forestDigest } from "./testdata/fit-cases.js";

/** A bell-shaped cloud of n rows with nf features, plus planted outliers appended. */
function cloud(n: number, nf: number, seed: number, outliers: number[][] = []): Matrix {
  const r = createRandom(seed);
  const rows = n + outliers.length;
  const data = new Float64Array(rows * nf);
  for (let i = 0; i < n * nf; i++) data[i] = r.next() + r.next() + r.next() - 1.5;
  outliers.forEach((o, k) => {
    data.set(o, (n + k) * nf);
  });
  return { data, nRows: rows, nFeatures: nf };
}

/** Share of (outlier, inlier) pairs where the outlier scores higher: the ROC AUC. */
function outlierAuc(forest: Forest, x: Matrix, inliers: number): number {
  const s = new Float64Array(x.nRows);
  compileForest(forest).scoreRows(x, s);
  let wins = 0;
  for (let o = inliers; o < x.nRows; o++)
    for (let i = 0; i < inliers; i++) if ((s[o] as number) > (s[i] as number)) wins++;
  return wins / ((x.nRows - inliers) * inliers);
}

describe("createFitPool()", () => {
  const one = createFitPool(1);
  const two = createFitPool(2);
  const three = createFitPool(3);
  afterAll(() => Promise.all([one.close(), two.close(), three.close()]));

  it("grows, node for node, the in-process per-tree forest with 1, 2 and 3 workers", async () => {
    for (const c of fitCases()) {
      const options = { ...c.options, seeding: "per-tree" as const };
      const expected = fitForest(c.x, createRandom(c.seed), options);
      for (const pool of [one, two, three]) {
        const forest = await pool.fit(c.x, createRandom(c.seed), c.options);
        expect(forest, `${c.name}, ${pool.workers} workers`).toEqual(expected);
        // toEqual does not tell −0 from 0; the digest hashes the raw bits.
        expect(forestDigest(forest), `${c.name}, ${pool.workers} workers`).toBe(
          forestDigest(expected),
        );
      }
    }
  });

  it("grows the same forest when the workers read one column-major copy made for them all", async () => {
    const x = cloud(9000, 9, 7);
    const options = { nEstimators: 20, maxSamples: 8192 };
    // Two workers of ten trees each read columns; the main thread transposes once for both.
    expect(readsColumns(x, 8192, 10)).toBe(true);
    const expected = fitForest(x, createRandom(11), { ...options, seeding: "per-tree" });
    const forest = await two.fit(x, createRandom(11), options);
    expect(forestDigest(forest)).toBe(forestDigest(expected));
  });

  it("draws each tree's seed up front, so the forest differs from one-stream seeding and between seeds", async () => {
    const x = cloud(500, 4, 3);
    const a = await two.fit(x, createRandom(5), { nEstimators: 20 });
    expect(a).toEqual(await one.fit(x, createRandom(5), { nEstimators: 20 }));
    expect(a).not.toEqual(fitForest(x, createRandom(5), { nEstimators: 20 }));
    expect(a).not.toEqual(await two.fit(x, createRandom(6), { nEstimators: 20 }));
  });

  it("scores planted outliers as well as the one-stream forest does", async () => {
    const outliers = Array.from({ length: 20 }, (_, i) => [4 + (i % 5), -4 - (i % 3), (i % 2) * 5]);
    const x = cloud(1000, 3, 21, outliers);
    const sequential = outlierAuc(fitForest(x, createRandom(4)), x, 1000);
    const parallel = outlierAuc(await two.fit(x, createRandom(4)), x, 1000);
    expect(sequential).toBeGreaterThan(0.98);
    expect(parallel).toBeGreaterThan(0.98);
    expect(Math.abs(parallel - sequential)).toBeLessThan(0.01);
  });

  it("rejects one-stream seeding, and bad options before any tree grows", async () => {
    const x = cloud(50, 2, 1);
    await expect(two.fit(x, createRandom(1), { seeding: "stream" })).rejects.toThrow(
      /per-tree seeding; got seeding "stream"/,
    );
    await expect(two.fit(x, createRandom(1), { nEstimators: 0 })).rejects.toThrow(
      /nEstimators must be an integer in \[1, 10000\], got 0/,
    );
    // The pool still works after a refused fit.
    expect((await two.fit(x, createRandom(1), { nEstimators: 3 })).trees).toHaveLength(3);
  });

  it("rejects a bad number of workers with the value in the message", () => {
    expect(() => createFitPool(0)).toThrow(/workers must be an integer in \[1, 256\], got 0/);
    expect(() => createFitPool(1.5)).toThrow(/got 1.5/);
  });
});

describe("FitPool.close()", () => {
  it("fails a fit in progress and every fit after it", async () => {
    const pool = createFitPool(2);
    const x = cloud(3000, 4, 5);
    const running = expect(pool.fit(x, createRandom(1), { nEstimators: 400 })).rejects.toThrow(
      "the fit pool is closed",
    );
    await pool.close();
    await running;
    await expect(pool.fit(x, createRandom(1))).rejects.toThrow("the fit pool is closed");
  });
});

describe("fitForestInWorkers()", () => {
  it("starts and ends its own workers, and fits from a SharedArrayBuffer as from a plain one", async () => {
    const x = cloud(2000, 5, 8);
    const shared = new Float64Array(new SharedArrayBuffer(x.data.byteLength));
    shared.set(x.data);
    const expected = fitForest(x, createRandom(2), { nEstimators: 30, seeding: "per-tree" });
    expect(await fitForestInWorkers(x, createRandom(2), { nEstimators: 30, workers: 2 })).toEqual(
      expected,
    );
    expect(
      await fitForestInWorkers({ ...x, data: shared }, createRandom(2), {
        nEstimators: 30,
        workers: 2,
      }),
    ).toEqual(expected);
  });
});
